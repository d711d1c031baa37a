#include "distmf/implicit_als.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"
#include "distmf/rating_matrix.hpp"

using distmf::AlsSettings;
using distmf::FactorTable;
using distmf::ImplicitRowSolver;
using distmf::ImplicitSettings;
using distmf::RatingMatrix;

namespace {

/// `rows` x k factors drawn from a seed, no bias column (implicit models have none).
FactorTable random_table(std::int64_t rows, int k, std::uint64_t seed) {
    FactorTable table(rows, k, false);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    table.initialize(ids, seed, 1.0F);
    return table;
}

/// One user's interactions: a CSR matrix of one row.
RatingMatrix one_row(const std::vector<std::int32_t>& items, const std::vector<float>& strengths) {
    RatingMatrix row;
    row.row_start = {0, static_cast<std::int64_t>(items.size())};
    row.columns = items;
    row.values = strengths;
    return row;
}

/// The implicit normal equations over every cell, formed densely in double and solved by LU:
/// (H^T C H + lambda I) w = H^T C p with C = diag(c_j) over all items.
Eigen::VectorXd dense_solution(const FactorTable& items, const RatingMatrix& row, double lambda,
                               const ImplicitSettings& implicit) {
    const Eigen::MatrixXd h = items.values().cast<double>();
    Eigen::VectorXd confidence = Eigen::VectorXd::Ones(h.rows());
    Eigen::VectorXd preference = Eigen::VectorXd::Zero(h.rows());
    for (std::size_t e = 0; e < row.columns.size(); ++e) {
        const float r = row.values[e];
        const double f = implicit.confidence == distmf::ConfidenceScaling::linear
                             ? static_cast<double>(r)
                             : std::log(1.0 + static_cast<double>(r) / implicit.epsilon);
        confidence(row.columns[e]) = 1.0 + implicit.alpha * f;
        preference(row.columns[e]) = r > 0.0F ? 1.0 : 0.0;
    }
    Eigen::MatrixXd system = h.transpose() * confidence.asDiagonal() * h;
    system.diagonal().array() += lambda;
    return system.fullPivLu().solve(h.transpose() * confidence.asDiagonal() * preference);
}

AlsSettings plain(double lambda) {
    AlsSettings settings;
    settings.lambda = lambda;
    settings.regularization = distmf::Regularization::plain;
    settings.global_mean = 0.0;
    return settings;
}

Eigen::VectorXf solve_with(const FactorTable& items, const RatingMatrix& row,
                           const AlsSettings& settings, const ImplicitSettings& implicit,
                           const Eigen::VectorXf& start) {
    const Eigen::MatrixXd gram = distmf::table_gram(items, 1);
    ImplicitRowSolver solver(items, gram, settings, implicit);
    Eigen::VectorXf solution = start;
    REQUIRE(solver.solve(row, 0, solution));
    return solution;
}

}  // namespace

TEST_CASE("implicit ALS: the row solve matches the dense normal equations over every cell",
          "[implicit]") {
    const FactorTable items = random_table(9, 3, 4);
    const RatingMatrix row = one_row({1, 3, 4, 7}, {2.0F, 5.0F, 1.0F, 0.0F});  // 0: unobserved
    ImplicitSettings implicit;
    implicit.alpha = 2.0;
    SECTION("linear confidence") { implicit.confidence = distmf::ConfidenceScaling::linear; }
    SECTION("log confidence") {
        implicit.confidence = distmf::ConfidenceScaling::log;
        implicit.epsilon = 0.5;
    }
    const Eigen::VectorXd expected = dense_solution(items, row, 0.3, implicit);
    implicit.solver = distmf::ImplicitSolver::cholesky;
    const Eigen::VectorXf exact =
        solve_with(items, row, plain(0.3), implicit, Eigen::VectorXf::Zero(3));
    for (int f = 0; f < 3; ++f) CHECK(exact(f) == Approx(expected(f)).margin(1e-5));
    // k = 3 conjugate-gradient steps solve a 3 x 3 system (up to rounding).
    implicit.solver = distmf::ImplicitSolver::cg;
    implicit.cg_steps = 3;
    const Eigen::VectorXf iterative =
        solve_with(items, row, plain(0.3), implicit, Eigen::VectorXf::Zero(3));
    for (int f = 0; f < 3; ++f) CHECK(iterative(f) == Approx(expected(f)).margin(1e-4));
}

