#pragma once
/// @file metrics.hpp
/// Error metrics and the training objective. Local kernels sum over a rank's rows; the
/// collective shells reduce them. A row's terms are summed in double in the row's fixed order
/// (a row is never split between ranks or threads), the row sums exactly (ExactSum), so every
/// figure is bitwise the same for any number of ranks and threads, and so are decisions taken
/// on them (early stop, the DSGD bold driver).
///
///   RMSE = sqrt(sum (a_ij - clip(a_hat_ij))^2 / n),   MAE = sum |a_ij - clip(a_hat_ij)| / n,
///   objective = sum (a_ij - a_hat_ij)^2 + sum_i s_i (lambda_b b_i^2 + lambda |w_i|^2)
///                                       + sum_j s_j (lambda_b c_j^2 + lambda |h_j|^2),
/// with predictions clipped to the training rating range for RMSE/MAE (not for the objective).

#include <cstdint>
#include <span>

#include "distmf/als.hpp"
#include "distmf/comm.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/factors.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// The range predictions are clipped to for RMSE and MAE.
struct RatingRange {
    double low = -1e300;
    double high = 1e300;
};

/// Partial sums of prediction errors over some ratings.
struct ErrorSums {
    ExactSum squared;            ///< sum (a - clip(a_hat))^2
    ExactSum absolute;           ///< sum |a - clip(a_hat)|
    ExactSum squared_unclipped;  ///< sum (a - a_hat)^2 (for the objective)
    std::int64_t count = 0;
};

/// Local. Error sums over the ratings of `by_user` (rows: users, columns: items).
ErrorSums rating_errors(const RatingMatrix& by_user, const FactorTable& users,
                        const FactorTable& items, double global_mean, RatingRange range,
                        int threads);

/// Local. Error sums over the ratings of `by_user` predicted by the mean of `samples`
/// predictions whose sums are given: a_hat_e = global_mean + sums[e] / samples for entry e in
/// the CSR order of `by_user` (BPMF's running sums, bpmf.hpp). Summed in the order
/// rating_errors sums.
ErrorSums averaged_rating_errors(const RatingMatrix& by_user, std::span<const double> sums,
                                 std::int64_t samples, double global_mean, RatingRange range,
                                 int threads);

/// Local. The penalty term of rows [first, first + count) of `table`:
/// sum_i row_penalty(settings, counts[i]) . row_i^2 (bias and factors).
ExactSum penalty_sum(const FactorTable& table, std::span<const std::int64_t> counts,
                     std::int64_t first, std::int64_t count, const AlsSettings& settings);

/// Global error figures.
struct ErrorMetrics {
    double rmse = 0.0;
    double mae = 0.0;
    double squared_unclipped = 0.0;
    std::int64_t count = 0;
};

/// Collective: every rank of comm must call. Reduces every rank's sums.
ErrorMetrics all_reduce_errors(const Communicator& comm, const ErrorSums& mine);

}  // namespace distmf
