#pragma once
/// @file generate.hpp
/// Synthetic ratings with known structure, for tests, benchmarks and the demo (real data sets
/// may not be shipped). The true model is the one distmf fits:
///   a_ui = clip(mu + b_u + c_i + w_u . h_i + noise),  noise ~ N(0, noise^2),
/// with w_u, h_i ~ N(0, s^2 I_rank) scaled so that w_u . h_i has standard deviation 0.8.
/// Item popularity is Zipf-like (mixed with a uniform floor so every item can be drawn) and
/// user activity is Zipf-like too, as in MovieLens. Each user's ratings are a pure function of
/// (seed, user): the file is the same for any number of threads.

#include <cstdint>
#include <string>
#include <vector>

#include "distmf/config.hpp"

namespace distmf {

/// What generate_ratings wrote.
struct GenerateSummary {
    std::int64_t ratings = 0;
    std::int64_t users_with_ratings = 0;
    std::int64_t bytes = 0;
    double seconds = 0.0;
};

/// The true model and the sampling tables of a synthetic data set. Built once (O(items * rank)
/// plus O(users)); then any range of users can be generated independently and in parallel.
class SyntheticRatings {
  public:
    /// Local. Builds the item factors, biases, popularity table and per-user rating counts.
    explicit SyntheticRatings(const GenerateConfig& options);

    /// Number of ratings of each user: Zipf-like shares summing exactly to options.ratings,
    /// at least one each when ratings >= users, and at most a third of the items each (all
    /// the items, when that is too few).
    const std::vector<std::int64_t>& user_counts() const noexcept { return user_counts_; }

    /// Local, thread-safe. Appends the TSV lines ("user<TAB>item<TAB>rating\n", IDs from 1)
    /// of users [first_user, end_user) to `out`.
    void append_users(std::int64_t first_user, std::int64_t end_user, std::string& out) const;

  private:
    std::int64_t draw_item(std::uint64_t random_bits, double uniform) const noexcept;

    GenerateConfig options_;
    double mean_ = 0.0;
    double factor_scale_ = 0.0;
    std::vector<float> item_factors_;  // items x rank, row-major
    std::vector<float> item_bias_;
    std::vector<double> alias_probability_;  // Vose's alias table over items
    std::vector<std::int64_t> alias_other_;
    std::vector<std::int64_t> user_counts_;
};

/// Local. Writes the whole file to options.out (through a temporary name and a rename, so a
/// failure never leaves a partial file), using up to `threads` OpenMP threads. Throws
/// InputError naming the path if it cannot be written.
GenerateSummary generate_ratings(const GenerateConfig& options, int threads);

}  // namespace distmf
