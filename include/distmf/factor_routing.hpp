#pragma once
/// @file factor_routing.hpp
/// How the rows of one side of the model reach the ranks that read them. A rank owns one
/// contiguous block of users and one of items (partition.hpp) and updates only those; its
/// solves, draws and metrics read rows of the *other* side: the columns of its ratings. A
/// FactorRouting is the plan of that exchange for one side, built once:
///
///  - replicated: every rank reads every row; the exchange is one MPI_Allgatherv of the
///    blocks, and each rank receives (n - n_own) rows, whatever its ratings touch.
///  - sharded (Spark ALS's "out-blocks"): rank q reads only the rows its ratings touch, its
///    "ghosts" G_q (sorted global indices, its own rows included); rank r sends q the rows
///    G_q ∩ block(r). The exchange is one MPI_Alltoallw of exactly those rows (picked out of
///    the owner's table by an indexed datatype, so nothing is packed), so rank q
///    receives |G_q \ block(q)| rows and holds |G_q| <= min(n, its ratings) of them.
///
/// In both layouts the reader's table (the "view") has one row per readable row, in global
/// order, and the exchange moves bytes without arithmetic, so a row's solve sees the same
/// values in either layout and for any P: results are bitwise the same. The rating matrices
/// a rank solves with are rewritten once (localize) so that their columns index the view:
/// the solve loops are the same for both layouts.

#include <cstdint>
#include <span>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// Rows one exchange moves into and out of this rank (its own rows excluded).
struct RoutedRows {
    std::int64_t received = 0;
    std::int64_t sent = 0;
};

/// The exchange plan of one side (see the file comment).
class FactorRouting {
  public:
    FactorRouting() = default;

    /// Local. Every rank reads all rows of `blocks` (the all-gather).
    static FactorRouting replicated(int rank, const BlockPartition& blocks);

    /// Collective: every rank of comm must call. This rank reads the global rows `needed`
    /// (ascending, distinct, each < blocks.n_rows()); one all-to-all of the requests tells
    /// every rank what to send to whom.
    static FactorRouting sharded(const Communicator& comm, const BlockPartition& blocks,
                                 std::vector<std::int64_t> needed);

    /// Whether this is the sharded plan.
    bool is_sharded() const noexcept { return sharded_; }
    /// Rows of this rank's view.
    std::int64_t view_rows() const noexcept { return view_rows_; }
    /// The rows of the exchange, for this rank.
    RoutedRows routed_rows() const noexcept { return routed_; }

    /// Local. An empty view (view_rows() x width of `like`, starting at row 0).
    FactorTable make_view(const FactorTable& like) const;

    /// Collective: every rank of comm must call. Fills `view` (from make_view) with the
    /// current values of the rows this rank reads, from every rank's `own` rows (the rows
    /// blocks.first(rank)..end(rank) of the side, as a FactorTable starting there).
    void exchange(const Communicator& comm, const FactorTable& own, FactorTable& view) const;

    /// Collective: every rank of comm must call, with the same `chunk` and `chunks`. Starts the
    /// part of exchange() that moves chunk `chunk` of every rank's own rows (its share
    /// even_share(rows of the block, chunks, chunk)) into the views that read them; this
    /// rank's own rows of the chunk are copied into `view` at once. Until the exchange returned
    /// has completed, that chunk of `own` must not change and `view` must not be read. The
    /// chunks 0..chunks-1 together fill `view` as exchange() does, with the same bytes.
    PendingExchange start_chunk_exchange(const Communicator& comm, const FactorTable& own,
                                         FactorTable& view, int chunk, int chunks) const;

    /// Local. A copy of `ratings` whose columns are positions in the view instead of global
    /// indices (sharded only; every column must be one of the rows read).
    RatingMatrix localize(const RatingMatrix& ratings) const;

    /// Local. The global index of every row of the view (sharded: the rows read).
    std::span<const std::int64_t> view_global_rows() const noexcept { return needed_; }

  private:
    /// Throws unless `own` and `view` fit the plan.
    void check_tables(const FactorTable& own, const FactorTable& view) const;
    /// Sharded: copies the rows this rank reads of its own rows [first, end) (global) into
    /// their place in the view.
    void copy_own_rows(const FactorTable& own, FactorTable& view, std::int64_t first,
                       std::int64_t end) const;

    bool sharded_ = false;
    int rank_ = 0;
    std::int64_t view_rows_ = 0;
    RoutedRows routed_;
    BlockPartition blocks_;
    std::vector<std::int64_t> needed_;          // sharded: global rows read, ascending
    std::vector<std::int64_t> receive_counts_;  // sharded: rows from each rank
    std::vector<std::int64_t> send_to_others_;  // sharded: rows to each rank (0 to itself)
    std::vector<int> send_picked_;  // sharded: rows of the own table to send, by destination
};

/// Collective: every rank of comm must call. Every row of the side on every rank (a table
/// starting at row 0), from every rank's `own` rows (blocks.first(rank)..end(rank)): the
/// replicated exchange, for the few places that need a whole side (scoring every item).
FactorTable gather_all_rows(const Communicator& comm, const FactorTable& own,
                            const BlockPartition& blocks);

/// Local. The distinct columns of the matrices (global indices < n_columns), ascending: the
/// rows of the other side they read (a rank's ghosts). Uses n_columns bits of scratch.
std::vector<std::int64_t> distinct_columns(std::span<const RatingMatrix* const> matrices,
                                           std::int64_t n_columns);

}  // namespace distmf
