#include "distmf/als.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"
#include "distmf/metrics.hpp"
#include "distmf/rating_matrix.hpp"

using distmf::AlsSettings;
using distmf::FactorTable;
using distmf::LocalRating;
using distmf::RatingMatrix;
using distmf::Regularization;
using distmf::RowMatrixXf;

namespace {

/// The lecture's worked example: user 1 ("Alice") rated five movies, y_1 = [5, 4, 2, 3, 2]^T,
/// and the rows of X_1 are the feature vectors h_j of those movies.
RowMatrixXf alice_items() {
    RowMatrixXf x(5, 3);
    x << 0.95F, 0.10F, 0.85F,  //
        1.00F, 0.20F, 0.90F,   //
        0.05F, 0.80F, 0.30F,   //
        0.05F, 0.95F, 0.70F,   //
        0.05F, 0.15F, 0.95F;
    return x;
}

Eigen::VectorXf alice_ratings() {
    Eigen::VectorXf y(5);
    y << 5.0F, 4.0F, 2.0F, 3.0F, 2.0F;
    return y;
}

/// The lecture's solution w_1* = (X_1^T X_1)^-1 X_1^T y_1 and its predictions X_1 w_1*, to the
/// lecture's 4 decimals (checked with numpy: [2.77558, 1.65640, 1.74662]).
Eigen::Vector3d alice_lecture_solution() { return {2.7756, 1.6564, 1.7466}; }

Eigen::VectorXd alice_lecture_predictions() {
    Eigen::VectorXd predictions(5);
    predictions << 4.2871, 4.6788, 1.9879, 2.9350, 2.0465;
    return predictions;
}

/// Checks a solution against the lecture's w_1* and predictions to its 4 decimals (half a unit
/// of the last decimal, plus float rounding).
void check_lecture_solution(const Eigen::VectorXf& solution) {
    const Eigen::VectorXd w = solution.cast<double>();
    const Eigen::VectorXd predictions = alice_items().cast<double>() * w;
    INFO("w " << w.transpose() << "\npredictions " << predictions.transpose());
    for (Eigen::Index i = 0; i < 3; ++i) {
        CHECK(w(i) == Approx(alice_lecture_solution()(i)).margin(6e-5));
    }
    for (Eigen::Index j = 0; j < 5; ++j) {
        CHECK(predictions(j) == Approx(alice_lecture_predictions()(j)).margin(6e-5));
    }
}

/// (X^T X + diag(penalty))^{-1} X^T y in double, by LU: independent of solve_ridge's float
/// Gram matrix and Cholesky.
Eigen::VectorXd ridge_reference(const RowMatrixXf& x, const Eigen::VectorXf& y,
                                const Eigen::VectorXd& penalty) {
    const Eigen::MatrixXd xd = x.cast<double>();
    Eigen::MatrixXd system = xd.transpose() * xd;
    system.diagonal() += penalty;
    return system.fullPivLu().solve(xd.transpose() * y.cast<double>());
}

/// Ratings by external-ID-free global indices, and the matrices ALS needs on one process.
struct Problem {
    std::int64_t n_users = 0;
    std::int64_t n_items = 0;
    RatingMatrix by_user;
    RatingMatrix by_item;
    std::vector<std::int64_t> user_counts;
    std::vector<std::int64_t> item_counts;
    double mean = 0.0;
};

Problem make_problem(const std::vector<LocalRating>& ratings, std::int64_t n_users,
                     std::int64_t n_items) {
    Problem p;
    p.n_users = n_users;
    p.n_items = n_items;
    distmf::BuildReport report;
    p.by_user = distmf::build_rating_matrix(ratings, distmf::RowField::user, 0, n_users,
                                            distmf::DuplicatePolicy::error, report);
    p.by_item = distmf::build_rating_matrix(ratings, distmf::RowField::item, 0, n_items,
                                            distmf::DuplicatePolicy::error, report);
    REQUIRE_FALSE(report.duplicate);
    for (std::int64_t r = 0; r < n_users; ++r) p.user_counts.push_back(p.by_user.row_size(r));
    for (std::int64_t r = 0; r < n_items; ++r) p.item_counts.push_back(p.by_item.row_size(r));
    double sum = 0.0;
    for (const LocalRating& r : ratings) sum += static_cast<double>(r.value);
    p.mean = sum / static_cast<double>(ratings.size());
    return p;
}

std::vector<std::int64_t> iota_ids(std::int64_t n, std::int64_t first) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = first + static_cast<std::int64_t>(i);
    return ids;
}

