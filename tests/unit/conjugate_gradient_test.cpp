// ConjugateGradient (the CG steps shared by explicit and implicit ALS) and RidgeCgSolver (explicit
// ALS's CG row solver): with enough steps both reach the exact solution, from any warm start,
// including rows with fewer ratings than unknowns (which RidgeSolver takes in the dual form).
#include "distmf/conjugate_gradient.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>

#include "distmf/als.hpp"
#include "distmf/error.hpp"
#include "distmf/hashing.hpp"

using distmf::RowMatrixXf;

namespace {

/// A random n x d matrix (standard normal entries times `scale`) and targets in [1, 5].
struct RidgeProblem {
    RowMatrixXf x;
    Eigen::VectorXf y;
    Eigen::VectorXd penalty;
};

RidgeProblem random_problem(distmf::SplitMix64& random, Eigen::Index n, Eigen::Index d,
                            double scale, double lambda) {
    RidgeProblem p{RowMatrixXf(n, d), Eigen::VectorXf(n),
                   Eigen::VectorXd::Constant(d, lambda * static_cast<double>(n))};
    for (Eigen::Index i = 0; i < p.x.size(); ++i) {
        p.x.data()[i] = static_cast<float>(scale * random.normal());
    }
    for (Eigen::Index i = 0; i < n; ++i) p.y(i) = static_cast<float>(1.0 + 4.0 * random.uniform());
    p.penalty(0) = 0.5 * lambda * static_cast<double>(n);  // a bias's penalty
    return p;
}

}  // namespace

TEST_CASE("ConjugateGradient solves an SPD system in d steps from any start", "[als][cg]") {
    distmf::SplitMix64 random(7);
    const int d = 6;
    Eigen::MatrixXd root(d, d);
    for (Eigen::Index i = 0; i < root.size(); ++i) root.data()[i] = random.normal();
    const Eigen::MatrixXd a = root.transpose() * root + Eigen::MatrixXd::Identity(d, d);
    const Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(d, -1.0, 2.0);
    const Eigen::VectorXd exact = a.llt().solve(b);
    const distmf::ConjugateGradient::Product apply = [&a](const Eigen::VectorXd& v,
                                                          Eigen::VectorXd& out) { out = a * v; };
    distmf::ConjugateGradient cg;
    for (const double start : {0.0, 1.0, -3.0}) {
        Eigen::VectorXf solution = Eigen::VectorXf::Constant(d, static_cast<float>(start));
        REQUIRE(cg.solve(b, d + 2, apply, solution));
        INFO("start " << start);
        CHECK((solution.cast<double>() - exact).norm() <= 1e-5 * exact.norm());
    }
    // The exact solution as the warm start stays where it is (the residual is ~0).
    Eigen::VectorXf solution = exact.cast<float>();
    REQUIRE(cg.solve(b, 3, apply, solution));
    CHECK((solution.cast<double>() - exact).norm() <= 1e-5 * exact.norm());
    // A matrix that is not positive definite is reported.
    const Eigen::MatrixXd indefinite = -a;
    Eigen::VectorXf untouched = Eigen::VectorXf::Ones(d);
    CHECK_FALSE(cg.solve(
        b, 3, [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) { out = indefinite * v; },
        untouched));
    CHECK(untouched == Eigen::VectorXf::Ones(d));
}

TEST_CASE("RidgeCgSolver converges to the Cholesky (and dual) solution with enough steps",
          "[als][cg]") {
    distmf::SplitMix64 random(11);
    distmf::RidgeSolver cholesky;
    distmf::RidgeCgSolver cg;
    int compared = 0;
    for (const Eigen::Index d : {3, 9, 33}) {
        for (const Eigen::Index n : {Eigen::Index{1}, d / 2 + 1, d, 4 * d}) {  // n < d: dual
            for (const double lambda : {0.05, 1.0}) {
                const RidgeProblem p = random_problem(random, n, d, 0.5, lambda);
                Eigen::VectorXf exact(d);
                REQUIRE(cholesky.solve(p.x, p.y, p.penalty, exact));
                Eigen::VectorXf solution = Eigen::VectorXf::Constant(d, 0.3F);  // a warm start
                REQUIRE(cg.solve(p.x, false, p.y, p.penalty, static_cast<int>(3 * d), solution));
                const double error = static_cast<double>((solution - exact).norm());
                INFO("n " << n << ", d " << d << ", lambda " << lambda << ": |cg - cholesky| "
                          << error << ", |cholesky| " << exact.norm());
                CHECK(error <= 1e-4 * static_cast<double>(exact.norm()) + 1e-6);
                ++compared;
            }
        }
    }
    CHECK(compared == 24);
}

