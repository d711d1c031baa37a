#pragma once
/// @file serving_blocks.hpp
/// Scoring the queries of `distmf recommend` in blocks: the request list is cut into blocks of
/// users_per_block queries, each rank takes whole blocks (so every user's scores are computed
/// the same way for any P), scores them tile by tile against the item factors it holds
/// (BlockTopItems), keeps each query's running top N (merge_best, when the item blocks rotate
/// around the ring) and formats the lines of its blocks with std::to_chars.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/model_io.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/recommend.hpp"
#include "distmf/sharded_serving.hpp"

namespace distmf {

/// Users scored together (BlockTopItems: tiles of 256 x 384 scores per thread, in the L2
/// cache; the packing of each tile's item factors is shared by the 256 users). Blocks are cut
/// from the whole request list, and each rank takes whole blocks, so every user's scores are
/// computed the same way for any P.
constexpr std::int64_t users_per_block = 256;

/// One requested user: its ID, where its factors come from, and their row (a model row, a
/// fold-in row, or -1 for the popularity ranking).
struct Query {
    std::int64_t user_id = 0;
    RecommendationSource source = RecommendationSource::popularity;
    std::int64_t row = -1;
};

/// Thread seconds spent in the phases of scoring (summed over a rank's threads).
struct ServeTimes {
    double scoring_seconds = 0.0;    ///< the matrix products and biases
    double selection_seconds = 0.0;  ///< excluding seen items and selecting the top N
    double format_seconds = 0.0;     ///< formatting the lines
};

/// What scoring reads: the model (its items' IDs and counts, global mean), the table of
/// query users' factors and their seen items (rows: Query::row of model-source queries), the
/// folded-in users, and the options.
struct ServingInputs {
    const Model& model;
    const FactorTable& users;
    const RatingMatrix& seen;
    const FoldedUsers& folded;
    const Config& config;
};

/// A rank's share of the blocks of users_per_block queries: whole blocks cut from the whole
/// request list, so every user's scores are computed the same way for any P.
struct BlockRange {
    std::int64_t first = 0;
    std::int64_t end = 0;
    /// The number of queries in these blocks.
    std::int64_t n_users(std::size_t n_queries) const {
        const auto total = static_cast<std::int64_t>(n_queries);
        return std::max<std::int64_t>(
            0, std::min(total, end * users_per_block) - first * users_per_block);
    }
};

/// Local. Rank `rank`'s blocks of a request list of `n_queries` queries (of `n_ranks`).
BlockRange blocks_of_rank(std::int64_t n_queries, int n_ranks, int rank);

/// Collective: every rank of comm must call. The output lines of this rank's blocks: scored
/// against in.model.items, and when `rotated` against every other rank's block of items too,
/// passed around the ring (P - 1 steps, each rank's blocks in ring order; the merge keeps the
/// global ranking order).
std::string recommend_blocks(const Communicator& comm, const ServingInputs& in,
                             const std::vector<Query>& queries, const BlockRange& blocks,
                             bool rotated, ServeTimes& times);

/// `recommend --all-users` with each rank holding its share of the users only:
/// the queries (every user, ascending ID) are placed in blocks as always, and each user is
/// sent from the rank that read it to the rank that serves its block: the users this rank serves
/// and the queries, whose `row` is now the query's place (a row of `served`).
struct AllUsers {
    ServedUsers served;
    std::vector<Query> queries;
};

/// Collective: every rank of comm must call. Places every query (`queries`: every user of the
/// model, ascending ID; row: its model row) and routes the users of this rank's share of the
/// model to the ranks that serve them (route_users_to_places).
AllUsers serve_all_users(const Communicator& comm, const Model& share, std::vector<Query> queries);

}  // namespace distmf
