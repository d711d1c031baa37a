#include "distmf/top_items.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "distmf/hashing.hpp"
#include "distmf/sharded_serving.hpp"

using distmf::ScoredItem;

namespace {

constexpr float excluded = -std::numeric_limits<float>::infinity();

/// Scores with many ties (integers 0..199), every 7th excluded.
std::vector<float> tied_scores(std::size_t n_items, std::uint64_t seed) {
    distmf::SplitMix64 random(seed);
    std::vector<float> scores(n_items);
    for (float& s : scores) s = static_cast<float>(std::floor(random.uniform() * 200.0));
    for (std::size_t i = 0; i < scores.size(); i += 7) scores[i] = excluded;
    return scores;
}

/// The best n by a full sort.
std::vector<ScoredItem> sorted_best(std::span<const float> scores, std::size_t n) {
    std::vector<ScoredItem> all;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (scores[i] > excluded) all.push_back({static_cast<std::int32_t>(i), scores[i]});
    }
    std::sort(all.begin(), all.end(), distmf::ranks_before);
    all.resize(std::min(n, all.size()));
    return all;
}

void check_same(const std::vector<ScoredItem>& got, const std::vector<ScoredItem>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].item == expected[i].item);
        CHECK(std::memcmp(&got[i].score, &expected[i].score, sizeof(float)) == 0);
    }
}

/// A table of `rows` random rows of k factors (and biases).
distmf::FactorTable random_table(std::int64_t rows, int k, bool biases, std::uint64_t seed) {
    distmf::FactorTable table(rows, k, biases);
    distmf::SplitMix64 random(seed);
    for (std::int64_t r = 0; r < rows; ++r) {
        for (Eigen::Index c = 0; c < table.width(); ++c) {
            table.values()(r, c) = static_cast<float>(random.uniform() - 0.5);
        }
    }
    return table;
}

}  // namespace

TEST_CASE("select_top agrees with a full sort, ties to the lower item, skipping -inf",
          "[ranking][top_items]") {
    const std::vector<float> scores = tied_scores(5000, 3);
    for (const std::size_t n :
         {std::size_t{1}, std::size_t{10}, std::size_t{100}, std::size_t{1000}}) {
        std::vector<ScoredItem> best;
        distmf::select_top(scores, n, best);
        check_same(best, sorted_best(scores, n));
    }
    // Fewer candidates than asked for.
    std::vector<float> few(10, excluded);
    few[3] = 1.0F;
    few[8] = 2.0F;
    std::vector<ScoredItem> best;
    distmf::select_top(few, 5, best);
    REQUIRE(best.size() == 2);
    CHECK(best[0].item == 8);
    CHECK(best[1].item == 3);
    // NaN is never a candidate; n = 0 selects nothing.
    few[5] = std::numeric_limits<float>::quiet_NaN();
    distmf::select_top(few, 5, best);
    CHECK(best.size() == 2);
    distmf::select_top(few, 0, best);
    CHECK(best.empty());
}

TEST_CASE("TopSelector: items offered in pieces give the list of one piece, reset forgets",
          "[ranking][top_items]") {
    const std::vector<float> scores = tied_scores(3001, 5);
    // Rising scores make every item pass the threshold: the buffer overfills within a group.
    std::vector<float> rising_scores(1000);
    for (std::size_t i = 0; i < rising_scores.size(); ++i) {
        rising_scores[i] = static_cast<float>(i / 3);
    }
    const std::vector<float>& rising = rising_scores;
    for (const std::vector<float>* values : {&scores, &rising}) {
        for (const std::size_t n : {std::size_t{1}, std::size_t{10}, std::size_t{70}}) {
            distmf::TopSelector selector(n);
            selector.offer(std::vector<float>{9e9F, 9e9F}, 0);  // forgotten by reset()
            selector.reset();
            for (std::size_t first = 0; first < values->size(); first += 37) {
                const std::size_t count = std::min<std::size_t>(37, values->size() - first);
                selector.offer(std::span<const float>(*values).subspan(first, count),
                               static_cast<std::int32_t>(first));
            }
            std::vector<ScoredItem> best;
            selector.take(best);
            check_same(best, sorted_best(*values, n));
        }
    }
}

