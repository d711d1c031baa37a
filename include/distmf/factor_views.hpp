#pragma once
/// @file factor_views.hpp
/// What one rank's training reads besides its own rows: the rows of the other side that its
/// ratings touch ("views"), kept current by the exchanges of factor_routing.hpp, in the layout
/// of --train.factors. A rank solves its users against the item view and its items against
/// the user view; the metrics read its users and the item view. In the replicated layout the
/// views are whole tables and the rating matrices are the data set's (global columns); in the
/// sharded layout the views hold the ghost rows only and the matrices are copies whose
/// columns index them (unless the ghosts are every row: then the data set's serve). On one
/// rank both layouts read the rank's own tables, which hold every row: nothing is copied.
///
/// Per rank and iteration (two half-sweeps, each followed by one exchange), with width
/// w = k + biases floats: replicated, (m - m_r + n - n_r)·4w bytes received; sharded,
/// (|G^items_r \ own items| + |G^users_r \ own users|)·4w. Factor memory per rank: replicated,
/// (m + n + m_r + n_r)·4w for P > 1 (the views plus the own blocks), (m + n)·4w on one rank;
/// sharded, (m_r + n_r + |G^items_r| +
/// |G^users_r|)·4w, where G^items_r are the items rated (in training or test) by rank r's
/// users and G^users_r the users who rated rank r's items in training.

#include <cstdint>
#include <functional>
#include <string>

#include "distmf/als.hpp"
#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factor_routing.hpp"
#include "distmf/factors.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// Local. Zeros for rank `rank`'s own rows of a side cut into `blocks` (blocks.first(rank)..
/// end(rank)), k factors and optionally a bias each.
FactorTable own_rows_table(const BlockPartition& blocks, int rank, int k, bool biases);

/// Local. The external IDs of rank `rank`'s own rows (`ids`: the IDs of every global row).
std::span<const std::int64_t> own_ids(const std::vector<std::int64_t>& ids,
                                      const BlockPartition& blocks, int rank);

/// Local. Rank `rank`'s own rows of `all` (a table of every row of the side).
FactorTable own_rows_of(const FactorTable& all, const BlockPartition& blocks, int rank);

/// One rank's views of the other sides' factors and the matrices that index them.
class FactorViews {
  public:
    /// Collective: every rank of comm must call. Plans both exchanges for this rank's share
    /// of `dataset` in `layout`, and allocates views as wide as `users` and `items` (this
    /// rank's own rows; the views are filled by publish_users / publish_items). Without
    /// `with_user_view` (DSGD, which reads no user view) users() stays empty and
    /// publish_users must not be called.
    FactorViews(const Communicator& comm, const Dataset& dataset, FactorLayout layout,
                const FactorTable& users, const FactorTable& items, bool with_user_view);

    /// Collective. Passes this rank's own user rows to the ranks that read them.
    void publish_users(const Communicator& comm, const FactorTable& own_users);
    /// Collective. Passes this rank's own item rows to the ranks that read them.
    void publish_items(const Communicator& comm, const FactorTable& own_items);

    /// A half-sweep that computes this rank's own rows in the chunks it is given.
    using ChunkedSolve = std::function<void(const RowChunks& chunks)>;
    /// Collective. Runs `solve`, the half-sweep that computes this rank's own user rows
    /// `own_users`, and passes them on as publish_users does: with `chunks` > 1 (and P > 1),
    /// each chunk's rows as soon as they are solved (FactorRouting::start_chunk_exchange),
    /// while the next chunk is solved; the main thread lets MPI progress the exchanges in
    /// flight (MPI_Test) between chunks and waits for them all at the end. The view receives
    /// the same bytes as with publish_users.
    void solve_and_publish_users(const Communicator& comm, const FactorTable& own_users, int chunks,
                                 const ChunkedSolve& solve);
    /// Collective. The same for the item rows.
    void solve_and_publish_items(const Communicator& comm, const FactorTable& own_items, int chunks,
                                 const ChunkedSolve& solve);
    /// Local. Seconds the main thread spent in solve_and_publish_* exchanging rather than
    /// solving (the blocking exchange, or starting, testing and waiting for the chunks' ones;
    /// waiting for a slower rank included), and the number of such half-sweeps.
    double publish_seconds() const noexcept { return publish_seconds_; }
    std::int64_t published_half_sweeps() const noexcept { return published_half_sweeps_; }

    /// This rank's users' training ratings; columns are rows of items().
    const RatingMatrix& user_ratings() const noexcept { return *user_ratings_; }
    /// This rank's users' test ratings; columns are rows of items().
    const RatingMatrix& test_ratings() const noexcept { return *test_ratings_; }
    /// This rank's items' training ratings (by user); columns are rows of users().
    const RatingMatrix& item_ratings() const noexcept { return *item_ratings_; }
    /// The item rows this rank's users read (current after publish_items). On one rank, the
    /// table last published itself (it holds every row, and is not copied).
    const FactorTable& items() const noexcept { return *items_read_; }
    /// The user rows this rank's items read (current after publish_users); on one rank, the
    /// table last published.
    const FactorTable& users() const noexcept { return *users_read_; }
    /// Bytes of the tables the views hold besides the rows published (none on one rank).
    std::int64_t held_bytes() const noexcept;
    /// The plan that fills items() (for tables of other widths, e.g. BPMF's posterior mean).
    const FactorRouting& item_routing() const noexcept { return item_routing_; }
    /// The plan that fills users().
    const FactorRouting& user_routing() const noexcept { return user_routing_; }
    /// The layout.
    FactorLayout layout() const noexcept { return layout_; }

  private:
    /// solve_and_publish_* for one side: `routing` fills `view` from every rank's `own`.
    void solve_and_publish(const Communicator& comm, const FactorRouting& routing,
                           const FactorTable& own, FactorTable& view, int chunks,
                           const ChunkedSolve& solve);

    FactorLayout layout_;
    FactorRouting item_routing_;
    FactorRouting user_routing_;
    RatingMatrix local_user_ratings_;  // sharded: copies with view columns
    RatingMatrix local_test_ratings_;
    RatingMatrix local_item_ratings_;
    const RatingMatrix* user_ratings_ = nullptr;
    const RatingMatrix* test_ratings_ = nullptr;
    const RatingMatrix* item_ratings_ = nullptr;
    bool whole_on_one_rank_ = false;  // one rank: the views are the published tables
    FactorTable items_;
    FactorTable users_;
    const FactorTable* items_read_ = &items_;
    const FactorTable* users_read_ = &users_;
    double publish_seconds_ = 0.0;
    std::int64_t published_half_sweeps_ = 0;
};

/// Collective. One line on what the factor tables cost each rank in `views`' layout: the
/// bytes of its own rows (`own_users`, `own_items`) plus its views, and the bytes it received
/// per iteration (`received_bytes` over `iterations`, as counted by Communicator::traffic()),
/// each as the largest over ranks and the mean; and, after half-sweeps (P > 1), the seconds
/// per half-sweep spent publishing (FactorViews::publish_seconds), on the slowest rank.
std::string describe_factor_costs(const Communicator& comm, const FactorViews& views,
                                  const FactorTable& own_users, const FactorTable& own_items,
                                  std::int64_t received_bytes, std::int64_t iterations);

}  // namespace distmf
