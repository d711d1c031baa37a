// DsgdLayout: every training rating lands in exactly one sub-block, the one of its user part
// and item part; the parts are contiguous, disjoint and cover the block; the order inside a
// sub-block is a seeded shuffle that does not depend on the thread count.
#include "distmf/dsgd_layout.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "distmf/dsgd.hpp"
#include "distmf/hashing.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"

using distmf::BlockCell;
using distmf::BlockPartition;
using distmf::BlockRating;
using distmf::DsgdLayout;
using distmf::RatingMatrix;

namespace {

constexpr std::int64_t n_users = 60;
constexpr std::int32_t n_items = 45;

/// Random ratings of users [first, first + rows) (about a third of the items each).
RatingMatrix random_ratings(std::int64_t first, std::int64_t rows, std::uint64_t seed) {
    std::vector<distmf::LocalRating> entries;
    distmf::SplitMix64 random(seed);
    for (std::int64_t user = first; user < first + rows; ++user) {
        for (std::int32_t item = 0; item < n_items; ++item) {
            if (random.next() % 3 != 0) continue;
            entries.push_back(
                {static_cast<std::int32_t>(user), item, static_cast<float>(1 + random.next() % 5)});
        }
    }
    distmf::BuildReport report;
    return distmf::build_rating_matrix(std::move(entries), distmf::RowField::user, first, rows,
                                       distmf::DuplicatePolicy::error, report);
}

std::vector<std::int64_t> counts_of(const RatingMatrix& ratings, bool users, std::size_t size) {
    std::vector<std::int64_t> counts(size, 0);
    for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
        for (const std::int32_t item : ratings.row_columns(row)) {
            ++counts[static_cast<std::size_t>(users ? ratings.first_row + row : item)];
        }
    }
    return counts;
}

using Triple = std::tuple<std::int32_t, std::int32_t, float>;

}  // namespace

TEST_CASE("DsgdLayout: every rating once, in the sub-block of its user part and item part",
          "[dsgd][layout]") {
    const int n_blocks = GENERATE(1, 2, 3);
    const int grid = GENERATE(1, 2, 4, 7);
    INFO("item blocks " << n_blocks << ", grid " << grid);
    const RatingMatrix ratings = random_ratings(10, 40, 1);  // users 10..49 of this rank
    const auto user_counts = counts_of(ratings, true, n_users);
    const auto item_counts = counts_of(ratings, false, n_items);
    const BlockPartition item_blocks = BlockPartition::balanced(item_counts, n_blocks);
    const DsgdLayout layout(ratings, item_blocks, user_counts, item_counts, 1, grid, 99, 2);
    CHECK(layout.n_ratings() == ratings.nnz());
    CHECK(layout.grid() == grid);
    CHECK(layout.n_item_blocks() == n_blocks);

    std::multiset<Triple> laid_out;
    std::int64_t total = 0;
    for (int q = 0; q < n_blocks; ++q) {
        std::int64_t in_block = 0;
        // The users of part a and the items of part b, as seen in the sub-blocks.
        std::map<std::int32_t, int> user_part;
        std::map<std::int32_t, int> item_part;
        for (int a = 0; a < grid; ++a) {
            for (int b = 0; b < grid; ++b) {
                for (const BlockRating& local : layout.sub_block(q, BlockCell{a, b})) {
                    // Rows in the user block and in item block q, as global indices.
                    const BlockRating r{
                        static_cast<std::int32_t>(ratings.first_row + local.user),
                        static_cast<std::int32_t>(item_blocks.first(q) + local.item), local.rating};
                    CHECK(local.item < item_blocks.size(q));
                    laid_out.insert({r.user, r.item, r.rating});
                    CHECK(item_blocks.owner(r.item) == q);
                    // A user (item) is always in the same part, whatever the other side.
                    CHECK(user_part.emplace(r.user, a).first->second == a);
                    CHECK(item_part.emplace(r.item, b).first->second == b);
                    ++in_block;
                }
            }
        }
        // Parts are contiguous ranges in part order (so parts are disjoint).
        for (const auto* parts : {&user_part, &item_part}) {
            int previous = 0;
            for (const auto& [row, part] : *parts) {
                CHECK(part >= previous);
                previous = part;
            }
        }
        CHECK(layout.block_size(q) == in_block);
        total += in_block;
    }
    CHECK(total == ratings.nnz());
    std::multiset<Triple> expected;
    for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
        const auto columns = ratings.row_columns(row);
        const auto values = ratings.row_values(row);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            expected.insert(
                {static_cast<std::int32_t>(ratings.first_row + row), columns[e], values[e]});
        }
    }
    CHECK(laid_out == expected);
}

