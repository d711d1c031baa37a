#include "distmf/metrics.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace distmf {

namespace {

/// Error sums over the ratings of `by_user`, entry e of local row `row` predicted by
/// predict(row, e) (e: the entry's position in the row).
template <class Predict>
ErrorSums error_sums(const RatingMatrix& by_user, const Predict& predict, RatingRange range,
                     int threads) {
    const int n_threads = std::max(1, threads);
    std::vector<ErrorSums> partial(static_cast<std::size_t>(n_threads));
#pragma omp parallel num_threads(n_threads)
    {
        ErrorSums& mine = partial[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 64)
        for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
            const auto values = by_user.row_values(row);
            // A row's terms in double, in its fixed (column) order, then one exact add per
            // row: the same bits for any split of the rows over ranks and threads.
            double squared = 0.0;
            double absolute = 0.0;
            double squared_unclipped = 0.0;
            for (std::size_t e = 0; e < values.size(); ++e) {
                const double predicted = predict(row, e);
                const double actual = static_cast<double>(values[e]);
                const double error = actual - std::clamp(predicted, range.low, range.high);
                squared += error * error;
                absolute += std::fabs(error);
                squared_unclipped += (actual - predicted) * (actual - predicted);
            }
            mine.squared.add(squared);
            mine.absolute.add(absolute);
            mine.squared_unclipped.add(squared_unclipped);
            mine.count += static_cast<std::int64_t>(values.size());
        }
    }
    ErrorSums total;
    for (const ErrorSums& p : partial) {  // integer sums: the order does not matter
        total.squared.add(p.squared);
        total.absolute.add(p.absolute);
        total.squared_unclipped.add(p.squared_unclipped);
        total.count += p.count;
    }
    return total;
}

}  // namespace

ErrorSums rating_errors(const RatingMatrix& by_user, const FactorTable& users,
                        const FactorTable& items, double global_mean, RatingRange range,
                        int threads) {
    constexpr std::size_t prefetch_distance = 8;
    const auto predict = [&](std::int64_t row, std::size_t e) {
        const auto columns = by_user.row_columns(row);
        if (e + prefetch_distance < columns.size()) {  // the item rows are random reads
            const float* ahead =
                items.values().data() + columns[e + prefetch_distance] * items.width();
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + items.width() - 1);
        }
        return predict_rating(users, by_user.first_row + row, items, columns[e], global_mean);
    };
    return error_sums(by_user, predict, range, threads);
}

ErrorSums averaged_rating_errors(const RatingMatrix& by_user, std::span<const double> sums,
                                 std::int64_t samples, double global_mean, RatingRange range,
                                 int threads) {
    const auto divisor = static_cast<double>(samples);
    const auto predict = [&](std::int64_t row, std::size_t e) {
        const auto first =
            static_cast<std::size_t>(by_user.row_start[static_cast<std::size_t>(row)]);
        return global_mean + sums[first + e] / divisor;
    };
    return error_sums(by_user, predict, range, threads);
}

ExactSum penalty_sum(const FactorTable& table, std::span<const std::int64_t> counts,
                     std::int64_t first, std::int64_t count, const AlsSettings& settings) {
    ExactSum sum;
    for (std::int64_t row = first; row < first + count; ++row) {
        const Eigen::VectorXd penalty = row_penalty(settings, counts[static_cast<std::size_t>(row)],
                                                    table.width(), table.has_bias());
        sum.add(penalty.dot(table.row(row).transpose().cast<double>().cwiseAbs2()));
    }
    return sum;
}

ErrorMetrics all_reduce_errors(const Communicator& comm, const ErrorSums& mine) {
    ErrorMetrics metrics;
    metrics.count = comm.all_reduce_sum(mine.count);
    const double squared = ExactSum::all_reduce(comm, mine.squared).value();
    const double absolute = ExactSum::all_reduce(comm, mine.absolute).value();
    metrics.squared_unclipped = ExactSum::all_reduce(comm, mine.squared_unclipped).value();
    if (metrics.count > 0) {
        const auto n = static_cast<double>(metrics.count);
        metrics.rmse = std::sqrt(squared / n);
        metrics.mae = absolute / n;
    }
    return metrics;
}

}  // namespace distmf