TEST_CASE("implicit ALS: CG converges to the Cholesky solution and stays there", "[implicit]") {
    const int k = 8;
    const FactorTable items = random_table(60, k, 9);
    std::vector<std::int32_t> columns;
    std::vector<float> strengths;
    for (std::int32_t item = 0; item < 60; item += 3) {
        columns.push_back(item);
        strengths.push_back(static_cast<float>(1 + item % 7));
    }
    const RatingMatrix row = one_row(columns, strengths);
    AlsSettings settings = plain(0.5);
    settings.regularization = distmf::Regularization::weighted;
    ImplicitSettings implicit;
    implicit.alpha = 1.5;
    implicit.solver = distmf::ImplicitSolver::cholesky;
    const Eigen::VectorXf exact =
        solve_with(items, row, settings, implicit, Eigen::VectorXf::Zero(k));
    implicit.solver = distmf::ImplicitSolver::cg;
    implicit.cg_steps = 3;
    const Eigen::VectorXf three =
        solve_with(items, row, settings, implicit, Eigen::VectorXf::Zero(k));
    implicit.cg_steps = 30;
    const Eigen::VectorXf many =
        solve_with(items, row, settings, implicit, Eigen::VectorXf::Zero(k));
    CHECK((many - exact).norm() <= 1e-4F * exact.norm());
    CHECK((three - exact).norm() < exact.norm());  // three steps already get close
    // Warm-started at the solution, three steps stay at it (Takacs et al.'s use of CG).
    implicit.cg_steps = 3;
    const Eigen::VectorXf warm = solve_with(items, row, settings, implicit, exact);
    CHECK((warm - exact).norm() <= 1e-4F * exact.norm());
}

TEST_CASE("implicit ALS: the loss over every cell at the cost of the observed ones", "[implicit]") {
    const FactorTable users = random_table(1, 3, 5);
    const FactorTable items = random_table(7, 3, 6);
    const RatingMatrix row = one_row({0, 2, 5}, {3.0F, 1.0F, 4.0F});
    ImplicitSettings implicit;
    implicit.alpha = 2.0;
    const double loss =
        distmf::implicit_loss(row, users, items, distmf::table_gram(items, 1), implicit, 2).value();
    CHECK(loss ==
          distmf::implicit_loss(row, users, items, distmf::table_gram(items, 1), implicit, 1)
              .value());
    double expected = 0.0;
    for (std::int32_t item = 0; item < 7; ++item) {
        const double score = static_cast<double>(users.row(0).dot(items.row(item)));
        double confidence = 1.0;
        double preference = 0.0;
        for (std::size_t e = 0; e < row.columns.size(); ++e) {
            if (row.columns[e] != item) continue;
            confidence = 1.0 + 2.0 * static_cast<double>(row.values[e]);
            preference = 1.0;
        }
        expected += confidence * (preference - score) * (preference - score);
    }
    CHECK(loss == Approx(expected).epsilon(1e-5));
}

TEST_CASE("implicit ALS: confidence weights", "[implicit]") {
    ImplicitSettings implicit;
    implicit.alpha = 4.0;
    CHECK(distmf::confidence_excess(implicit, 3.0F) == Approx(12.0));
    CHECK(distmf::confidence_excess(implicit, 0.0F) == 0.0F);
    CHECK(distmf::confidence_excess(implicit, -2.0F) == 0.0F);  // unobserved
    implicit.confidence = distmf::ConfidenceScaling::log;
    implicit.epsilon = 0.5;
    CHECK(distmf::confidence_excess(implicit, 3.0F) == Approx(4.0 * std::log(7.0)));
}