double objective(const Problem& p, const FactorTable& users, const FactorTable& items,
                 const AlsSettings& settings) {
    const distmf::ErrorSums errors =
        distmf::rating_errors(p.by_user, users, items, settings.global_mean, {}, 1);
    distmf::ExactSum penalty = distmf::penalty_sum(users, p.user_counts, 0, p.n_users, settings);
    penalty.add(distmf::penalty_sum(items, p.item_counts, 0, p.n_items, settings));
    return errors.squared_unclipped.value() + penalty.value();
}

}  // namespace

TEST_CASE("solve_ridge without penalty is the lecture's least-squares solution", "[als]") {
    const RowMatrixXf x = alice_items();
    const Eigen::VectorXf y = alice_ratings();
    Eigen::VectorXf solution(3);
    REQUIRE(distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(3), solution));
    check_lecture_solution(solution);

    // Independent: Householder QR with column pivoting on X in double.
    const Eigen::VectorXd expected = x.cast<double>().colPivHouseholderQr().solve(y.cast<double>());
    INFO("solve_ridge " << solution.transpose() << "\nQR          " << expected.transpose());
    for (Eigen::Index i = 0; i < 3; ++i) {
        CHECK(static_cast<double>(solution(i)) == Approx(expected(i)).margin(1e-5));
    }
    // The least-squares residual is orthogonal to the columns of X.
    const Eigen::VectorXd residual = y.cast<double>() - x.cast<double>() * solution.cast<double>();
    CHECK((x.cast<double>().transpose() * residual).norm() < 1e-4);
}

TEST_CASE("solve_rows reproduces the lecture's user row (no biases, lambda = 0)", "[als]") {
    // User 0 rated the five movies 0..4 of the lecture; user 1 rated movies 3 and 4 only.
    std::vector<LocalRating> ratings;
    const Eigen::VectorXf y = alice_ratings();
    for (std::int32_t movie = 0; movie < 5; ++movie) ratings.push_back({0, movie, y(movie)});
    ratings.push_back({1, 3, 1.0F});
    ratings.push_back({1, 4, 2.0F});
    const Problem p = make_problem(ratings, 2, 5);
    FactorTable movies(5, 3, false);
    movies.values() = alice_items();
    FactorTable users(2, 3, false);
    AlsSettings settings;
    settings.lambda = 0.0;
    settings.global_mean = 0.0;
    const bool weighted = GENERATE(true, false);
    settings.regularization = weighted ? Regularization::weighted : Regularization::plain;
    // User 1's two ratings cannot determine three unpenalized unknowns: the first failure.
    CHECK(distmf::solve_rows(p.by_user, movies, settings, users) == 1);
    check_lecture_solution(users.row(0).transpose());
}

TEST_CASE("solve_ridge with a penalty is (X^T X + p I)^{-1} X^T y", "[als]") {
    const RowMatrixXf x = alice_items();
    const Eigen::VectorXf y = alice_ratings();
    for (const double p : {0.01, 0.5, 3.0, 100.0}) {
        INFO("penalty " << p);
        const Eigen::VectorXd penalty = Eigen::VectorXd::Constant(3, p);
        Eigen::VectorXf solution(3);
        REQUIRE(distmf::solve_ridge(x, y, penalty, solution));
        const Eigen::VectorXd expected = ridge_reference(x, y, penalty);
        for (Eigen::Index i = 0; i < 3; ++i) {
            CHECK(static_cast<double>(solution(i)) == Approx(expected(i)).margin(1e-4));
        }
    }
    // A diagonal that differs per unknown (bias penalty in column 0).
    Eigen::VectorXd penalty(3);
    penalty << 0.2, 1.5, 1.5;
    Eigen::VectorXf solution(3);
    REQUIRE(distmf::solve_ridge(x, y, penalty, solution));
    const Eigen::VectorXd expected = ridge_reference(x, y, penalty);
    for (Eigen::Index i = 0; i < 3; ++i) {
        CHECK(static_cast<double>(solution(i)) == Approx(expected(i)).margin(1e-4));
    }
}

