#include "distmf/generate.hpp"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <span>

#include "distmf/atomic_file.hpp"
#include "distmf/error.hpp"
#include "distmf/hashing.hpp"

namespace distmf {
namespace {

constexpr double user_activity_exponent = 0.7;
constexpr double item_popularity_exponent = 0.9;
constexpr double uniform_popularity_share = 0.25;  // floor so every item can be drawn
constexpr double reference_scale_width = 4.0;      // the 1-5 scale the spreads below assume
constexpr double user_bias_spread = 0.35;
constexpr double item_bias_spread = 0.45;
constexpr double interaction_spread = 0.8;
constexpr std::uint64_t user_stream = 1;
constexpr std::uint64_t item_stream = 2;
constexpr std::int64_t users_per_chunk = 2048;

/// Sum over users of min(cap, base + scale * weight).
double capped_total(std::span<const double> weights, double base, double cap, double scale) {
    double total = 0.0;
    for (const double w : weights) total += std::min(cap, base + scale * w);
    return total;
}

void append_integer(std::string& out, std::int64_t value) {
    char text[24];
    const auto result = std::to_chars(text, text + sizeof text, value);
    out.append(text, result.ptr);
}

void append_rating(std::string& out, double value) {
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed, 2);
    out.append(text, result.ptr);
}

}  // namespace

SyntheticRatings::SyntheticRatings(const GenerateConfig& options) : options_(options) {
    const auto n_items = static_cast<std::size_t>(options.items);
    const auto n_users = static_cast<std::size_t>(options.users);
    const auto rank = static_cast<std::size_t>(options.rank);
    const double width = options.max_rating - options.min_rating;
    mean_ = options.min_rating + 0.63 * width;
    // w . h with w, h ~ N(0, s^2 I_rank) has variance rank * s^4.
    const double interaction = interaction_spread * width / reference_scale_width;
    factor_scale_ = std::sqrt(interaction / std::sqrt(static_cast<double>(rank)));

    item_factors_.resize(n_items * rank);
    item_bias_.resize(n_items);
    for (std::size_t i = 0; i < n_items; ++i) {
        SplitMix64 random(hash_keys(options.seed, item_stream, i));
        for (std::size_t f = 0; f < rank; ++f) {
            item_factors_[i * rank + f] = static_cast<float>(factor_scale_ * random.normal());
        }
        item_bias_[i] =
            static_cast<float>(item_bias_spread * width / reference_scale_width * random.normal());
    }

    // Item popularity: p_i = (1 - u) zipf_i + u / n_items, sampled with Vose's alias method.
    std::vector<double> probability(n_items);
    double zipf_total = 0.0;
    for (std::size_t i = 0; i < n_items; ++i) {
        probability[i] = std::pow(static_cast<double>(i) + 10.0, -item_popularity_exponent);
        zipf_total += probability[i];
    }
    for (double& p : probability) {
        p = ((1.0 - uniform_popularity_share) * p / zipf_total +
             uniform_popularity_share / static_cast<double>(n_items)) *
            static_cast<double>(n_items);
    }
    alias_probability_.assign(n_items, 1.0);
    alias_other_.resize(n_items);
    std::iota(alias_other_.begin(), alias_other_.end(), std::int64_t{0});
    std::vector<std::int64_t> small;
    std::vector<std::int64_t> large;
    for (std::size_t i = 0; i < n_items; ++i) {
        (probability[i] < 1.0 ? small : large).push_back(static_cast<std::int64_t>(i));
    }
    while (!small.empty() && !large.empty()) {
        const auto s = static_cast<std::size_t>(small.back());
        const auto l = static_cast<std::size_t>(large.back());
        small.pop_back();
        alias_probability_[s] = probability[s];
        alias_other_[s] = static_cast<std::int64_t>(l);
        probability[l] -= 1.0 - probability[s];
        if (probability[l] < 1.0) {
            large.pop_back();
            small.push_back(static_cast<std::int64_t>(l));
        }
    }

    // User activity: n_u = min(cap, base + t w_u) with t chosen (by bisection) so that the
    // counts add up to `ratings`; then floors, and the remainder to the largest fractions.
    const auto total = static_cast<double>(options.ratings);
    const double base = options.ratings >= options.users ? 1.0 : 0.0;
    double cap = std::max(1.0, std::floor(static_cast<double>(options.items) / 3.0));
    if (cap * static_cast<double>(options.users) < total) cap = static_cast<double>(options.items);
    std::vector<double> weights(n_users);
    for (std::size_t u = 0; u < n_users; ++u) {
        weights[u] = std::pow(static_cast<double>(u) + 10.0, -user_activity_exponent);
    }
    double low = 0.0;
    double high = 1.0;
    while (capped_total(weights, base, cap, high) < total) high *= 2.0;
    for (int step = 0; step < 200; ++step) {
        const double middle = 0.5 * (low + high);
        (capped_total(weights, base, cap, middle) < total ? low : high) = middle;
    }
    user_counts_.resize(n_users);
    std::vector<std::pair<double, std::int64_t>> fractions(n_users);
    std::int64_t assigned = 0;  // sum of floors <= sum of shares ~ ratings: never more
    for (std::size_t u = 0; u < n_users; ++u) {
        const double share = std::min(cap, base + high * weights[u]);
        user_counts_[u] = static_cast<std::int64_t>(std::floor(share));
        assigned += user_counts_[u];
        fractions[u] = {share - std::floor(share), static_cast<std::int64_t>(u)};
    }
    std::sort(fractions.begin(), fractions.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t k = 0; assigned < options.ratings; k = (k + 1) % n_users) {
        auto& count = user_counts_[static_cast<std::size_t>(fractions[k].second)];
        if (static_cast<double>(count) < cap) {
            ++count;
            ++assigned;
        }
    }
}

