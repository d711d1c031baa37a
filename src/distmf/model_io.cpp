#include "distmf/model_io.hpp"

#include <ctime>
#include <optional>

#include "distmf/atomic_file.hpp"
#include "distmf/error.hpp"

namespace distmf {
namespace {

/// Writes one side ("users" or "items"): ids, factors and biases of this rank's rows.
void write_side(const Communicator& comm, const H5Handle& file, const std::string& name,
                const std::vector<std::int64_t>& ids, const FactorTable& table,
                const BlockPartition& blocks) {
    const H5Handle group = create_group(file, name);
    const auto n_rows = static_cast<std::uint64_t>(table.rows());
    const auto k = static_cast<std::uint64_t>(table.k());
    const H5Handle id_set = create_dataset(group, "ids", H5Type<std::int64_t>::file(), {n_rows});
    const H5Handle factor_set = create_dataset(group, "factors", H5Type<float>::file(), {n_rows, k});
    const std::int64_t first = blocks.first(comm.rank());
    const std::int64_t count = blocks.size(comm.rank());
    write_rows(id_set, first, count, ids.data() + first, true);
    const RowMatrixXf factors = table.values().block(first, table.width() - table.k(), count, table.k());
    write_rows(factor_set, first, count, factors.data(), true);
    if (table.has_bias()) {
        const H5Handle bias_set = create_dataset(group, "bias", H5Type<float>::file(), {n_rows});
        const Eigen::VectorXf bias = table.values().block(first, 0, count, 1);
        write_rows(bias_set, first, count, bias.data(), true);
    }
}

void read_side(const H5Handle& file, const std::string& name, const ModelInfo& info,
               std::vector<std::int64_t>& ids, FactorTable& table) {
    const H5Handle id_set = open_dataset(file, name + "/ids");
    const H5Handle factor_set = open_dataset(file, name + "/factors");
    const std::vector<std::uint64_t> id_shape = dataset_shape(id_set);
    const std::vector<std::uint64_t> factor_shape = dataset_shape(factor_set);
    if (id_shape.size() != 1 || factor_shape.size() != 2 || factor_shape[0] != id_shape[0] ||
        factor_shape[1] != static_cast<std::uint64_t>(info.k)) {
        throw InputError(file.file() + ": /" + name + " datasets have inconsistent shapes");
    }
    const auto n_rows = static_cast<std::int64_t>(id_shape[0]);
    ids.resize(static_cast<std::size_t>(n_rows));
    read_rows(id_set, 0, n_rows, ids.data(), true);
    RowMatrixXf factors(n_rows, info.k);
    read_rows(factor_set, 0, n_rows, factors.data(), true);
    table = FactorTable(n_rows, info.k, info.biases);
    table.values().rightCols(info.k) = factors;
    if (info.biases) {
        const H5Handle bias_set = open_dataset(file, name + "/bias");
        Eigen::VectorXf bias(n_rows);
        read_rows(bias_set, 0, n_rows, bias.data(), true);
        table.values().col(0) = bias;
    }
}

/// Everything but `complete`; every handle opened here is closed on return (a parallel HDF5
/// file can only be closed once all its objects are).
void write_contents(const Communicator& comm, const H5Handle& file, const ModelInfo& info,
                    const ModelView& model) {
    write_string_attribute(file, "format", "distmf");
    write_attribute<std::int64_t>(file, "format_version", info.format_version);
    write_string_attribute(file, "kind", info.kind);
    write_string_attribute(file, "algorithm", info.algorithm);
    write_attribute<std::int64_t>(file, "k", info.k);
    write_attribute<std::int64_t>(file, "biases", info.biases ? 1 : 0);
    write_attribute<std::int64_t>(file, "iteration", info.iteration);
    write_attribute<std::uint64_t>(file, "seed", info.seed);
    write_attribute<std::int64_t>(file, "ranks", comm.size());
    write_string_attribute(file, "created", info.created);
    write_string_attribute(file, "config", info.config);
    write_attribute<double>(file, "rating_min", info.rating_min);
    write_attribute<double>(file, "rating_max", info.rating_max);
    const H5Handle mean_set = create_dataset(file, "global_mean", H5Type<double>::file(), {1});
    write_rows(mean_set, 0, comm.rank() == 0 ? 1 : 0, &info.global_mean, true);
    write_side(comm, file, "users", model.user_ids, model.users, model.user_blocks);
    write_side(comm, file, "items", model.item_ids, model.items, model.item_blocks);
}

}  // namespace

std::string utc_timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

void save_model(const Communicator& comm, const std::string& path, const ModelInfo& info,
                const ModelView& model,
                const std::function<void(const H5Handle& file)>& write_extra) {
    const std::string temporary = temporary_path_for(path);
    H5Handle file = create_parallel_file(comm.get(), temporary);
    write_contents(comm, file, info, model);
    if (write_extra) write_extra(file);
    write_attribute<std::int64_t>(file, "complete", 1);  // last: a file without it is partial
    flush_file(file);
    file.close();
    comm.barrier();  // every rank has closed the file
    std::optional<std::string> error;
    if (comm.rank() == 0) {
        try {
            sync_path(temporary);
            rename_into_place(temporary, path);
        } catch (const InputError& e) {
            error = e.what();
        }
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
}

Model load_model(const Communicator& comm, const std::string& path) {
    Model model;
    std::optional<std::string> error;
    try {
        const H5Handle file = open_parallel_file(comm.get(), path);
        model.info = read_model_info(file);
        read_side(file, "users", model.info, model.user_ids, model.users);
        read_side(file, "items", model.info, model.item_ids, model.items);
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    return model;
}

ModelInfo read_model_info(const H5Handle& file) {
    const std::string& path = file.file();
    if (!has_attribute(file, "format") || read_string_attribute(file, "format") != "distmf") {
        throw InputError(path + ": not a distmf model file (no format = \"distmf\" attribute)");
    }
    ModelInfo info;
    info.format_version = read_attribute<std::int64_t>(file, "format_version");
    if (info.format_version != model_format_version) {
        throw InputError(path + ": format version " + std::to_string(info.format_version) +
                         " is not supported by this distmf (it reads version " +
                         std::to_string(model_format_version) + ")");
    }
    if (!has_attribute(file, "complete") || read_attribute<std::int64_t>(file, "complete") != 1) {
        throw InputError(path + ": the file is incomplete (its writer did not finish)");
    }
    info.kind = read_string_attribute(file, "kind");
    info.algorithm = read_string_attribute(file, "algorithm");
    info.k = static_cast<int>(read_attribute<std::int64_t>(file, "k"));
    info.biases = read_attribute<std::int64_t>(file, "biases") != 0;
    info.iteration = read_attribute<std::int64_t>(file, "iteration");
    info.seed = read_attribute<std::uint64_t>(file, "seed");
    info.ranks = read_attribute<std::int64_t>(file, "ranks");
    info.created = read_string_attribute(file, "created");
    info.config = read_string_attribute(file, "config");
    info.rating_min = read_attribute<double>(file, "rating_min");
    info.rating_max = read_attribute<double>(file, "rating_max");
    if (info.k < 1) throw InputError(path + ": invalid k attribute");
    const H5Handle mean_set = open_dataset(file, "global_mean");
    read_rows(mean_set, 0, 1, &info.global_mean, false);
    info.n_users = static_cast<std::int64_t>(dataset_shape(open_dataset(file, "users/ids"))[0]);
    info.n_items = static_cast<std::int64_t>(dataset_shape(open_dataset(file, "items/ids"))[0]);
    return info;
}

}  // namespace distmf