TEST_CASE("RidgeCgSolver: each step brings a warm start nearer the solution", "[als][cg]") {
    distmf::SplitMix64 random(13);
    const RidgeProblem p = random_problem(random, 200, 17, 0.5, 0.05);
    Eigen::VectorXf exact(17);
    REQUIRE(distmf::solve_ridge(p.x, p.y, p.penalty, exact));
    double previous = static_cast<double>(exact.norm());
    distmf::RidgeCgSolver cg;
    for (const int steps : {1, 2, 4, 8}) {
        Eigen::VectorXf solution = Eigen::VectorXf::Zero(17);
        REQUIRE(cg.solve(p.x, false, p.y, p.penalty, steps, solution));
        const double error = static_cast<double>((solution - exact).norm());
        INFO(steps << " steps: error " << error << ", before " << previous);
        CHECK(error < previous);
        previous = error;
    }
}

TEST_CASE("RidgeCgSolver reports a singular system as RidgeSolver does", "[als][cg]") {
    // Two rows, three unknowns, no penalty: X^T X is singular.
    RowMatrixXf x(2, 3);
    x << 1, 2, 3, 4, 5, 6;
    const Eigen::VectorXf y = Eigen::VectorXf::Ones(2);
    Eigen::VectorXf solution = Eigen::VectorXf::Zero(3);
    distmf::RidgeCgSolver cg;
    CHECK_FALSE(cg.solve(x, false, y, Eigen::VectorXd::Zero(3), 5, solution));
    CHECK_FALSE(distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(3), solution));
    // With a penalty it is solvable.
    CHECK(cg.solve(x, false, y, Eigen::VectorXd::Constant(3, 0.1), 5, solution));
}

TEST_CASE("RidgeCgSolver with the column of ones left implicit solves the same system",
          "[als][cg]") {
    distmf::SplitMix64 random(17);
    for (const Eigen::Index n : {Eigen::Index{2}, Eigen::Index{50}}) {
        RidgeProblem p = random_problem(random, n, 9, 0.5, 0.1);
        p.x.col(0).setOnes();  // X = [1, F]
        const RowMatrixXf factors = p.x.rightCols(8);
        Eigen::VectorXf exact(9);
        REQUIRE(distmf::solve_ridge(p.x, p.y, p.penalty, exact));
        distmf::RidgeCgSolver cg;
        Eigen::VectorXf with_ones = Eigen::VectorXf::Zero(9);
        Eigen::VectorXf implicit_ones = Eigen::VectorXf::Zero(9);
        REQUIRE(cg.solve(p.x, false, p.y, p.penalty, 30, with_ones));
        REQUIRE(cg.solve(factors, true, p.y, p.penalty, 30, implicit_ones));
        INFO("n " << n);
        CHECK(static_cast<double>((implicit_ones - exact).norm()) <=
              1e-4 * static_cast<double>(exact.norm()));
        CHECK(static_cast<double>((implicit_ones - with_ones).norm()) <=
              1e-4 * static_cast<double>(exact.norm()));
    }
    distmf::RidgeCgSolver cg;
    Eigen::VectorXf wrong(5);
    CHECK_THROWS_AS(cg.solve(RowMatrixXf::Ones(3, 4), false, Eigen::VectorXf::Ones(3),
                             Eigen::VectorXd::Ones(5), 2, wrong),
                    distmf::Error);
}
