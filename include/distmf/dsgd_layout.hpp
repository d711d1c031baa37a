#pragma once
/// @file dsgd_layout.hpp
/// A rank's training ratings laid out for DSGD. The rank's users form row block r of the
/// P x P blocks of dsgd_schedule.hpp; block (r, q) holds their ratings of the items of item
/// block q. For the threads, each block is cut again into grid x grid sub-blocks: user part a
/// x item part b (parts are contiguous row ranges balanced by rating count). Every sub-block is
/// one contiguous array of BlockRatings in a seeded random order, so an SGD pass over it
/// streams through memory and touches only the factor rows of its two parts.

#include <cstdint>
#include <span>
#include <vector>

#include "distmf/dsgd_schedule.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/sgd.hpp"

namespace distmf {

/// Local. Fisher-Yates shuffle of `ratings` driven by SplitMix64(seed): the same order for the
/// same seed and input, on any machine.
void seeded_shuffle(std::span<BlockRating> ratings, std::uint64_t seed);

/// One rank's ratings cut into blocks and sub-blocks (see the file comment). Immutable once
/// built.
class DsgdLayout {
  public:
    /// Local. Lays out the ratings of `by_user` (this rank's users, row block `row_block`;
    /// columns are global items) for the item blocks of `item_blocks`, with grid x grid
    /// sub-blocks per block; each BlockRating names its user by its row in the user block
    /// and its item by its row in its item block. `user_counts` / `item_counts` are the training
    /// ratings of every global user / item (they balance the parts). Sub-block (q, a, b) is
    /// shuffled with the seed hash_keys(seed, row_block, q, a * grid + b): it depends on the seed
    /// and on which block it is, not on the rank or thread that builds it. `threads` shuffle in
    /// parallel.
    DsgdLayout(const RatingMatrix& by_user, const BlockPartition& item_blocks,
               std::span<const std::int64_t> user_counts, std::span<const std::int64_t> item_counts,
               int row_block, int grid, std::uint64_t seed, int threads);

    /// Sub-blocks per side of a block.
    int grid() const noexcept { return grid_; }
    /// Number of item blocks (= ranks).
    int n_item_blocks() const noexcept { return n_item_blocks_; }
    /// Number of ratings laid out.
    std::int64_t n_ratings() const noexcept { return static_cast<std::int64_t>(ratings_.size()); }
    /// The ratings of sub-block `cell` (user part, item part) of block (row block, item_block).
    std::span<const BlockRating> sub_block(int item_block, BlockCell cell) const;
    /// Number of ratings in block (row block, item_block).
    std::int64_t block_size(int item_block) const;

  private:
    std::size_t bucket(int item_block, BlockCell cell) const;

    int grid_;
    int n_item_blocks_;
    std::vector<BlockRating> ratings_;  // bucket by bucket
    std::vector<std::int64_t> start_;   // bucket b is ratings_[start_[b], start_[b + 1])
};

}  // namespace distmf
