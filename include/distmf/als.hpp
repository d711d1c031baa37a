#pragma once
/// @file als.hpp
/// Alternating least squares. With the other side fixed, every row of one side is an
/// independent ridge regression (Zhou et al. 2008, "ALS-WR"):
///
///   x_j = [1, h_j]  (or h_j without biases),   y_j = a_ij - mu - c_j  (or a_ij),
///   A_i = sum_{j in Omega_i} x_j x_j^T + s_i diag(lambda_b, lambda, ..., lambda),
///   r_i = sum_{j in Omega_i} x_j y_j,   [b_i, w_i] = A_i^{-1} r_i,
///   s_i = n_i (weighted, ALS-WR) or 1 (plain).
///
/// Two row solvers (--als.solver): `cholesky` accumulates the Gram matrix as one blocked
/// symmetric rank-n update of the gathered rows X_i (n_i x d) rather than n_i rank-1 updates,
/// so it runs near the machine's GEMM rate, and factors A_i (RidgeSolver); `cg` takes a few
/// conjugate-gradient steps from the row's current values with A_i applied as
/// X_i^T (X_i v) + D_i v, never formed (RidgeCgSolver): O(n_i d) per step instead of
/// O(n_i d^2 + d^3) per row.
/// A row's solution depends only on its inputs, so results are bitwise the same for any
/// number of ranks and threads.

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/conjugate_gradient.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// What a half-sweep needs besides the data.
struct AlsSettings {
    double lambda = 0.05;       ///< penalty of the factors
    double bias_lambda = 0.05;  ///< penalty of the bias (column 0 with biases)
    Regularization regularization = Regularization::weighted;
    double global_mean = 0.0;                      ///< mu (0 without biases)
    int threads = 1;                               ///< OpenMP threads for the row solves
    LinearSolver solver = LinearSolver::cholesky;  ///< explicit ALS's row solver
    int cg_steps = 3;                              ///< CG steps per row with LinearSolver::cg
};

/// Local. The settings of a model configuration: lambda, bias-lambda (negative: lambda) and
/// the regularization, with the given global mean and thread count; the exact (Cholesky) row
/// solver.
AlsSettings als_settings(const ModelConfig& model, double global_mean, int threads);

/// Local. The settings of a training run: als_settings of config.model with the row solver
/// and CG steps of config.als.
AlsSettings als_settings(const Config& config, double global_mean, int threads);

/// Local. The scale of a row's penalty with n ratings: n (weighted) or 1 (plain).
double penalty_scale(const AlsSettings& settings, std::int64_t n_ratings);

/// Local. The diagonal ridge penalty of a row with n ratings and `width` unknowns:
/// scale * [bias_lambda, lambda, ..., lambda] with a bias, scale * [lambda, ...] without.
Eigen::VectorXd row_penalty(const AlsSettings& settings, std::int64_t n_ratings, int width,
                            bool has_bias);

/// Local. Gathers the inputs of local row `row` of `ratings`: X (n x width: rows x_j = [1, h_j]
/// with biases, h_j without) and y (y_j = a_ij - mu - c_j), from the fixed side's table.
void gather_row_system(const RatingMatrix& ratings, std::int64_t row, const FactorTable& fixed,
                       double global_mean, RowMatrixXf& x, Eigen::VectorXf& y);

/// Local. gather_row_system without X's column of ones: F (n x k) holds the factor columns of
/// the rows h_j (the fixed side's bias column left out), so that X = [1, F] with biases and
/// X = F without; y as there. F's rows are k floats wide, whole SIMD vectors for k = 16, 32,
/// 64, ..., where X's k + 1 leave a remainder in every row.
void gather_row_factors(const RatingMatrix& ratings, std::int64_t row, const FactorTable& fixed,
                        double global_mean, RowMatrixXf& factors, Eigen::VectorXf& y);

/// Local. gram = X^T X, lower triangle only, as one blocked symmetric rank-n update (SYRK);
/// gram is resized to d x d.
void gram_matrix(const Eigen::Ref<const RowMatrixXf>& x, Eigen::MatrixXf& gram);

