#include "distmf/sgd.hpp"

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

/// The SGD step on raw rows of `width` floats, the factors starting at column `offset` (1 with
/// a bias in column 0, else 0).
template <bool HasBias>
inline void step_rows(float* __restrict user_row, float* __restrict item_row, int k, float rating,
                      const SgdStep& step) {
    constexpr int offset = HasBias ? 1 : 0;
    float* w = user_row + offset;
    float* h = item_row + offset;
    float predicted = step.global_mean + dot(w, h, k);
    if constexpr (HasBias) predicted += user_row[0] + item_row[0];
    const float error = rating - predicted;
    step_factors(w, h, k, error, step.step_size, step.user_lambda, step.item_lambda);
    if constexpr (HasBias) {
        user_row[0] += step.step_size * (error - step.user_bias_lambda * user_row[0]);
        item_row[0] += step.step_size * (error - step.item_bias_lambda * item_row[0]);
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
template <bool HasBias, bool PerRowPenalty, int FixedK>
void pass(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
          float step_size, float global_mean, const SgdPenalties& penalties) {
    float* const user_rows = users.values().data();
    float* const item_rows = items.values().data();
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
        step_rows<HasBias>(user_rows + static_cast<std::ptrdiff_t>(r.user) * width,
                           item_rows + static_cast<std::ptrdiff_t>(r.item) * width, k, r.rating,
                           step);
    }
}

/// The pass for the rank of `users`: common ranks get their own unrolled copy (measured at
/// k = 32: 67 M instead of 44 M steps per second on one core).
template <bool HasBias, bool PerRowPenalty>
void pass_for_k(std::span<const BlockRating> ratings, FactorTable& users, FactorTable& items,
                float step_size, float global_mean, const SgdPenalties& penalties) {
    switch (users.k()) {
        case 16:
            return pass<HasBias, PerRowPenalty, 16>(ratings, users, items, step_size, global_mean,
                                                    penalties);
        case 32:
            return pass<HasBias, PerRowPenalty, 32>(ratings, users, items, step_size, global_mean,
                                                    penalties);
        case 64:
            return pass<HasBias, PerRowPenalty, 64>(ratings, users, items, step_size, global_mean,
                                                    penalties);
        case 128:
            return pass<HasBias, PerRowPenalty, 128>(ratings, users, items, step_size, global_mean,
                                                     penalties);
        default:
            return pass<HasBias, PerRowPenalty, 0>(ratings, users, items, step_size, global_mean,
                                                   penalties);
    }
}

}  // namespace

void sgd_update(std::span<float> user_row, std::span<float> item_row, float rating, bool has_bias,
                const SgdStep& step) {
    const int k = static_cast<int>(user_row.size()) - (has_bias ? 1 : 0);
    if (has_bias) {
        step_rows<true>(user_row.data(), item_row.data(), k, rating, step);
    } else {
        step_rows<false>(user_row.data(), item_row.data(), k, rating, step);
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
              float step_size, float global_mean, const SgdPenalties& penalties) {
    const bool per_row = !penalties.user_scale.empty();
    if (users.has_bias()) {
        if (per_row) {
            pass_for_k<true, true>(ratings, users, items, step_size, global_mean, penalties);
        } else {
            pass_for_k<true, false>(ratings, users, items, step_size, global_mean, penalties);
        }
    } else if (per_row) {
        pass_for_k<false, true>(ratings, users, items, step_size, global_mean, penalties);
    } else {
        pass_for_k<false, false>(ratings, users, items, step_size, global_mean, penalties);
    }
}

}  // namespace distmf
