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
///
/// Adaptive steps (--dsgd.schedule adaptive; per-row AdaGrad, as LIBMF: Chin, Zhuang, Juan,
/// Lin, PAKDD 2015). Every user row i and item row j keeps an accumulator G (G_i, G_j, starting
/// at initial_step_sum = 1, so that a row's first step is alpha, as with a fixed step). With
/// the negative gradients of the factors
///
///   g_i = e h_j - lambda_i w_i,        g_j = e w_i - lambda_j h_j       (old values),
///
/// one step is
///
///   alpha_i = alpha / sqrt(G_i),       alpha_j = alpha / sqrt(G_j)      (G before the step)
///   w_i <- w_i + alpha_i g_i           h_j <- h_j + alpha_j g_j
///   b_i <- b_i + alpha_i (e - lambda_b,i b_i)     c_j <- c_j + alpha_j (e - lambda_b,j c_j)
///   G_i <- G_i + |g_i|^2 / k           G_j <- G_j + |g_j|^2 / k
///
/// (one accumulator per row: the mean over the k coordinates of the squared gradient). The
/// bias takes its row's step and adds nothing to G: its gradient e is on another scale than
/// the factors' (e h_jf, with |h_jf| << 1), and counting it would shrink the factor steps of
/// every row by the size of its errors alone. alpha stays the same in every epoch; the steps of
/// a row shrink as its gradients add up, fast for rows with many ratings or large errors.

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

/// The accumulator G of a row that has not been stepped yet (adaptive steps).
inline constexpr float initial_step_sum = 1.0F;

/// Local. One adaptive SGD step (the rule above, alpha = step.step_size) on the rows of
/// sgd_update, whose accumulators are `user_sum` (G_i) and `item_sum` (G_j).
void sgd_update_adaptive(std::span<float> user_row, std::span<float> item_row, float rating,
                         bool has_bias, const SgdStep& step, float& user_sum, float& item_sum);

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

/// The accumulators G of adaptive steps for the rows of a pass, indexed by storage row like the
/// tables (user_sums[r] belongs to storage row r of the users); both empty: a fixed step.
struct AdaptiveSums {
    std::span<float> user_sums;
    std::span<float> item_sums;
};

/// Local. sgd_update on every rating of `ratings`, in order, with the same step size and
/// mean (or, when `sums` are given, sgd_update_adaptive with those accumulators); `users` and
/// `items` hold the rows the ratings name (rating.user is storage row rating.user of `users`,
/// whatever its first_row()). The rows of the next ratings are prefetched; the k-wide loops
/// are vectorized; nothing is allocated.
void sgd_pass(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
              float step_size, float global_mean, const SgdPenalties& penalties,
              const AdaptiveSums& sums = {});

}  // namespace distmf
