#pragma once
/// @file checkpoint.hpp
/// Checkpoint-restart. A checkpoint is a model file (model_io.hpp, kind = "checkpoint") plus a
/// /state group holding what a bit-exact resume needs:
///
///   /state            attrs: users_half_done, best_iteration, stopped_early,
///                            data_fingerprint, data_seed, lambda, bias_lambda, regularization,
///                            implicit (the [ials] settings; "" for explicit ALS),
///                            sub_epochs_done, step_size (DSGD; absent in older files: 0)
///                            DSGD only: dsgd_schedule, dsgd_step_size, dsgd_grow, dsgd_shrink,
///                            dsgd_decay, dsgd_grid (the grid the epochs ran on; absent in
///                            older files)
///   /state/history    float64 [iterations, 7]: iteration, train_rmse, test_rmse, test_mae,
///                                              objective, seconds, elapsed_seconds
///   /state/ranking_history  float64 [iterations, 5]: test precision, recall, NDCG, MAP, AUC
///                                              (NaN for explicit ALS; absent in older files)
///   /state/best_users, /state/best_items  float32 [rows, width]  (with --train.patience)
///   /state/dsgd_user_step_sums, /state/dsgd_item_step_sums  float32 [rows, 1]  (DSGD with
///            dsgd_schedule adaptive: each row's AdaGrad accumulator G, sgd.hpp; kept out of the
///            model file. Resuming such a run needs them; a checkpoint of another schedule is
///            refused by --dsgd.schedule, and with --checkpoint.force its rows start at G = 1)
///   BPMF only: attrs bpmf_alpha, bpmf_beta0, bpmf_burn_in, bpmf_keep_samples (N; absent in
///   older files, which kept every sample), bpmf_samples (T, the sweeps averaged), and with T > 0
///   /state/user_samples, /state/item_samples  float32 [rows, k S]  (the samples kept,
///            bpmf.hpp: N > 0: the last S = min(T, N), column block (t - 1) mod N holding the
///            t-th after the burn-in, unscaled; N = 0: S = 1, the mean of the T samples)
///   /state/bpmf_train_prediction_sums, /state/bpmf_test_prediction_sums  float64 [n_train],
///            [n_test]  (sum over the T samples of w_i . h_j for every training / test rating,
///            in the global order: users by global index, within a user items by global
///            index; each rank holds a contiguous range of it, so any P reads its own)
///
/// Files are named as checkpoint_name.hpp says (checkpoint-000012.h5, or with +u or +s3 after a
/// stop inside the next iteration). They
/// are written collectively to "<name>.tmp" and renamed, so a checkpoint on disk is complete or
/// absent; every dataset carries a checksum, so corruption is detected when it is read.
///
/// DISTMF_FAULT=abort-during-checkpoint[:N] (test only) kills every rank in the middle of
/// writing a checkpoint (of iteration N, or of any iteration).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distmf/checkpoint_name.hpp"
#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/log.hpp"
#include "distmf/model_io.hpp"
#include "distmf/train_state.hpp"

