#pragma once
/// @file sgd.hpp
/// Stochastic gradient descent on the model of als.hpp, one rating at a time (the local
/// kernels of DSGD; dsgd.hpp distributes them). For a rating a_ij of user i and item j:
///
///   e   = a_ij - (mu + b_i + c_j + w_i . h_j)
///   b_i <- b_i + alpha (e - lambda_b,i b_i)          c_j <- c_j + alpha (e - lambda_b,j c_j)
///   w_i <- w_i + alpha (e h_j - lambda_i w_i)        h_j <- h_j + alpha (e w_i - lambda_j h_j)
///
/// with the old values on every right-hand side. This is a step along the negative gradient of
/// the rating's share of the objective (1/2 of it; alpha absorbs the 2):
///
///   (a_ij - a_hat_ij)^2 + (s_i / n_i)(lambda_b b_i^2 + lambda |w_i|^2)
///                       + (s_j / n_j)(lambda_b c_j^2 + lambda |h_j|^2),
///
/// which summed over the ratings is the objective of metrics.hpp: a row with n_i ratings is
/// stepped n_i times per epoch. So lambda_i = lambda s_i / n_i: lambda itself with weighted
/// regularization (s_i = n_i, the classic SGD rule), lambda / n_i with plain (s_i = 1).

#include <cstdint>
#include <span>
#include <vector>

#include "distmf/als.hpp"
#include "distmf/factors.hpp"

namespace distmf {

/// One training rating as DSGD stores it: the user's row in the rank's user block, the item's
/// row in its item block, the rating.
struct BlockRating {
    std::int32_t user = 0;
    std::int32_t item = 0;
    float rating = 0.0F;
};

/// The coefficients of one SGD step, as they apply to this rating.
struct SgdStep {
    float step_size = 0.0F;         ///< alpha
    float global_mean = 0.0F;       ///< mu (0 without biases)
    float user_lambda = 0.0F;       ///< lambda_i, on w_i
    float item_lambda = 0.0F;       ///< lambda_j, on h_j
    float user_bias_lambda = 0.0F;  ///< lambda_b,i, on b_i
    float item_bias_lambda = 0.0F;  ///< lambda_b,j, on c_j
};

/// Local. One SGD step (the update rule above) on the rating `rating` of a user and an item
/// whose FactorTable rows are `user_row` and `item_row` (the same width: [bias,] k factors;
/// `has_bias` says whether column 0 is the bias).
void sgd_update(std::span<float> user_row, std::span<float> item_row, float rating, bool has_bias,
                const SgdStep& step);

/// The penalties of every SGD step, per rating: lambda_i = lambda * user_scale[i] (and the
/// same for items and for the biases). The scales are s_i / n_i; empty spans mean 1 for every
/// row (weighted regularization), and the pass reads no per-row scale.
struct SgdPenalties {
    float lambda = 0.0F;
    float bias_lambda = 0.0F;
    std::span<const float> user_scale;  ///< by the ratings' user rows, or empty
    std::span<const float> item_scale;  ///< by the ratings' item rows, or empty
};

/// Local. The per-rating penalty scale s_i / n_i (s_i = penalty_scale(settings, n_i)) of every
/// row, with n_i = counts[i]: 1 with weighted regularization, 1 / n_i with plain; 0 for rows
/// without ratings (never stepped).
std::vector<float> per_rating_penalty_scale(const AlsSettings& settings,
                                            std::span<const std::int64_t> counts);

/// Local. sgd_update on every rating of `ratings`, in order, with the same step size and
/// mean; `users` and `items` hold the rows the ratings name (rating.user is storage row
/// rating.user of `users`, whatever its first_row()). The rows of the next ratings are
/// prefetched; the k-wide loops are vectorized; nothing is allocated.
void sgd_pass(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
              float step_size, float global_mean, const SgdPenalties& penalties);

}  // namespace distmf
