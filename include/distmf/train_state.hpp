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
    /// BPMF: the sweeps after the burn-in so far, T (bpmf.hpp).
    std::int64_t samples_averaged = 0;
    /// BPMF: the samples the model keeps (--bpmf.keep-samples N; bpmf.hpp): with N > 0 the last
    /// min(T, N) draws, column block (t - 1) mod N holding the t-th (rows x k min(T, N),
    /// unscaled); with N = 0 the mean of the T draws (rows x k); empty before.
    FactorTable user_samples;
    FactorTable item_samples;
    /// BPMF: for every training (test) rating of this rank's users, in their CSR order (users
    /// ascending, within a user items ascending: a range of the global order), the sum over
    /// the T samples of w_i^(t) . h_j^(t); empty before.
    std::vector<double> train_prediction_sums;
    std::vector<double> test_prediction_sums;
};

}  // namespace distmf