namespace distmf {

/// Collective: every rank of comm must call. An order-independent 64-bit fingerprint of the
/// loaded data (every train and test rating with external IDs, and --data.seed, which fixes the
/// row order): the same for any number of ranks, different when the data or split changes.
std::uint64_t data_fingerprint(const Communicator& comm, const Dataset& dataset,
                               std::uint64_t data_seed);

/// Collective: every rank of comm must call. Creates the checkpoint folder if needed and
/// removes temporary files a killed run left in it (rank 0).
void prepare_checkpoint_dir(const Communicator& comm, const std::string& dir);

/// Collective: every rank of comm must call. The attributes of a model or checkpoint file of
/// this run at `iteration` (kind "model" or "checkpoint"); `created` is rank 0's clock.
ModelInfo run_model_info(const Communicator& comm, const Config& config, const Dataset& dataset,
                         std::int64_t iteration, const std::string& kind);

/// Collective: every rank of comm must call. Writes `state` as a checkpoint into
/// config.checkpoint.dir (deletes nothing: CheckpointSchedule does). Returns the path written.
std::string save_checkpoint(const Communicator& comm, const Config& config, const Dataset& dataset,
                            const TrainState& state, std::uint64_t fingerprint);

/// Collective: every rank of comm must call. Per --checkpoint.resume:
/// - `never` -> nullopt, after moving every checkpoint of the folder aside as "<name>.old";
/// - `auto` -> the newest valid checkpoint in the folder. Invalid ones are moved aside (rank 0
///   renames them "<name>.unusable", never over an existing file) and reported in one line
///   each. nullopt if the folder holds no checkpoint at all; an InputError if it holds files
///   set aside as unusable (now or by an earlier run) and no valid checkpoint: a run's history
///   is never replaced by a fresh start without --checkpoint.resume never;
/// - a file -> that checkpoint, which must be valid; the folder's checkpoints of later
///   iterations are moved aside as "<name>.old".
/// Every rank takes the same decisions (rank 0 lists the folder; a read error on any rank makes
/// the file unusable for all). A checkpoint that does not fit this run (rank, biases, algorithm,
/// data, a DSGD epoch begun on another number of ranks) is a ConfigError naming the difference;
/// so are, unless --checkpoint.force (then one warning each), lambda, bias-lambda,
/// regularization, the [ials] or [bpmf] settings, and for DSGD and BPMF --train.seed, for DSGD
/// the number of ranks, the effective --dsgd.grid and the [dsgd] step-size schedule. Returns
/// the restored state and the path it came from.
struct ResumedState {
    TrainState state;
    std::string path;
};
std::optional<ResumedState> resume_from_checkpoint(const Communicator& comm, const Config& config,
                                                   const Dataset& dataset,
                                                   std::uint64_t fingerprint, const Logger& log);

/// When to write checkpoints: every --checkpoint.every iterations and/or every
/// --checkpoint.every-seconds (decided on rank 0's clock, so every rank agrees), and which to
/// delete: after each write, the checkpoints not among the newest --checkpoint.keep up to it,
/// but only those this run wrote or found in the folder up to its starting point. A file that
/// appears later, or one set aside (.unusable, .old), is never deleted.
class CheckpointSchedule {
  public:
    /// Collective. Inactive when config.checkpoint.dir is empty. `start` is the state the run
    /// starts from (resumed or fresh).
    CheckpointSchedule(const Communicator& comm, const Config& config, const Dataset& dataset,
                       std::uint64_t fingerprint, const TrainState& start, const Logger& log);
    /// Collective. Writes a checkpoint of `state` if one is due.
    void after_iteration(const TrainState& state);
    /// Collective. Writes a checkpoint of `state` now (unless this exact state was just
    /// written); returns its path, or "" without a checkpoint folder.
    std::string write_now(const TrainState& state);
    /// Whether checkpoints are written at all.
    bool active() const noexcept { return active_; }

  private:
    /// Collective. Deletes the removable checkpoints not among the newest keep up to `written`.
    void remove_superseded(const CheckpointName& written);

    const Communicator& comm_;
    const Config& config_;
    const Dataset& dataset_;
    std::uint64_t fingerprint_;
    const Logger& log_;
    bool active_;
    double last_time_;
    std::optional<CheckpointName> last_written_;
    std::vector<CheckpointName> removable_;  ///< checkpoints this run may delete
};

/// Local. A few lines describing a checkpoint's /state group (for `distmf inspect`).
std::string describe_checkpoint_state(const H5Handle& file);

/// Collective: every rank of comm must call. Checks a checkpoint file completely (format,
/// checksums of every dataset); returns "ok" or the reason it is not usable.
std::string verify_checkpoint(const Communicator& comm, const std::string& path);

}  // namespace distmf
