#include "distmf/sharded_serving.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "distmf/top_items.hpp"

namespace distmf {

bool rotates_item_factors(ItemFactorsMode mode, const ModelInfo& info) {
    if (mode != ItemFactorsMode::automatic) return mode == ItemFactorsMode::rotated;
    const std::int64_t width = info.k + (info.biases ? 1 : 0);
    const std::int64_t bytes = info.n_items * width * static_cast<std::int64_t>(sizeof(float));
    return bytes > replicated_item_factors_limit;
}

RowRange rotated_item_block(std::int64_t n_items, int n_parts, int part) {
    const std::int64_t tile = BlockTopItems::items_per_tile;
    const RowRange tiles = even_share((n_items + tile - 1) / tile, n_parts, part);
    const std::int64_t first = std::min(n_items, tiles.first * tile);
    return {first, std::min(n_items, tiles.end() * tile) - first};
}

ShareLayout serving_layout(const ModelInfo& info, int n_ranks, int rank, bool rotated) {
    ShareLayout layout;
    layout.users = even_share(info.n_users, n_ranks, rank);
    layout.user_coverage = ShareCoverage::partition;
    if (rotated) {
        layout.items = rotated_item_block(info.n_items, n_ranks, rank);
        layout.item_coverage = ShareCoverage::partition;
    } else {
        layout.items = {0, info.n_items};
        layout.item_coverage = ShareCoverage::whole;
    }
    return layout;
}

FactorTable pass_item_block(const Communicator& comm, const FactorTable& block, RowRange incoming) {
    FactorTable received(incoming.first, incoming.count, block.k(), block.has_bias());
    const int next = (comm.rank() + 1) % comm.size();
    const int previous = (comm.rank() + comm.size() - 1) % comm.size();
    const RowMatrixXf& mine = block.values();
    RowMatrixXf& theirs = received.values();
    comm.send_recv(std::span<const float>(mine.data(), static_cast<std::size_t>(mine.size())), next,
                   std::span<float>(theirs.data(), static_cast<std::size_t>(theirs.size())),
                   previous);
    return received;
}

namespace {

/// This rank's users sorted by their place, with the number going to each rank.
struct Departures {
    std::vector<std::int64_t> rows;  ///< user rows, ascending place
    std::vector<std::int64_t> rows_to_rank;
};

Departures plan_departures(const Communicator& comm, const Model& share,
                           std::span<const std::int64_t> place_of_row,
                           const BlockPartition& places) {
    Departures plan;
    plan.rows.resize(static_cast<std::size_t>(share.users.rows()));
    std::iota(plan.rows.begin(), plan.rows.end(), share.users.first_row());
    std::sort(plan.rows.begin(), plan.rows.end(), [&](std::int64_t a, std::int64_t b) {
        return place_of_row[static_cast<std::size_t>(a)] <
               place_of_row[static_cast<std::size_t>(b)];
    });
    plan.rows_to_rank.assign(static_cast<std::size_t>(comm.size()), 0);
    for (const std::int64_t row : plan.rows) {
        ++plan.rows_to_rank[static_cast<std::size_t>(
            places.owner(place_of_row[static_cast<std::size_t>(row)]))];
    }
    return plan;
}

/// Per rank, the sum of `sizes` over the runs of `rows_to_rank` consecutive entries.
std::vector<std::int64_t> totals_per_rank(std::span<const std::int64_t> sizes,
                                          std::span<const std::int64_t> rows_to_rank) {
    std::vector<std::int64_t> totals;
    std::size_t at = 0;
    for (const std::int64_t count : rows_to_rank) {
        const auto end = at + static_cast<std::size_t>(count);
        totals.push_back(std::accumulate(sizes.begin() + static_cast<std::ptrdiff_t>(at),
                                         sizes.begin() + static_cast<std::ptrdiff_t>(end),
                                         std::int64_t{0}));
        at = end;
    }
    return totals;
}

}  // namespace

ServedUsers route_users_to_places(const Communicator& comm, const Model& share,
                                  std::span<const std::int64_t> place_of_row,
                                  const BlockPartition& places) {
    const Departures plan = plan_departures(comm, share, place_of_row, places);
    const bool lists = share.has_training_data();
    const std::int64_t width = share.users.width();
    std::vector<float> values;
    std::vector<std::int64_t> sent_places;
    std::vector<std::int64_t> list_sizes;
    std::vector<std::int32_t> columns;
    values.reserve(plan.rows.size() * static_cast<std::size_t>(width));
    for (const std::int64_t row : plan.rows) {
        const auto factors = share.users.row(row);
        values.insert(values.end(), factors.data(), factors.data() + width);
        sent_places.push_back(place_of_row[static_cast<std::size_t>(row)]);
        if (!lists) continue;
        const auto seen = share.train_items.row_columns(row - share.train_items.first_row);
        list_sizes.push_back(static_cast<std::int64_t>(seen.size()));
        columns.insert(columns.end(), seen.begin(), seen.end());
    }
    std::vector<std::int64_t> values_to_rank = plan.rows_to_rank;
    for (std::int64_t& count : values_to_rank) count *= width;
    std::vector<float> arrived_values =
        comm.all_to_all_v(std::span<const float>(values), values_to_rank);
    values = std::vector<float>();  // sent: at most three copies of the share at once
    const std::vector<std::int64_t> arrived_places =
        comm.all_to_all_v(std::span<const std::int64_t>(sent_places), plan.rows_to_rank);

    const int rank = comm.rank();
    ServedUsers served{
        FactorTable(places.first(rank), places.size(rank), share.info.k, share.info.biases),
        RatingMatrix{}};
    served.seen.first_row = places.first(rank);
    for (std::size_t i = 0; i < arrived_places.size(); ++i) {
        std::copy_n(arrived_values.data() + static_cast<std::ptrdiff_t>(i) * width, width,
                    served.factors.row(arrived_places[i]).data());
    }
    arrived_values = std::vector<float>();
    if (!lists) {
        served.seen.row_start.assign(static_cast<std::size_t>(places.size(rank)) + 1, 0);
        return served;
    }
    const std::vector<std::int64_t> arrived_sizes =
        comm.all_to_all_v(std::span<const std::int64_t>(list_sizes), plan.rows_to_rank);
    const std::vector<std::int32_t> arrived_columns = comm.all_to_all_v(
        std::span<const std::int32_t>(columns), totals_per_rank(list_sizes, plan.rows_to_rank));
    // Where each arrived list starts, then the lists in place order.
    std::vector<std::int64_t> arrived_start(arrived_sizes.size() + 1, 0);
    std::partial_sum(arrived_sizes.begin(), arrived_sizes.end(), arrived_start.begin() + 1);
    std::vector<std::size_t> by_place(arrived_places.size());
    std::iota(by_place.begin(), by_place.end(), std::size_t{0});
    std::sort(by_place.begin(), by_place.end(),
              [&](std::size_t a, std::size_t b) { return arrived_places[a] < arrived_places[b]; });
    RatingMatrix& seen = served.seen;
    for (const std::size_t i : by_place) {
        seen.columns.insert(seen.columns.end(), arrived_columns.begin() + arrived_start[i],
                            arrived_columns.begin() + arrived_start[i + 1]);
        seen.row_start.push_back(static_cast<std::int64_t>(seen.columns.size()));
    }
    return served;
}

}  // namespace distmf
