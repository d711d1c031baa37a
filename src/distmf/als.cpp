#include "distmf/als.hpp"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <limits>

#include "distmf/error.hpp"

namespace distmf {

AlsSettings als_settings(const ModelConfig& model, double global_mean, int threads) {
    AlsSettings settings;
    settings.lambda = model.lambda;
    settings.bias_lambda = model.bias_lambda < 0.0 ? model.lambda : model.bias_lambda;
    settings.regularization = model.regularization;
    settings.global_mean = global_mean;
    settings.threads = threads;
    return settings;
}

AlsSettings als_settings(const Config& config, double global_mean, int threads) {
    AlsSettings settings = als_settings(config.model, global_mean, threads);
    settings.solver = config.als.solver;
    settings.cg_steps = config.als.cg_steps;
    return settings;
}

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

namespace {

/// Local. The gather of gather_row_system and gather_row_factors: columns [first_column,
/// width) of the fixed rows into x (with `ones_first`, column 0 of x set to 1), and y.
void gather_columns(const RatingMatrix& ratings, std::int64_t row, const FactorTable& fixed,
                    double global_mean, int first_column, bool ones_first, RowMatrixXf& x,
                    Eigen::VectorXf& y) {
    const auto columns = ratings.row_columns(row);
    const auto values = ratings.row_values(row);
    const auto n = static_cast<Eigen::Index>(columns.size());
    const auto mean = static_cast<float>(global_mean);
    const Eigen::Index width = fixed.width() - first_column;
    x.resize(n, width);
    y.resize(n);
    constexpr Eigen::Index prefetch_distance = 8;  // rows ahead: hides the random reads' latency
    constexpr Eigen::Index floats_per_line = 16;   // every 64-byte line of the row ahead
    for (Eigen::Index e = 0; e < n; ++e) {
        if (e + prefetch_distance < n) {
            const float* ahead =
                fixed.values().data() +
                columns[static_cast<std::size_t>(e + prefetch_distance)] * fixed.width();
            for (Eigen::Index line = 0; line < fixed.width(); line += floats_per_line) {
                __builtin_prefetch(ahead + line);
            }
            __builtin_prefetch(ahead + fixed.width() - 1);
        }
        const std::int64_t other = columns[static_cast<std::size_t>(e)];
        x.row(e) = fixed.row(other).tail(width);
        y(e) = values[static_cast<std::size_t>(e)] - mean - fixed.bias(other);
        if (ones_first) x(e, 0) = 1.0F;
    }
}

}  // namespace

void gather_row_system(const RatingMatrix& ratings, std::int64_t row, const FactorTable& fixed,
                       double global_mean, RowMatrixXf& x, Eigen::VectorXf& y) {
    gather_columns(ratings, row, fixed, global_mean, 0, fixed.has_bias(), x, y);
}

void gather_row_factors(const RatingMatrix& ratings, std::int64_t row, const FactorTable& fixed,
                        double global_mean, RowMatrixXf& factors, Eigen::VectorXf& y) {
    gather_columns(ratings, row, fixed, global_mean, fixed.has_bias() ? 1 : 0, false, factors, y);
}

void gram_matrix(const Eigen::Ref<const RowMatrixXf>& x, Eigen::MatrixXf& gram) {
    gram.setZero(x.cols(), x.cols());
    gram.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
}

namespace {

/// Local. rank(X^T X) <= n: with more unpenalized unknowns than rows of X (n) the system is
/// singular in exact arithmetic, though rounding can leave a float Gram matrix "positive
/// definite" (or CG's curvatures positive).
bool is_singular_ridge(Eigen::Index n, const Eigen::Ref<const Eigen::VectorXd>& penalty) {
    return (penalty.array() <= 0.0).count() > n;
}

}  // namespace

bool RidgeSolver::factor_and_solve(Eigen::Ref<Eigen::VectorXd> rhs) {
    const Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> cholesky(system_);  // in place
    if (cholesky.info() != Eigen::Success) return false;
    cholesky.solveInPlace(rhs);
    return true;
}

bool RidgeSolver::solve(const Eigen::Ref<const RowMatrixXf>& x,
                        const Eigen::Ref<const Eigen::VectorXf>& y,
                        const Eigen::Ref<const Eigen::VectorXd>& penalty,
                        Eigen::Ref<Eigen::VectorXf> solution) {
    const Eigen::Index n = x.rows();
    const Eigen::Index d = x.cols();
    if (is_singular_ridge(n, penalty)) return false;
    if (n < d && (penalty.array() > 0.0).all()) {
        // Dual form: K = (X D^-1/2)(X D^-1/2)^T + I, z = K^-1 y, s = D^-1 X^T z.
        const Eigen::RowVectorXf inverse_root =
            penalty.cwiseSqrt().cwiseInverse().cast<float>().transpose();
        scaled_ = x.array().rowwise() * inverse_root.array();
        gram_.setZero(n, n);
        gram_.selfadjointView<Eigen::Lower>().rankUpdate(scaled_);
        system_ = gram_.cast<double>();
        system_.diagonal().array() += 1.0;
        rhs_ = y.cast<double>();
        if (!factor_and_solve(rhs_)) return false;
        solution = ((x.transpose().cast<double>() * rhs_).array() / penalty.array()).cast<float>();
    } else {
        // Normal equations: A = X^T X (lower triangle, one blocked SYRK) + D, r = X^T y.
        gram_matrix(x, gram_);
        system_ = gram_.cast<double>();
        system_.diagonal() += penalty;
        rhs_ = (x.transpose() * y).cast<double>();
        if (!factor_and_solve(rhs_)) return false;
        solution = rhs_.cast<float>();
    }
    return solution.allFinite();
}

void RidgeCgSolver::project(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
                            const Eigen::VectorXf& v) {
    if (!ones_column) {
        projected_.noalias() = x * v;
        return;
    }
    projected_.noalias() = x * v.tail(x.cols());
    projected_.array() += v(0);
}

void RidgeCgSolver::back_project(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column) {
    product_.resize(x.cols() + (ones_column ? 1 : 0));
    if (!ones_column) {
        product_.noalias() = x.transpose() * projected_;
        return;
    }
    product_(0) = projected_.sum();
    product_.tail(x.cols()).noalias() = x.transpose() * projected_;
}

void RidgeCgSolver::apply(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
                          const Eigen::Ref<const Eigen::VectorXd>& penalty,
                          const Eigen::VectorXd& v, Eigen::VectorXd& out) {
    vector_ = v.cast<float>();
    project(x, ones_column, vector_);
    back_project(x, ones_column);
    out = product_.cast<double>() + penalty.cwiseProduct(v);
}

bool RidgeCgSolver::solve(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
                          const Eigen::Ref<const Eigen::VectorXf>& y,
                          const Eigen::Ref<const Eigen::VectorXd>& penalty, int steps,
                          Eigen::Ref<Eigen::VectorXf> solution) {
    if (x.cols() + (ones_column ? 1 : 0) != solution.size()) {
        throw Error("RidgeCgSolver: the columns of X do not match the unknowns");
    }
    if (is_singular_ridge(x.rows(), penalty)) return false;
    // r_0 = X^T (y - X s_0) - D s_0: one pass over X fewer than b - A s_0.
    vector_ = solution;
    project(x, ones_column, vector_);
    projected_ = y - projected_;
    back_project(x, ones_column);
    residual_ = product_.cast<double>() - penalty.cwiseProduct(solution.cast<double>());
    const bool solved = cg_.refine(
        residual_, steps,
        [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
            apply(x, ones_column, penalty, v, out);
        },
        solution);
    return solved && solution.allFinite();
}

bool solve_ridge(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
                 const Eigen::Ref<const Eigen::VectorXd>& penalty,
                 Eigen::Ref<Eigen::VectorXf> solution) {
    RidgeSolver solver;
    return solver.solve(x, y, penalty, solution);
}

namespace {

/// Explicit ALS: X_i and y_i gathered from the fixed side, then a ridge regression.
class ExplicitRowSolver final : public RowSolver {
  public:
    ExplicitRowSolver(const FactorTable& fixed, const AlsSettings& settings)
        : fixed_(fixed), settings_(settings) {}

