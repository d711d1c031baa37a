#include "distmf/metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/train.hpp"

using distmf::FactorTable;
using distmf::LocalRating;
using distmf::RatingMatrix;

namespace {

RatingMatrix by_user(const std::vector<LocalRating>& ratings, std::int64_t n_users) {
    distmf::BuildReport report;
    return distmf::build_rating_matrix(ratings, distmf::RowField::user, 0, n_users,
                                       distmf::DuplicatePolicy::error, report);
}

}  // namespace

TEST_CASE("rating_errors sums clipped and unclipped errors", "[metrics]") {
    // Biases only (k = 1 with zero factors): predictions are mu + b_u + c_i.
    FactorTable users(2, 1, true);
    users.values() << 1.0F, 0.0F,  //
        -1.5F, 0.0F;
    FactorTable items(2, 1, true);
    items.values() << 0.5F, 0.0F,  //
        -0.25F, 0.0F;
    const double mu = 3.0;
    // Predictions: (0,0) 4.5, (0,1) 3.75, (1,0) 2.0, (1,1) 1.25 -> clipped to 1.5.
    const RatingMatrix ratings =
        by_user({{0, 0, 5.0F}, {0, 1, 3.0F}, {1, 0, 2.5F}, {1, 1, 1.0F}}, 2);
    const distmf::RatingRange range{1.5, 5.0};
    const distmf::ErrorSums sums = distmf::rating_errors(ratings, users, items, mu, range, 1);
    CHECK(sums.count == 4);
    CHECK(sums.squared.value() == 0.25 + 0.5625 + 0.25 + 0.25);
    CHECK(sums.absolute.value() == 0.5 + 0.75 + 0.5 + 0.5);
    CHECK(sums.squared_unclipped.value() == 0.25 + 0.5625 + 0.25 + 0.0625);
}

TEST_CASE("rating_errors: a diverged model's squared error is infinite, not wrapped", "[metrics]") {
    // 300 users with one rating each, predicted 1e12 (factors 1e6 x 1e6): squared errors of
    // 1e24 per row sum to 3e26, beyond ExactSum's range. The objective built from it must be
    // non-finite, so DSGD's divergence check (!isfinite(objective)) stops the run instead of
    // the bold driver growing the step on a wrapped, possibly negative sum.
    std::vector<LocalRating> ratings;
    for (std::int32_t u = 0; u < 300; ++u) ratings.push_back({u, 0, 3.0F});
    FactorTable users(300, 1, false);
    users.values().setConstant(1e6F);
    FactorTable items(1, 1, false);
    items.values().setConstant(1e6F);
    const distmf::ErrorSums sums =
        distmf::rating_errors(by_user(ratings, 300), users, items, 0.0, {1.0, 5.0}, 2);
    CHECK(sums.squared_unclipped.value() == std::numeric_limits<double>::infinity());
    CHECK_FALSE(std::isfinite(sums.squared_unclipped.value() + 0.5));  // objective + penalty
    CHECK(sums.squared.value() == 300 * 4.0);                          // clipped to 5: finite
}

TEST_CASE("rating_errors is bitwise the same for any thread count", "[metrics]") {
    distmf::SplitMix64 random(5);
    std::vector<LocalRating> ratings;
    for (std::int32_t u = 0; u < 300; ++u) {
        for (std::int32_t i = 0; i < 40; ++i) {
            if (random.uniform() < 0.3) {
                ratings.push_back({u, i, static_cast<float>(1.0 + 4.0 * random.uniform())});
            }
        }
    }
    const RatingMatrix matrix = by_user(ratings, 300);
    FactorTable users(300, 3, true);
    FactorTable items(40, 3, true);
    std::vector<std::int64_t> ids(300);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    users.initialize(ids, 1, 1.0F);
    items.initialize(std::vector<std::int64_t>(ids.begin(), ids.begin() + 40), 2, 1.0F);
    const distmf::RatingRange range{1.0, 5.0};
    const distmf::ErrorSums one = distmf::rating_errors(matrix, users, items, 3.0, range, 1);
    const distmf::ErrorSums three = distmf::rating_errors(matrix, users, items, 3.0, range, 3);
    CHECK(one.count == static_cast<std::int64_t>(ratings.size()));
    CHECK(three.count == one.count);
    CHECK(three.squared.value() == one.squared.value());
    CHECK(three.absolute.value() == one.absolute.value());
    CHECK(three.squared_unclipped.value() == one.squared_unclipped.value());
}

TEST_CASE("penalty_sum is sum_i s_i (lambda_b b_i^2 + lambda |w_i|^2) over a row range",
          "[metrics]") {
    FactorTable table(3, 2, true);
    table.values() << 2.0F, 1.0F, -1.0F,  //
        0.5F, 3.0F, 0.0F,                 //
        -1.0F, 0.5F, 0.5F;
    const std::vector<std::int64_t> counts{4, 2, 0};
    distmf::AlsSettings settings;
    settings.lambda = 0.25;
    settings.bias_lambda = 0.5;
    settings.regularization = distmf::Regularization::weighted;
    // Row 0: 4 * (0.5 * 4 + 0.25 * 2) = 10; row 1: 2 * (0.5 * 0.25 + 0.25 * 9) = 4.75; row 2: 0.
    CHECK(distmf::penalty_sum(table, counts, 0, 3, settings).value() == 14.75);
    CHECK(distmf::penalty_sum(table, counts, 1, 1, settings).value() == 4.75);
    settings.regularization = distmf::Regularization::plain;
    // Row 2 counts with plain: 0.5 * 1 + 0.25 * 0.5 = 0.625.
    CHECK(distmf::penalty_sum(table, counts, 0, 3, settings).value() == 2.5 + 2.375 + 0.625);
    CHECK(distmf::penalty_sum(table, counts, 2, 0, settings).value() == 0.0);
}

TEST_CASE("metrics_json writes one JSON object with every figure, null for NaN", "[metrics]") {
    distmf::IterationRecord record;
    record.iteration = 3;
    record.train_rmse = 0.5;
    record.objective = 1234.25;
    record.seconds = 0.125;
    record.elapsed_seconds = 2.5;
    const std::string without_test = distmf::metrics_json(record);
    CHECK(without_test ==
          "{\"iteration\":3,\"train_rmse\":0.5,\"test_rmse\":null,\"test_mae\":null,"
          "\"test_precision\":null,\"test_recall\":null,\"test_ndcg\":null,\"test_map\":null,"
          "\"test_auc\":null,\"objective\":1234.25,\"seconds\":0.125,\"elapsed_seconds\":2.5}");

    record.test_rmse = 0.875;
    record.test_mae = 0.6875;
    const std::string with_test = distmf::metrics_json(record);
    for (const char* key : {"\"iteration\":3", "\"train_rmse\":0.5", "\"test_rmse\":0.875",
                            "\"test_mae\":0.6875", "\"objective\":1234.25", "\"seconds\":0.125"}) {
        INFO(key);
        CHECK(with_test.find(key) != std::string::npos);
    }
    CHECK(with_test.find('\n') == std::string::npos);
    CHECK(with_test.front() == '{');
    CHECK(with_test.back() == '}');

    // Full precision: the value reads back exactly.
    record.train_rmse = 0.1 + 0.2;
    const std::string precise = distmf::metrics_json(record);
    const auto at = precise.find("\"train_rmse\":") + 13;
    CHECK(std::stod(precise.substr(at)) == 0.1 + 0.2);

    record.objective = std::numeric_limits<double>::infinity();
    CHECK(distmf::metrics_json(record).find("\"objective\":null") != std::string::npos);
}
