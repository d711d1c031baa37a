// The SGD kernel: the lecture's worked step, the bias and penalty terms, the per-rating penalty
// of plain and weighted regularization, and a pass over many ratings against one step at a time;
// the adaptive (per-row AdaGrad) step by hand, and its pass against one step at a time.
#include "distmf/sgd.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "distmf/als.hpp"
#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"

using Catch::Detail::Approx;
using distmf::BlockRating;
using distmf::FactorTable;
using distmf::SgdStep;

namespace {

/// A table of `rows` rows with the given values in every row (bias first when `biases`).
FactorTable table_of(std::int64_t rows, int k, bool biases, std::uint64_t seed) {
    FactorTable table(rows, k, biases);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    table.initialize(ids, seed, 0.3F);
    if (biases) {
        for (std::int64_t row = 0; row < rows; ++row) {
            table.values()(row, 0) = 0.1F * static_cast<float>(row % 5) - 0.2F;
        }
    }
    return table;
}

/// 200 ratings 1..5 of users 0..19 and items 0..14, drawn from a fixed seed.
std::vector<BlockRating> random_ratings() {
    std::vector<BlockRating> ratings;
    distmf::SplitMix64 random(3);
    for (int e = 0; e < 200; ++e) {
        ratings.push_back({static_cast<std::int32_t>(random.next() % 20),
                           static_cast<std::int32_t>(random.next() % 15),
                           static_cast<float>(1 + random.next() % 5)});
    }
    return ratings;
}

/// The step of the bias and penalty cases: alpha 0.1, mu 3, lambda_i 0.2, lambda_j 0.4,
/// lambda_b,i 1, lambda_b,j 2.
SgdStep step_with_penalties() {
    return SgdStep{.step_size = 0.1F,
                   .global_mean = 3.0F,
                   .user_lambda = 0.2F,
                   .item_lambda = 0.4F,
                   .user_bias_lambda = 1.0F,
                   .item_bias_lambda = 2.0F};
}

}  // namespace

TEST_CASE("sgd_update: the lecture's worked step", "[sgd]") {
    // w_1 = [0.4, 0.2, 0.3], h_1 = [0.95, 0.10, 0.85], a = 5, alpha = 0.01, lambda = 0, no
    // biases: e = 5 - 0.655 = 4.345; w_1 += 0.04345 h_1 and h_1 += 0.04345 w_1 (old values).
    std::vector<float> w{0.4F, 0.2F, 0.3F};
    std::vector<float> h{0.95F, 0.10F, 0.85F};
    SgdStep step;
    step.step_size = 0.01F;
    distmf::sgd_update(w, h, 5.0F, false, step);
    // The lecture's figures, to four decimals (its 0.8631 rounds the exact 0.863035 up, so
    // one unit of the last place is allowed)...
    const std::vector<double> lecture_w{0.4413, 0.2043, 0.3369};
    const std::vector<double> lecture_h{0.9674, 0.1087, 0.8631};
    // ... and the exact values of the rule, to float precision.
    const std::vector<double> exact_w{0.4412775, 0.204345, 0.3369325};
    const std::vector<double> exact_h{0.96738, 0.10869, 0.863035};
    for (std::size_t f = 0; f < 3; ++f) {
        INFO("factor " << f);
        CHECK(w[f] == Approx(lecture_w[f]).margin(1e-4));
        CHECK(h[f] == Approx(lecture_h[f]).margin(1e-4));
        CHECK(w[f] == Approx(exact_w[f]).margin(1e-6));
        CHECK(h[f] == Approx(exact_h[f]).margin(1e-6));
    }
}

TEST_CASE("sgd_update: biases, the global mean and the penalties", "[sgd]") {
    // Rows [bias, factors]: b = 0.5, w = [1, 2]; c = -0.25, h = [0.5, -1]; mu = 3.
    // a_hat = 3 + 0.5 - 0.25 + (0.5 - 2) = 1.75, e = 4 - 1.75 = 2.25.
    std::vector<float> user{0.5F, 1.0F, 2.0F};
    std::vector<float> item{-0.25F, 0.5F, -1.0F};
    const SgdStep step = step_with_penalties();
    distmf::sgd_update(user, item, 4.0F, true, step);
    CHECK(user[0] == Approx(0.5 + 0.1 * (2.25 - 1.0 * 0.5)));
    CHECK(item[0] == Approx(-0.25 + 0.1 * (2.25 + 2.0 * 0.25)));
    CHECK(user[1] == Approx(1.0 + 0.1 * (2.25 * 0.5 - 0.2 * 1.0)));
    CHECK(user[2] == Approx(2.0 + 0.1 * (2.25 * -1.0 - 0.2 * 2.0)));
    CHECK(item[1] == Approx(0.5 + 0.1 * (2.25 * 1.0 - 0.4 * 0.5)));
    CHECK(item[2] == Approx(-1.0 + 0.1 * (2.25 * 2.0 + 0.4 * 1.0)));
}

