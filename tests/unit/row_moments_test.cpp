#include "distmf/row_moments.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "distmf/bayesian.hpp"
#include "distmf/error.hpp"
#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"

using distmf::FactorTable;
using distmf::RowMoments;

namespace {

/// Rows first..first+rows-1 of a side of width k (+ bias), N(0, 1) values from `seed`.
FactorTable random_rows(std::int64_t first, std::int64_t rows, int k, bool biases,
                        std::uint64_t seed) {
    FactorTable table(first, rows, k, biases);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = first + static_cast<std::int64_t>(i);
    table.initialize(ids, seed, 1.0F);
    if (biases) table.values().col(0).setConstant(0.5F);
    return table;
}

/// Every third row has no training ratings.
std::vector<std::int64_t> some_counts(std::int64_t rows) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(rows), 2);
    for (std::size_t r = 0; r < counts.size(); r += 3) counts[r] = 0;
    return counts;
}

bool same_bits(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) ==
               0;
}

bool same_bits(const RowMoments& a, const RowMoments& b) {
    return a.count == b.count && same_bits(a.sum, b.sum) && same_bits(a.outer_sum, b.outer_sum);
}

/// The prior as sample_prior drew it from a whole table before issue 12 (its code, verbatim):
/// the moments summed row by row in double, then the same draws from the same stream.
distmf::GaussianPrior prior_from_rows(const distmf::RowMatrixXf& rows,
                                      std::span<const std::int64_t> train_counts, double beta0,
                                      distmf::SplitMix64& random) {
    const Eigen::Index d = rows.cols();
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(d);
    Eigen::MatrixXd outer = Eigen::MatrixXd::Zero(d, d);
    std::int64_t n = 0;
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
        if (train_counts[static_cast<std::size_t>(r)] == 0) continue;
        const Eigen::VectorXd x = rows.row(r).transpose().cast<double>();
        sum += x;
        outer.selfadjointView<Eigen::Lower>().rankUpdate(x);
        ++n;
    }
    outer = outer.selfadjointView<Eigen::Lower>();
    const auto count = static_cast<double>(n);
    const Eigen::VectorXd mean = n > 0 ? Eigen::VectorXd(sum / count) : Eigen::VectorXd::Zero(d);
    const Eigen::MatrixXd scatter = outer - count * mean * mean.transpose();
    const double beta = beta0 + count;
    const double dof = static_cast<double>(d) + count;
    const Eigen::MatrixXd inverse_scale = Eigen::MatrixXd::Identity(d, d) + scatter +
                                          (beta0 * count / beta) * mean * mean.transpose();
    distmf::GaussianPrior prior;
    prior.precision = distmf::sample_wishart(inverse_scale.inverse(), dof, random);
    Eigen::VectorXd z(d);
    for (Eigen::Index i = 0; i < d; ++i) z(i) = random.normal();
    const Eigen::LLT<Eigen::MatrixXd> factor(beta * prior.precision);
    prior.mean = (count / beta) * mean + factor.matrixU().solve(z);
    return prior;
}

}  // namespace

TEST_CASE("row moments: count, sum and sum of outer products of the rows with ratings",
          "[row_moments]") {
    // Starts off a chunk boundary and spans three chunks; a bias column counts like any other.
    const FactorTable table = random_rows(100, 600, 4, true, 7);
    const std::vector<std::int64_t> counts = some_counts(table.rows());
    const RowMoments moments = distmf::local_row_moments(table, counts, 1);
    std::int64_t n = 0;
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(5);
    Eigen::MatrixXd outer = Eigen::MatrixXd::Zero(5, 5);
    for (std::int64_t r = 0; r < table.rows(); ++r) {
        if (counts[static_cast<std::size_t>(r)] == 0) continue;
        const Eigen::VectorXd x = table.values().row(r).transpose().cast<double>();
        sum += x;
        outer += x * x.transpose();
        ++n;
    }
    CHECK(moments.count == n);
    CHECK((moments.sum - sum).norm() <= 1e-9 * sum.norm());
    CHECK((moments.outer_sum - outer).norm() <= 1e-9 * outer.norm());
    CHECK(moments.outer_sum == moments.outer_sum.transpose());
}

TEST_CASE("row moments and the Gram matrix are bitwise the same for any thread count",
          "[row_moments]") {
    const FactorTable table = random_rows(0, 10000, 5, false, 2);  // 40 chunks
    const std::vector<std::int64_t> counts = some_counts(table.rows());
    const RowMoments one = distmf::local_row_moments(table, counts, 1);
    for (const int threads : {2, 3}) {
        INFO(threads << " threads");
        CHECK(same_bits(distmf::local_row_moments(table, counts, threads), one));
        CHECK(same_bits(distmf::table_gram(table, threads), distmf::table_gram(table, 1)));
    }
    // G = H^T H: the moments of every row.
    const std::vector<std::int64_t> every_row(static_cast<std::size_t>(table.rows()), 1);
    const Eigen::MatrixXd gram = distmf::table_gram(table, 1);
    CHECK(same_bits(gram, distmf::local_row_moments(table, every_row, 1).outer_sum));
    const Eigen::MatrixXd h = table.values().cast<double>();
    const Eigen::MatrixXd expected = h.transpose() * h;
    CHECK((gram - expected).norm() <= 1e-9 * expected.norm());
}

TEST_CASE("row moments of no rows are zero", "[row_moments]") {
    const FactorTable empty(300, 0, 3, false);
    const RowMoments moments = distmf::local_row_moments(empty, {}, 2);
    CHECK(moments.count == 0);
    CHECK(moments.sum == Eigen::VectorXd::Zero(3));
    CHECK(moments.outer_sum == Eigen::MatrixXd::Zero(3, 3));
    const FactorTable unrated = random_rows(0, 10, 3, false, 1);
    const std::vector<std::int64_t> none(10, 0);
    CHECK(distmf::local_row_moments(unrated, none, 1).count == 0);
}

TEST_CASE("row moments need one count per row", "[row_moments]") {
    const FactorTable table = random_rows(0, 10, 3, false, 1);
    const std::vector<std::int64_t> counts(9, 1);
    CHECK_THROWS_AS(distmf::local_row_moments(table, counts, 1), distmf::Error);
}

TEST_CASE("sample_prior from row moments draws what the row-by-row formula drew",
          "[row_moments][bayesian]") {
    // 600 rows (three chunks), a third of them without training ratings: the moments are
    // summed by chunk and exactly, the reference row by row, so the draws from the same stream
    // agree to rounding, not to the bit.
    const FactorTable table = random_rows(0, 600, 4, false, 13);
    const std::vector<std::int64_t> counts = some_counts(table.rows());
    const RowMoments moments = distmf::local_row_moments(table, counts, 1);
    for (const std::uint64_t seed : {3U, 4U, 5U}) {
        distmf::SplitMix64 first(seed);
        distmf::SplitMix64 second(seed);
        const distmf::GaussianPrior drawn = distmf::sample_prior(moments, 2.0, first);
        const distmf::GaussianPrior reference =
            prior_from_rows(table.values(), counts, 2.0, second);
        CHECK((drawn.mean - reference.mean).norm() <= 1e-9 * reference.mean.norm());
        CHECK((drawn.precision - reference.precision).norm() <= 1e-9 * reference.precision.norm());
    }
}
