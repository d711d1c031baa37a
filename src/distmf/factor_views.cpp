#include "distmf/factor_views.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "distmf/log.hpp"

namespace distmf {

FactorTable own_rows_table(const BlockPartition& blocks, int rank, int k, bool biases) {
    return FactorTable(blocks.first(rank), blocks.size(rank), k, biases);
}

std::span<const std::int64_t> own_ids(const std::vector<std::int64_t>& ids,
                                      const BlockPartition& blocks, int rank) {
    return std::span<const std::int64_t>(ids).subspan(static_cast<std::size_t>(blocks.first(rank)),
                                                      static_cast<std::size_t>(blocks.size(rank)));
}

FactorTable own_rows_of(const FactorTable& all, const BlockPartition& blocks, int rank) {
    FactorTable own = own_rows_table(blocks, rank, all.k(), all.has_bias());
    own.values() = all.values().middleRows(blocks.first(rank) - all.first_row(), blocks.size(rank));
    return own;
}

FactorViews::FactorViews(const Communicator& comm, const Dataset& dataset, FactorLayout layout,
                         const FactorTable& users, const FactorTable& items, bool with_user_view)
    : layout_(layout) {
    // One rank reads every row of its own tables: the replicated plan, with nothing to send.
    whole_on_one_rank_ = comm.size() == 1;
    if (layout == FactorLayout::replicated || whole_on_one_rank_) {
        item_routing_ = FactorRouting::replicated(comm.rank(), dataset.item_blocks);
        user_routing_ = FactorRouting::replicated(comm.rank(), dataset.user_blocks);
        user_ratings_ = &dataset.user_ratings;
        test_ratings_ = &dataset.test_ratings;
        item_ratings_ = &dataset.item_ratings;
    } else {
        const std::array<const RatingMatrix*, 2> by_user{&dataset.user_ratings,
                                                         &dataset.test_ratings};
        const std::array<const RatingMatrix*, 1> by_item{&dataset.item_ratings};
        item_routing_ = FactorRouting::sharded(
            comm, dataset.item_blocks, distinct_columns(by_user, dataset.item_blocks.n_rows()));
        // A view of every row has the global order: the data set's columns index it.
        const bool all_items = item_routing_.view_rows() == dataset.item_blocks.n_rows();
        if (!all_items) {
            local_user_ratings_ = item_routing_.localize(dataset.user_ratings);
            local_test_ratings_ = item_routing_.localize(dataset.test_ratings);
        }
        user_ratings_ = all_items ? &dataset.user_ratings : &local_user_ratings_;
        test_ratings_ = all_items ? &dataset.test_ratings : &local_test_ratings_;
        item_ratings_ = &dataset.item_ratings;  // global columns: only with a user view
        if (with_user_view) {
            user_routing_ = FactorRouting::sharded(
                comm, dataset.user_blocks, distinct_columns(by_item, dataset.user_blocks.n_rows()));
            if (user_routing_.view_rows() < dataset.user_blocks.n_rows()) {
                local_item_ratings_ = user_routing_.localize(dataset.item_ratings);
                item_ratings_ = &local_item_ratings_;
            }
        }
    }
    if (whole_on_one_rank_) return;  // the views are the published tables
    items_ = item_routing_.make_view(items);
    if (with_user_view) users_ = user_routing_.make_view(users);
}

std::int64_t FactorViews::held_bytes() const noexcept {
    return static_cast<std::int64_t>(items_.values().size() + users_.values().size()) *
           static_cast<std::int64_t>(sizeof(float));
}

void FactorViews::publish_users(const Communicator& comm, const FactorTable& own_users) {
    if (whole_on_one_rank_) {
        users_read_ = &own_users;
        return;
    }
    user_routing_.exchange(comm, own_users, users_);
}

void FactorViews::publish_items(const Communicator& comm, const FactorTable& own_items) {
    if (whole_on_one_rank_) {
        items_read_ = &own_items;
        return;
    }
    item_routing_.exchange(comm, own_items, items_);
}

void FactorViews::solve_and_publish_users(const Communicator& comm, const FactorTable& own_users,
                                          int chunks, const ChunkedSolve& solve) {
    if (whole_on_one_rank_) {
        solve(RowChunks{});
        users_read_ = &own_users;
        return;
    }
    solve_and_publish(comm, user_routing_, own_users, users_, chunks, solve);
}

void FactorViews::solve_and_publish_items(const Communicator& comm, const FactorTable& own_items,
                                          int chunks, const ChunkedSolve& solve) {
    if (whole_on_one_rank_) {
        solve(RowChunks{});
        items_read_ = &own_items;
        return;
    }
    solve_and_publish(comm, item_routing_, own_items, items_, chunks, solve);
}

void FactorViews::solve_and_publish(const Communicator& comm, const FactorRouting& routing,
                                    const FactorTable& own, FactorTable& view, int chunks,
                                    const ChunkedSolve& solve) {
    ++published_half_sweeps_;
    if (chunks <= 1) {
        solve(RowChunks{});
        const double start = MPI_Wtime();
        routing.exchange(comm, own, view);
        publish_seconds_ += MPI_Wtime() - start;
        return;
    }
    std::vector<PendingExchange> in_flight;
    in_flight.reserve(static_cast<std::size_t>(chunks));
    // MPI errors while the solve's threads run are kept for after it (no throw from inside
    // an OpenMP region).
    std::optional<MpiError> progress_error;
    const auto test_in_flight = [&] {
        const double start = MPI_Wtime();
        try {
            for (PendingExchange& exchange : in_flight) exchange.test();
        } catch (const MpiError& error) {
            if (!progress_error) progress_error = error;
        }
        publish_seconds_ += MPI_Wtime() - start;
    };
    const RowChunks hook{
        chunks,
        [&](int chunk) {
            const double start = MPI_Wtime();
            in_flight.push_back(routing.start_chunk_exchange(comm, own, view, chunk, chunks));
            publish_seconds_ += MPI_Wtime() - start;
            test_in_flight();
        },
        test_in_flight};
    solve(hook);
    const double start = MPI_Wtime();
    for (PendingExchange& exchange : in_flight) exchange.wait();
    publish_seconds_ += MPI_Wtime() - start;
    if (progress_error) throw *progress_error;
}

namespace {

std::int64_t table_bytes(const FactorTable& table) {
    return static_cast<std::int64_t>(table.values().size()) *
           static_cast<std::int64_t>(sizeof(float));
}

/// "<max> MB on the busiest rank, <mean> MB on average" of one value per rank.
std::string max_and_mean_mb(const std::vector<double>& per_rank) {
    double max = 0.0;
    double sum = 0.0;
    for (const double value : per_rank) {
        max = std::max(max, value);
        sum += value;
    }
    return format_text("%.1f MB on the busiest rank, %.1f MB on average", max / 1e6,
                       sum / static_cast<double>(per_rank.size()) / 1e6);
}

}  // namespace

std::string describe_factor_costs(const Communicator& comm, const FactorViews& views,
                                  const FactorTable& own_users, const FactorTable& own_items,
                                  std::int64_t received_bytes, std::int64_t iterations) {
    const auto memory =
        static_cast<double>(table_bytes(own_users) + table_bytes(own_items) + views.held_bytes());
    const double received = static_cast<double>(received_bytes) /
                            static_cast<double>(std::max<std::int64_t>(iterations, 1));
    std::string line =
        format_text("factor tables (%s): %s; received per iteration: %s",
                    views.layout() == FactorLayout::sharded ? "sharded" : "replicated",
                    max_and_mean_mb(comm.all_gather(memory)).c_str(),
                    max_and_mean_mb(comm.all_gather(received)).c_str());
    const std::int64_t half_sweeps = views.published_half_sweeps();
    if (half_sweeps > 0) {  // the same count on every rank (none on one rank)
        line += format_text(
            "; publishing %.4f s per half-sweep on the slowest rank",
            comm.all_reduce_max(views.publish_seconds()) / static_cast<double>(half_sweeps));
    }
    return line;
}

}  // namespace distmf
