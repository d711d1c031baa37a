#pragma once
/// @file partition.hpp
/// How users and items are numbered and divided among ranks (Spark's ALS calls these
/// "blocks"). Global dense indices follow a seeded pseudo-random order of the external IDs
/// that does not depend on the number of ranks; each rank owns one contiguous range of that
/// order, so its factor rows are one contiguous slice for the all-gather, and the ranges are
/// cut so that every rank gets about the same number of ratings.

#include <cstdint>
#include <span>
#include <vector>

namespace distmf {

/// Local. Puts distinct external IDs in distmf's global order: ascending by
/// (hash(seed, id), id). The position of an ID in the result is its global dense index.
/// The order depends on the seed and the set of IDs only, never on the rank count, and it
/// scatters popular (often small) IDs evenly over the blocks.
std::vector<std::int64_t> global_id_order(std::span<const std::int64_t> ids, std::uint64_t seed);

/// Rows [first, first + count) of a dataset, a table or a side.
struct RowRange {
    std::int64_t first = 0;
    std::int64_t count = 0;
    /// One past the last row.
    std::int64_t end() const noexcept { return first + count; }
};

/// Local. Share `part` of `n_parts` even shares of rows 0..n_rows-1:
/// [n_rows * part / n_parts, n_rows * (part + 1) / n_parts).
RowRange even_share(std::int64_t n_rows, int n_parts, int part);

/// A division of rows 0..n_rows-1 into contiguous blocks, block r = [first(r), end(r)).
class BlockPartition {
  public:
    /// One block holding every row.
    BlockPartition() = default;
    /// From block boundaries: boundaries[0] = 0, non-decreasing, back() = n_rows.
    explicit BlockPartition(std::vector<std::int64_t> boundaries);

    /// Local. Cuts rows into n_blocks contiguous blocks of nearly equal total weight: block r
    /// ends at the first row where the running weight reaches (r+1)/n_blocks of the total.
    static BlockPartition balanced(std::span<const std::int64_t> row_weights, int n_blocks);

    /// Number of blocks.
    int n_blocks() const noexcept { return static_cast<int>(boundaries_.size()) - 1; }
    /// Number of rows over all blocks.
    std::int64_t n_rows() const noexcept { return boundaries_.back(); }
    /// First row of block r.
    std::int64_t first(int block) const { return boundaries_[static_cast<std::size_t>(block)]; }
    /// One past the last row of block r.
    std::int64_t end(int block) const { return boundaries_[static_cast<std::size_t>(block) + 1]; }
    /// Rows in block r.
    std::int64_t size(int block) const { return end(block) - first(block); }
    /// Rows per block, in block order.
    std::vector<std::int64_t> sizes() const;
    /// Local. The block holding `row` (binary search over the boundaries).
    int owner(std::int64_t row) const;

  private:
    std::vector<std::int64_t> boundaries_{0, 0};
};

/// Local. Sum of `row_weights` over each block of `partition`.
std::vector<std::int64_t> block_weights(const BlockPartition& partition,
                                        std::span<const std::int64_t> row_weights);

/// Local. Load imbalance max/mean of per-block totals (1.0 is perfect; 1.0 when all are 0).
double imbalance(std::span<const std::int64_t> per_block);

}  // namespace distmf