TEST_CASE("solve_ridge's dual (Woodbury) path equals the primal solution in double", "[als]") {
    // Rows with fewer ratings than unknowns and a positive penalty take the dual form; compare
    // it with (X^T X + D)^-1 X^T y by LU in double, for several shapes, penalties and scales.
    distmf::SplitMix64 random(31);
    int compared = 0;
    for (const int d : {3, 8, 17, 33}) {
        for (int n = 1; n < d; n += 1 + d / 5) {
            for (const double x_scale : {0.02, 1.0, 40.0}) {
                for (const double lambda : {1e-3, 0.1, 5.0, 300.0}) {
                    RowMatrixXf x(n, d);
                    Eigen::VectorXf y(n);
                    for (Eigen::Index i = 0; i < x.size(); ++i) {
                        x.data()[i] = static_cast<float>(x_scale * random.normal());
                    }
                    for (Eigen::Index i = 0; i < n; ++i) {
                        y(i) = static_cast<float>(1.0 + 4.0 * random.uniform());
                    }
                    // Weighted-style scaling, and a different penalty on column 0 (a bias).
                    Eigen::VectorXd penalty = Eigen::VectorXd::Constant(d, lambda * n);
                    penalty(0) = 0.5 * lambda * n;
                    Eigen::VectorXf solution(d);
                    REQUIRE(distmf::solve_ridge(x, y, penalty, solution));
                    const Eigen::VectorXd expected = ridge_reference(x, y, penalty);
                    const double error = (solution.cast<double>() - expected).norm();
                    INFO("n " << n << ", d " << d << ", scale " << x_scale << ", lambda " << lambda
                              << ": |dual - primal| " << error << ", |primal| " << expected.norm());
                    CHECK(error <= 1e-5 * expected.norm() + 1e-9);
                    ++compared;
                }
            }
        }
    }
    CHECK(compared > 100);
}

TEST_CASE("solve_ridge reports a singular system", "[als]") {
    Eigen::VectorXf solution(3);
    SECTION("no rows") {
        const RowMatrixXf x(0, 3);
        const Eigen::VectorXf y(0);
        CHECK_FALSE(distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(3), solution));
    }
    SECTION("fewer rows than unknowns, no penalty") {
        const RowMatrixXf x = alice_items().topRows(2);
        const Eigen::VectorXf y = alice_ratings().head(2);
        CHECK_FALSE(distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(3), solution));
    }
    SECTION("one row, no penalty") {
        const RowMatrixXf x = alice_items().topRows(1);
        const Eigen::VectorXf y = alice_ratings().head(1);
        CHECK_FALSE(distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(3), solution));
    }
    SECTION("only the bias has a penalty, fewer rows than factors") {
        const RowMatrixXf x = alice_items().topRows(1);
        const Eigen::VectorXf y = alice_ratings().head(1);
        Eigen::VectorXd penalty(3);
        penalty << 0.5, 0.0, 0.0;
        CHECK_FALSE(distmf::solve_ridge(x, y, penalty, solution));
    }
    SECTION("fewer rows than unknowns, but a penalty makes it solvable") {
        const RowMatrixXf x = alice_items().topRows(2);
        const Eigen::VectorXf y = alice_ratings().head(2);
        CHECK(distmf::solve_ridge(x, y, Eigen::VectorXd::Constant(3, 0.1), solution));
    }
}

TEST_CASE("solve_ridge reports rank-deficient systems of generic values", "[als]") {
    // Fewer rows than unknowns with arbitrary (not round) values: the float Gram matrix is
    // singular only up to rounding, which must still be reported.
    distmf::SplitMix64 random(2024);
    int accepted = 0;
    for (int trial = 0; trial < 200; ++trial) {
        const int width = 2 + trial % 6;
        const int rows = 1 + trial % width;  // 1 .. width - 1 rows
        if (rows >= width) continue;
        RowMatrixXf x(rows, width);
        Eigen::VectorXf y(rows);
        for (int r = 0; r < rows; ++r) {
            x(r, 0) = 1.0F;
            for (int c = 1; c < width; ++c) x(r, c) = static_cast<float>(0.3 * random.normal());
            y(r) = static_cast<float>(1.0 + 4.0 * random.uniform());
        }
        Eigen::VectorXf solution(width);
        if (distmf::solve_ridge(x, y, Eigen::VectorXd::Zero(width), solution)) ++accepted;
    }
    CHECK(accepted == 0);
}

