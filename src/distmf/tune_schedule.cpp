#include "distmf/tune_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace distmf {

std::vector<std::int64_t> rung_ladder(std::int64_t max_iterations, std::int64_t min_iterations,
                                      int eta) {
    const auto top = static_cast<double>(max_iterations);
    const double ratio = static_cast<double>(eta);
    const double floor_iterations = min_iterations > 0
                                        ? static_cast<double>(min_iterations)
                                        : std::max(1.0, std::round(top / (ratio * ratio)));
    int steps = 0;  // S
    while (top / std::pow(ratio, steps + 1) >= floor_iterations * (1.0 - 1e-12)) ++steps;
    std::vector<std::int64_t> ladder;
    for (int i = 0; i <= steps; ++i) {
        const auto iterations =
            std::max<std::int64_t>(1, std::llround(top / std::pow(ratio, steps - i)));
        if (ladder.empty() || iterations > ladder.back()) ladder.push_back(iterations);
    }
    ladder.back() = max_iterations;
    return ladder;
}

std::int64_t next_rung_size(std::int64_t candidates, int eta) {
    return std::max<std::int64_t>(1, candidates / eta);
}

SearchPlan plan_search(std::vector<std::int64_t> ladder, std::int64_t first_candidates, int eta,
                       int brackets) {
    SearchPlan plan;
    plan.ladder = std::move(ladder);
    const auto n_rungs = static_cast<int>(plan.ladder.size());
    const int n_brackets = std::clamp(brackets, 1, n_rungs);
    for (int b = 0; b < n_brackets; ++b) {
        BracketPlan bracket;
        bracket.bracket = b;
        bracket.first_candidate = plan.total_candidates;
        const double share =
            static_cast<double>(n_rungs) / (static_cast<double>(n_rungs - b) * std::pow(eta, b));
        std::int64_t candidates = std::max<std::int64_t>(
            1, static_cast<std::int64_t>(
                   std::ceil(static_cast<double>(first_candidates) * share - 1e-9)));
        plan.total_candidates += candidates;
        std::int64_t trained_before = 0;
        for (int rung = b; rung < n_rungs; ++rung) {
            const std::int64_t iterations = plan.ladder[static_cast<std::size_t>(rung)];
            bracket.rungs.push_back({rung, iterations, candidates});
            plan.total_iterations += candidates * (iterations - trained_before);
            trained_before = iterations;
            candidates = next_rung_size(candidates, eta);
        }
        plan.brackets.push_back(std::move(bracket));
    }
    return plan;
}

std::int64_t candidates_within_budget(const std::vector<std::int64_t>& ladder, std::int64_t budget,
                                      int eta, int brackets) {
    const auto cost = [&](std::int64_t n) {
        return plan_search(ladder, n, eta, brackets).total_iterations;
    };
    if (cost(1) > budget) return 0;
    std::int64_t low = 1;   // fits
    std::int64_t high = 2;  // grows until it does not fit
    while (cost(high) <= budget) {
        low = high;
        high *= 2;
        if (high > (std::int64_t{1} << 40)) return low;
    }
    while (high - low > 1) {  // the cost grows with n
        const std::int64_t middle = low + (high - low) / 2;
        (cost(middle) <= budget ? low : high) = middle;
    }
    return low;
}

std::vector<std::int64_t> promoted_candidates(std::span<const RungStanding> standings,
                                              std::int64_t count, bool lower_is_better) {
    std::vector<RungStanding> eligible;
    for (const RungStanding& standing : standings) {
        if (!standing.hopeless && std::isfinite(standing.value)) eligible.push_back(standing);
    }
    std::sort(eligible.begin(), eligible.end(), [&](const RungStanding& a, const RungStanding& b) {
        if (a.value != b.value) return lower_is_better ? a.value < b.value : a.value > b.value;
        return a.candidate < b.candidate;
    });
    std::vector<std::int64_t> promoted;
    for (const RungStanding& standing : eligible) {
        if (static_cast<std::int64_t>(promoted.size()) >= count) break;
        promoted.push_back(standing.candidate);
    }
    return promoted;
}

}  // namespace distmf
