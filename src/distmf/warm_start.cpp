#include "distmf/warm_start.hpp"

#include <optional>

#include "distmf/error.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/id_index.hpp"
#include "distmf/model_io.hpp"

namespace distmf {
namespace {

/// Throws ConfigError unless a model with `info` can start a run of rank k (with biases).
void check_fits(const ModelInfo& info, const std::string& path, int k, bool biases) {
    const auto refuse = [&](const std::string& what) {
        throw ConfigError("--model.init " + path + ": " + what);
    };
    if (info.k != k) {
        refuse("the model has rank " + std::to_string(info.k) + ", this run --model.rank " +
               std::to_string(k));
    }
    if (info.biases != biases) {
        refuse(std::string("the model has --model.biases ") + (info.biases ? "true" : "false") +
               ", this run " + (biases ? "true" : "false"));
    }
}

}  // namespace

std::int64_t copy_rows_at(const FactorTable& source, std::span<const std::int64_t> positions,
                          FactorTable& target) {
    if (source.width() != target.width() || source.has_bias() != target.has_bias()) {
        throw Error("copy_rows_at: the tables have different widths");
    }
    std::int64_t copied = 0;
    for (std::size_t row = 0; row < positions.size(); ++row) {
        if (positions[row] < 0) continue;
        target.row(target.first_row() + static_cast<std::int64_t>(row)) =
            source.row(positions[row]);
        ++copied;
    }
    return copied;
}

void check_warm_start_file(const Communicator& comm, const std::string& path, int k, bool biases) {
    std::optional<std::string> input_error;
    std::optional<std::string> config_error;
    if (comm.rank() == 0) {
        try {
            check_fits(read_model_info(open_serial_file(path)), path, k, biases);
        } catch (const ConfigError& e) {
            config_error = e.what();
        } catch (const Error& e) {
            input_error = "--model.init " + path + ": " + e.what();
        }
    }
    if (const auto agreed = comm.first_error(input_error, 0)) throw InputError(*agreed);
    if (const auto agreed = comm.first_error(config_error, 0)) throw ConfigError(*agreed);
}

WarmStartReport warm_start(const Communicator& comm, const std::string& path,
                           std::span<const std::int64_t> user_ids,
                           std::span<const std::int64_t> item_ids, TrainState& state) {
    const Model model = load_model(comm, path);
    check_fits(model.info, path, state.users.k(), state.users.has_bias());
    WarmStartReport report;
    report.users_found = comm.all_reduce_sum(
        copy_rows_at(model.users, positions_of_ids(user_ids, model.user_ids), state.users));
    report.items_found = comm.all_reduce_sum(
        copy_rows_at(model.items, positions_of_ids(item_ids, model.item_ids), state.items));
    return report;
}

}  // namespace distmf