TEST_CASE("row_penalty: weighted scales by the rating count, plain does not", "[als]") {
    AlsSettings settings;
    settings.lambda = 0.1;
    settings.bias_lambda = 0.5;
    SECTION("weighted") {
        settings.regularization = Regularization::weighted;
        CHECK(distmf::penalty_scale(settings, 7) == 7.0);
        const Eigen::VectorXd with_bias = distmf::row_penalty(settings, 7, 4, true);
        REQUIRE(with_bias.size() == 4);
        CHECK(with_bias(0) == Approx(3.5));
        for (Eigen::Index i = 1; i < 4; ++i) CHECK(with_bias(i) == Approx(0.7));
        const Eigen::VectorXd without = distmf::row_penalty(settings, 7, 3, false);
        REQUIRE(without.size() == 3);
        for (Eigen::Index i = 0; i < 3; ++i) CHECK(without(i) == Approx(0.7));
        CHECK(distmf::row_penalty(settings, 0, 3, true).isZero());
    }
    SECTION("plain") {
        settings.regularization = Regularization::plain;
        CHECK(distmf::penalty_scale(settings, 7) == 1.0);
        const Eigen::VectorXd with_bias = distmf::row_penalty(settings, 7, 4, true);
        CHECK(with_bias(0) == 0.5);
        for (Eigen::Index i = 1; i < 4; ++i) CHECK(with_bias(i) == 0.1);
        const Eigen::VectorXd without = distmf::row_penalty(settings, 1000, 2, false);
        CHECK(without(0) == 0.1);
        CHECK(without(1) == 0.1);
    }
}

TEST_CASE("solve_rows solves each row's ridge regression with biases", "[als]") {
    // Two users, three items; user 1 has no ratings and becomes zero.
    const Problem p = make_problem({{0, 0, 5.0F}, {0, 1, 3.0F}, {0, 2, 1.0F}}, 2, 3);
    FactorTable items(3, 2, true);
    items.values() << 0.5F, 1.0F, 0.2F,  //
        -0.25F, 0.3F, 0.9F,              //
        0.1F, -0.6F, 0.4F;
    FactorTable users(2, 2, true);
    users.values().setConstant(7.0F);
    AlsSettings settings;
    settings.lambda = 0.2;
    settings.bias_lambda = 0.05;
    settings.global_mean = 3.0;
    REQUIRE(distmf::solve_rows(p.by_user, items, settings, users) == -1);

    // Expected: x_j = [1, h_j], y_j = a_j - mu - c_j, penalty 3 * [0.05, 0.2, 0.2].
    RowMatrixXf x(3, 3);
    Eigen::VectorXf y(3);
    const float ratings[3] = {5.0F, 3.0F, 1.0F};
    for (int j = 0; j < 3; ++j) {
        x(j, 0) = 1.0F;
        x(j, 1) = items.values()(j, 1);
        x(j, 2) = items.values()(j, 2);
        y(j) = ratings[j] - 3.0F - items.values()(j, 0);
    }
    Eigen::VectorXd penalty(3);
    penalty << 0.15, 0.6, 0.6;
    const Eigen::VectorXd expected = ridge_reference(x, y, penalty);
    for (Eigen::Index i = 0; i < 3; ++i) {
        CHECK(static_cast<double>(users.values()(0, i)) == Approx(expected(i)).margin(1e-5));
    }
    CHECK(users.row(1).isZero());
}

TEST_CASE("solve_rows returns the first row that cannot be solved", "[als]") {
    // k = 2 with biases (3 unknowns), no penalty: users 1 and 3 rate only two items.
    std::vector<LocalRating> ratings;
    for (std::int32_t item = 0; item < 6; ++item) {
        ratings.push_back({0, item, 4.0F});
        ratings.push_back({2, item, 2.0F});
    }
    ratings.push_back({1, 0, 3.0F});
    ratings.push_back({1, 4, 5.0F});
    ratings.push_back({3, 2, 1.0F});
    ratings.push_back({3, 5, 2.0F});
    const Problem p = make_problem(ratings, 4, 6);
    FactorTable items(6, 2, true);
    items.initialize(iota_ids(6, 100), 5, 0.5F);
    FactorTable users(4, 2, true);
    AlsSettings settings;
    settings.lambda = 0.0;
    settings.bias_lambda = 0.0;
    settings.regularization = Regularization::plain;
    CHECK(distmf::solve_rows(p.by_user, items, settings, users) == 1);
    settings.threads = 3;
    CHECK(distmf::solve_rows(p.by_user, items, settings, users) == 1);
    settings.lambda = 0.01;
    settings.bias_lambda = 0.01;
    CHECK(distmf::solve_rows(p.by_user, items, settings, users) == -1);
}

