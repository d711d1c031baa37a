#include "distmf/factor_views.hpp"

#include <algorithm>
#include <array>
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
    if (layout == FactorLayout::replicated) {
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
        local_user_ratings_ = item_routing_.localize(dataset.user_ratings);
        local_test_ratings_ = item_routing_.localize(dataset.test_ratings);
        user_ratings_ = &local_user_ratings_;
        test_ratings_ = &local_test_ratings_;
        item_ratings_ = &dataset.item_ratings;  // global columns: only with a user view
        if (with_user_view) {
            user_routing_ = FactorRouting::sharded(
                comm, dataset.user_blocks, distinct_columns(by_item, dataset.user_blocks.n_rows()));
            local_item_ratings_ = user_routing_.localize(dataset.item_ratings);
            item_ratings_ = &local_item_ratings_;
        }
    }
    items_ = item_routing_.make_view(items);
    if (with_user_view) users_ = user_routing_.make_view(users);
}

void FactorViews::publish_users(const Communicator& comm, const FactorTable& own_users) {
    user_routing_.exchange(comm, own_users, users_);
}

void FactorViews::publish_items(const Communicator& comm, const FactorTable& own_items) {
    item_routing_.exchange(comm, own_items, items_);
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
        static_cast<double>(table_bytes(own_users) + table_bytes(own_items) +
                            table_bytes(views.users()) + table_bytes(views.items()));
    const double received = static_cast<double>(received_bytes) /
                            static_cast<double>(std::max<std::int64_t>(iterations, 1));
    return format_text("factor tables (%s): %s; received per iteration: %s",
                       views.layout() == FactorLayout::sharded ? "sharded" : "replicated",
                       max_and_mean_mb(comm.all_gather(memory)).c_str(),
                       max_and_mean_mb(comm.all_gather(received)).c_str());
}

}  // namespace distmf
