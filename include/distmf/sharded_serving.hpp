#pragma once
/// @file sharded_serving.hpp
/// Serving without all of W on every rank (`recommend --all-users`, `evaluate`): each rank
/// reads an even share of the users' rows (load_model_share), sends every user to the rank that
/// serves its place in the output order (one all-to-all), and scores them against the item
/// factors, which are either replicated (every rank reads all of H) or rotated: each rank
/// reads one block of whole score tiles and the blocks pass around the ring, P steps, each
/// user keeping a running top N merged in the global ranking order (merge_best), so the output
/// is byte for byte the replicated one.

#include <cstdint>
#include <span>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/model_io.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// Bytes of item factors (n_items x (k + biases) floats) up to which
/// --recommend.item-factors auto replicates them.
constexpr std::int64_t replicated_item_factors_limit = std::int64_t{256} << 20;

/// Local. Whether the item factors of a model described by `info` rotate around the ring
/// (true) or are replicated on every rank, as `mode` says.
bool rotates_item_factors(ItemFactorsMode mode, const ModelInfo& info);

/// Local. Rank `part`'s block of items when they rotate among `n_parts` ranks: an even share
/// of the whole tiles of BlockTopItems::items_per_tile items (the last tile may be short), so
/// that every tile scored is a tile of the product over all items and every score bitwise the
/// same.
RowRange rotated_item_block(std::int64_t n_items, int n_parts, int part);

/// Local. The layout of load_model_share for serving: this rank's even share of the users
/// (the shares partition them) and all items, or its rotated_item_block when `rotated`.
ShareLayout serving_layout(const ModelInfo& info, int n_ranks, int rank, bool rotated);

/// Collective: every rank of comm must call, each with the block it holds. One step of the
/// ring: sends `block` to rank + 1 and returns the block of rank - 1 (mod P), which holds the
/// item rows `incoming` (every rank knows every block's rows).
FactorTable pass_item_block(const Communicator& comm, const FactorTable& block, RowRange incoming);

/// The users one rank serves: the factor rows and training items of the users at places
/// first_row() .. end_row() - 1 of the output order (both tables' rows are those places).
struct ServedUsers {
    FactorTable factors;
    RatingMatrix seen;
};

/// Collective: every rank of comm must call. Sends each user of this rank's share (the rows of
/// share.users and share.train_items) to the rank whose range of `places` holds
/// place_of_row[user row], its place in the output order; returns the users of this rank's
/// range in place order (seen lists empty when the share has no training data).
ServedUsers route_users_to_places(const Communicator& comm, const Model& share,
                                  std::span<const std::int64_t> place_of_row,
                                  const BlockPartition& places);

}  // namespace distmf
