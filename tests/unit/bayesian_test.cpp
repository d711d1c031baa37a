#include "distmf/bayesian.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>

using distmf::GaussianPrior;
using distmf::RowMatrixXf;
using distmf::SplitMix64;

TEST_CASE("sample_gamma has the mean and variance of Gamma(shape, 1)", "[bayesian]") {
    for (const double shape : {0.4, 1.0, 3.5, 40.0}) {
        SplitMix64 random(17);
        const int n = 200000;
        double sum = 0.0;
        double squares = 0.0;
        for (int i = 0; i < n; ++i) {
            const double g = distmf::sample_gamma(shape, random);
            REQUIRE(g > 0.0);
            sum += g;
            squares += g * g;
        }
        const double mean = sum / n;
        const double variance = squares / n - mean * mean;
        INFO("shape " << shape);
        CHECK(mean == Approx(shape).epsilon(0.02));
        CHECK(variance == Approx(shape).epsilon(0.05));
    }
}

TEST_CASE("sample_wishart averages to dof * scale", "[bayesian]") {
    Eigen::MatrixXd scale(3, 3);
    scale << 2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.5;
    const double dof = 7.0;
    SplitMix64 random(5);
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(3, 3);
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const Eigen::MatrixXd w = distmf::sample_wishart(scale, dof, random);
        REQUIRE((w - w.transpose()).norm() < 1e-9);
        sum += w;
    }
    const Eigen::MatrixXd expected = dof * scale;
    CHECK((sum / n - expected).norm() < 0.05 * expected.norm());
}

TEST_CASE("sample_row draws from N(P^-1 b, P^-1)", "[bayesian]") {
    RowMatrixXf x(5, 2);
    x << 1.0F, 0.9F, 1.0F, 0.8F, 1.0F, 0.2F, 1.0F, 0.5F, 1.0F, 0.1F;
    Eigen::VectorXf y(5);
    y << 5.0F, 4.0F, 2.0F, 3.0F, 2.0F;
    GaussianPrior prior{Eigen::Vector2d(0.5, -0.5), Eigen::Matrix2d::Identity() * 2.0};
    prior.precision(0, 1) = prior.precision(1, 0) = 0.3;
    const double alpha = 1.5;
    const Eigen::MatrixXd xd = x.cast<double>();
    const Eigen::MatrixXd p = prior.precision + alpha * xd.transpose() * xd;
    const Eigen::VectorXd b =
        alpha * xd.transpose() * y.cast<double>() + prior.precision * prior.mean;
    const Eigen::VectorXd mean = p.ldlt().solve(b);
    const Eigen::MatrixXd covariance = p.inverse();

    SplitMix64 random(99);
    const int n = 100000;
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(2);
    Eigen::MatrixXd outer = Eigen::MatrixXd::Zero(2, 2);
    Eigen::VectorXf sample(2);
    for (int i = 0; i < n; ++i) {
        REQUIRE(distmf::sample_row(x, y, alpha, prior, random, sample));
        const Eigen::VectorXd s = sample.cast<double>();
        sum += s;
        outer += s * s.transpose();
    }
    const Eigen::VectorXd sample_mean = sum / n;
    const Eigen::MatrixXd sample_covariance = outer / n - sample_mean * sample_mean.transpose();
    CHECK((sample_mean - mean).norm() < 0.01);
    CHECK((sample_covariance - covariance).norm() < 0.02 * covariance.norm() + 1e-4);
}

TEST_CASE("sample_row with no ratings draws from the prior", "[bayesian]") {
    const RowMatrixXf x(0, 2);
    const Eigen::VectorXf y(0);
    const GaussianPrior prior{Eigen::Vector2d(1.0, -2.0), Eigen::Matrix2d::Identity() * 4.0};
    SplitMix64 random(3);
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(2);
    Eigen::VectorXf sample(2);
    const int n = 50000;
    for (int i = 0; i < n; ++i) {
        REQUIRE(distmf::sample_row(x, y, 2.0, prior, random, sample));
        sum += sample.cast<double>();
    }
    CHECK((sum / n - prior.mean).norm() < 0.01);
}

TEST_CASE("sample_prior is a function of the rows and the stream", "[bayesian]") {
    RowMatrixXf rows(50, 3);
    SplitMix64 fill(8);
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
        for (Eigen::Index c = 0; c < rows.cols(); ++c) {
            rows(r, c) = static_cast<float>(fill.normal() + static_cast<double>(c));
        }
    }
    SplitMix64 first(11);
    SplitMix64 second(11);
    const GaussianPrior a = distmf::sample_prior(rows, 2.0, first);
    const GaussianPrior b = distmf::sample_prior(rows, 2.0, second);
    CHECK(a.mean == b.mean);
    CHECK(a.precision == b.precision);
    // The drawn mean is near the rows' mean (50 rows, prior weight beta0 = 2).
    const Eigen::VectorXd row_mean = rows.cast<double>().colwise().mean().transpose();
    CHECK((a.mean - row_mean * 50.0 / 52.0).norm() < 0.6);
    // The precision is symmetric positive definite.
    CHECK((a.precision - a.precision.transpose()).norm() < 1e-9);
    CHECK(a.precision.llt().info() == Eigen::Success);
}
