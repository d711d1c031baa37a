#include "distmf/factors.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

using distmf::FactorTable;

TEST_CASE("FactorTable has k columns plus one for the bias", "[factors]") {
    const FactorTable with_bias(5, 3, true);
    CHECK(with_bias.rows() == 5);
    CHECK(with_bias.k() == 3);
    CHECK(with_bias.has_bias());
    CHECK(with_bias.width() == 4);
    CHECK(with_bias.values().cols() == 4);
    CHECK(with_bias.values().isZero());
    const FactorTable without(5, 3, false);
    CHECK(without.width() == 3);
    CHECK_FALSE(without.has_bias());
}

TEST_CASE("FactorTable rows are contiguous: bias, then factors", "[factors]") {
    FactorTable table(3, 2, true);
    table.values() << 1.0F, 2.0F, 3.0F,  //
        4.0F, 5.0F, 6.0F,                //
        7.0F, 8.0F, 9.0F;
    CHECK(table.bias(1) == 4.0F);
    CHECK(table.factors(1)(0) == 5.0F);
    CHECK(table.factors(1)(1) == 6.0F);
    const auto span = table.row_span(1, 2);
    CHECK(std::vector<float>(span.begin(), span.end()) ==
          std::vector<float>{4.0F, 5.0F, 6.0F, 7.0F, 8.0F, 9.0F});

    FactorTable no_bias(2, 2, false);
    no_bias.values() << 1.0F, 2.0F, 3.0F, 4.0F;
    CHECK(no_bias.bias(0) == 0.0F);
    CHECK(no_bias.factors(1)(0) == 3.0F);
}

TEST_CASE("FactorTable::initialize depends only on the seed and the external ID", "[factors]") {
    const std::vector<std::int64_t> ids{10, 20, 30, 40, 50, -7, 1'000'000'000'000};
    const std::vector<std::size_t> order{3, 0, 6, 5, 1, 4, 2};  // a permutation
    std::vector<std::int64_t> permuted;
    for (const std::size_t i : order) permuted.push_back(ids[i]);
    const bool biases = GENERATE(true, false);

    FactorTable original(7, 4, biases);
    original.values().setConstant(9.0F);  // initialize overwrites everything
    original.initialize(ids, 123, 0.1F);
    FactorTable shuffled(7, 4, biases);
    shuffled.initialize(permuted, 123, 0.1F);
    for (std::size_t row = 0; row < order.size(); ++row) {
        INFO("row " << row);
        CHECK(shuffled.row(static_cast<std::int64_t>(row)) ==
              original.row(static_cast<std::int64_t>(order[row])));
    }
    if (biases) CHECK(original.values().col(0).isZero());
    CHECK_FALSE(original.values().rightCols(4).isZero());

    // A table of other rows gets the same values for the IDs it shares.
    FactorTable subset(2, 4, biases);
    subset.initialize(std::vector<std::int64_t>{50, 10}, 123, 0.1F);
    CHECK(subset.row(0) == original.row(4));
    CHECK(subset.row(1) == original.row(0));

    // Another seed, other values.
    FactorTable reseeded(7, 4, biases);
    reseeded.initialize(ids, 124, 0.1F);
    CHECK(reseeded.values() != original.values());
}

TEST_CASE("FactorTable::initialize draws N(0, scale^2) factors", "[factors]") {
    constexpr std::int64_t n = 2000;
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < n; ++i) ids.push_back(i * 7919);
    FactorTable table(n, 8, true);
    table.initialize(ids, 1, 0.1F);
    const Eigen::MatrixXd factors = table.values().rightCols(8).cast<double>();
    const double mean = factors.mean();
    const double variance = (factors.array() - mean).square().mean();
    CHECK(std::abs(mean) < 0.005);
    CHECK(std::sqrt(variance) == Approx(0.1).epsilon(0.05));
    // Columns are not copies of one another.
    CHECK(std::abs(factors.col(0).dot(factors.col(1))) / static_cast<double>(n) < 0.001);
}

TEST_CASE("predict_rating is mu + b_u + c_i + w_u . h_i", "[factors]") {
    FactorTable users(2, 2, true);
    users.values() << 0.5F, 1.0F, 2.0F,  //
        -0.25F, 0.0F, -1.0F;
    FactorTable items(2, 2, true);
    items.values() << 0.125F, 3.0F, 0.5F,  //
        1.0F, -2.0F, 4.0F;
    CHECK(distmf::predict_rating(users, 0, items, 0, 3.5) == 3.5 + 0.5 + 0.125 + 3.0 + 1.0);
    CHECK(distmf::predict_rating(users, 0, items, 1, 3.5) == 3.5 + 0.5 + 1.0 - 2.0 + 8.0);
    CHECK(distmf::predict_rating(users, 1, items, 1, 0.0) == -0.25 + 1.0 - 4.0);

    FactorTable plain_users(1, 2, false);
    plain_users.values() << 1.5F, -2.0F;
    FactorTable plain_items(1, 2, false);
    plain_items.values() << 2.0F, 0.25F;
    CHECK(distmf::predict_rating(plain_users, 0, plain_items, 0, 0.0) == 3.0 - 0.5);
}