/// Solves ridge regressions (X^T X + D) s = X^T y, D = diag(penalty), for X (n x d, row-major)
/// and y (n), keeping its buffers from one call to the next (one solver per thread):
///  - n >= d, or a zero penalty: the normal equations. X^T X is formed with one symmetric
///    rank-n update in float; the d x d system is factored by Cholesky in double.
///  - n < d and D > 0: the dual form (Woodbury), an n x n system instead of d x d:
///      s = D^-1 X^T z,   (X D^-1 X^T + I) z = y,
///    since (X^T X + D)^-1 X^T = D^-1 X^T (X D^-1 X^T + I)^-1. Cost n^2 d + n^3/3 instead of
///    n d^2 + d^3/3: most users and items of real data have fewer ratings than k + 1.
/// The branch depends only on (n, d, penalty), so results stay independent of ranks/threads.
class RidgeSolver {
  public:
    /// Local. Returns false when the system is singular: more unknowns without penalty than
    /// rows of X (e.g. no penalty and fewer ratings than d; rounding could otherwise let the
    /// Cholesky factorization "succeed" with a huge, meaningless solution), or the
    /// factorization fails (not positive definite), or the solution is not finite.
    bool solve(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
               const Eigen::Ref<const Eigen::VectorXd>& penalty,
               Eigen::Ref<Eigen::VectorXf> solution);

  private:
    bool factor_and_solve(Eigen::Ref<Eigen::VectorXd> rhs);

    Eigen::MatrixXf gram_;
    RowMatrixXf scaled_;
    Eigen::MatrixXd system_;
    Eigen::VectorXd rhs_;
};

/// Solves the ridge regressions of RidgeSolver approximately, by `steps` conjugate-gradient
/// steps (conjugate_gradient.hpp) warm-started from the values in `solution`, keeping its
/// buffers from one call to the next (one solver per thread). With A = X^T X + D, b = X^T y:
///
///   r_0 = b - A s_0 = X^T (y - X s_0) - D s_0,   A v = X^T (X v) + D v,
///
/// products with X and X^T in float (two matrix-vector products per step, 4 n d flops), the
/// CG vectors in double. X may be given without a leading column of ones (a bias's), X = [1, F]:
/// then X v = v_0 + F v_rest and X^T p = [sum p, F^T p], so the products run over F's k-wide
/// rows. Every row takes the primal d x d form, also with n < d: a step costs 4 n d flops
/// either way, and RidgeSolver's dual form only pays off against the O(d^3) Cholesky. With a
/// warm start from the previous half-sweep a few steps come close to the exact solution, and
/// the error left in one half-sweep is reduced again in the next.
class RidgeCgSolver {
  public:
    /// Local. `x` is X (n x d), or with `ones_column` F (n x (d - 1)) of X = [1, F]; `y`,
    /// `penalty` (d) and `solution` (d: the warm start on entry) as for RidgeSolver. Returns
    /// false when the system is singular (RidgeSolver's test: more unknowns without penalty
    /// than rows of X), when CG finds A not positive definite, or when the result is not
    /// finite. Throws Error when the shapes do not match.
    bool solve(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
               const Eigen::Ref<const Eigen::VectorXf>& y,
               const Eigen::Ref<const Eigen::VectorXd>& penalty, int steps,
               Eigen::Ref<Eigen::VectorXf> solution);

  private:
    /// projected_ = X v.
    void project(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
                 const Eigen::VectorXf& v);
    /// product_ = X^T projected_.
    void back_project(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column);
    /// out = (X^T X + D) v.
    void apply(const Eigen::Ref<const RowMatrixXf>& x, bool ones_column,
               const Eigen::Ref<const Eigen::VectorXd>& penalty, const Eigen::VectorXd& v,
               Eigen::VectorXd& out);

    ConjugateGradient cg_;
    Eigen::VectorXf vector_;     // v (or s_0) in float
    Eigen::VectorXf projected_;  // X v (or y - X s_0)
    Eigen::VectorXf product_;    // X^T X v (or X^T (y - X s_0)) in float
    Eigen::VectorXd residual_;
};

/// Local. One RidgeSolver::solve with a fresh solver.
bool solve_ridge(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
                 const Eigen::Ref<const Eigen::VectorXd>& penalty,
                 Eigen::Ref<Eigen::VectorXf> solution);

