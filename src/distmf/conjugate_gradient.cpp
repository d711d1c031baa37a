#include "distmf/conjugate_gradient.hpp"

namespace distmf {

bool ConjugateGradient::solve(const Eigen::VectorXd& rhs, int steps, const Product& apply,
                              Eigen::Ref<Eigen::VectorXf> solution) {
    solution_ = solution.cast<double>();
    apply(solution_, product_);
    residual_ = rhs - product_;
    return iterate(steps, apply, solution);
}

bool ConjugateGradient::refine(const Eigen::VectorXd& residual, int steps, const Product& apply,
                               Eigen::Ref<Eigen::VectorXf> solution) {
    solution_ = solution.cast<double>();
    residual_ = residual;
    return iterate(steps, apply, solution);
}

bool ConjugateGradient::iterate(int steps, const Product& apply,
                                Eigen::Ref<Eigen::VectorXf> solution) {
    // s = solution_, r = residual_ on entry; p = r, then the steps of the header.
    direction_ = residual_;
    double residual_norm = residual_.squaredNorm();
    for (int step = 0; step < steps; ++step) {
        if (residual_norm < 1e-20) break;
        apply(direction_, product_);
        const double curvature = direction_.dot(product_);
        if (!(curvature > 0.0)) return false;  // A is not positive definite
        const double step_length = residual_norm / curvature;
        solution_ += step_length * direction_;
        residual_ -= step_length * product_;
        const double next_norm = residual_.squaredNorm();
        direction_ = residual_ + (next_norm / residual_norm) * direction_;
        residual_norm = next_norm;
    }
    solution = solution_.cast<float>();
    return true;
}

}  // namespace distmf