TEST_CASE("BlockTopItems: tiled scores are bitwise those of one product over every item",
          "[ranking][top_items]") {
    const int k = 16;
    const std::int64_t tile = distmf::BlockTopItems::items_per_tile;
    for (const bool biases : {true, false}) {
        for (const std::int64_t n_items : {std::int64_t{50}, tile, 2 * tile + 1, 3 * tile - 7}) {
            const distmf::FactorTable items = random_table(n_items, k, biases, 11);
            const distmf::FactorTable users = random_table(37, k, biases, 12);
            const distmf::RowMatrixXf queries = users.values().rightCols(k);
            // User u has excluded items u, u + 5, u + 10, ... (none for the last user).
            std::vector<std::vector<std::int32_t>> lists(37);
            std::vector<std::span<const std::int32_t>> excluded_items;
            for (std::size_t u = 0; u + 1 < lists.size(); ++u) {
                for (auto item = static_cast<std::int32_t>(u); item < n_items; item += 5) {
                    lists[u].push_back(item);
                }
            }
            for (const auto& list : lists) excluded_items.emplace_back(list);

            distmf::BlockTopItems kernel(items, 10);
            distmf::TopItemsSeconds seconds;
            kernel.run(queries, excluded_items, seconds);
            distmf::RowMatrixXf full;
            distmf::score_items(queries, items, full);
            for (std::size_t u = 0; u < lists.size(); ++u) {
                std::vector<float> row(full.row(static_cast<Eigen::Index>(u)).begin(),
                                       full.row(static_cast<Eigen::Index>(u)).end());
                for (const std::int32_t item : lists[u])
                    row[static_cast<std::size_t>(item)] = excluded;
                check_same(kernel.best(u), sorted_best(row, 10));
            }
            CHECK(seconds.scoring >= 0.0);
        }
    }
}

TEST_CASE(
    "BlockTopItems over tile-aligned item blocks, merged in any order, gives the list "
    "over every item, bit for bit",
    "[ranking][top_items][sharded]") {
    const int k = 12;
    const std::int64_t tile = distmf::BlockTopItems::items_per_tile;
    const std::int64_t n_items = 3 * tile - 7;
    for (const bool biases : {true, false}) {
        const distmf::FactorTable items = random_table(n_items, k, biases, 21);
        const distmf::RowMatrixXf queries = random_table(9, k, false, 22).values();
        std::vector<std::vector<std::int32_t>> lists(9);
        std::vector<std::span<const std::int32_t>> excluded_items;
        for (std::size_t u = 0; u < lists.size(); ++u) {
            for (auto item = static_cast<std::int32_t>(u); item < n_items; item += 7) {
                lists[u].push_back(item);
            }
        }
        for (const auto& list : lists) excluded_items.emplace_back(list);
        distmf::TopItemsSeconds seconds;
        distmf::BlockTopItems whole(items, 10);
        whole.run(queries, excluded_items, seconds);
        // Blocks of 4 ranks (one empty), visited in ring order starting at rank 2's.
        std::vector<std::vector<ScoredItem>> merged(lists.size());
        std::vector<ScoredItem> scratch;
        for (const int part : {2, 1, 0, 3}) {
            const distmf::RowRange rows = distmf::rotated_item_block(n_items, 4, part);
            distmf::FactorTable block(rows.first, rows.count, k, biases);
            block.values() = items.values().middleRows(rows.first, rows.count);
            distmf::BlockTopItems kernel(block, 10);
            kernel.run(queries, excluded_items, seconds);
            for (std::size_t u = 0; u < lists.size(); ++u) {
                distmf::merge_best(merged[u], kernel.best(u), 10, scratch);
            }
        }
        for (std::size_t u = 0; u < lists.size(); ++u) check_same(merged[u], whole.best(u));
    }
}

TEST_CASE("even_share and rotated_item_block cut every row once", "[top_items][sharded]") {
    const std::int64_t tile = distmf::BlockTopItems::items_per_tile;
    for (const std::int64_t n : {std::int64_t{0}, std::int64_t{5}, tile, 10 * tile + 3}) {
        for (const int parts : {1, 2, 3, 4}) {
            std::int64_t next_share = 0;
            std::int64_t next_block = 0;
            for (int part = 0; part < parts; ++part) {
                const distmf::RowRange share = distmf::even_share(n, parts, part);
                const distmf::RowRange block = distmf::rotated_item_block(n, parts, part);
                CHECK(share.first == next_share);
                CHECK(block.first == next_block);
                CHECK((block.first % tile == 0 || block.first == n));
                next_share = share.end();
                next_block = block.end();
            }
            CHECK(next_share == n);
            CHECK(next_block == n);
        }
    }
}

TEST_CASE("select_most_popular ranks int64 counts exactly, beyond float's 2^24", "[top_items]") {
    constexpr std::int64_t big = std::int64_t{1} << 24;
    constexpr std::int64_t huge = std::int64_t{1} << 40;
    const std::vector<std::int64_t> counts{big, big + 1, 7, big + 1, huge + 3, huge + 2, 0};
    std::vector<ScoredItem> best;
    distmf::select_most_popular(counts, 5, best);
    std::vector<std::int32_t> items;
    for (const ScoredItem& s : best) items.push_back(s.item);
    CHECK(items == std::vector<std::int32_t>{4, 5, 1, 3, 0});
    // The scores order and tie exactly as the counts do.
    const std::vector<float> scores = distmf::popularity_scores(counts);
    for (std::size_t a = 0; a < counts.size(); ++a) {
        for (std::size_t b = 0; b < counts.size(); ++b) {
            INFO("items " << a << ", " << b);
            CHECK((scores[a] < scores[b]) == (counts[a] < counts[b]));
            CHECK((scores[a] == scores[b]) == (counts[a] == counts[b]));
        }
    }
}
