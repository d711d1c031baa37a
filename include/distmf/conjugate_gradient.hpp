#pragma once
/// @file conjugate_gradient.hpp
/// A few conjugate-gradient steps (Hestenes & Stiefel 1952) on a symmetric positive definite
/// system A s = b, warm-started from the current solution: the row solver of ALS with
/// `--als.solver cg` and `--ials.solver cg` (Takacs, Pilaszy & Tikk 2011, "Applications of the
/// conjugate gradient method for implicit feedback collaborative filtering"). A is known only
/// through its product v -> A v, so it is never formed (X^T (X v) + D v for explicit ALS):
///
///   s_0 = the warm start,  r_0 = b - A s_0,  p_0 = r_0,
///   per step:  alpha = (r.r) / (p.A p),  s += alpha p,  r -= alpha A p,
///              p = r_new + (r_new.r_new / r.r) p.
///
/// Each step costs one product with A plus O(d) vector work in double precision. A step with
/// p.A p <= 0 means A is not positive definite (the solve fails); the steps stop early once
/// r.r < 1e-20 (the warm start already solves the system). The arithmetic depends only on the
/// inputs, so a row's result is the same whichever rank or thread solves it.

#include <Eigen/Core>
#include <functional>

namespace distmf {

/// The conjugate-gradient iteration with its buffers (one object per thread).
class ConjugateGradient {
  public:
    /// out = A v (out is resized by the callee).
    using Product = std::function<void(const Eigen::VectorXd& v, Eigen::VectorXd& out)>;

    /// Local. Up to `steps` steps on A s = `rhs` from s_0 = `solution` (float, d entries),
    /// r_0 = rhs - A s_0 (one product); on success `solution` holds s. Returns false when A
    /// is found not to be positive definite (then `solution` is unchanged).
    bool solve(const Eigen::VectorXd& rhs, int steps, const Product& apply,
               Eigen::Ref<Eigen::VectorXf> solution);

    /// Local. The same steps from s_0 = `solution` with its residual r_0 = b - A s_0 given
    /// (a caller that can form r_0 more cheaply than b - A s_0 saves a product).
    bool refine(const Eigen::VectorXd& residual, int steps, const Product& apply,
                Eigen::Ref<Eigen::VectorXf> solution);

  private:
    bool iterate(int steps, const Product& apply, Eigen::Ref<Eigen::VectorXf> solution);

    Eigen::VectorXd solution_;
    Eigen::VectorXd residual_;
    Eigen::VectorXd direction_;
    Eigen::VectorXd product_;
};

}  // namespace distmf
