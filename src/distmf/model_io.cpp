#include "distmf/model_io.hpp"

#include <cstring>
#include <ctime>
#include <optional>
#include <type_traits>

#include "distmf/atomic_file.hpp"
#include "distmf/collective_section.hpp"
#include "distmf/error.hpp"
#include "distmf/fault_injection.hpp"
#include "distmf/hashing.hpp"

namespace distmf {
namespace {

/// Writes one side ("users" or "items"): ids, factors and biases of this rank's rows.
void write_side(const Communicator& comm, const H5Handle& file, const std::string& name,
                const std::vector<std::int64_t>& ids, const FactorTable& table,
                const BlockPartition& blocks) {
    const H5Handle group = create_group(file, name);
    const auto n_rows = static_cast<std::int64_t>(ids.size());
    const std::int64_t first = blocks.first(comm.rank());
    const std::int64_t count = blocks.size(comm.rank());
    write_checked_rows(comm, group, "ids", n_rows, 0, first, count, ids.data() + first);
    // Straight from the table's rows ([bias,] factors): HDF5 picks the columns, no copy.
    const float* rows = table.row_span(first, count).data();
    write_checked_rows(comm, group, "factors", n_rows, table.k(), first, count, rows,
                       MemoryRows{table.width(), table.width() - table.k()});
    if (table.has_bias()) {
        write_checked_rows(comm, group, "bias", n_rows, 0, first, count, rows,
                           MemoryRows{table.width(), 0});
    }
}

void read_side(const H5Handle& file, const std::string& name, const ModelInfo& info,
               bool collective, std::vector<std::int64_t>& ids, FactorTable& table) {
    ids = read_checked_rows<std::int64_t>(file, name + "/ids", 0, collective);
    const std::vector<float> factors =
        read_checked_rows<float>(file, name + "/factors", info.k, collective);
    const auto n_rows = static_cast<std::int64_t>(ids.size());
    if (static_cast<std::int64_t>(factors.size()) != n_rows * info.k) {
        throw InputError(file.file() + ": /" + name + " datasets have inconsistent shapes");
    }
    table = FactorTable(n_rows, info.k, info.biases);
    table.values().rightCols(info.k) =
        Eigen::Map<const RowMatrixXf>(factors.data(), n_rows, info.k);
    if (info.biases) {
        const std::vector<float> bias =
            read_checked_rows<float>(file, name + "/bias", 0, collective);
        if (static_cast<std::int64_t>(bias.size()) != n_rows) {
            throw InputError(file.file() + ": /" + name + "/bias has the wrong length");
        }
        table.values().col(0) = Eigen::Map<const Eigen::VectorXf>(bias.data(), n_rows);
    }
}

/// The training datasets of a model file (see model_io.hpp); every rank writes its rows.
void write_training(const Communicator& comm, const H5Handle& file, const ModelView& model) {
    const RatingMatrix& own = *model.user_train;
    const auto n_users = static_cast<std::int64_t>(model.user_ids.size());
    const std::int64_t first_entry = comm.exclusive_scan_sum(own.nnz());
    const std::int64_t n_entries = comm.all_reduce_sum(own.nnz());
    // Offsets of this rank's rows; the last rank also writes the final one (n_entries).
    std::vector<std::int64_t> offsets;
    for (const std::int64_t start : own.row_start) offsets.push_back(first_entry + start);
    const bool last_rank = comm.rank() == comm.size() - 1;
    if (!last_rank) offsets.pop_back();
    const H5Handle users = open_group(file, "users");
    write_checked_rows(comm, users, "train_offsets", n_users + 1, 0, own.first_row,
                       static_cast<std::int64_t>(offsets.size()), offsets.data());
    write_checked_rows(comm, users, "train_items", n_entries, 0, first_entry, own.nnz(),
                       own.columns.data());
    const H5Handle items = open_group(file, "items");
    const std::int64_t first_item = model.item_blocks.first(comm.rank());
    write_checked_rows(comm, items, "train_count", static_cast<std::int64_t>(model.item_ids.size()),
                       0, first_item, model.item_blocks.size(comm.rank()),
                       model.item_train_counts->data() + first_item);
}

/// Reads the training datasets when the file has them (into `model`); checks their shapes.
void read_training(const H5Handle& file, bool collective, Model& model) {
    if (!has_object(file, "users/train_offsets")) return;
    const std::string& path = file.file();
    RatingMatrix& lists = model.train_items;
    lists.row_start = read_checked_rows<std::int64_t>(file, "users/train_offsets", 0, collective);
    lists.columns = read_checked_rows<std::int32_t>(file, "users/train_items", 0, collective);
    model.item_train_counts =
        read_checked_rows<std::int64_t>(file, "items/train_count", 0, collective);
    const auto n_items = static_cast<std::int32_t>(model.items.rows());
    const bool consistent =
        static_cast<std::int64_t>(lists.row_start.size()) == model.users.rows() + 1 &&
        lists.row_start.front() == 0 && lists.row_start.back() == lists.nnz() &&
        std::is_sorted(lists.row_start.begin(), lists.row_start.end()) &&
        std::all_of(lists.columns.begin(), lists.columns.end(),
                    [n_items](std::int32_t item) { return item >= 0 && item < n_items; }) &&
        static_cast<std::int64_t>(model.item_train_counts.size()) == model.items.rows();
    if (!consistent) throw InputError(path + ": the training datasets are inconsistent");
}

/// Appends `name` and `value` to `text`, length-prefixed so no two attribute lists read alike.
void append_field(std::string& text, const char* name, const std::string& value) {
    text += name;
    text += '=';
    text += std::to_string(value.size());
    text += ':';
    text += value;
    text += '\n';
}

/// The bits of a double, as text (the exact value, -0.0 and NaN included).
std::string bits_of(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return std::to_string(bits);
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
    ModelInfo written = info;
    written.ranks = comm.size();
    write_attribute<std::uint64_t>(file, "attributes_checksum", attributes_checksum(written));
    write_checked_rows(comm, file, "global_mean", 1, 0, 0, comm.rank() == 0 ? 1 : 0,
                       &info.global_mean);
    write_side(comm, file, "users", model.user_ids, model.users, model.user_blocks);
    write_side(comm, file, "items", model.item_ids, model.items, model.item_blocks);
    if (model.user_train != nullptr && model.item_train_counts != nullptr) {
        write_training(comm, file, model);
    }
}

/// Rows of a dataset in memory: row first_row + r starts at bytes + r * stride.
struct RowsSpan {
    const unsigned char* bytes = nullptr;
    std::int64_t first_row = 0;
    std::int64_t n_rows = 0;
    std::int64_t stride = 0;
};

/// The checksum of the rows (see model_io.hpp): the sum of hash(row index, row bytes).
/// `row_bytes` is a std::size_t or a std::integral_constant (then hash_bytes folds).
template <class RowBytes>
std::uint64_t sum_row_hashes(const RowsSpan& rows, RowBytes row_bytes) {
    std::uint64_t sum = 0;
    for (std::int64_t r = 0; r < rows.n_rows; ++r) {
        sum += hash_keys(0x636865636bULL, static_cast<std::uint64_t>(rows.first_row + r),
                         hash_bytes(0, rows.bytes + r * rows.stride, row_bytes));
    }
    return sum;
}

/// Collective. Rows `range` of one side's factors and biases ("users" or "items").
FactorTable read_side_share(const Communicator& comm, const H5Handle& file, const std::string& name,
                            const ModelInfo& info, RowRange range, ShareCoverage coverage) {
    const std::vector<float> factors =
        read_checked_share<float>(comm, file, name + "/factors", info.k, range, coverage);
    FactorTable table(range.first, range.count, info.k, info.biases);
    table.values().rightCols(info.k) =
        Eigen::Map<const RowMatrixXf>(factors.data(), range.count, info.k);
    if (info.biases) {
        const std::vector<float> bias =
            read_checked_share<float>(comm, file, name + "/bias", 0, range, coverage);
        table.values().col(0) = Eigen::Map<const Eigen::VectorXf>(bias.data(), range.count);
    }
    return table;
}

/// Collective. The training lists of the users `users` and every item's count, when the file
/// has them. The offsets of rows first..end are read (one more than the rows: where the last
/// list ends); each rank verifies its rows' offsets, the rank whose range ends the side the
/// final one too, so that the checked ranges of a partition cover every row once.
void read_training_share(const Communicator& comm, const H5Handle& file, RowRange users,
                         ShareCoverage coverage, Model& share) {
    if (!has_object(file, "users/train_offsets")) return;
    const auto n_users = static_cast<std::int64_t>(share.user_ids.size());
    const RowRange offset_rows{users.first, users.count + 1};
    const RowRange checked_offsets{users.first, users.count + (users.end() == n_users ? 1 : 0)};
    std::vector<std::int64_t> offsets = read_checked_share<std::int64_t>(
        comm, file, "users/train_offsets", 0, offset_rows, coverage, checked_offsets);
    const std::int64_t n_entries = dataset_rows(file, "users/train_items");
    const auto n_items = static_cast<std::int32_t>(share.item_ids.size());
    const bool offsets_ok = std::is_sorted(offsets.begin(), offsets.end()) &&
                            offsets.front() >= 0 && offsets.back() <= n_entries &&
                            (users.first > 0 || offsets.front() == 0) &&
                            (users.end() < n_users || offsets.back() == n_entries);
    // Agreed: the ranks read different rows, so only together do they know.
    if (comm.all_reduce_min(offsets_ok ? 1 : 0) == 0) {
        throw InputError(file.file() + ": the training datasets are inconsistent");
    }
    RatingMatrix& lists = share.train_items;
    lists.first_row = users.first;
    lists.columns = read_checked_share<std::int32_t>(
        comm, file, "users/train_items", 0,
        RowRange{offsets.front(), offsets.back() - offsets.front()}, coverage);
    const std::int64_t first_entry = offsets.front();
    for (std::int64_t& offset : offsets) offset -= first_entry;
    lists.row_start = std::move(offsets);
    share.item_train_counts = read_checked_share<std::int64_t>(
        comm, file, "items/train_count", 0, RowRange{0, n_items}, ShareCoverage::whole);
    const bool columns_ok =
        std::all_of(lists.columns.begin(), lists.columns.end(),
                    [n_items](std::int32_t item) { return item >= 0 && item < n_items; });
    if (comm.all_reduce_min(columns_ok ? 1 : 0) == 0) {
        throw InputError(file.file() + ": the training datasets are inconsistent");
    }
}

}  // namespace

std::uint64_t rows_checksum(const void* data, std::int64_t first_row, std::int64_t n_rows,
                            std::int64_t row_bytes, std::int64_t stride_bytes) {
    const std::int64_t stride = stride_bytes > 0 ? stride_bytes : row_bytes;
    const RowsSpan rows{static_cast<const unsigned char*>(data), first_row, n_rows, stride};
    // One-dimensional datasets (IDs, biases, training items: millions of rows) are summed with
    // the row size a constant, for which hash_bytes reduces to a few multiplications.
    switch (row_bytes) {
        case 4:
            return sum_row_hashes(rows, std::integral_constant<std::size_t, 4>{});
        case 8:
            return sum_row_hashes(rows, std::integral_constant<std::size_t, 8>{});
        default:
            return sum_row_hashes(rows, static_cast<std::size_t>(row_bytes));
    }
}

std::uint64_t attributes_checksum(const ModelInfo& info) {
    std::string text;
    append_field(text, "format", "distmf");
    append_field(text, "format_version", std::to_string(info.format_version));
    append_field(text, "kind", info.kind);
    append_field(text, "algorithm", info.algorithm);
    append_field(text, "k", std::to_string(info.k));
    append_field(text, "biases", info.biases ? "1" : "0");
    append_field(text, "iteration", std::to_string(info.iteration));
    append_field(text, "seed", std::to_string(info.seed));
    append_field(text, "ranks", std::to_string(info.ranks));
    append_field(text, "created", info.created);
    append_field(text, "config", info.config);
    append_field(text, "rating_min", bits_of(info.rating_min));
    append_field(text, "rating_max", bits_of(info.rating_max));
    return hash_bytes(0x6174747273ULL, text.data(), text.size());
}

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
    // A rank that fails while the others write aborts the job (see collective_section.hpp);
    // `path` is untouched, and the temporary file goes.
    run_collective_section(
        comm, {"writing " + info.kind + " '" + path + "'", SectionFailures::local, temporary}, [&] {
            write_contents(comm, file, info, model);
            inject_io_error_if_requested(info.kind + "-write");
            if (write_extra) write_extra(file);
            write_attribute<std::int64_t>(file, "complete", 1);  // last: without it, partial
            flush_file(file);
            file.close();
        });
    commit_parallel_file(comm, temporary, path);
}

