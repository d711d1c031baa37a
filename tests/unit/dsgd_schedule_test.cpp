// DSGD's schedules: the strata of P x P blocks (ranks) and of a rank's grid x grid sub-blocks
// (thread waves) cover every block exactly once with no two concurrent blocks sharing a row or
// column block; and the three step-size schedules.
#include "distmf/dsgd_schedule.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <vector>

using distmf::BlockCell;
using distmf::DsgdConfig;
using distmf::StepSchedule;

namespace {

/// Checks one epoch of strata of an n x n grid: within a step no two cells share a row block or
/// a column block; over the n steps every cell comes exactly once.
void check_epoch(int n) {
    INFO("n = " << n);
    std::multiset<std::pair<int, int>> visited;
    for (int step = 0; step < n; ++step) {
        const std::vector<BlockCell> cells = distmf::stratum(step, n);
        REQUIRE(cells.size() == static_cast<std::size_t>(n));
        std::set<int> rows;
        std::set<int> columns;
        for (const BlockCell& cell : cells) {
            CHECK(cell.row_block >= 0);
            CHECK(cell.row_block < n);
            CHECK(cell.column_block >= 0);
            CHECK(cell.column_block < n);
            CHECK(rows.insert(cell.row_block).second);
            CHECK(columns.insert(cell.column_block).second);
            CHECK(distmf::stratum_column(cell.row_block, step, n) == cell.column_block);
            visited.insert({cell.row_block, cell.column_block});
        }
    }
    CHECK(visited.size() == static_cast<std::size_t>(n * n));
    for (int row = 0; row < n; ++row) {
        for (int column = 0; column < n; ++column) CHECK(visited.count({row, column}) == 1);
    }
}

}  // namespace

TEST_CASE("strata: for P = 1..8 every block once per epoch, no shared row or column block",
          "[dsgd][schedule]") {
    for (int n_ranks = 1; n_ranks <= 8; ++n_ranks) check_epoch(n_ranks);
}

TEST_CASE("thread waves: the same guarantees for grids of 1..32 sub-blocks", "[dsgd][schedule]") {
    for (const int grid : {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 31, 32}) check_epoch(grid);
}

TEST_CASE("strata: rank r's item block in sub-epoch s is the one rank r + 1 had before",
          "[dsgd][schedule]") {
    // The ring shift (send to r - 1, receive from r + 1) delivers exactly the next block.
    for (int n_ranks = 1; n_ranks <= 8; ++n_ranks) {
        for (int step = 0; step + 1 < n_ranks; ++step) {
            for (int rank = 0; rank < n_ranks; ++rank) {
                CHECK(distmf::stratum_column(rank, step + 1, n_ranks) ==
                      distmf::stratum_column((rank + 1) % n_ranks, step, n_ranks));
            }
        }
        // After the last sub-epoch's shift every rank holds its own block again.
        for (int rank = 0; rank < n_ranks; ++rank) {
            CHECK(distmf::stratum_column((rank + 1) % n_ranks, n_ranks - 1, n_ranks) == rank);
        }
    }
}

TEST_CASE("next_step_size: fixed, adaptive, inverse decay and the bold driver",
          "[dsgd][schedule]") {
    DsgdConfig options;
    options.step_size = 0.02;
    options.grow = 1.05;
    options.shrink = 0.5;
    options.decay = 0.25;
    const double nan = std::numeric_limits<double>::quiet_NaN();

    options.schedule = StepSchedule::fixed;
    CHECK(distmf::next_step_size(options, 0.02, 1, nan, 10.0) == 0.02);
    CHECK(distmf::next_step_size(options, 0.02, 7, 5.0, 10.0) == 0.02);

    options.schedule = StepSchedule::adaptive;  // alpha stays; the rows' G shrink the steps
    CHECK(distmf::next_step_size(options, 0.02, 1, nan, 10.0) == 0.02);
    CHECK(distmf::next_step_size(options, 0.02, 7, 5.0, 10.0) == 0.02);

    options.schedule = StepSchedule::inverse_decay;
    CHECK(distmf::next_step_size(options, 0.02, 1, nan, 10.0) == Approx(0.02 / 1.25));
    CHECK(distmf::next_step_size(options, 0.0, 4, 5.0, 1.0) == Approx(0.01));

    options.schedule = StepSchedule::bold_driver;
    CHECK(distmf::next_step_size(options, 0.02, 1, nan, 10.0) == 0.02);  // nothing to compare
    CHECK(distmf::next_step_size(options, 0.02, 2, 10.0, 9.0) == Approx(0.021));
    CHECK(distmf::next_step_size(options, 0.02, 2, 10.0, 11.0) == Approx(0.01));
    CHECK(distmf::next_step_size(options, 0.02, 2, 10.0, 10.0) == Approx(0.01));  // no progress
    // A run of epochs: lower, lower, higher, lower.
    double step = 0.02;
    const std::vector<double> objectives{100.0, 90.0, 85.0, 86.0, 80.0};
    for (std::size_t t = 1; t < objectives.size(); ++t) {
        step = distmf::next_step_size(options, step, static_cast<std::int64_t>(t + 1),
                                      objectives[t - 1], objectives[t]);
    }
    CHECK(step == Approx(0.02 * 1.05 * 1.05 * 0.5 * 1.05));
}
