#pragma once
/// @file tune_schedule.hpp
/// The shape of a `distmf tune` search, decided before any candidate trains (so every rank and
/// every rerun derives the same one): successive halving (Jamieson & Talwalkar 2016) over a
/// ladder of rungs, and Hyperband's brackets (Li et al. 2017) over the same ladder.
///
///   ladder:   r_i = round(R / eta^(S - i)), i = 0..S, with S the largest s such that
///             R / eta^s >= r_min (R = --tune.max-iterations, r_min = --tune.min-iterations);
///   bracket b (b = 0..B-1) starts at rung b with
///             n_b = ceil(N (S + 1) / ((S + 1 - b) eta^b))   candidates (N: --tune.candidates),
///             and each next rung keeps the best max(1, floor(n / eta)) of the rung before.
///
/// A candidate promoted to rung i + 1 resumes its rung-i checkpoint, so it trains r_(i+1) - r_i
/// more iterations; a bracket's first rung trains from scratch. Bracket 0 alone is successive
/// halving; all of them, Hyperband (later brackets try fewer candidates for longer).

#include <cstdint>
#include <span>
#include <vector>

namespace distmf {

/// One rung of a bracket: how long its candidates have trained when it ends, and how many.
struct RungPlan {
    int rung = 0;                 ///< index into the ladder
    std::int64_t iterations = 0;  ///< r_rung
    std::int64_t candidates = 0;  ///< candidates trained in this rung
};

/// One bracket: its candidates are numbered first_candidate .. first_candidate + n - 1.
struct BracketPlan {
    int bracket = 0;
    std::int64_t first_candidate = 0;
    std::vector<RungPlan> rungs;  ///< in order; rungs.front().candidates = n_b
};

/// The whole search.
struct SearchPlan {
    std::vector<std::int64_t> ladder;  ///< r_0 < r_1 < ... < r_S = R
    std::vector<BracketPlan> brackets;
    std::int64_t total_candidates = 0;
    std::int64_t total_iterations = 0;  ///< training iterations of every candidate and rung
};

/// Local. The ladder above (min_iterations 0: R / eta^2, at least 1). Rungs that round to the
/// same iteration count are merged. Preconditions: 1 <= min_iterations <= max_iterations or
/// min_iterations = 0; eta >= 2.
std::vector<std::int64_t> rung_ladder(std::int64_t max_iterations, std::int64_t min_iterations,
                                      int eta);

/// Local. The plan for `first_candidates` candidates in bracket 0 (N above) and `brackets`
/// brackets (capped at the ladder's length).
SearchPlan plan_search(std::vector<std::int64_t> ladder, std::int64_t first_candidates, int eta,
                       int brackets);

/// Local. The largest N whose plan_search(ladder, N, eta, brackets) spends at most `budget`
/// iterations; 0 when not even N = 1 fits.
std::int64_t candidates_within_budget(const std::vector<std::int64_t>& ladder, std::int64_t budget,
                                      int eta, int brackets);

/// A candidate's standing at the end of a rung.
struct RungStanding {
    std::int64_t candidate = 0;
    double value = 0.0;     ///< its best validation value so far
    bool hopeless = false;  ///< stopped early: never promoted
};

/// Local. The candidates promoted out of a rung: the best `count` of `standings` that are not
/// hopeless and have a finite value, best first (lower values first when lower_is_better;
/// ties: the lower candidate number).
std::vector<std::int64_t> promoted_candidates(std::span<const RungStanding> standings,
                                              std::int64_t count, bool lower_is_better);

/// Local. How many of a rung's n candidates the next rung keeps: max(1, floor(n / eta)).
std::int64_t next_rung_size(std::int64_t candidates, int eta);

}  // namespace distmf
