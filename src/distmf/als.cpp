#include "distmf/als.hpp"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <limits>

#include "distmf/error.hpp"

namespace distmf {

double penalty_scale(const AlsSettings& settings, std::int64_t n_ratings) {
    return settings.regularization == Regularization::weighted ? static_cast<double>(n_ratings)
                                                               : 1.0;
}

Eigen::VectorXd row_penalty(const AlsSettings& settings, std::int64_t n_ratings, int width,
                            bool has_bias) {
    const double scale = penalty_scale(settings, n_ratings);
    Eigen::VectorXd penalty = Eigen::VectorXd::Constant(width, scale * settings.lambda);
    if (has_bias) penalty(0) = scale * settings.bias_lambda;
    return penalty;
}

bool solve_ridge(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
                 const Eigen::Ref<const Eigen::VectorXd>& penalty,
                 Eigen::Ref<Eigen::VectorXf> solution) {
    const Eigen::Index d = x.cols();
    // rank(X^T X) <= n: with more unpenalized unknowns than rows the system is singular in
    // exact arithmetic, though rounding can leave the float Gram matrix "positive definite"
    // and the Cholesky factorization would then return a huge, meaningless solution.
    if ((penalty.array() <= 0.0).count() > x.rows()) return false;
    // A = X^T X (lower triangle, one blocked SYRK), r = X^T y.
    Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(d, d);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
    const Eigen::VectorXd rhs = (x.transpose() * y).cast<double>();
    Eigen::MatrixXd system = gram.cast<double>();
    system.diagonal() += penalty;
    const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> cholesky(system);
    if (cholesky.info() != Eigen::Success) return false;
    solution = cholesky.solve(rhs).cast<float>();
    return solution.allFinite();
}

std::int64_t solve_rows(const RatingMatrix& ratings, const FactorTable& fixed,
                        const AlsSettings& settings, FactorTable& solved) {
    const int width = fixed.width();
    const bool biases = fixed.has_bias();
    std::int64_t first_failure = std::numeric_limits<std::int64_t>::max();
#pragma omp parallel num_threads(std::max(1, settings.threads))
    {
        RowMatrixXf x;
        Eigen::VectorXf y;
        Eigen::VectorXf solution(width);
#pragma omp for schedule(dynamic, 16) reduction(min : first_failure)
        for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
            const std::int64_t global_row = ratings.first_row + row;
            const auto columns = ratings.row_columns(row);
            const auto values = ratings.row_values(row);
            const auto n = static_cast<Eigen::Index>(columns.size());
            if (n == 0) {
                solved.row(global_row).setZero();
                continue;
            }
            // Gather X (rows x_j = [1, h_j] or h_j) and y (a_ij - mu - c_j).
            x.resize(n, width);
            y.resize(n);
            for (Eigen::Index e = 0; e < n; ++e) {
                const std::int64_t other = columns[static_cast<std::size_t>(e)];
                x.row(e) = fixed.row(other);
                y(e) = values[static_cast<std::size_t>(e)] -
                       static_cast<float>(settings.global_mean) - fixed.bias(other);
                if (biases) x(e, 0) = 1.0F;
            }
            if (solve_ridge(x, y, row_penalty(settings, n, width, biases), solution)) {
                solved.row(global_row) = solution.transpose();
            } else {
                first_failure = std::min(first_failure, global_row);
            }
        }
    }
    return first_failure == std::numeric_limits<std::int64_t>::max() ? -1 : first_failure;
}

void als_half_sweep(const Communicator& comm, const RatingMatrix& ratings,
                    const BlockPartition& blocks, const FactorTable& fixed,
                    const AlsSettings& settings, FactorTable& solved,
                    std::span<const std::int64_t> ids, const char* side) {
    const std::int64_t failed_row = solve_rows(ratings, fixed, settings, solved);
    std::optional<std::string> error;
    if (failed_row >= 0) {
        error = std::string("ALS could not solve the system of ") + side + " " +
                std::to_string(ids[static_cast<std::size_t>(failed_row)]) +
                " (its matrix is not positive definite); try a larger --model.lambda";
    }
    if (const auto agreed = comm.first_error(error, static_cast<std::uint64_t>(failed_row))) {
        throw NumericalError(*agreed);
    }
    const std::vector<std::int64_t> rows_per_rank = blocks.sizes();
    comm.all_gather_rows_in_place(solved.row_span(0, solved.rows()),
                                  std::span<const std::int64_t>(rows_per_rank), solved.width());
}

}  // namespace distmf
