#pragma once
/// @file implicit_als.hpp
/// Implicit-feedback ALS (Hu, Koren & Volinsky 2008). Every (user, item) cell is observed:
/// an interaction of strength r_ij > 0 (a play count, a click) means preference p_ij = 1 with
/// confidence c_ij = 1 + alpha f(r_ij), f(r) = r or log(1 + r / epsilon); every other cell
/// means p_ij = 0 with confidence 1. With H fixed, user i's factors minimize
///
///   sum_j c_ij (p_ij - w_i^T h_j)^2 + lambda s_i |w_i|^2,
///
/// whose normal equations, written so that only the observed cells Omega_i cost anything
/// (H^T C_i H = H^T H + H^T (C_i - I) H, and C_i p_i is zero outside Omega_i), are
///
///   (H^T H + sum_{j in Omega_i} (c_ij - 1) h_j h_j^T + lambda s_i I) w_i
///       = sum_{j in Omega_i} c_ij p_ij h_j.
///
/// H^T H is the same for every row of a half-sweep: it is computed once from every rank's own
/// rows (distributed_gram, row_moments.hpp), bitwise the same on every rank for any P.
/// Rows are solved exactly (Cholesky) or by a few conjugate-gradient steps warm-started from
/// the current factors (conjugate_gradient.hpp), with the matrix applied as
/// H^T H x + sum_j (c_ij - 1)(h_j^T x) h_j + lambda s_i x, never formed. The explicit model's
/// s_i (weighted: n_i = |Omega_i|, or plain: 1) applies unchanged. Items are solved the same
/// way with W and the transposed interactions.

#include <Eigen/Core>
#include <cstdint>

#include "distmf/als.hpp"
#include "distmf/config.hpp"
#include "distmf/conjugate_gradient.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/factors.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/row_moments.hpp"

namespace distmf {

/// What implicit ALS needs besides AlsSettings (lambda, regularization, threads).
struct ImplicitSettings {
    double alpha = 1.0;
    ConfidenceScaling confidence = ConfidenceScaling::linear;
    double epsilon = 1.0;
    ImplicitSolver solver = ImplicitSolver::cg;
    int cg_steps = 3;
};

/// Local. The implicit settings of a configuration.
ImplicitSettings implicit_settings(const IalsConfig& config);

/// Local. c - 1 = alpha f(r) for an interaction of strength r; 0 when r <= 0 (such a cell
/// counts as unobserved: p = 0, c = 1).
float confidence_excess(const ImplicitSettings& settings, float strength);

/// Solves one row of implicit ALS. `solution` holds the warm start on entry. Local.
class ImplicitRowSolver final : public RowSolver {
  public:
    /// `fixed` (the other side) and `gram` (G = F^T F of the whole other side: distributed_gram or
    /// table_gram) must outlive the solver.
    ImplicitRowSolver(const FactorTable& fixed, const Eigen::MatrixXd& gram,
                      const AlsSettings& settings, const ImplicitSettings& implicit);

    /// Local. Solves row `row` of `ratings` (interaction strengths) exactly or by CG.
    bool solve(const RatingMatrix& ratings, std::int64_t row,
               Eigen::Ref<Eigen::VectorXf> solution) override;

  private:
    bool solve_cholesky(const Eigen::VectorXd& rhs, Eigen::Ref<Eigen::VectorXf> solution);
    bool solve_cg(const Eigen::VectorXd& rhs, Eigen::Ref<Eigen::VectorXf> solution);
    /// out = (G + X^T diag(weights_) X + diag(penalty_)) v.
    void apply(const Eigen::VectorXd& v, Eigen::VectorXd& out);

    const FactorTable& fixed_;
    const Eigen::MatrixXd& gram_;
    const AlsSettings& settings_;
    ImplicitSettings implicit_;
    RowMatrixXf x_;             // the rows h_j of the row's interactions
    Eigen::VectorXf strength_;  // r_ij
    Eigen::VectorXf weights_;   // c_ij - 1
    Eigen::VectorXd penalty_;
    RowMatrixXf scaled_;  // Cholesky: rows sqrt(c_ij - 1) h_j
    Eigen::MatrixXf scaled_gram_;
    Eigen::MatrixXd system_;
    Eigen::VectorXf projected_;  // CG: X v
    ConjugateGradient cg_;
};

/// Local. Implicit ALS row solvers against `fixed` and its Gram matrix `gram`; all four
/// arguments must outlive the solvers.
RowSolverFactory implicit_row_solvers(const FactorTable& fixed, const Eigen::MatrixXd& gram,
                                      const AlsSettings& settings,
                                      const ImplicitSettings& implicit);

/// Local. The implicit objective's data term for the rows of `by_user` (users x items):
///   sum_i [ w_i^T G w_i + sum_{j in Omega_i} (c_ij (p_ij - s_ij)^2 - s_ij^2) ],
/// s_ij = w_i^T h_j and G = table_gram(items): the weighted squared error over every cell,
/// computed at the cost of the observed ones; an exact (order-independent) sum, so the same
/// for any number of `threads` (the rows are shared among them).
ExactSum implicit_loss(const RatingMatrix& by_user, const FactorTable& users,
                       const FactorTable& items, const Eigen::MatrixXd& item_gram,
                       const ImplicitSettings& implicit, int threads);

}  // namespace distmf
