#include "distmf/dsgd_schedule.hpp"

#include <cmath>

namespace distmf {

std::vector<BlockCell> stratum(int step, int n_blocks) {
    std::vector<BlockCell> cells;
    cells.reserve(static_cast<std::size_t>(n_blocks));
    for (int row_block = 0; row_block < n_blocks; ++row_block) {
        cells.push_back({row_block, stratum_column(row_block, step, n_blocks)});
    }
    return cells;
}

double next_step_size(const DsgdConfig& options, double step_size, std::int64_t epochs_done,
                      double previous_objective, double objective) {
    switch (options.schedule) {
        case StepSchedule::fixed:
        case StepSchedule::adaptive:  // the rows' accumulators shrink their steps (sgd.hpp)
            return options.step_size;
        case StepSchedule::inverse_decay:
            return options.step_size / (1.0 + options.decay * static_cast<double>(epochs_done));
        case StepSchedule::bold_driver:
            if (std::isnan(previous_objective)) return step_size;
            return objective < previous_objective ? step_size * options.grow
                                                  : step_size * options.shrink;
    }
    return step_size;
}

}  // namespace distmf