TEST_CASE("DsgdLayout: the order is seeded, and the same for any number of threads",
          "[dsgd][layout]") {
    const RatingMatrix ratings = random_ratings(0, n_users, 2);
    const auto user_counts = counts_of(ratings, true, n_users);
    const auto item_counts = counts_of(ratings, false, n_items);
    const BlockPartition item_blocks = BlockPartition::balanced(item_counts, 2);
    const auto order = [&](std::uint64_t seed, int threads) {
        const DsgdLayout layout(ratings, item_blocks, user_counts, item_counts, 0, 3, seed,
                                threads);
        std::vector<std::int32_t> users;
        for (int q = 0; q < 2; ++q) {
            for (int a = 0; a < 3; ++a) {
                for (int b = 0; b < 3; ++b) {
                    for (const BlockRating& r : layout.sub_block(q, {a, b})) {
                        users.push_back(r.user * n_items + r.item);
                    }
                }
            }
        }
        return users;
    };
    const auto one_thread = order(5, 1);
    CHECK(order(5, 2) == one_thread);
    CHECK(order(5, 4) == one_thread);
    CHECK(order(6, 1) != one_thread);
    // A shuffle, not the CSR order: some sub-block is out of (user, item) order.
    CHECK_FALSE(std::is_sorted(one_thread.begin(), one_thread.end()));
}

TEST_CASE("seeded_shuffle is a permutation that depends on the seed only", "[dsgd][layout]") {
    std::vector<BlockRating> a(1000);
    for (std::size_t i = 0; i < a.size(); ++i) a[i].user = static_cast<std::int32_t>(i);
    std::vector<BlockRating> b = a;
    std::vector<BlockRating> c = a;
    distmf::seeded_shuffle(a, 17);
    distmf::seeded_shuffle(b, 17);
    distmf::seeded_shuffle(c, 18);
    std::vector<std::int32_t> users_a;
    std::vector<std::int32_t> users_b;
    std::vector<std::int32_t> users_c;
    for (std::size_t i = 0; i < a.size(); ++i) {
        users_a.push_back(a[i].user);
        users_b.push_back(b[i].user);
        users_c.push_back(c[i].user);
    }
    CHECK(users_a == users_b);
    CHECK(users_a != users_c);
    std::vector<std::int32_t> sorted = users_a;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
        CHECK(sorted[i] == static_cast<std::int32_t>(i));
    // Roughly uniform: the first position takes each of 10 deciles about equally often.
    std::vector<int> deciles(10, 0);
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
        std::vector<BlockRating> d(100);
        for (std::size_t i = 0; i < d.size(); ++i) d[i].user = static_cast<std::int32_t>(i);
        distmf::seeded_shuffle(d, seed);
        ++deciles[static_cast<std::size_t>(d[0].user / 10)];
    }
    for (const int count : deciles) CHECK(count > 140);
}

TEST_CASE("dsgd_grid: the option, or the cache's and the threads' need, a multiple of the threads",
          "[dsgd]") {
    distmf::DsgdConfig options;
    // 138,000 rows of 33 floats = 18.2 MB: 9 parts of at most 2 MiB.
    constexpr std::int64_t rows = 138000;
    constexpr int width = 33;
    CHECK(distmf::dsgd_grid(options, 1, rows, width) == 9);
    CHECK(distmf::dsgd_grid(options, 2, rows, width) == 10);  // 9 rounded up to share evenly
    CHECK(distmf::dsgd_grid(options, 3, rows, width) == 9);
    CHECK(distmf::dsgd_grid(options, 4, rows, width) == 12);
    CHECK(distmf::dsgd_grid(options, 8, 100, width) == 16);  // two sub-blocks per thread
    CHECK(distmf::dsgd_grid(options, 1, 100, width) == 1);
    CHECK(distmf::dsgd_grid(options, 200, rows, width) == distmf::max_dsgd_grid);
    options.grid = 7;  // the option wins
    CHECK(distmf::dsgd_grid(options, 2, rows, width) == 7);
}
