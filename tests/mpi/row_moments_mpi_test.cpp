// row_moments and distributed_gram under mpiexec: from each rank's own block of a side, they give
// bitwise what the chunked local computation gives on the whole side, so bitwise the same for
// 1, 2 and 4 ranks, whatever the blocks (cut inside chunks, several in one chunk, empty) and the
// thread count.
//
// Every rank builds the same whole side and calls the same collectives in the same order; the
// checks compare local results only (a failed check must not leave the other ranks waiting).
#include <mpi.h>

#include <Eigen/Core>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"
#include "distmf/row_moments.hpp"

using distmf::BlockPartition;
using distmf::Communicator;
using distmf::FactorTable;
using distmf::RowMoments;

namespace {

/// A whole side: `rows` rows of width k (+ bias), the same on every rank.
FactorTable whole_side(std::int64_t rows, int k, bool biases) {
    FactorTable table(rows, k, biases);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + static_cast<std::int64_t>(i);
    table.initialize(ids, 41, 0.3F);
    if (biases) table.values().col(0).setConstant(-0.25F);
    return table;
}

/// Rows 0, 5, 10, ... have no training ratings.
std::vector<std::int64_t> side_counts(std::int64_t rows) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(rows), 3);
    for (std::size_t r = 0; r < counts.size(); r += 5) counts[r] = 0;
    return counts;
}

/// This rank's block of `side` (a table starting at its first row).
FactorTable own_block(const FactorTable& side, const BlockPartition& blocks, int rank) {
    FactorTable own(blocks.first(rank), blocks.size(rank), side.k(), side.has_bias());
    own.values() = side.values().middleRows(blocks.first(rank), blocks.size(rank));
    return own;
}

/// Blocks of n rows for `n_ranks` ranks, rank r > 0 starting at min(n, start(r)).
template <class Start>
BlockPartition blocks_starting_at(std::int64_t n, int n_ranks, const Start& start) {
    std::vector<std::int64_t> boundaries{0};
    for (int r = 1; r < n_ranks; ++r) boundaries.push_back(std::min<std::int64_t>(n, start(r)));
    boundaries.push_back(n);
    return BlockPartition(boundaries);
}

bool same_bits(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) ==
               0;
}

/// The cases: a side of n rows (moment_chunk_rows = 256) and its division among the ranks.
struct Case {
    std::string name;
    std::int64_t n = 0;
    BlockPartition blocks;
};

std::vector<Case> cases(int p) {
    return {
        {"blocks cut inside chunks", 1000,
         blocks_starting_at(1000, p, [](int r) { return std::int64_t{301} * r; })},
        {"empty blocks", 1000, blocks_starting_at(1000, p, [](int r) { return 10 * (r / 2); })},
        {"every row on the last rank", 700, blocks_starting_at(700, p, [](int) { return 0; })},
        {"several blocks in one chunk", 900,
         blocks_starting_at(900, p, [](int r) { return 100 + 7 * std::int64_t{r}; })},
        {"fewer rows than a chunk", 50,
         blocks_starting_at(50, p, [](int r) { return 13 * std::int64_t{r}; })},
        {"no rows", 0, blocks_starting_at(0, p, [](int) { return 0; })},
    };
}

}  // namespace

TEST_CASE("row_moments is bitwise the chunked moments of the whole side, for any ranks",
          "[row_moments][mpi]") {
    const Communicator world;
    for (const Case& c : cases(world.size())) {
        for (const bool biases : {false, true}) {
            const FactorTable side = whole_side(c.n, 6, biases);
            const std::vector<std::int64_t> counts = side_counts(c.n);
            const RowMoments expected = distmf::local_row_moments(side, counts, 1);
            const FactorTable own = own_block(side, c.blocks, world.rank());
            const std::span<const std::int64_t> own_counts =
                std::span<const std::int64_t>(counts).subspan(
                    static_cast<std::size_t>(c.blocks.first(world.rank())),
                    static_cast<std::size_t>(own.rows()));
            for (const int threads : {1, 2}) {
                INFO(c.name << ", biases " << biases << ", " << threads << " threads");
                const RowMoments moments =
                    distmf::row_moments(world, own, c.blocks, own_counts, threads);
                CHECK(moments.count == expected.count);
                CHECK(same_bits(moments.sum, expected.sum));
                CHECK(same_bits(moments.outer_sum, expected.outer_sum));
            }
        }
    }
}

TEST_CASE("distributed_gram is bitwise the Gram matrix of the whole side, for any ranks",
          "[row_moments][implicit][mpi]") {
    const Communicator world;
    for (const Case& c : cases(world.size())) {
        const FactorTable side = whole_side(c.n, 8, false);
        const Eigen::MatrixXd expected = distmf::table_gram(side, 1);
        const FactorTable own = own_block(side, c.blocks, world.rank());
        for (const int threads : {1, 2}) {
            INFO(c.name << ", " << threads << " threads");
            CHECK(same_bits(distmf::distributed_gram(world, own, c.blocks, threads), expected));
        }
        // On one rank (a self communicator), the whole side is one block.
        const Communicator self(MPI_COMM_SELF);
        CHECK(
            same_bits(distmf::distributed_gram(self, side, BlockPartition({0, c.n}), 2), expected));
    }
}

TEST_CASE("row moments move only the rows of chunks that straddle a block boundary",
          "[row_moments][mpi]") {
    const Communicator world;
    const std::int64_t n = 4000;
    const FactorTable side = whole_side(n, 4, false);
    const BlockPartition blocks =
        blocks_starting_at(n, world.size(), [](int r) { return std::int64_t{1001} * r; });
    const FactorTable own = own_block(side, blocks, world.rank());
    const distmf::TrafficCount before = world.traffic();
    distmf::distributed_gram(world, own, blocks, 1);
    const std::int64_t received = world.traffic().received_bytes - before.received_bytes;
    // At most C - 1 rows arrive here (the tail of this rank's last chunk), 4 floats each.
    CHECK(received <= (distmf::moment_chunk_rows - 1) * 4 * std::int64_t{sizeof(float)});
}

TEST_CASE("ExactSum::all_reduce_in_place sums each entry over the ranks, bitwise as one rank",
          "[row_moments][mpi]") {
    const Communicator world;
    // Entry e gets the terms t(e, i) = (e + 1) * 0.1 / (i + 1), i = 0..99, dealt to the ranks
    // round-robin; the reference adds all of them on every rank.
    const auto term = [](int entry, int i) { return (entry + 1) * 0.1 / (i + 1); };
    std::vector<distmf::ExactSum> mine(3);
    std::vector<distmf::ExactSum> all(3);
    for (int entry = 0; entry < 3; ++entry) {
        for (int i = 0; i < 100; ++i) {
            all[static_cast<std::size_t>(entry)].add(term(entry, i));
            if (i % world.size() == world.rank()) {
                mine[static_cast<std::size_t>(entry)].add(term(entry, i));
            }
        }
    }
    distmf::ExactSum::all_reduce_in_place(world, mine);
    for (std::size_t entry = 0; entry < 3; ++entry) {
        const double reduced = mine[entry].value();
        const double expected = all[entry].value();
        CHECK(std::memcmp(&reduced, &expected, sizeof(double)) == 0);
    }
}
