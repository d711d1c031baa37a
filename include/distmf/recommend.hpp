#pragma once
/// @file recommend.hpp
/// `distmf recommend`: the top-N items of users of a saved model, of users folded in from
/// their interactions (cold start, without retraining), and of unknown users (the popularity
/// ranking). A user's training items are never recommended. Users are scored in blocks of 256,
/// a tile of items at a time (one matrix product each), and each user keeps its best N while
/// the tile is in cache (BlockTopItems, top_items.hpp); the blocks are divided among the
/// ranks, each formats the lines of its blocks (std::to_chars) and the parts form one output
/// file in order (ordered_output.hpp). With --all-users alone, no rank holds all of W: each
/// reads an even share of the users and sends each user to the rank that serves its block,
/// and the item factors are replicated or rotate around the ring (--recommend.item-factors,
/// sharded_serving.hpp); --user, --users and --fold-in read the whole model on every rank.

#include <cstdint>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/model_io.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// Where a user's recommendations come from.
enum class RecommendationSource { model, fold_in, popularity };

/// Local. The name printed in the `source` column: "model", "fold-in", "popularity".
const char* source_name(RecommendationSource source);

/// Users folded into a model: their external IDs (ascending), their interactions with the
/// model's items (rows in ID order, columns: item rows) and the solved factor rows.
struct FoldedUsers {
    std::vector<std::int64_t> ids;
    RatingMatrix interactions;
    FactorTable factors;
    std::int64_t unknown_items = 0;  ///< interactions with items the model lacks (ignored)
};

/// Local. Solves each row of `interactions` (rows: users, columns: model item rows) against
/// the model's fixed item factors with the training configuration's row solver: explicit
/// ALS's ridge regression, or implicit ALS's normal equations (solved exactly by Cholesky:
/// one row, no warm start to refine). Returns one factor row per interaction row (zero for a
/// row without interactions). Throws NumericalError naming the user whose system fails.
FactorTable fold_in_rows(const Model& model, const Config& training,
                         const RatingMatrix& interactions, const std::vector<std::int64_t>& ids,
                         int threads);

/// Collective: every rank of comm must call. Reads --fold-in on every rank (each rank its
/// byte range, then all-gathered), numbers its users by ascending ID and solves them
/// (fold_in_rows). Every rank returns the same.
FoldedUsers fold_in_users(const Communicator& comm, const Config& config, const Model& model,
                          const Config& training);

/// Collective: every rank of comm must call. `distmf recommend`: see the file comment and
/// README. Unknown users (not in the model, no fold-in interactions) get the popularity
/// ranking, marked `popularity` in the output and counted in a warning.
int run_recommend_command(const Communicator& comm, const Config& config);

}  // namespace distmf
