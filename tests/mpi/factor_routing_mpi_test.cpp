// The chunked exchange of FactorRouting (start_chunk_exchange, the overlap of a half-sweep's
// exchange with its solve) against the one-piece exchange: in both layouts, for chunk counts
// from 1 to more than a rank's rows (empty chunks), the views receive the same bytes.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/factor_routing.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"

using distmf::BlockPartition;
using distmf::Communicator;
using distmf::FactorRouting;
using distmf::FactorTable;
using distmf::PendingExchange;

namespace {

constexpr std::int64_t n_rows = 37;
constexpr int k = 3;

/// 37 rows cut unevenly over the ranks (rank r's block grows with r; some may be tiny).
BlockPartition uneven_blocks(int n_ranks) {
    std::vector<std::int64_t> boundaries{0};
    std::int64_t weights = 0;
    for (int r = 0; r < n_ranks; ++r) weights += r + 1;
    std::int64_t sum = 0;
    for (int r = 0; r < n_ranks; ++r) {
        sum += r + 1;
        boundaries.push_back(n_rows * sum / weights);
    }
    return BlockPartition(boundaries);
}

/// This rank's own rows, each value telling its row and column apart.
FactorTable own_rows(const BlockPartition& blocks, int rank) {
    FactorTable own(blocks.first(rank), blocks.size(rank), k, true);
    for (std::int64_t row = 0; row < own.rows(); ++row) {
        for (int column = 0; column < own.width(); ++column) {
            own.values()(row, column) =
                static_cast<float>(own.first_row() + row) + 0.01F * static_cast<float>(column);
        }
    }
    return own;
}

/// The rows rank `rank` reads: every third row and every row of the next rank's block.
std::vector<std::int64_t> needed_rows(const BlockPartition& blocks, int rank) {
    const int next = (rank + 1) % blocks.n_blocks();
    std::vector<std::int64_t> needed;
    for (std::int64_t row = 0; row < n_rows; ++row) {
        if (row % 3 == rank % 3 || blocks.owner(row) == next) needed.push_back(row);
    }
    return needed;
}

/// The view filled in `chunks` non-blocking exchanges, tested in turn, then waited for.
FactorTable chunked_view(const Communicator& comm, const FactorRouting& routing,
                         const FactorTable& own, int chunks) {
    FactorTable view = routing.make_view(own);
    std::vector<PendingExchange> in_flight;
    for (int chunk = 0; chunk < chunks; ++chunk) {
        in_flight.push_back(routing.start_chunk_exchange(comm, own, view, chunk, chunks));
        for (PendingExchange& exchange : in_flight) exchange.test();
    }
    for (PendingExchange& exchange : in_flight) exchange.wait();
    return view;
}

}  // namespace

TEST_CASE("an exchange in chunks fills the views with the same bytes as one exchange",
          "[factor_routing]") {
    const Communicator comm;
    const BlockPartition blocks = uneven_blocks(comm.size());
    const FactorTable own = own_rows(blocks, comm.rank());
    for (const bool sharded : {false, true}) {
        const FactorRouting routing =
            sharded ? FactorRouting::sharded(comm, blocks, needed_rows(blocks, comm.rank()))
                    : FactorRouting::replicated(comm.rank(), blocks);
        FactorTable whole = routing.make_view(own);
        routing.exchange(comm, own, whole);
        for (const int chunks : {1, 2, 3, 7, 40}) {  // 40: more chunks than any rank's rows
            INFO((sharded ? "sharded" : "replicated")
                 << ", " << chunks << " chunks, rank " << comm.rank());
            const FactorTable chunked = chunked_view(comm, routing, own, chunks);
            CHECK(chunked.values() == whole.values());
        }
    }
}
