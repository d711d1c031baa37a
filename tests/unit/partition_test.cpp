#include "distmf/partition.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>

using distmf::BlockPartition;

TEST_CASE("global_id_order is a permutation that ignores input order", "[partition]") {
    const std::vector<std::int64_t> ids{5, 1, 9, 1000, 42, 7};
    std::vector<std::int64_t> reversed(ids.rbegin(), ids.rend());
    const auto order = distmf::global_id_order(ids, 3);
    CHECK(order == distmf::global_id_order(reversed, 3));
    std::vector<std::int64_t> sorted_order = order;
    std::sort(sorted_order.begin(), sorted_order.end());
    std::vector<std::int64_t> sorted_ids = ids;
    std::sort(sorted_ids.begin(), sorted_ids.end());
    CHECK(sorted_order == sorted_ids);
    CHECK(order != distmf::global_id_order(ids, 4));  // the seed matters
}

TEST_CASE("balanced partition covers every row and balances weight", "[partition]") {
    std::vector<std::int64_t> weights(1000);
    for (std::size_t i = 0; i < weights.size(); ++i)
        weights[i] = static_cast<std::int64_t>(i % 17 + 1);
    const std::int64_t total = std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
    for (int blocks = 1; blocks <= 8; ++blocks) {
        const auto partition = BlockPartition::balanced(weights, blocks);
        REQUIRE(partition.n_blocks() == blocks);
        REQUIRE(partition.n_rows() == 1000);
        const auto per_block = distmf::block_weights(partition, weights);
        CHECK(std::accumulate(per_block.begin(), per_block.end(), std::int64_t{0}) == total);
        for (const auto w : per_block) CHECK(w <= total / blocks + 17);
        for (std::int64_t row = 0; row < 1000; ++row) {
            const int owner = partition.owner(row);
            CHECK(partition.first(owner) <= row);
            CHECK(row < partition.end(owner));
        }
    }
}

TEST_CASE("more blocks than rows leaves some blocks empty", "[partition]") {
    const std::vector<std::int64_t> weights{3, 1};
    const auto partition = BlockPartition::balanced(weights, 4);
    REQUIRE(partition.n_rows() == 2);
    std::int64_t covered = 0;
    for (int b = 0; b < 4; ++b) covered += partition.size(b);
    CHECK(covered == 2);
    CHECK(partition.size(partition.owner(0)) > 0);
    CHECK(partition.size(partition.owner(1)) > 0);
}
