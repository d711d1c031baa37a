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
    routing.send_counts_ = comm.all_to_all_v(std::span<const std::int64_t>(routing.receive_counts_),
                                             std::span<const std::int64_t>(ones));
    routing.send_rows_ = comm.all_to_all_v(std::span<const std::int64_t>(needed),
                                           std::span<const std::int64_t>(routing.receive_counts_));
    const auto self = static_cast<std::size_t>(comm.rank());
    routing.routed_.received = routing.view_rows_ - routing.receive_counts_[self];
    routing.routed_.sent =
        static_cast<std::int64_t>(routing.send_rows_.size()) - routing.send_counts_[self];
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
    // Rows for other ranks are packed; the rows this rank reads of its own are copied straight
    // into their place in the view (the run of needed_ inside its own block).
    const auto self = static_cast<std::size_t>(rank_);
    std::int64_t own_first_send = 0;  // send_rows_ is grouped by destination, in rank order
    for (std::size_t r = 0; r < self; ++r) own_first_send += send_counts_[r];
    std::vector<std::int64_t> counts_to_others = send_counts_;
    counts_to_others[self] = 0;
    const auto packed_rows =
        static_cast<std::size_t>(static_cast<std::int64_t>(send_rows_.size()) - send_counts_[self]);
    std::vector<float> send(packed_rows * static_cast<std::size_t>(width));
    std::size_t packed = 0;
    for (std::size_t i = 0; i < send_rows_.size(); ++i) {
        const auto index = static_cast<std::int64_t>(i);
        if (index >= own_first_send && index < own_first_send + send_counts_[self]) continue;
        const auto row = own.row(send_rows_[i]);
        std::copy(row.data(), row.data() + width,
                  send.data() + packed++ * static_cast<std::size_t>(width));
    }
    std::int64_t own_first_view = 0;  // the view is grouped by owner, in rank order
    for (std::size_t r = 0; r < self; ++r) own_first_view += receive_counts_[r];
    for (std::int64_t i = 0; i < receive_counts_[self]; ++i) {
        const auto global = needed_[static_cast<std::size_t>(own_first_view + i)];
        view.values().row(own_first_view + i) = own.values().row(global - own.first_row());
    }
    comm.all_to_all_rows(
        std::span<const float>(send), std::span<const std::int64_t>(counts_to_others),
        view.row_span(0, view.rows()), std::span<const std::int64_t>(receive_counts_), width, true);
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
