#pragma once
/// @file tune.hpp
/// `distmf tune`: a hyper-parameter search over the space of --tune.space (search_space.hpp)
/// around the base configuration (--config), on a validation split carved out of the training
/// data (load_validation_dataset: the test data is never read), by successive halving or
/// Hyperband (tune_schedule.hpp):
///
/// - The ranks form groups of --tune.group-size (MPI_Comm_split); each group loads the data once
///   and trains candidates with the ordinary trainer (train_with_checkpoints), the rung's
///   candidates dealt round-robin to the groups; after each rung every rank learns every
///   result and takes the same promotions.
/// - A candidate's value is the best validation value of its evaluations so far (the best
///   iteration is kept). It is hopeless, stopped at once and never promoted, when a value is not
///   finite, or (RMSE, MAE) from its second evaluation on worse than predicting the training
///   mean for every validation rating.
/// - Each candidate checkpoints into <dir>/candidates/cNNNNNN at the end of each rung (and on a
///   stop signal), and the search state (tune_results.hpp) is saved after every rung: after
///   SIGTERM, SIGINT or SIGUSR1 the running candidates checkpoint, the state is saved, and the
///   command exits 75; rerunning it continues where it stopped, with the same results as a run
///   never stopped (for a deterministic trainer), also on another number of ranks.
/// - At the end: results.csv and results.jsonl (every candidate and rung), best.ini (the base
///   configuration with the best settings and its best iteration count: `distmf train --config
///   best.ini` trains it), and with --tune.refit, that training on all the training data, its
///   model evaluated once on the test data.
///
/// With one rank per group (the default for small data) a candidate's results do not depend on
/// the number of ranks, so the search chooses the same settings on any P; with larger groups
/// the same holds wherever training is bitwise the same for any P (ALS, implicit ALS, BPMF; not
/// DSGD, whose strata follow the ranks).

#include "distmf/comm.hpp"
#include "distmf/config.hpp"

namespace distmf {

/// Collective: every rank of world must call. `distmf tune` as described above. Returns 0 (or
/// the refit's exit code), or exit_checkpointed (75) after a stop signal once the search state
/// is saved.
int run_tune_command(const Communicator& world, const Config& config);

}  // namespace distmf
