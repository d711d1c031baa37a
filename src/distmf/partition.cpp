#include "distmf/partition.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/int128.hpp"

namespace distmf {

std::vector<std::int64_t> global_id_order(std::span<const std::int64_t> ids, std::uint64_t seed) {
    struct Keyed {
        std::uint64_t key;
        std::int64_t id;
    };
    std::vector<Keyed> keyed(ids.size());
    std::transform(ids.begin(), ids.end(), keyed.begin(), [seed](std::int64_t id) {
        return Keyed{hash_keys(seed, static_cast<std::uint64_t>(id)), id};
    });
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
        return a.key != b.key ? a.key < b.key : a.id < b.id;
    });
    std::vector<std::int64_t> ordered(ids.size());
    std::transform(keyed.begin(), keyed.end(), ordered.begin(),
                   [](const Keyed& k) { return k.id; });
    return ordered;
}

BlockPartition::BlockPartition(std::vector<std::int64_t> boundaries)
    : boundaries_(std::move(boundaries)) {
    if (boundaries_.size() < 2 || boundaries_.front() != 0 ||
        !std::is_sorted(boundaries_.begin(), boundaries_.end())) {
        throw Error("BlockPartition: boundaries must start at 0 and not decrease");
    }
}

BlockPartition BlockPartition::balanced(std::span<const std::int64_t> row_weights, int n_blocks) {
    if (n_blocks < 1) throw Error("BlockPartition::balanced: need at least one block");
    const auto n_rows = static_cast<std::int64_t>(row_weights.size());
    const std::int64_t total =
        std::accumulate(row_weights.begin(), row_weights.end(), std::int64_t{0});
    std::vector<std::int64_t> boundaries(static_cast<std::size_t>(n_blocks) + 1, n_rows);
    boundaries[0] = 0;
    std::int64_t row = 0;
    std::int64_t running = 0;
    for (int block = 1; block < n_blocks; ++block) {
        // target = ceil(total * block / n_blocks), in 128 bits to avoid overflow
        const auto target = static_cast<std::int64_t>(
            (static_cast<Int128>(total) * block + n_blocks - 1) / n_blocks);
        while (row < n_rows && running < target)
            running += row_weights[static_cast<std::size_t>(row++)];
        boundaries[static_cast<std::size_t>(block)] = row;
    }
    if (total == 0) {  // nothing to balance: equal numbers of rows
        for (int block = 1; block < n_blocks; ++block) {
            boundaries[static_cast<std::size_t>(block)] = n_rows * block / n_blocks;
        }
    }
    return BlockPartition(std::move(boundaries));
}

std::vector<std::int64_t> BlockPartition::sizes() const {
    std::vector<std::int64_t> result(static_cast<std::size_t>(n_blocks()));
    for (int block = 0; block < n_blocks(); ++block) {
        result[static_cast<std::size_t>(block)] = size(block);
    }
    return result;
}

int BlockPartition::owner(std::int64_t row) const {
    // the last boundary <= row; with empty blocks, the last block starting at or before row
    const auto after = std::upper_bound(boundaries_.begin(), boundaries_.end() - 1, row);
    return static_cast<int>(after - boundaries_.begin()) - 1;
}

std::vector<std::int64_t> block_weights(const BlockPartition& partition,
                                        std::span<const std::int64_t> row_weights) {
    std::vector<std::int64_t> totals(static_cast<std::size_t>(partition.n_blocks()), 0);
    for (int block = 0; block < partition.n_blocks(); ++block) {
        for (std::int64_t row = partition.first(block); row < partition.end(block); ++row) {
            totals[static_cast<std::size_t>(block)] += row_weights[static_cast<std::size_t>(row)];
        }
    }
    return totals;
}

double imbalance(std::span<const std::int64_t> per_block) {
    if (per_block.empty()) return 1.0;
    const std::int64_t total = std::accumulate(per_block.begin(), per_block.end(), std::int64_t{0});
    if (total == 0) return 1.0;
    const std::int64_t largest = *std::max_element(per_block.begin(), per_block.end());
    return static_cast<double>(largest) * static_cast<double>(per_block.size()) /
           static_cast<double>(total);
}

RowRange even_share(std::int64_t n_rows, int n_parts, int part) {
    const std::int64_t first = n_rows * part / n_parts;
    return {first, n_rows * (part + 1) / n_parts - first};
}

}  // namespace distmf
