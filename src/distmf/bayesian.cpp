#include "distmf/bayesian.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <cmath>

#include "distmf/als.hpp"

namespace distmf {
namespace {

Eigen::VectorXd normal_vector(Eigen::Index size, SplitMix64& random) {
    Eigen::VectorXd z(size);
    for (Eigen::Index i = 0; i < size; ++i) z(i) = random.normal();
    return z;
}

}  // namespace

double sample_gamma(double shape, SplitMix64& random) {
    if (shape < 1.0) {  // Gamma(a) = Gamma(a + 1) * U^(1/a)
        const double boosted = sample_gamma(shape + 1.0, random);
        return boosted * std::pow(1.0 - random.uniform(), 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
        const double x = random.normal();
        const double v = std::pow(1.0 + c * x, 3);
        if (v <= 0.0) continue;
        const double u = 1.0 - random.uniform();
        if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
}

Eigen::MatrixXd sample_wishart(const Eigen::MatrixXd& scale, double dof, SplitMix64& random) {
    const Eigen::Index d = scale.rows();
    const Eigen::MatrixXd l = scale.llt().matrixL();
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(d, d);
    for (Eigen::Index j = 0; j < d; ++j) {
        // chi2(nu) = 2 Gamma(nu / 2)
        a(j, j) = std::sqrt(2.0 * sample_gamma(0.5 * (dof - static_cast<double>(j)), random));
        for (Eigen::Index i = j + 1; i < d; ++i) a(i, j) = random.normal();
    }
    const Eigen::MatrixXd la = l * a;
    return la * la.transpose();
}

GaussianPrior sample_prior(const RowMoments& moments, double beta0, SplitMix64& random) {
    const Eigen::Index d = moments.sum.size();
    const auto count = static_cast<double>(moments.count);
    const Eigen::VectorXd mean =
        moments.count > 0 ? Eigen::VectorXd(moments.sum / count) : Eigen::VectorXd::Zero(d);
    // N S = sum x x^T - N xbar xbar^T
    const Eigen::MatrixXd scatter = moments.outer_sum - count * mean * mean.transpose();
    const double beta = beta0 + count;
    const double dof = static_cast<double>(d) + count;
    const Eigen::MatrixXd inverse_scale = Eigen::MatrixXd::Identity(d, d) + scatter +
                                          (beta0 * count / beta) * mean * mean.transpose();
    GaussianPrior prior;
    prior.precision = sample_wishart(inverse_scale.inverse(), dof, random);
    // mean ~ N(mu*, (beta Lambda)^-1): mu* + C^-T z with beta Lambda = C C^T
    const Eigen::LLT<Eigen::MatrixXd> factor(beta * prior.precision);
    prior.mean = (count / beta) * mean + factor.matrixU().solve(normal_vector(d, random));
    return prior;
}

bool sample_row(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
                double alpha, const GaussianPrior& prior, SplitMix64& random,
                Eigen::Ref<Eigen::VectorXf> sample) {
    Eigen::MatrixXd precision = prior.precision;
    if (x.rows() > 0) {  // a row without ratings is drawn from the prior
        Eigen::MatrixXf gram;
        gram_matrix(x, gram);
        precision.triangularView<Eigen::Lower>() += alpha * gram.cast<double>();
    }
    Eigen::VectorXd rhs = prior.precision * prior.mean;
    if (x.rows() > 0) rhs += alpha * (x.transpose() * y).cast<double>();
    const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> factor(precision);
    if (factor.info() != Eigen::Success) return false;
    // P = L L^T: mean = P^-1 b; mean + L^-T z has covariance P^-1.
    const Eigen::VectorXd draw =
        factor.solve(rhs) + factor.matrixU().solve(normal_vector(x.cols(), random));
    sample = draw.cast<float>();
    return sample.allFinite();
}

}  // namespace distmf
