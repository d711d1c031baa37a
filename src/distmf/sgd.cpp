#include "distmf/sgd.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

namespace distmf {
namespace {

/// w . h over k floats (vectorized: lane-wise partial sums, combined in a fixed order).
inline float dot(const float* __restrict w, const float* __restrict h, int k) {
    float sum = 0.0F;
#pragma omp simd reduction(+ : sum)
    for (int f = 0; f < k; ++f) sum += w[f] * h[f];
    return sum;
}

/// w <- w + alpha (e h - lambda_w w) and h <- h + alpha (e w - lambda_h h), old values on the
/// right (each lane reads w[f] and h[f] before writing either).
inline void step_factors(float* __restrict w, float* __restrict h, int k, float error, float alpha,
                         float user_lambda, float item_lambda) {
#pragma omp simd
    for (int f = 0; f < k; ++f) {
        const float old_w = w[f];
        const float old_h = h[f];
        w[f] = old_w + alpha * (error * old_h - user_lambda * old_w);
        h[f] = old_h + alpha * (error * old_w - item_lambda * old_h);
    }
}

/// Partial sums kept lane by lane (one AVX register of floats), combined as a tree.
constexpr int sum_lanes = 8;

[[gnu::always_inline]] inline float lane_total(const float (&part)[sum_lanes]) {
    return ((part[0] + part[4]) + (part[2] + part[6])) +
           ((part[1] + part[5]) + (part[3] + part[7]));
}

/// w <- w + alpha_w g_w and h <- h + alpha_h g_h with g_w = e h - lambda_w w and
/// g_h = e w - lambda_h h (old values on the right); sets `w_squares` to |g_w|^2 and
/// `h_squares` to |g_h|^2 (sums per lane, then a fixed tree; measured no faster than
/// `omp simd reduction`'s serial fold of the lanes). This and step_rows are always inlined
/// (GCC 12 made out-of-line calls of them once the adaptive kernel existed, k unknown to the
/// loops). Measured at k = 32 on one core: the squared gradients cost the adaptive pass about
/// a third of the fixed pass's rate, the square roots, divisions and G updates a fifth.
[[gnu::always_inline]] inline void step_factors_adaptive(float* __restrict w, float* __restrict h,
                                                         int k, float error, float alpha_w,
                                                         float alpha_h, float user_lambda,
                                                         float item_lambda, float& w_squares,
                                                         float& h_squares) {
    float part_w[sum_lanes] = {};
    float part_h[sum_lanes] = {};
    const auto step = [&](int f, int lane) {
        const float old_w = w[f];
        const float old_h = h[f];
        const float gradient_w = error * old_h - user_lambda * old_w;
        const float gradient_h = error * old_w - item_lambda * old_h;
        w[f] = old_w + alpha_w * gradient_w;
        h[f] = old_h + alpha_h * gradient_h;
        part_w[lane] += gradient_w * gradient_w;
        part_h[lane] += gradient_h * gradient_h;
    };
    int f = 0;
    for (; f + sum_lanes <= k; f += sum_lanes) {
#pragma omp simd
        for (int lane = 0; lane < sum_lanes; ++lane) step(f + lane, lane);
    }
    for (int lane = 0; f < k; ++f, ++lane) step(f, lane);
    w_squares = lane_total(part_w);
    h_squares = lane_total(part_h);
}

/// The SGD step on raw rows of `width` floats, the factors starting at column `offset` (1 with
/// a bias in column 0, else 0); with Adaptive, the step of sgd.hpp's adaptive rule on the
/// accumulators *user_sum and *item_sum (ignored otherwise).
template <bool HasBias, bool Adaptive>
[[gnu::always_inline]] inline void step_rows(float* __restrict user_row, float* __restrict item_row,
                                             int k, float rating, const SgdStep& step,
                                             float* __restrict user_sum,
                                             float* __restrict item_sum) {
    constexpr int offset = HasBias ? 1 : 0;
    float* w = user_row + offset;
    float* h = item_row + offset;
    float predicted = step.global_mean + dot(w, h, k);
    if constexpr (HasBias) predicted += user_row[0] + item_row[0];
    const float error = rating - predicted;
    float user_step = step.step_size;
    float item_step = step.step_size;
    if constexpr (Adaptive) {
        user_step = step.step_size / std::sqrt(*user_sum);
        item_step = step.step_size / std::sqrt(*item_sum);
        float user_squares = 0.0F;
        float item_squares = 0.0F;
        step_factors_adaptive(w, h, k, error, user_step, item_step, step.user_lambda,
                              step.item_lambda, user_squares, item_squares);
        const auto coordinates = static_cast<float>(k);
        *user_sum += user_squares / coordinates;
        *item_sum += item_squares / coordinates;
    } else {
        step_factors(w, h, k, error, step.step_size, step.user_lambda, step.item_lambda);
    }
    if constexpr (HasBias) {
        user_row[0] += user_step * (error - step.user_bias_lambda * user_row[0]);
        item_row[0] += item_step * (error - step.item_bias_lambda * item_row[0]);
    }
}

/// Asks for every cache line of a row of `width` floats (a row is seldom line-aligned).
inline void prefetch_row(const float* row, int width) {
    constexpr int floats_per_line = 16;
    for (int column = 0; column < width; column += floats_per_line) {
        __builtin_prefetch(row + column, 1);
    }
    __builtin_prefetch(row + width - 1, 1);
}

/// The pass, with k fixed at compile time when FixedK > 0 (fully unrolled k-wide loops).
template <bool HasBias, bool PerRowPenalty, bool Adaptive, int FixedK>
void pass(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
          float step_size, float global_mean, const SgdPenalties& penalties,
          const AdaptiveSums& sums) {
    float* const user_rows = users.values().data();
    float* const item_rows = items.values().data();
    float* const user_sums = sums.user_sums.data();
    float* const item_sums = sums.item_sums.data();
    const int k = FixedK > 0 ? FixedK : users.k();
    const int width = k + (HasBias ? 1 : 0);
    SgdStep step;
    step.step_size = step_size;
    step.global_mean = global_mean;
    step.user_lambda = step.item_lambda = penalties.lambda;
    step.user_bias_lambda = step.item_bias_lambda = penalties.bias_lambda;
    // Rows this many ratings ahead are requested while the current one is computed: enough to
    // cover a miss to memory (a step takes a few tens of nanoseconds).
    constexpr std::size_t prefetch_distance = 12;
    const std::size_t n = ratings.size();
    for (std::size_t e = 0; e < n; ++e) {
        if (e + prefetch_distance < n) {
            const BlockRating& ahead = ratings[e + prefetch_distance];
            prefetch_row(user_rows + static_cast<std::ptrdiff_t>(ahead.user) * width, width);
            prefetch_row(item_rows + static_cast<std::ptrdiff_t>(ahead.item) * width, width);
            if constexpr (Adaptive) {
                __builtin_prefetch(user_sums + ahead.user, 1);
                __builtin_prefetch(item_sums + ahead.item, 1);
            }
        }
        const BlockRating& r = ratings[e];
        if constexpr (PerRowPenalty) {
            const float user_scale = penalties.user_scale[static_cast<std::size_t>(r.user)];
            const float item_scale = penalties.item_scale[static_cast<std::size_t>(r.item)];
            step.user_lambda = penalties.lambda * user_scale;
            step.item_lambda = penalties.lambda * item_scale;
            step.user_bias_lambda = penalties.bias_lambda * user_scale;
            step.item_bias_lambda = penalties.bias_lambda * item_scale;
        }
        step_rows<HasBias, Adaptive>(user_rows + static_cast<std::ptrdiff_t>(r.user) * width,
                                     item_rows + static_cast<std::ptrdiff_t>(r.item) * width, k,
                                     r.rating, step, Adaptive ? user_sums + r.user : nullptr,
                                     Adaptive ? item_sums + r.item : nullptr);
    }
}

/// The pass for the rank of `users`: common ranks get their own unrolled copy (measured at
/// k = 32: 67 M instead of 44 M steps per second on one core).
template <bool HasBias, bool PerRowPenalty, bool Adaptive>
void pass_for_k(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
                float step_size, float global_mean, const SgdPenalties& penalties,
                const AdaptiveSums& sums) {
    switch (users.k()) {
        case 16:
            return pass<HasBias, PerRowPenalty, Adaptive, 16>(ratings, users, items, step_size,
                                                              global_mean, penalties, sums);
        case 32:
            return pass<HasBias, PerRowPenalty, Adaptive, 32>(ratings, users, items, step_size,
                                                              global_mean, penalties, sums);
        case 64:
            return pass<HasBias, PerRowPenalty, Adaptive, 64>(ratings, users, items, step_size,
                                                              global_mean, penalties, sums);
        case 128:
            return pass<HasBias, PerRowPenalty, Adaptive, 128>(ratings, users, items, step_size,
                                                               global_mean, penalties, sums);
        default:
            return pass<HasBias, PerRowPenalty, Adaptive, 0>(ratings, users, items, step_size,
                                                             global_mean, penalties, sums);
    }
}

/// pass_for_k with the run-time choices (biases, per-row penalties, adaptive) made templates.
template <bool Adaptive>
void pass_for(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
              float step_size, float global_mean, const SgdPenalties& penalties,
              const AdaptiveSums& sums) {
    const bool per_row = !penalties.user_scale.empty();
    if (users.has_bias()) {
        if (per_row) {
            pass_for_k<true, true, Adaptive>(ratings, users, items, step_size, global_mean,
                                             penalties, sums);
        } else {
            pass_for_k<true, false, Adaptive>(ratings, users, items, step_size, global_mean,
                                              penalties, sums);
        }
    } else if (per_row) {
        pass_for_k<false, true, Adaptive>(ratings, users, items, step_size, global_mean, penalties,
                                          sums);
    } else {
        pass_for_k<false, false, Adaptive>(ratings, users, items, step_size, global_mean, penalties,
                                           sums);
    }
}

}  // namespace

void sgd_update(std::span<float> user_row, std::span<float> item_row, float rating, bool has_bias,
                const SgdStep& step) {
    const int k = static_cast<int>(user_row.size()) - (has_bias ? 1 : 0);
    if (has_bias) {
        step_rows<true, false>(user_row.data(), item_row.data(), k, rating, step, nullptr, nullptr);
    } else {
        step_rows<false, false>(user_row.data(), item_row.data(), k, rating, step, nullptr,
                                nullptr);
    }
}

void sgd_update_adaptive(std::span<float> user_row, std::span<float> item_row, float rating,
                         bool has_bias, const SgdStep& step, float& user_sum, float& item_sum) {
    const int k = static_cast<int>(user_row.size()) - (has_bias ? 1 : 0);
    if (has_bias) {
        step_rows<true, true>(user_row.data(), item_row.data(), k, rating, step, &user_sum,
                              &item_sum);
    } else {
        step_rows<false, true>(user_row.data(), item_row.data(), k, rating, step, &user_sum,
                               &item_sum);
    }
}

std::vector<float> per_rating_penalty_scale(const AlsSettings& settings,
                                            std::span<const std::int64_t> counts) {
    std::vector<float> scale(counts.size(), 0.0F);
    for (std::size_t row = 0; row < counts.size(); ++row) {
        if (counts[row] == 0) continue;
        scale[row] = static_cast<float>(penalty_scale(settings, counts[row]) /
                                        static_cast<double>(counts[row]));
    }
    return scale;
}

void sgd_pass(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
              float step_size, float global_mean, const SgdPenalties& penalties,
              const AdaptiveSums& sums) {
    if (sums.user_sums.empty()) {
        pass_for<false>(ratings, users, items, step_size, global_mean, penalties, sums);
    } else {
        pass_for<true>(ratings, users, items, step_size, global_mean, penalties, sums);
    }
}

}  // namespace distmf