TEST_CASE("sgd_update: repeated steps on one rating fit it", "[sgd]") {
    std::vector<float> w{0.1F, -0.2F, 0.3F, 0.05F};
    std::vector<float> h{0.2F, 0.1F, -0.1F, 0.3F};
    SgdStep step;
    step.step_size = 0.05F;
    for (int i = 0; i < 2000; ++i) distmf::sgd_update(w, h, 2.0F, false, step);
    const float predicted = w[0] * h[0] + w[1] * h[1] + w[2] * h[2] + w[3] * h[3];
    CHECK(predicted == Approx(2.0).margin(1e-4));
}

TEST_CASE("per_rating_penalty_scale: 1 when weighted, 1/n when plain, 0 without ratings", "[sgd]") {
    const std::vector<std::int64_t> counts{4, 0, 1, 10};
    distmf::AlsSettings settings;
    settings.regularization = distmf::Regularization::weighted;
    CHECK(distmf::per_rating_penalty_scale(settings, counts) ==
          std::vector<float>{1.0F, 0.0F, 1.0F, 1.0F});
    settings.regularization = distmf::Regularization::plain;
    CHECK(distmf::per_rating_penalty_scale(settings, counts) ==
          std::vector<float>{0.25F, 0.0F, 1.0F, 0.1F});
}

TEST_CASE("sgd_pass is sgd_update on every rating in order", "[sgd]") {
    const int k = GENERATE(3, 8, 32, 37);
    const bool biases = GENERATE(false, true);
    const bool plain = GENERATE(false, true);
    INFO("k " << k << ", biases " << biases << ", plain " << plain);
    FactorTable users = table_of(20, k, biases, 1);
    FactorTable items = table_of(15, k, biases, 2);
    const std::vector<BlockRating> ratings = random_ratings();
    std::vector<float> user_scale(20);
    std::vector<float> item_scale(15);
    for (std::size_t i = 0; i < user_scale.size(); ++i)
        user_scale[i] = 1.0F / static_cast<float>(i + 1);
    for (std::size_t j = 0; j < item_scale.size(); ++j)
        item_scale[j] = 0.5F / static_cast<float>(j + 1);
    distmf::SgdPenalties penalties{0.05F, 0.02F, {}, {}};
    if (plain) penalties = {0.05F, 0.02F, user_scale, item_scale};

    FactorTable expected_users = users;
    FactorTable expected_items = items;
    const float mean = biases ? 3.5F : 0.0F;
    for (const BlockRating& r : ratings) {
        SgdStep step{0.02F, mean, 0.05F, 0.05F, 0.02F, 0.02F};
        if (plain) {
            const float su = user_scale[static_cast<std::size_t>(r.user)];
            const float si = item_scale[static_cast<std::size_t>(r.item)];
            step = {0.02F, mean, 0.05F * su, 0.05F * si, 0.02F * su, 0.02F * si};
        }
        auto user_row = expected_users.row(r.user);
        auto item_row = expected_items.row(r.item);
        distmf::sgd_update({user_row.data(), static_cast<std::size_t>(user_row.size())},
                           {item_row.data(), static_cast<std::size_t>(item_row.size())}, r.rating,
                           biases, step);
    }
    distmf::sgd_pass(ratings, users, items, 0.02F, mean, penalties);
    CHECK(users.values().isApprox(expected_users.values(), 1e-5F));
    CHECK(items.values().isApprox(expected_items.values(), 1e-5F));
}