    bool solve(const RatingMatrix& ratings, std::int64_t row,
               Eigen::Ref<Eigen::VectorXf> solution) override {
        penalty_ = row_penalty(settings_, ratings.row_size(row), fixed_.width(), fixed_.has_bias());
        if (settings_.solver == LinearSolver::cg) {  // the bias's column of ones left implicit
            gather_row_factors(ratings, row, fixed_, settings_.global_mean, x_, y_);
            return cg_.solve(x_, fixed_.has_bias(), y_, penalty_, settings_.cg_steps, solution);
        }
        gather_row_system(ratings, row, fixed_, settings_.global_mean, x_, y_);
        return ridge_.solve(x_, y_, penalty_, solution);
    }

  private:
    const FactorTable& fixed_;
    const AlsSettings& settings_;
    RowMatrixXf x_;
    Eigen::VectorXf y_;
    Eigen::VectorXd penalty_;
    RidgeSolver ridge_;
    RidgeCgSolver cg_;
};

}  // namespace

RowSolverFactory explicit_row_solvers(const FactorTable& fixed, const AlsSettings& settings) {
    return [&fixed, &settings]() -> std::unique_ptr<RowSolver> {
        return std::make_unique<ExplicitRowSolver>(fixed, settings);
    };
}

std::int64_t solve_rows(const RatingMatrix& ratings, const RowSolverFactory& make_solver,
                        int threads, FactorTable& solved) {
    return solve_rows(ratings, make_solver, threads, solved, RowRange{0, ratings.n_rows()});
}

std::int64_t solve_rows(const RatingMatrix& ratings, const RowSolverFactory& make_solver,
                        int threads, FactorTable& solved, RowRange rows,
                        const std::function<void()>& progress) {
    constexpr std::int64_t progress_every_rows = 16;
    std::int64_t first_failure = std::numeric_limits<std::int64_t>::max();
#pragma omp parallel num_threads(std::max(1, threads))
    {
        const std::unique_ptr<RowSolver> solver = make_solver();
        Eigen::VectorXf solution(solved.width());
#pragma omp for schedule(dynamic, 16) reduction(min : first_failure)
        for (std::int64_t row = rows.first; row < rows.end(); ++row) {
            if (progress && row % progress_every_rows == 0 && omp_get_thread_num() == 0) {
                progress();
            }
            const std::int64_t global_row = ratings.first_row + row;
            if (ratings.row_size(row) == 0 && !solver->solves_empty_rows()) {
                solved.row(global_row).setZero();
                continue;
            }
            solution = solved.row(global_row).transpose();
            if (solver->solve(ratings, row, solution)) {
                solved.row(global_row) = solution.transpose();
            } else {
                first_failure = std::min(first_failure, global_row);
            }
        }
    }
    return first_failure == std::numeric_limits<std::int64_t>::max() ? -1 : first_failure;
}

std::int64_t solve_rows(const RatingMatrix& ratings, const FactorTable& fixed,
                        const AlsSettings& settings, FactorTable& solved) {
    return solve_rows(ratings, explicit_row_solvers(fixed, settings), settings.threads, solved);
}

void als_half_sweep(const Communicator& comm, const RatingMatrix& ratings,
                    const RowSolverFactory& make_solver, int threads, FactorTable& solved,
                    std::span<const std::int64_t> ids, const char* side, const RowChunks& chunks) {
    std::int64_t failed_row = -1;
    for (int chunk = 0; chunk < chunks.count; ++chunk) {
        const std::int64_t failed =
            solve_rows(ratings, make_solver, threads, solved,
                       even_share(ratings.n_rows(), chunks.count, chunk), chunks.progress);
        if (failed_row < 0) failed_row = failed;
        if (chunks.after_chunk) chunks.after_chunk(chunk);
    }
    std::optional<std::string> error;
    if (failed_row >= 0) {
        error = std::string("ALS could not solve the system of ") + side + " " +
                std::to_string(ids[static_cast<std::size_t>(failed_row)]) +
                " (its matrix is not positive definite); try a larger --model.lambda";
    }
    if (const auto agreed = comm.first_error(error, static_cast<std::uint64_t>(failed_row))) {
        throw NumericalError(*agreed);
    }
}

void als_half_sweep(const Communicator& comm, const RatingMatrix& ratings, const FactorTable& fixed,
                    const AlsSettings& settings, FactorTable& solved,
                    std::span<const std::int64_t> ids, const char* side, const RowChunks& chunks) {
    als_half_sweep(comm, ratings, explicit_row_solvers(fixed, settings), settings.threads, solved,
                   ids, side, chunks);
}

}  // namespace distmf
