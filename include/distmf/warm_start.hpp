#pragma once
/// @file warm_start.hpp
/// --model.init FILE: training starts from the factors of a saved distmf model (for example a
/// few ALS iterations, then DSGD, or the reverse). Rows are matched by external ID, so the
/// model may come from another split, number of ranks or algorithm; a row the model does not
/// know keeps its seeded initial value.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/factors.hpp"
#include "distmf/train_state.hpp"

namespace distmf {

/// How much of a run's starting model came from the init file.
struct WarmStartReport {
    std::int64_t users_found = 0;  ///< users of this run that the model has
    std::int64_t items_found = 0;  ///< items of this run that the model has
};

/// Local. For every stored row i of `target` (row target.first_row() + i) with positions[i] >=
/// 0, copies row positions[i] of `source` (of the same width) into it. Returns the number of
/// rows copied.
std::int64_t copy_rows_at(const FactorTable& source, std::span<const std::int64_t> positions,
                          FactorTable& target);

/// Collective: every rank of comm must call. Checks, from its attributes alone (rank 0 reads
/// them), that `path` is a complete distmf model of rank `k` with or without biases as
/// `biases` says: before the data is read, so a bad --model.init fails at once. A missing or
/// invalid file is an agreed InputError, a model of another k or biases an agreed ConfigError,
/// each naming --model.init and the file.
void check_warm_start_file(const Communicator& comm, const std::string& path, int k, bool biases);

/// Collective: every rank of comm must call. Loads the model at `path` (load_model: a missing
/// or invalid file is an agreed InputError) and copies its rows into state.users and
/// state.items by external ID (`user_ids`, `item_ids`: the IDs of the rows the tables hold, in
/// row order; the counts reported are summed over the ranks). A model of
/// another rank k or with/without biases is an agreed ConfigError naming the difference.
WarmStartReport warm_start(const Communicator& comm, const std::string& path,
                           std::span<const std::int64_t> user_ids,
                           std::span<const std::int64_t> item_ids, TrainState& state);

}  // namespace distmf
