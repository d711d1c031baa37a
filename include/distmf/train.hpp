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
#include "distmf/train_state.hpp"

namespace distmf {

/// Local. The initial state: factors drawn per external ID from --train.seed, biases 0.
TrainState initial_state(const Config& config, const Dataset& dataset);

/// Local. One JSON object (one line, no newline) with the figures of `record`.
std::string metrics_json(const IterationRecord& record);

/// Called (collectively) after every iteration with the state, e.g. to write checkpoints.
using IterationHook = std::function<void(const TrainState& state)>;

/// How train_als ended.
enum class TrainOutcome {
    finished,     ///< --train.iterations reached, or an early stop
    interrupted,  ///< a signal asked to stop; `state` is consistent (checkpoint it)
};

/// Collective: every rank of comm must call. Runs ALS from `state` (fresh or resumed, possibly
/// between half-sweeps) to --train.iterations or an early stop, printing progress and
/// writing metrics. After every half-sweep the ranks agree whether a stop signal arrived
/// anywhere; if so it returns `interrupted` at once. `run_start` is the MPI_Wtime() at which
/// the run began (for elapsed_seconds).
TrainOutcome train_als(const Communicator& comm, const Config& config, const Dataset& dataset,
                       TrainState& state, const Logger& log, double run_start,
                       const IterationHook& after_iteration = {});

/// Collective: every rank of comm must call. `distmf train`: load, resume or initialize,
/// train with checkpoints, write the model. Returns 0, or exit_checkpointed (75) after a stop
/// signal once a checkpoint is written.
int run_train_command(const Communicator& comm, const Config& config);

}  // namespace distmf
