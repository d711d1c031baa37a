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

void FactorRouting::exchange(const Communicator& comm, const FactorTable& own,
                             FactorTable& view) const {
    if (view.rows() != view_rows_ || view.width() != own.width() ||
        own.first_row() != blocks_.first(rank_) || own.rows() != blocks_.size(rank_)) {
        throw Error("FactorRouting::exchange: tables do not match the plan");
    }
    const int width = own.width();
    if (!sharded_) {
        view.values().middleRows(own.first_row(), own.rows()) = own.values();
        const std::vector<std::int64_t> rows_per_rank = blocks_.sizes();
        comm.all_gather_rows_in_place(view.row_span(0, view.rows()),
                                      std::span<const std::int64_t>(rows_per_rank), width);
        return;
    }
    // The rows this rank reads of its own are copied straight into their place in the view
    // (the run of needed_ inside its own block); the others travel unpacked.
    const auto self = static_cast<std::size_t>(rank_);
    std::int64_t own_first_view = 0;  // the view is grouped by owner, in rank order
    for (std::size_t r = 0; r < self; ++r) own_first_view += receive_counts_[r];
    for (std::int64_t i = 0; i < receive_counts_[self]; ++i) {
        const auto global = needed_[static_cast<std::size_t>(own_first_view + i)];
        view.values().row(own_first_view + i) = own.values().row(global - own.first_row());
    }
    comm.all_to_all_picked_rows(
        std::span<const float>(own.values().data(), static_cast<std::size_t>(own.values().size())),
        std::span<const int>(send_picked_), std::span<const std::int64_t>(send_to_others_),
        view.row_span(0, view.rows()), std::span<const std::int64_t>(receive_counts_), width);
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