namespace {

/// Collective. Opens the model file `path` on every rank of comm and runs `read` on it inside a
/// collective section (one rank failing between collective calls aborts the job; errors about
/// the file are agreed and thrown as InputError on every rank).
Model read_model_collectively(const Communicator& comm, const std::string& path,
                              const std::function<Model(const H5Handle&)>& read) {
    Model model;
    std::optional<std::string> error;
    try {
        const H5Handle file = open_parallel_file(comm.get(), path);
        run_collective_section(
            comm, {"reading model '" + path + "'", SectionFailures::agreed_file_errors, ""}, [&] {
                inject_io_error_if_requested("model-read");
                model = read(file);
            });
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    return model;
}

}  // namespace

Model load_model(const Communicator& comm, const std::string& path) {
    return read_model_collectively(comm, path,
                                   [](const H5Handle& file) { return read_model(file, true); });
}

std::int64_t dataset_rows(const H5Handle& parent, const std::string& name) {
    return static_cast<std::int64_t>(dataset_shape(open_dataset(parent, name)).at(0));
}

template <class T>
std::vector<T> read_checked_share(const Communicator& comm, const H5Handle& parent,
                                  const std::string& name, std::int64_t width, RowRange range,
                                  ShareCoverage coverage, std::optional<RowRange> checked) {
    const RowRange verified = checked.value_or(range);
    const std::int64_t row_width = std::max<std::int64_t>(1, width);
    const std::int64_t row_bytes = row_width * static_cast<std::int64_t>(sizeof(T));
    std::vector<T> values;
    std::uint64_t partial = 0;
    std::uint64_t stored = 0;
    std::optional<std::string> error;
    try {
        const H5Handle dataset = open_dataset(parent, name);
        const std::vector<std::uint64_t> shape = dataset_shape(dataset);
        const bool shape_ok =
            width == 0 ? shape.size() == 1
                       : shape.size() == 2 && shape[1] == static_cast<std::uint64_t>(width);
        if (!shape_ok)
            throw InputError(parent.file() + ": dataset " + name + " has the wrong shape");
        const auto n_rows = static_cast<std::int64_t>(shape[0]);
        const bool inside = range.first >= 0 && range.count >= 0 && range.end() <= n_rows &&
                            verified.first >= range.first && verified.end() <= range.end();
        if (!inside) {
            throw InputError(parent.file() + ": dataset " + name + " has " +
                             std::to_string(n_rows) + " rows, fewer than the other datasets need");
        }
        values.resize(static_cast<std::size_t>(range.count * row_width));
        read_rows(dataset, range.first, range.count, values.data(), false);
        if (fault_requested_on_rank("io-error-on-rank", "share-read")) {
            throw Hdf5Error("H5Dread failed for '" + parent.file() + "' (on rank " +
                            std::to_string(comm.rank()) + ")");
        }
        partial = rows_checksum(values.data() + (verified.first - range.first) * row_width,
                                verified.first, verified.count, row_bytes);
        if (!has_attribute(dataset, "checksum")) {
            throw InputError(parent.file() + ": dataset " + name + " has no checksum");
        }
        stored = read_attribute<std::uint64_t>(dataset, "checksum");
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    const bool intact = coverage == ShareCoverage::partition
                            ? comm.all_reduce_sum(partial) == stored
                            : comm.all_reduce_min(partial == stored ? 1 : 0) == 1;
    if (!intact) {
        throw InputError(parent.file() + ": checksum mismatch in dataset " + name +
                         " (the file is corrupt)");
    }
    return values;
}

template std::vector<float> read_checked_share(const Communicator&, const H5Handle&,
                                               const std::string&, std::int64_t, RowRange,
                                               ShareCoverage, std::optional<RowRange>);
template std::vector<std::int32_t> read_checked_share(const Communicator&, const H5Handle&,
                                                      const std::string&, std::int64_t, RowRange,
                                                      ShareCoverage, std::optional<RowRange>);
template std::vector<std::int64_t> read_checked_share(const Communicator&, const H5Handle&,
                                                      const std::string&, std::int64_t, RowRange,
                                                      ShareCoverage, std::optional<RowRange>);
template std::vector<double> read_checked_share(const Communicator&, const H5Handle&,
                                                const std::string&, std::int64_t, RowRange,
                                                ShareCoverage, std::optional<RowRange>);

ShareLayout whole_layout(const ModelInfo& info) {
    return {RowRange{0, info.n_users}, ShareCoverage::whole, RowRange{0, info.n_items},
            ShareCoverage::whole};
}

Model read_model_share(const Communicator& comm, const H5Handle& file,
                       const std::function<ShareLayout(const ModelInfo&)>& layout) {
    Model share;
    share.info = read_model_info(file);
    const ShareLayout rows = layout(share.info);
    share.user_ids = read_checked_share<std::int64_t>(
        comm, file, "users/ids", 0, RowRange{0, share.info.n_users}, ShareCoverage::whole);
    share.item_ids = read_checked_share<std::int64_t>(
        comm, file, "items/ids", 0, RowRange{0, share.info.n_items}, ShareCoverage::whole);
    share.users = read_side_share(comm, file, "users", share.info, rows.users, rows.user_coverage);
    share.items = read_side_share(comm, file, "items", share.info, rows.items, rows.item_coverage);
    read_training_share(comm, file, rows.users, rows.user_coverage, share);
    return share;
}

Model load_model_share(const Communicator& comm, const std::string& path,
                       const std::function<ShareLayout(const ModelInfo&)>& layout) {
    return read_model_collectively(
        comm, path, [&](const H5Handle& file) { return read_model_share(comm, file, layout); });
}

Model read_model(const H5Handle& file, bool collective) {
    Model model;
    model.info = read_model_info(file);
    read_side(file, "users", model.info, collective, model.user_ids, model.users);
    read_side(file, "items", model.info, collective, model.item_ids, model.items);
    read_training(file, collective, model);
    return model;
}

ModelInfo read_model_info(const H5Handle& file) {
    const std::string& path = file.file();
    const std::string foreign =
        path + ": not a distmf model file (no format = \"distmf\" attribute)";
    if (!has_attribute(file, "format") || !has_attribute(file, "format_version")) {
        throw InputError(foreign);
    }
    ModelInfo info;
    // The version first: an older version's strings are variable-length (not read any more).
    info.format_version = read_attribute<std::int64_t>(file, "format_version");
    if (info.format_version != model_format_version) {
        throw InputError(path + ": format version " + std::to_string(info.format_version) +
                         " is not supported by this distmf (it reads version " +
                         std::to_string(model_format_version) + ")");
    }
    if (read_string_attribute(file, "format") != "distmf") throw InputError(foreign);
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
    if (!has_attribute(file, "attributes_checksum") ||
        read_attribute<std::uint64_t>(file, "attributes_checksum") != attributes_checksum(info)) {
        throw InputError(path +
                         ": checksum mismatch in the attributes of / (the file is corrupt or "
                         "was modified)");
    }
    if (info.k < 1) throw InputError(path + ": invalid k attribute");
    const std::vector<double> mean = read_checked_rows<double>(file, "global_mean", 0, false);
    if (mean.size() != 1) throw InputError(path + ": /global_mean must hold one value");
    info.global_mean = mean[0];
    info.n_users = static_cast<std::int64_t>(dataset_shape(open_dataset(file, "users/ids"))[0]);
    info.n_items = static_cast<std::int64_t>(dataset_shape(open_dataset(file, "items/ids"))[0]);
    return info;
}

}  // namespace distmf
