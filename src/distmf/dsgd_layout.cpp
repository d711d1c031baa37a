#include "distmf/dsgd_layout.hpp"

#include <algorithm>
#include <utility>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/int128.hpp"

namespace distmf {
namespace {

/// For every row of `partition`'s range starting at `first_row`, the index of its part.
void label_parts(const BlockPartition& parts, std::int64_t first_row, int offset,
                 std::vector<std::int32_t>& part_of_row) {
    for (int part = 0; part < parts.n_blocks(); ++part) {
        for (std::int64_t row = parts.first(part); row < parts.end(part); ++row) {
            part_of_row[static_cast<std::size_t>(first_row + row)] = offset + part;
        }
    }
}

}  // namespace

void seeded_shuffle(std::span<BlockRating> ratings, std::uint64_t seed) {
    SplitMix64 random(seed);
    for (std::size_t i = ratings.size(); i > 1; --i) {
        // j uniform in [0, i): the high 64 bits of a 64 x 64-bit product (Lemire 2019; the
        // bias is below 2^-40 for any block size that fits in memory).
        const auto j = static_cast<std::size_t>((static_cast<UInt128>(random.next()) * i) >> 64U);
        std::swap(ratings[i - 1], ratings[j]);
    }
}

DsgdLayout::DsgdLayout(const RatingMatrix& by_user, const BlockPartition& item_blocks,
                       std::span<const std::int64_t> user_counts,
                       std::span<const std::int64_t> item_counts, int row_block, int grid,
                       std::uint64_t seed, int threads)
    : grid_(grid), n_item_blocks_(item_blocks.n_blocks()) {
    if (grid < 1 || grid > max_dsgd_grid) throw Error("DsgdLayout: grid out of range");
    // Part of every local user (0..grid-1) and cell column of every item (q * grid + b).
    std::vector<std::int32_t> user_part(static_cast<std::size_t>(by_user.n_rows()));
    label_parts(
        BlockPartition::balanced(user_counts.subspan(static_cast<std::size_t>(by_user.first_row),
                                                     static_cast<std::size_t>(by_user.n_rows())),
                                 grid),
        0, 0, user_part);
    std::vector<std::int32_t> item_column(item_counts.size());
    for (int q = 0; q < n_item_blocks_; ++q) {
        const auto counts = item_counts.subspan(static_cast<std::size_t>(item_blocks.first(q)),
                                                static_cast<std::size_t>(item_blocks.size(q)));
        label_parts(BlockPartition::balanced(counts, grid), item_blocks.first(q), q * grid,
                    item_column);
    }
    // Counting sort into buckets (q, a, b), then a seeded shuffle of each bucket.
    const auto bucket_of = [&](std::int64_t row, std::int32_t item) {
        const std::int32_t column = item_column[static_cast<std::size_t>(item)];
        return bucket(column / grid, {user_part[static_cast<std::size_t>(row)], column % grid});
    };
    const std::size_t n_buckets = static_cast<std::size_t>(n_item_blocks_) *
                                  static_cast<std::size_t>(grid) * static_cast<std::size_t>(grid);
    start_.assign(n_buckets + 1, 0);
    for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
        for (const std::int32_t item : by_user.row_columns(row)) ++start_[bucket_of(row, item) + 1];
    }
    for (std::size_t b = 0; b < n_buckets; ++b) start_[b + 1] += start_[b];
    ratings_.resize(static_cast<std::size_t>(by_user.nnz()));
    std::vector<std::int64_t> next(start_.begin(), start_.end() - 1);
    // Indices local to the blocks: the user's row in this rank's user block, the item's row
    // in its item block (the tables SGD updates hold exactly those blocks).
    for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
        const auto local_user = static_cast<std::int32_t>(row);
        const auto columns = by_user.row_columns(row);
        const auto values = by_user.row_values(row);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            const int q = item_column[static_cast<std::size_t>(columns[e])] / grid;
            const auto local_item = static_cast<std::int32_t>(columns[e] - item_blocks.first(q));
            ratings_[static_cast<std::size_t>(next[bucket_of(row, columns[e])]++)] = {
                local_user, local_item, values[e]};
        }
    }
    const auto n = static_cast<std::int64_t>(n_buckets);
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(1, threads))
    for (std::int64_t b = 0; b < n; ++b) {
        const auto index = static_cast<std::size_t>(b);
        const std::uint64_t q = index / static_cast<std::size_t>(grid * grid);
        const std::uint64_t cell = index % static_cast<std::size_t>(grid * grid);
        seeded_shuffle(std::span<BlockRating>(ratings_).subspan(
                           static_cast<std::size_t>(start_[index]),
                           static_cast<std::size_t>(start_[index + 1] - start_[index])),
                       hash_keys(seed, static_cast<std::uint64_t>(row_block), q, cell));
    }
}

std::size_t DsgdLayout::bucket(int item_block, BlockCell cell) const {
    return (static_cast<std::size_t>(item_block) * static_cast<std::size_t>(grid_) +
            static_cast<std::size_t>(cell.row_block)) *
               static_cast<std::size_t>(grid_) +
           static_cast<std::size_t>(cell.column_block);
}

std::span<const BlockRating> DsgdLayout::sub_block(int item_block, BlockCell cell) const {
    const std::size_t b = bucket(item_block, cell);
    return std::span<const BlockRating>(ratings_).subspan(
        static_cast<std::size_t>(start_[b]), static_cast<std::size_t>(start_[b + 1] - start_[b]));
}

std::int64_t DsgdLayout::block_size(int item_block) const {
    return start_[bucket(item_block + 1, {0, 0})] - start_[bucket(item_block, {0, 0})];
}

}  // namespace distmf