/// The solver of one row's system, with its buffers; one object per thread. Explicit ALS
/// (explicit_row_solvers) and implicit ALS (implicit_als.hpp) differ only in this object:
/// the loop over rows, the agreement on failures and the all-gather are shared.
class RowSolver {
  public:
    RowSolver() = default;
    virtual ~RowSolver() = default;
    RowSolver(const RowSolver&) = delete;  // holds per-thread buffers; never shared
    RowSolver& operator=(const RowSolver&) = delete;
    RowSolver(RowSolver&&) = delete;
    RowSolver& operator=(RowSolver&&) = delete;

    /// Local. Solves local row `row` of `ratings` (which has at least one entry). On entry
    /// `solution` holds the row's current values (a warm start for iterative solvers), on
    /// exit the new ones. Returns false when the system cannot be solved.
    virtual bool solve(const RatingMatrix& ratings, std::int64_t row,
                       Eigen::Ref<Eigen::VectorXf> solution) = 0;
    /// Local. Whether rows without ratings are solved too (BPMF draws them from the prior);
    /// otherwise solve_rows sets them to 0.
    virtual bool solves_empty_rows() const { return false; }
};

/// Makes one RowSolver per thread.
using RowSolverFactory = std::function<std::unique_ptr<RowSolver>()>;

/// Local. Explicit ALS row solvers (gather_row_system, then RidgeSolver or, with
/// settings.solver cg, RidgeCgSolver with row_penalty) against `fixed`; both arguments must
/// outlive them.
RowSolverFactory explicit_row_solvers(const FactorTable& fixed, const AlsSettings& settings);

/// Local. Solves every row of `ratings` (a block of rows of one side, columns indexing the
/// table the solvers read) with solvers from `make_solver` (one per thread, `threads`
/// threads), and writes the results into rows [ratings.first_row, ratings.first_row +
/// ratings.n_rows()) of `solved` (which holds at least those rows), whose values there are the
/// solvers' warm start. Rows without ratings become zero. Returns the global index of the
/// first row whose system could not be solved, or -1.
std::int64_t solve_rows(const RatingMatrix& ratings, const RowSolverFactory& make_solver,
                        int threads, FactorTable& solved);
/// Local. The same for the local rows `rows` of `ratings` only; the calling thread (thread 0
/// of the team, which may call MPI) calls `progress`, if any, every 16 rows it takes.
std::int64_t solve_rows(const RatingMatrix& ratings, const RowSolverFactory& make_solver,
                        int threads, FactorTable& solved, RowRange rows,
                        const std::function<void()>& progress = {});

/// How a half-sweep hands its rows on while it solves the others (factor_views.hpp): the rows
/// are solved in `count` chunks, chunk c = even_share(rows, count, c); `after_chunk(c)` runs on
/// the calling thread once chunk c is solved, and `progress` on it now and then during the
/// solves (to let MPI move the chunks in flight on). Both may be empty.
struct RowChunks {
    int count = 1;
    std::function<void(int chunk)> after_chunk;
    std::function<void()> progress;
};

/// Local. solve_rows with explicit ALS solvers against `fixed` (the rows of the other side
/// that the columns of `ratings` index).
std::int64_t solve_rows(const RatingMatrix& ratings, const FactorTable& fixed,
                        const AlsSettings& settings, FactorTable& solved);

/// Collective: every rank of comm must call, in the same order. One ALS half-sweep on this
/// rank: solves its block of rows (`ratings`) with `make_solver`'s solvers into `solved` (its
/// own rows). A row that cannot be solved on any rank is an agreed NumericalError naming it
/// (by external ID from `ids`, the IDs of every global row, with `side` = "user" or "item")
/// and suggesting a larger lambda. The rows are solved in `chunks` (each followed by its
/// after_chunk, which passes them to the ranks that read them: factor_views.hpp).
void als_half_sweep(const Communicator& comm, const RatingMatrix& ratings,
                    const RowSolverFactory& make_solver, int threads, FactorTable& solved,
                    std::span<const std::int64_t> ids, const char* side,
                    const RowChunks& chunks = {});

/// Collective: every rank of comm must call, in the same order. The explicit ALS half-sweep:
/// als_half_sweep with explicit_row_solvers(fixed, settings).
void als_half_sweep(const Communicator& comm, const RatingMatrix& ratings, const FactorTable& fixed,
                    const AlsSettings& settings, FactorTable& solved,
                    std::span<const std::int64_t> ids, const char* side,
                    const RowChunks& chunks = {});

}  // namespace distmf
