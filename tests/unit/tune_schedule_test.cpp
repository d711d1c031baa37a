// The shape of a `distmf tune` search: the rung ladder, successive halving and Hyperband's
// brackets, the budget, and the promotions out of a rung.
#include "distmf/tune_schedule.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

using distmf::candidates_within_budget;
using distmf::plan_search;
using distmf::promoted_candidates;
using distmf::rung_ladder;
using distmf::RungStanding;

TEST_CASE("rung_ladder: rungs eta times apart, from the minimum to the maximum", "[tune]") {
    CHECK(rung_ladder(27, 1, 3) == std::vector<std::int64_t>{1, 3, 9, 27});
    CHECK(rung_ladder(30, 0, 3) == std::vector<std::int64_t>{3, 10, 30});  // R / eta^2
    CHECK(rung_ladder(100, 10, 2) == std::vector<std::int64_t>{13, 25, 50, 100});
    CHECK(rung_ladder(5, 5, 3) == std::vector<std::int64_t>{5});
    CHECK(rung_ladder(1, 0, 3) == std::vector<std::int64_t>{1});
    CHECK(rung_ladder(4, 1, 4) == std::vector<std::int64_t>{1, 4});
}

TEST_CASE("plan_search: successive halving keeps 1/eta of each rung", "[tune]") {
    const auto plan = plan_search({1, 3, 9, 27}, 27, 3, 1);
    REQUIRE(plan.brackets.size() == 1);
    const auto& rungs = plan.brackets[0].rungs;
    REQUIRE(rungs.size() == 4);
    CHECK(rungs[0].candidates == 27);
    CHECK(rungs[1].candidates == 9);
    CHECK(rungs[2].candidates == 3);
    CHECK(rungs[3].candidates == 1);
    CHECK(plan.total_candidates == 27);
    // 27 x 1 + 9 x (3 - 1) + 3 x (9 - 3) + 1 x (27 - 9): promoted candidates resume
    CHECK(plan.total_iterations == 27 + 18 + 18 + 18);
    // at least one candidate goes on
    const auto few = plan_search({1, 3, 9}, 2, 3, 1);
    CHECK(few.brackets[0].rungs[1].candidates == 1);
    CHECK(few.brackets[0].rungs[2].candidates == 1);
}

TEST_CASE("plan_search: Hyperband brackets start later with fewer candidates", "[tune]") {
    const auto plan = plan_search({1, 3, 9, 27}, 27, 3, 4);
    REQUIRE(plan.brackets.size() == 4);
    // n_b = ceil(N (S + 1) / ((S + 1 - b) eta^b)), S + 1 = 4 rungs
    CHECK(plan.brackets[1].rungs.front().candidates == 12);  // ceil(27 * 4 / (3 * 3))
    CHECK(plan.brackets[2].rungs.front().candidates == 6);   // ceil(27 * 4 / (2 * 9))
    CHECK(plan.brackets[3].rungs.front().candidates == 4);   // ceil(27 * 4 / (1 * 27))
    CHECK(plan.brackets[1].rungs.front().rung == 1);
    CHECK(plan.brackets[3].rungs.size() == 1);
    CHECK(plan.brackets[1].first_candidate == 27);
    CHECK(plan.brackets[2].first_candidate == 39);
    CHECK(plan.total_candidates == 27 + 12 + 6 + 4);
    CHECK(plan_search({1, 3}, 9, 3, 7).brackets.size() == 2);  // at most one per rung
}

TEST_CASE("candidates_within_budget: the most candidates whose plan fits", "[tune]") {
    const std::vector<std::int64_t> ladder{1, 3, 9, 27};
    for (const std::int64_t budget : {27, 81, 100, 1000}) {
        const std::int64_t n = candidates_within_budget(ladder, budget, 3, 1);
        REQUIRE(n >= 1);
        CHECK(plan_search(ladder, n, 3, 1).total_iterations <= budget);
        CHECK(plan_search(ladder, n + 1, 3, 1).total_iterations > budget);
    }
    CHECK(candidates_within_budget(ladder, 26, 3, 1) == 0);  // one candidate needs 27
}

TEST_CASE("promoted_candidates: the best, hopeless and non-finite ones never", "[tune]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<RungStanding> standings{{0, 0.95, false}, {1, 0.90, false}, {2, 0.80, true},
                                              {3, nan, false},  {4, 0.90, false}, {5, 0.99, false}};
    CHECK(promoted_candidates(standings, 2, true) == std::vector<std::int64_t>{1, 4});
    CHECK(promoted_candidates(standings, 3, true) == std::vector<std::int64_t>{1, 4, 0});
    CHECK(promoted_candidates(standings, 1, false) == std::vector<std::int64_t>{5});
    CHECK(promoted_candidates(standings, 10, true).size() == 4);
    CHECK(promoted_candidates(standings, 0, true).empty());
}
