#include "distmf/factor_routing.hpp"

#include <algorithm>

#include "distmf/error.hpp"

namespace distmf {

FactorRouting FactorRouting::replicated(int rank, const BlockPartition& blocks) {
    FactorRouting routing;
    routing.rank_ = rank;
    routing.blocks_ = blocks;
    routing.view_rows_ = blocks.n_rows();
    const std::int64_t own = blocks.size(rank);
    routing.routed_ = {blocks.n_rows() - own, own * (blocks.n_blocks() - 1)};
    return routing;
}

FactorRouting FactorRouting::sharded(const Communicator& comm, const BlockPartition& blocks,
                                     std::vector<std::int64_t> needed) {
    FactorRouting routing;
    routing.sharded_ = true;
    routing.rank_ = comm.rank();
    routing.blocks_ = blocks;
    routing.view_rows_ = static_cast<std::int64_t>(needed.size());
    const auto n_ranks = static_cast<std::size_t>(comm.size());
    // needed is ascending and the blocks are contiguous in rank order: the requests to each
    // owner are one run of it, in owner order.
    routing.receive_counts_.assign(n_ranks, 0);
    for (const std::int64_t row : needed) {
        ++routing.receive_counts_[static_cast<std::size_t>(blocks.owner(row))];
    }
    const std::vector<std::int64_t> ones(n_ranks, 1);
    const std::vector<std::int64_t> send_counts =
        comm.all_to_all_v(std::span<const std::int64_t>(routing.receive_counts_),
                          std::span<const std::int64_t>(ones));
    const std::vector<std::int64_t> send_rows =
        comm.all_to_all_v(std::span<const std::int64_t>(needed),
                          std::span<const std::int64_t>(routing.receive_counts_));
    // What goes to the other ranks, as rows of this rank's own table (grouped by destination).
    const auto self = static_cast<std::size_t>(comm.rank());
    const std::int64_t own_first = blocks.first(comm.rank());
    routing.send_to_others_ = send_counts;
    routing.send_to_others_[self] = 0;
    std::size_t next = 0;
    for (std::size_t r = 0; r < n_ranks; ++r) {
        for (std::int64_t i = 0; i < send_counts[r]; ++i, ++next) {
            if (r != self)
                routing.send_picked_.push_back(static_cast<int>(send_rows[next] - own_first));
        }
    }
    routing.routed_.received = routing.view_rows_ - routing.receive_counts_[self];
    routing.routed_.sent = static_cast<std::int64_t>(routing.send_picked_.size());
    routing.needed_ = std::move(needed);
    return routing;
}

FactorTable FactorRouting::make_view(const FactorTable& like) const {
    return FactorTable(view_rows_, like.k(), like.has_bias());
}

void FactorRouting::check_tables(const FactorTable& own, const FactorTable& view) const {
    if (view.rows() != view_rows_ || view.width() != own.width() ||
        own.first_row() != blocks_.first(rank_) || own.rows() != blocks_.size(rank_)) {
        throw Error("FactorRouting::exchange: tables do not match the plan");
    }
}

void FactorRouting::copy_own_rows(const FactorTable& own, FactorTable& view, std::int64_t first,
                                  std::int64_t end) const {
    // The view is grouped by owner, in rank order: this rank's run of needed_ starts after the
    // rows of the ranks before it.
    const auto self = static_cast<std::size_t>(rank_);
    std::int64_t own_first_view = 0;
    for (std::size_t r = 0; r < self; ++r) own_first_view += receive_counts_[r];
    const auto run_begin = needed_.begin() + own_first_view;
    const auto run_end = run_begin + receive_counts_[self];
    for (auto row = std::lower_bound(run_begin, run_end, first); row != run_end && *row < end;
         ++row) {
        view.values().row(row - needed_.begin()) = own.values().row(*row - own.first_row());
    }
}

void FactorRouting::exchange(const Communicator& comm, const FactorTable& own,
                             FactorTable& view) const {
    check_tables(own, view);
    const int width = own.width();
    if (!sharded_) {
        view.values().middleRows(own.first_row(), own.rows()) = own.values();
        const std::vector<std::int64_t> rows_per_rank = blocks_.sizes();
        comm.all_gather_rows_in_place(view.row_span(0, view.rows()),
                                      std::span<const std::int64_t>(rows_per_rank), width);
        return;
    }
    // The rows this rank reads of its own are copied straight into their place in the view;
    // the others travel unpacked.
    copy_own_rows(own, view, own.first_row(), own.first_row() + own.rows());
    comm.all_to_all_picked_rows(
        std::span<const float>(own.values().data(), static_cast<std::size_t>(own.values().size())),
        std::span<const int>(send_picked_), std::span<const std::int64_t>(send_to_others_),
        view.row_span(0, view.rows()), std::span<const std::int64_t>(receive_counts_), width);
}

PendingExchange FactorRouting::start_chunk_exchange(const Communicator& comm,
                                                    const FactorTable& own, FactorTable& view,
                                                    int chunk, int chunks) const {
    check_tables(own, view);
    const int width = own.width();
    const auto n_ranks = static_cast<std::size_t>(blocks_.n_blocks());
    // Rank r's chunk: global rows [first[r], first[r] + count[r]).
    std::vector<std::int64_t> first(n_ranks);
    std::vector<std::int64_t> count(n_ranks);
    for (std::size_t r = 0; r < n_ranks; ++r) {
        const RowRange share = even_share(blocks_.size(static_cast<int>(r)), chunks, chunk);
        first[r] = blocks_.first(static_cast<int>(r)) + share.first;
        count[r] = share.count;
    }
    const auto self = static_cast<std::size_t>(rank_);
    const std::int64_t own_end = first[self] + count[self];
    if (!sharded_) {
        view.values().middleRows(first[self], count[self]) =
            own.values().middleRows(first[self] - own.first_row(), count[self]);
        return comm.start_all_gather_rows_in_place(view.row_span(0, view.rows()),
                                                   std::span<const std::int64_t>(first),
                                                   std::span<const std::int64_t>(count), width);
    }
    copy_own_rows(own, view, first[self], own_end);
    // To each rank, the part of its requests (a run of send_picked_, ascending) in the chunk.
    std::vector<int> picked;
    std::vector<std::int64_t> send_rows(n_ranks, 0);
    const int chunk_first = static_cast<int>(first[self] - own.first_row());
    const int chunk_end = static_cast<int>(own_end - own.first_row());
    auto run = send_picked_.begin();
    for (std::size_t r = 0; r < n_ranks; ++r) {
        const auto run_end = run + send_to_others_[r];
        const auto begin = std::lower_bound(run, run_end, chunk_first);
        const auto end = std::lower_bound(begin, run_end, chunk_end);
        picked.insert(picked.end(), begin, end);
        send_rows[r] = end - begin;
        run = run_end;
    }
    // From each rank, the part of its run of needed_ (ascending) in its chunk.
    std::vector<std::int64_t> receive_first(n_ranks, 0);
    std::vector<std::int64_t> receive_rows(n_ranks, 0);
    std::int64_t run_first = 0;
    for (std::size_t r = 0; r < n_ranks; ++r) {
        const auto run_begin = needed_.begin() + run_first;
        const auto run_end = run_begin + receive_counts_[r];
        const auto begin = std::lower_bound(run_begin, run_end, first[r]);
        const auto end = std::lower_bound(begin, run_end, first[r] + count[r]);
        receive_first[r] = begin - needed_.begin();
        receive_rows[r] = r == self ? 0 : end - begin;
        run_first += receive_counts_[r];
    }
    return comm.start_all_to_all_picked_rows(
        std::span<const float>(own.values().data(), static_cast<std::size_t>(own.values().size())),
        std::span<const int>(picked), std::span<const std::int64_t>(send_rows),
        view.row_span(0, view.rows()), std::span<const std::int64_t>(receive_first),
        std::span<const std::int64_t>(receive_rows), width);
}

RatingMatrix FactorRouting::localize(const RatingMatrix& ratings) const {
    RatingMatrix local = ratings;
    for (std::int32_t& column : local.columns) {
        const auto found = std::lower_bound(needed_.begin(), needed_.end(), column);
        if (found == needed_.end() || *found != column) {
            throw Error("FactorRouting::localize: a column is not among the rows read");
        }
        column = static_cast<std::int32_t>(found - needed_.begin());
    }
    return local;
}

FactorTable gather_all_rows(const Communicator& comm, const FactorTable& own,
                            const BlockPartition& blocks) {
    const FactorRouting all = FactorRouting::replicated(comm.rank(), blocks);
    FactorTable table = all.make_view(own);
    all.exchange(comm, own, table);
    return table;
}

std::vector<std::int64_t> distinct_columns(std::span<const RatingMatrix* const> matrices,
                                           std::int64_t n_columns) {
    std::vector<bool> seen(static_cast<std::size_t>(n_columns), false);  // n bits
    for (const RatingMatrix* matrix : matrices) {
        for (const std::int32_t column : matrix->columns)
            seen[static_cast<std::size_t>(column)] = true;
    }
    std::vector<std::int64_t> columns;
    for (std::int64_t column = 0; column < n_columns; ++column) {
        if (seen[static_cast<std::size_t>(column)]) columns.push_back(column);
    }
    return columns;
}

}  // namespace distmf