std::int64_t SyntheticRatings::draw_item(std::uint64_t random_bits, double uniform) const noexcept {
    const auto column =
        static_cast<std::size_t>(random_bits % static_cast<std::uint64_t>(options_.items));
    return uniform < alias_probability_[column] ? static_cast<std::int64_t>(column)
                                                : alias_other_[column];
}

void SyntheticRatings::append_users(std::int64_t first_user, std::int64_t end_user,
                                    std::string& out) const {
    const auto rank = static_cast<std::size_t>(options_.rank);
    const double width = options_.max_rating - options_.min_rating;
    std::vector<std::int64_t> seen_by(static_cast<std::size_t>(options_.items), -1);
    std::vector<double> user_factors(rank);
    for (std::int64_t user = first_user; user < end_user; ++user) {
        SplitMix64 random(hash_keys(options_.seed, user_stream, static_cast<std::uint64_t>(user)));
        for (double& f : user_factors) f = factor_scale_ * random.normal();
        const double user_bias = user_bias_spread * width / reference_scale_width * random.normal();
        std::int64_t remaining = user_counts_[static_cast<std::size_t>(user)];
        while (remaining > 0) {
            const std::int64_t item = draw_item(random.next(), random.uniform());
            if (seen_by[static_cast<std::size_t>(item)] == user) continue;  // distinct items only
            seen_by[static_cast<std::size_t>(item)] = user;
            --remaining;
            const float* h = &item_factors_[static_cast<std::size_t>(item) * rank];
            double dot = 0.0;
            for (std::size_t f = 0; f < rank; ++f)
                dot += user_factors[f] * static_cast<double>(h[f]);
            const double value = mean_ + user_bias +
                                 static_cast<double>(item_bias_[static_cast<std::size_t>(item)]) +
                                 dot + options_.noise * random.normal();
            append_integer(out, user + 1);
            out.push_back('\t');
            append_integer(out, item + 1);
            out.push_back('\t');
            append_rating(out, std::clamp(value, options_.min_rating, options_.max_rating));
            out.push_back('\n');
        }
    }
}

GenerateSummary generate_ratings(const GenerateConfig& options, int threads) {
    const double start = omp_get_wtime();
    const SyntheticRatings model(options);
    GenerateSummary summary;
    check_writable_destination(options.out);  // a folder as --out: fail now, not at the rename
    AtomicFile file(options.out);
    const std::int64_t n_chunks = (options.users + users_per_chunk - 1) / users_per_chunk;
    const std::int64_t chunks_per_batch = 4 * std::max(1, threads);
    std::vector<std::string> texts(static_cast<std::size_t>(chunks_per_batch));
    for (std::int64_t batch = 0; batch < n_chunks; batch += chunks_per_batch) {
        const std::int64_t batch_end = std::min(n_chunks, batch + chunks_per_batch);
#pragma omp parallel for schedule(dynamic) num_threads(std::max(1, threads))
        for (std::int64_t chunk = batch; chunk < batch_end; ++chunk) {
            std::string& text = texts[static_cast<std::size_t>(chunk - batch)];
            text.clear();
            model.append_users(chunk * users_per_chunk,
                               std::min(options.users, (chunk + 1) * users_per_chunk), text);
        }
        for (std::int64_t chunk = batch; chunk < batch_end; ++chunk) {
            const std::string& text = texts[static_cast<std::size_t>(chunk - batch)];
            file.write(text);
            summary.bytes += static_cast<std::int64_t>(text.size());
        }
    }
    file.commit();
    for (const std::int64_t count : model.user_counts()) {
        summary.ratings += count;
        summary.users_with_ratings += count > 0 ? 1 : 0;
    }
    summary.seconds = omp_get_wtime() - start;
    return summary;
}

}  // namespace distmf
