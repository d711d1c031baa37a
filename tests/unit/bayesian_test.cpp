#include "distmf/bayesian.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"
#include "distmf/row_moments.hpp"

using distmf::GaussianPrior;
using distmf::RowMatrixXf;
using distmf::SplitMix64;

namespace {

/// `n` rows of width 3, row r ~ N(c + [0, 1, 2], correlated), from the given seed.
RowMatrixXf correlated_rows(Eigen::Index n, std::uint64_t seed) {
    RowMatrixXf rows(n, 3);
    SplitMix64 fill(seed);
    for (Eigen::Index r = 0; r < n; ++r) {
        const double a = fill.normal();
        const double b = fill.normal();
        rows(r, 0) = static_cast<float>(0.8 * a + 0.5);
        rows(r, 1) = static_cast<float>(0.3 * a + 0.4 * b + 1.0);
        rows(r, 2) = static_cast<float>(-0.5 * b + 0.2 * fill.normal() + 2.0);
    }
    return rows;
}

/// W*^-1 = I + N S + (beta0 N / beta*) xbar xbar^T of the rows r with counts[r] > 0, computed
/// directly from the definition (two passes: the mean, then the scatter about it).
Eigen::MatrixXd inverse_posterior_scale(const RowMatrixXf& rows,
                                        const std::vector<std::int64_t>& counts, double beta0,
                                        double& n) {
    n = 0.0;
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(rows.cols());
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
        if (counts[static_cast<std::size_t>(r)] == 0) continue;
        mean += rows.row(r).transpose().cast<double>();
        n += 1.0;
    }
    mean /= n;
    Eigen::MatrixXd scatter = Eigen::MatrixXd::Zero(rows.cols(), rows.cols());
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
        if (counts[static_cast<std::size_t>(r)] == 0) continue;
        const Eigen::VectorXd centred = rows.row(r).transpose().cast<double>() - mean;
        scatter += centred * centred.transpose();
    }
    return Eigen::MatrixXd::Identity(rows.cols(), rows.cols()) + scatter +
           (beta0 * n / (beta0 + n)) * mean * mean.transpose();
}

/// The moments of the rows r with counts[r] > 0 (local_row_moments of a table of `rows`).
distmf::RowMoments moments_of(const RowMatrixXf& rows, const std::vector<std::int64_t>& counts) {
    distmf::FactorTable table(rows.rows(), static_cast<int>(rows.cols()), false);
    table.values() = rows;
    return distmf::local_row_moments(table, counts, 1);
}

}  // namespace

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
    const std::vector<std::int64_t> counts(50, 1);
    const GaussianPrior a = distmf::sample_prior(moments_of(rows, counts), 2.0, first);
    const GaussianPrior b = distmf::sample_prior(moments_of(rows, counts), 2.0, second);
    CHECK(a.mean == b.mean);
    CHECK(a.precision == b.precision);
    // The drawn mean is near the rows' mean (50 rows, prior weight beta0 = 2).
    const Eigen::VectorXd row_mean = rows.cast<double>().colwise().mean().transpose();
    CHECK((a.mean - row_mean * 50.0 / 52.0).norm() < 0.6);
    // The precision is symmetric positive definite.
    CHECK((a.precision - a.precision.transpose()).norm() < 1e-9);
    CHECK(a.precision.llt().info() == Eigen::Success);
}

TEST_CASE("sample_prior's precision averages to nu* W* of the Normal-Wishart posterior",
          "[bayesian]") {
    // E[Lambda] = nu* W* with W* = (I + N S + (beta0 N / beta*) xbar xbar^T)^-1: W* is the
    // inverse of the matrix the statistics give. Were the scale passed to the Wishart draw
    // without inverting it, the mean would be nu* W*^-1 instead, about 10^4 times larger here.
    // Rows 40..59 have no training ratings (zero rows) and must not count.
    RowMatrixXf rows = correlated_rows(60, 21);
    std::vector<std::int64_t> counts(60, 3);
    for (Eigen::Index r = 40; r < 60; ++r) {
        rows.row(r).setZero();
        counts[static_cast<std::size_t>(r)] = 0;
    }
    const double beta0 = 2.0;
    double n = 0.0;
    const Eigen::MatrixXd scale = inverse_posterior_scale(rows, counts, beta0, n).inverse();
    REQUIRE(n == 40.0);
    const double dof = 3.0 + n;
    const Eigen::MatrixXd expected_precision = dof * scale;
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(3);
    for (Eigen::Index r = 0; r < 40; ++r) mean += rows.row(r).transpose().cast<double>();
    const Eigen::VectorXd expected_mean = mean / (beta0 + n);  // N xbar / beta*

    const int draws = 20000;
    Eigen::MatrixXd precision_sum = Eigen::MatrixXd::Zero(3, 3);
    Eigen::VectorXd mean_sum = Eigen::VectorXd::Zero(3);
    const distmf::RowMoments moments = moments_of(rows, counts);
    for (int draw = 0; draw < draws; ++draw) {
        SplitMix64 random(distmf::hash_keys(77, static_cast<std::uint64_t>(draw)));
        const GaussianPrior prior = distmf::sample_prior(moments, beta0, random);
        precision_sum += prior.precision;
        mean_sum += prior.mean;
    }
    const Eigen::MatrixXd average_precision = precision_sum / draws;
    INFO("average precision\n" << average_precision << "\nnu* W*\n" << expected_precision);
    // Each entry's standard error is about sqrt(2 / nu*) / sqrt(draws) ~ 0.2 % of the scale.
    CHECK((average_precision - expected_precision).norm() < 0.02 * expected_precision.norm());
    // The mean's draws average to mu* = N xbar / beta* (covariance (beta* Lambda)^-1 is small).
    CHECK((mean_sum / draws - expected_mean).norm() < 0.01);
}

TEST_CASE("sample_prior ignores rows without training ratings", "[bayesian]") {
    // The same 30 rated rows, alone or among 70 zero rows without ratings (test-only users or
    // items): the same statistics, so bitwise the same draw from the same stream.
    const RowMatrixXf rated = correlated_rows(30, 5);
    const std::vector<std::int64_t> rated_counts(30, 4);
    RowMatrixXf mixed = RowMatrixXf::Zero(100, 3);
    std::vector<std::int64_t> mixed_counts(100, 0);
    for (Eigen::Index r = 0; r < 30; ++r) {
        mixed.row(3 * r + 1) = rated.row(r);
        mixed_counts[static_cast<std::size_t>(3 * r + 1)] = 4;
    }
    SplitMix64 first(9);
    SplitMix64 second(9);
    const GaussianPrior alone = distmf::sample_prior(moments_of(rated, rated_counts), 2.0, first);
    const GaussianPrior among = distmf::sample_prior(moments_of(mixed, mixed_counts), 2.0, second);
    CHECK(alone.mean == among.mean);
    CHECK(alone.precision == among.precision);
    // Counting the zero rows would pull the mean to 0.3 of its value: far from it.
    const Eigen::VectorXd rows_mean = rated.cast<double>().colwise().mean().transpose();
    CHECK((among.mean - rows_mean * 30.0 / 32.0).norm() < 0.6);
}
