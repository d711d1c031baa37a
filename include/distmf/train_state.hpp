#pragma once
/// @file train_state.hpp
/// What the training loop carries from one iteration to the next, and what a checkpoint must
/// hold to resume it bit for bit.

#include <cstdint>
#include <limits>
#include <vector>

#include "distmf/factors.hpp"

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
    /// Ranking metrics of the test set at --eval.k (implicit ALS; NaN otherwise).
    double test_precision = std::numeric_limits<double>::quiet_NaN();
    double test_recall = std::numeric_limits<double>::quiet_NaN();
    double test_ndcg = std::numeric_limits<double>::quiet_NaN();
    double test_map = std::numeric_limits<double>::quiet_NaN();
    double test_auc = std::numeric_limits<double>::quiet_NaN();
};

/// Everything the loop carries from one iteration to the next.
struct TrainState {
    FactorTable users;
    FactorTable items;
    std::int64_t iteration = 0;  ///< iterations completed
    std::vector<IterationRecord> history;
    std::int64_t best_iteration = 0;  ///< with --train.patience: iteration of the best test
                                      ///< RMSE (implicit ALS: the best test NDCG)
    FactorTable best_users;           ///< with --train.patience: the best model so far
    FactorTable best_items;
    bool users_half_done = false;      ///< ALS: the user half-sweep of iteration + 1 is done
    bool stopped_early = false;        ///< --train.patience ended the run
    std::int64_t sub_epochs_done = 0;  ///< DSGD: sub-epochs of epoch iteration + 1 done
    double step_size = 0.0;            ///< DSGD: the step size of epoch iteration + 1
    /// DSGD with --dsgd.schedule adaptive: the AdaGrad accumulator G (sgd.hpp) of each own
    /// user and item row (one column, rows as in users and items); empty otherwise.
    FactorTable user_step_sums;
    FactorTable item_step_sums;
    /// BPMF: the T samples drawn after the burn-in, side by side ([U_1 ... U_T], rows x k T,
    /// unscaled; bpmf.hpp); empty before.
    FactorTable user_samples;
    FactorTable item_samples;
};

}  // namespace distmf