TEST_CASE("ALS recovers a noise-free rank-2 matrix exactly", "[als]") {
    // 30 users x 20 items, fully observed, a_ij = w_i . h_j with w, h ~ N(0, 1); no biases.
    constexpr std::int64_t n_users = 30;
    constexpr std::int64_t n_items = 20;
    distmf::SplitMix64 random(77);
    Eigen::MatrixXd w(n_users, 2);
    Eigen::MatrixXd h(n_items, 2);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = random.normal();
    for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = random.normal();
    std::vector<LocalRating> ratings;
    for (std::int32_t i = 0; i < n_users; ++i) {
        for (std::int32_t j = 0; j < n_items; ++j) {
            ratings.push_back({i, j, static_cast<float>(w.row(i).dot(h.row(j)))});
        }
    }
    const Problem p = make_problem(ratings, n_users, n_items);
    FactorTable users(n_users, 2, false);
    FactorTable items(n_items, 2, false);
    users.initialize(iota_ids(n_users, 1), 11, 0.1F);
    items.initialize(iota_ids(n_items, 1), 12, 0.1F);
    AlsSettings settings;
    settings.lambda = 1e-9;
    settings.global_mean = 0.0;
    for (int iteration = 0; iteration < 50; ++iteration) {
        REQUIRE(distmf::solve_rows(p.by_user, items, settings, users) == -1);
        REQUIRE(distmf::solve_rows(p.by_item, users, settings, items) == -1);
    }
    const distmf::ErrorSums errors = distmf::rating_errors(p.by_user, users, items, 0.0, {}, 1);
    REQUIRE(errors.count == n_users * n_items);
    const double rmse = std::sqrt(errors.squared.value() / static_cast<double>(errors.count));
    CHECK(rmse < 1e-3);
}

TEST_CASE("the ALS objective never increases over half-sweeps", "[als]") {
    // 40 users x 30 items, about a third observed, ratings 1..5 in steps of 0.5.
    constexpr std::int64_t n_users = 40;
    constexpr std::int64_t n_items = 30;
    distmf::SplitMix64 random(4242);
    std::vector<LocalRating> ratings;
    for (std::int32_t i = 0; i < n_users; ++i) {
        for (std::int32_t j = 0; j < n_items; ++j) {
            if (random.uniform() < 0.33) {
                ratings.push_back({i, j, 1.0F + 0.5F * static_cast<float>(random.next() % 9)});
            }
        }
    }
    const Problem p = make_problem(ratings, n_users, n_items);
    const bool biases = GENERATE(true, false);
    const Regularization regularization = GENERATE(Regularization::weighted, Regularization::plain);
    INFO("biases " << biases << ", weighted " << (regularization == Regularization::weighted));
    AlsSettings settings;
    settings.lambda = 0.1;
    settings.bias_lambda = 0.05;
    settings.regularization = regularization;
    settings.global_mean = biases ? p.mean : 0.0;
    FactorTable users(n_users, 3, biases);
    FactorTable items(n_items, 3, biases);
    users.initialize(iota_ids(n_users, 1000), 1, 0.1F);
    items.initialize(iota_ids(n_items, 5000), 2, 0.1F);
    double previous = objective(p, users, items, settings);
    const double initial = previous;
    for (int half_sweep = 0; half_sweep < 30; ++half_sweep) {
        if (half_sweep % 2 == 0) {
            REQUIRE(distmf::solve_rows(p.by_user, items, settings, users) == -1);
        } else {
            REQUIRE(distmf::solve_rows(p.by_item, users, settings, items) == -1);
        }
        const double current = objective(p, users, items, settings);
        INFO("half-sweep " << half_sweep << ": " << previous << " -> " << current);
        // Each half-sweep minimizes the objective exactly over one side (up to float storage).
        CHECK(current <= previous * (1.0 + 1e-6));
        previous = current;
    }
    CHECK(previous < 0.5 * initial);
}

TEST_CASE("solve_rows gives bitwise the same rows for any thread count", "[als]") {
    distmf::SplitMix64 random(99);
    std::vector<LocalRating> ratings;
    for (std::int32_t i = 0; i < 200; ++i) {
        for (std::int32_t j = 0; j < 50; ++j) {
            if (random.uniform() < 0.2)
                ratings.push_back({i, j, 1.0F + 2.0F * static_cast<float>((i + j) % 3)});
        }
    }
    const Problem p = make_problem(ratings, 200, 50);
    FactorTable items(50, 4, true);
    items.initialize(iota_ids(50, 1), 3, 0.5F);
    AlsSettings settings;
    settings.global_mean = p.mean;
    FactorTable one(200, 4, true);
    REQUIRE(distmf::solve_rows(p.by_user, items, settings, one) == -1);
    settings.threads = 4;
    FactorTable four(200, 4, true);
    REQUIRE(distmf::solve_rows(p.by_user, items, settings, four) == -1);
    CHECK(one.values() == four.values());
}
