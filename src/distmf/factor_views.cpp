#include "distmf/factor_views.hpp"

#include <array>

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

}  // namespace distmf
