#pragma once
/// @file train.hpp
/// The training loop of `distmf train`: ALS iterations (a user half-sweep, then an item
/// half-sweep) or DSGD epochs (dsgd.hpp), global metrics after every --eval.every-th and the
/// last, progress on rank 0 after each, a JSON-lines metrics file (one line per evaluation),
/// optional early stopping (patience in evaluations), and the model file at the end.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/dsgd.hpp"
#include "distmf/factors.hpp"
#include "distmf/log.hpp"
#include "distmf/train_state.hpp"

namespace distmf {

/// Local. The initial state: factors drawn per external ID from --train.seed (standard
/// deviation --train.init-scale), biases 0, the DSGD step size --dsgd.step-size.
TrainState initial_state(const Config& config, const Dataset& dataset);

/// Local. One JSON object (one line, no newline) with the figures of `record`.
std::string metrics_json(const IterationRecord& record);

/// Called (collectively) after every iteration with the state, e.g. to write checkpoints.
using IterationHook = std::function<void(const TrainState& state)>;

/// How train_model ended.
enum class TrainOutcome {
    finished,     ///< --train.iterations reached, or an early stop
    interrupted,  ///< a signal asked to stop; `state` is consistent (checkpoint it)
};

/// Collective: every rank of comm must call. Runs --model.algorithm (ALS or DSGD) from
/// `state` (fresh or resumed, possibly inside an iteration) to --train.iterations or an early
/// stop, printing progress and writing metrics (of the iterations --eval.every selects and of
/// the final model, always evaluated, also when nothing was left to run). After every ALS
/// half-sweep, DSGD sub-epoch and
/// iteration it asks `stop_check` (by default: did a stop signal arrive on any rank,
/// stop_agreed); if so it returns `interrupted` at once, with `state` complete for a
/// checkpoint. `run_start` is the MPI_Wtime() at which the run began (for elapsed_seconds).
TrainOutcome train_model(const Communicator& comm, const Config& config, const Dataset& dataset,
                         TrainState& state, const Logger& log, double run_start,
                         const IterationHook& after_iteration = {},
                         const StopCheck& stop_check = {});

/// How train_with_checkpoints ended, and what it left.
struct CheckpointedTraining {
    TrainOutcome outcome = TrainOutcome::finished;
    TrainState state;
    std::string checkpoint_path;  ///< the last checkpoint written ("" without --checkpoint.dir)
};

/// Collective: every rank of comm must call. Resumes from --checkpoint.dir per
/// --checkpoint.resume (or starts afresh: seeded, then --model.init's rows), trains with
/// train_model (checkpoints per [checkpoint], then `after_iteration`), and checkpoints the state
/// it ends with -- finished or interrupted -- when a folder is set. Writes no model file.
/// `fingerprint` is data_fingerprint(comm, dataset, --data.seed) (checkpoint.hpp).
CheckpointedTraining train_with_checkpoints(const Communicator& comm, const Config& config,
                                            const Dataset& dataset, std::uint64_t fingerprint,
                                            const Logger& log, double run_start,
                                            const IterationHook& after_iteration = {},
                                            const StopCheck& stop_check = {});

/// Collective: every rank of comm must call. `distmf train`: load, resume or initialize
/// (seeded, or from --model.init), train with checkpoints, write the model. Returns 0, or
/// exit_checkpointed (75) after a stop signal once a checkpoint is written.
int run_train_command(const Communicator& comm, const Config& config);

}  // namespace distmf
