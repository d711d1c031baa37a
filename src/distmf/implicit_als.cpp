#include "distmf/implicit_als.hpp"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <vector>

namespace distmf {

ImplicitSettings implicit_settings(const IalsConfig& config) {
    return ImplicitSettings{config.alpha, config.confidence, config.epsilon, config.solver,
                            config.cg_steps};
}

float confidence_excess(const ImplicitSettings& settings, float strength) {
    if (!(strength > 0.0F)) return 0.0F;
    const auto r = static_cast<double>(strength);
    const double scaled =
        settings.confidence == ConfidenceScaling::linear ? r : std::log1p(r / settings.epsilon);
    return static_cast<float>(settings.alpha * scaled);
}

ImplicitRowSolver::ImplicitRowSolver(const FactorTable& fixed, const Eigen::MatrixXd& gram,
                                     const AlsSettings& settings, const ImplicitSettings& implicit)
    : fixed_(fixed), gram_(gram), settings_(settings), implicit_(implicit) {}

bool ImplicitRowSolver::solve(const RatingMatrix& ratings, std::int64_t row,
                              Eigen::Ref<Eigen::VectorXf> solution) {
    // Implicit models have no bias and no mean: X_i holds the h_j, strength_ the r_ij.
    gather_row_system(ratings, row, fixed_, 0.0, x_, strength_);
    const Eigen::Index n = x_.rows();
    weights_.resize(n);
    Eigen::VectorXf rhs_weights(n);  // c_ij p_ij
    for (Eigen::Index e = 0; e < n; ++e) {
        weights_(e) = confidence_excess(implicit_, strength_(e));
        rhs_weights(e) = strength_(e) > 0.0F ? 1.0F + weights_(e) : 0.0F;
    }
    penalty_ = row_penalty(settings_, ratings.row_size(row), fixed_.width(), false);
    const Eigen::VectorXd rhs = (x_.transpose() * rhs_weights).cast<double>();
    const bool solved = implicit_.solver == ImplicitSolver::cholesky ? solve_cholesky(rhs, solution)
                                                                     : solve_cg(rhs, solution);
    return solved && solution.allFinite();
}

bool ImplicitRowSolver::solve_cholesky(const Eigen::VectorXd& rhs,
                                       Eigen::Ref<Eigen::VectorXf> solution) {
    // A = G + (X^T diag(c - 1) X, one SYRK of the rows sqrt(c_ij - 1) h_j) + diag(penalty).
    scaled_ = x_.array().colwise() * weights_.array().sqrt();
    gram_matrix(scaled_, scaled_gram_);
    system_ = gram_;
    system_.triangularView<Eigen::Lower>() += scaled_gram_.cast<double>();
    system_.diagonal() += penalty_;
    const Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> cholesky(system_);
    if (cholesky.info() != Eigen::Success) return false;
    solution = cholesky.solve(rhs).cast<float>();
    return true;
}

void ImplicitRowSolver::apply(const Eigen::VectorXd& v, Eigen::VectorXd& out) {
    projected_.noalias() = x_ * v.cast<float>();
    projected_.array() *= weights_.array();
    out.noalias() = gram_ * v;
    out += (x_.transpose() * projected_).cast<double>();
    out.array() += penalty_.array() * v.array();
}

bool ImplicitRowSolver::solve_cg(const Eigen::VectorXd& rhs, Eigen::Ref<Eigen::VectorXf> solution) {
    return cg_.solve(
        rhs, implicit_.cg_steps,
        [this](const Eigen::VectorXd& v, Eigen::VectorXd& out) { apply(v, out); }, solution);
}

RowSolverFactory implicit_row_solvers(const FactorTable& fixed, const Eigen::MatrixXd& gram,
                                      const AlsSettings& settings,
                                      const ImplicitSettings& implicit) {
    return [&fixed, &gram, &settings, &implicit]() -> std::unique_ptr<RowSolver> {
        return std::make_unique<ImplicitRowSolver>(fixed, gram, settings, implicit);
    };
}

ExactSum implicit_loss(const RatingMatrix& by_user, const FactorTable& users,
                       const FactorTable& items, const Eigen::MatrixXd& item_gram,
                       const ImplicitSettings& implicit, int threads) {
    const int n_threads = std::max(1, threads);
    std::vector<ExactSum> per_thread(static_cast<std::size_t>(n_threads));
#pragma omp parallel num_threads(n_threads)
    {
        ExactSum& loss = per_thread[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 64)
        for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
            const std::int64_t user = by_user.first_row + row;
            const Eigen::VectorXd w = users.row(user).transpose().cast<double>();
            double sum = w.dot(item_gram * w);
            const auto columns = by_user.row_columns(row);
            const auto values = by_user.row_values(row);
            for (std::size_t e = 0; e < columns.size(); ++e) {
                const double score = w.dot(items.row(columns[e]).transpose().cast<double>());
                const double preference = values[e] > 0.0F ? 1.0 : 0.0;
                const double confidence =
                    1.0 + static_cast<double>(confidence_excess(implicit, values[e]));
                sum += confidence * (preference - score) * (preference - score) - score * score;
            }
            loss.add(sum);  // exact: neither the split nor the order of the rows matters
        }
    }
    ExactSum total;
    for (const ExactSum& part : per_thread) total.add(part);
    return total;
}

}  // namespace distmf