TEST_CASE("sgd_update_adaptive: each row's step is alpha / sqrt(G), and G grows by the mean square",
          "[sgd]") {
    // The rows of "biases, the global mean and the penalties": e = 2.25. G_i = 4, G_j = 16:
    // alpha_i = 0.1 / 2 = 0.05, alpha_j = 0.1 / 4 = 0.025.
    std::vector<float> user{0.5F, 1.0F, 2.0F};
    std::vector<float> item{-0.25F, 0.5F, -1.0F};
    const SgdStep step = step_with_penalties();
    float user_sum = 4.0F;
    float item_sum = 16.0F;
    distmf::sgd_update_adaptive(user, item, 4.0F, true, step, user_sum, item_sum);
    const double g_w1 = 2.25 * 0.5 - 0.2 * 1.0;
    const double g_w2 = 2.25 * -1.0 - 0.2 * 2.0;
    const double g_h1 = 2.25 * 1.0 - 0.4 * 0.5;
    const double g_h2 = 2.25 * 2.0 + 0.4 * 1.0;
    CHECK(user[0] == Approx(0.5 + 0.05 * (2.25 - 1.0 * 0.5)));  // the bias: its row's step
    CHECK(item[0] == Approx(-0.25 + 0.025 * (2.25 + 2.0 * 0.25)));
    CHECK(user[1] == Approx(1.0 + 0.05 * g_w1));
    CHECK(user[2] == Approx(2.0 + 0.05 * g_w2));
    CHECK(item[1] == Approx(0.5 + 0.025 * g_h1));
    CHECK(item[2] == Approx(-1.0 + 0.025 * g_h2));
    // The bias adds nothing to G.
    CHECK(user_sum == Approx(4.0 + (g_w1 * g_w1 + g_w2 * g_w2) / 2));
    CHECK(item_sum == Approx(16.0 + (g_h1 * g_h1 + g_h2 * g_h2) / 2));
}

TEST_CASE("sgd_update_adaptive: at G = 1 the first step is the fixed one", "[sgd]") {
    std::vector<float> w{0.4F, 0.2F, 0.3F};
    std::vector<float> h{0.95F, 0.10F, 0.85F};
    std::vector<float> fixed_w = w;
    std::vector<float> fixed_h = h;
    SgdStep step;
    step.step_size = 0.01F;
    float user_sum = distmf::initial_step_sum;
    float item_sum = distmf::initial_step_sum;
    distmf::sgd_update_adaptive(w, h, 5.0F, false, step, user_sum, item_sum);
    distmf::sgd_update(fixed_w, fixed_h, 5.0F, false, step);
    for (std::size_t f = 0; f < 3; ++f) {
        CHECK(w[f] == Approx(fixed_w[f]).margin(1e-7));
        CHECK(h[f] == Approx(fixed_h[f]).margin(1e-7));
    }
    CHECK(user_sum > 1.0F);
    CHECK(item_sum > 1.0F);
}

TEST_CASE("sgd_pass with accumulators is sgd_update_adaptive on every rating in order", "[sgd]") {
    const int k = GENERATE(3, 8, 32, 37);
    const bool biases = GENERATE(false, true);
    INFO("k " << k << ", biases " << biases);
    FactorTable users = table_of(20, k, biases, 1);
    FactorTable items = table_of(15, k, biases, 2);
    std::vector<float> user_sums(20, distmf::initial_step_sum);
    std::vector<float> item_sums(15, distmf::initial_step_sum);
    const std::vector<BlockRating> ratings = random_ratings();
    FactorTable expected_users = users;
    FactorTable expected_items = items;
    std::vector<float> expected_user_sums = user_sums;
    std::vector<float> expected_item_sums = item_sums;
    const float mean = biases ? 3.5F : 0.0F;
    const SgdStep step{0.05F, mean, 0.05F, 0.05F, 0.02F, 0.02F};
    for (const BlockRating& r : ratings) {
        auto user_row = expected_users.row(r.user);
        auto item_row = expected_items.row(r.item);
        distmf::sgd_update_adaptive({user_row.data(), static_cast<std::size_t>(user_row.size())},
                                    {item_row.data(), static_cast<std::size_t>(item_row.size())},
                                    r.rating, biases, step,
                                    expected_user_sums[static_cast<std::size_t>(r.user)],
                                    expected_item_sums[static_cast<std::size_t>(r.item)]);
    }
    distmf::sgd_pass(ratings, users, items, 0.05F, mean, distmf::SgdPenalties{0.05F, 0.02F, {}, {}},
                     distmf::AdaptiveSums{user_sums, item_sums});
    CHECK(users.values().isApprox(expected_users.values(), 1e-5F));
    CHECK(items.values().isApprox(expected_items.values(), 1e-5F));
    for (std::size_t i = 0; i < user_sums.size(); ++i) {
        CHECK(user_sums[i] == Approx(expected_user_sums[i]).epsilon(1e-5));
    }
    for (std::size_t j = 0; j < item_sums.size(); ++j) {
        CHECK(item_sums[j] == Approx(expected_item_sums[j]).epsilon(1e-5));
    }
    // Rows the ratings step have larger G, so smaller steps, than at the start.
    CHECK(user_sums[static_cast<std::size_t>(ratings.front().user)] > distmf::initial_step_sum);
}
