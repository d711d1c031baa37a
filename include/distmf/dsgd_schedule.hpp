#pragma once
/// @file dsgd_schedule.hpp
/// When DSGD does what: which blocks run at the same time, and the step size of each epoch.
///
/// Strata (Gemulla et al. 2011). The ratings are cut into n x n blocks (row block = a range of
/// users, column block = a range of items). Blocks that share no row block and no column block
/// touch disjoint factor rows, so they can be updated at the same time with no locks and the
/// same result in any order. Stratum s is the n blocks (b, (b + s) mod n), b = 0..n-1; the n
/// strata s = 0..n-1 cover every block exactly once. DSGD runs stratum s on P ranks in
/// sub-epoch s (rank r: block (r, (r + s) mod P)), and the same schedule on a grid x grid
/// finer cut of a rank's block for its threads (wave w: sub-blocks (a, (a + w) mod grid)).

#include <cstdint>
#include <vector>

#include "distmf/config.hpp"

namespace distmf {

/// One block of a square grid of blocks.
struct BlockCell {
    int row_block = 0;     ///< users' block (a rank, or a part of a rank's users)
    int column_block = 0;  ///< items' block
};

/// Local. The column block that row block `row_block` works on in stratum `step` of an
/// n_blocks x n_blocks grid: (row_block + step) mod n_blocks.
constexpr int stratum_column(int row_block, int step, int n_blocks) {
    return (row_block + step) % n_blocks;
}

/// Local. Stratum `step` (0 <= step < n_blocks): the cells (b, stratum_column(b, step)) for
/// b = 0..n_blocks-1, in that order.
std::vector<BlockCell> stratum(int step, int n_blocks);

/// Local. The step size of the epoch after `epochs_done` (>= 1) epochs, whose last one used
/// `step_size` and ended with training objective `objective` after `previous_objective`
/// (NaN when there is no earlier epoch):
///   fixed:          options.step_size
///   adaptive:       options.step_size (alpha of sgd.hpp's per-row AdaGrad steps)
///   inverse-decay:  options.step_size / (1 + options.decay * epochs_done)
///   bold-driver:    step_size * options.grow   if objective < previous_objective,
///                   step_size * options.shrink if objective >= previous_objective,
///                   step_size                  without a previous objective.
double next_step_size(const DsgdConfig& options, double step_size, std::int64_t epochs_done,
                      double previous_objective, double objective);

}  // namespace distmf
