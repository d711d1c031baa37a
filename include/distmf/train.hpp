#pragma once
/// @file train.hpp
/// The training loop of `distmf train`: ALS iterations (a user half-sweep, then an item
/// half-sweep), global metrics after each, progress on rank 0, a JSON-lines metrics file,
/// optional early stopping, and the model file at the end.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factors.hpp"
#include "distmf/log.hpp"

namespace distmf {

/// The figures of one completed iteration (identical on every rank).
struct IterationRecord {
    std::int64_t iteration = 0;
    double train_rmse = 0.0;
    double test_rmse = std::numeric_limits<double>::quiet_NaN();  ///< NaN without test data
    double test_mae = std::numeric_limits<double>::quiet_NaN();
    double objective = 0.0;
    double seconds = 0.0;          ///< wall time of this iteration (slowest rank)
    double elapsed_seconds = 0.0;  ///< wall time since the run started, ingest included
};

/// Everything the loop carries from one iteration to the next.
struct TrainState {
    FactorTable users;
    FactorTable items;
    std::int64_t iteration = 0;  ///< iterations completed
    std::vector<IterationRecord> history;
    std::int64_t best_iteration = 0;  ///< with --train.patience: iteration of the best test RMSE
    FactorTable best_users;           ///< with --train.patience: the best model so far
    FactorTable best_items;
};

/// Local. The initial state: factors drawn per external ID from --train.seed, biases 0.
TrainState initial_state(const Config& config, const Dataset& dataset);

/// Local. One JSON object (one line, no newline) with the figures of `record`.
std::string metrics_json(const IterationRecord& record);

/// Called after every iteration with the state; returns true to stop the loop now.
using IterationHook = std::function<bool(const TrainState& state)>;

/// Collective: every rank of comm must call. Runs ALS from state.iteration to
/// --train.iterations (or an early stop), printing progress and appending metrics.
/// `run_start` is the MPI_Wtime() at which the run began (for elapsed_seconds).
void train_als(const Communicator& comm, const Config& config, const Dataset& dataset,
               TrainState& state, const Logger& log, double run_start,
               const IterationHook& after_iteration = {});

/// Collective: every rank of comm must call. `distmf train`.
int run_train_command(const Communicator& comm, const Config& config);

}  // namespace distmf
