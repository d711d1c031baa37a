#pragma once
/// @file ranking.hpp
/// Ranking metrics of a held-out set, from the scores of every item for a block of users (one
/// matrix product) and each user's top k (a partial selection, never a full sort of the
/// items; both in top_items.hpp). For a user with relevant (held-out) items T among the candidates
/// (every item with a finite score: the caller sets the user's training items to -inf), and
/// the top k candidates t_1..t_k (best first; ties broken by the lower item index), with
/// hit_i = [t_i in T]:
///
///   precision@k = sum_i hit_i / k,           recall@k = sum_i hit_i / |T|,
///   NDCG@k = sum_i hit_i / log2(i + 1)  /  sum_{i <= min(k, |T|)} 1 / log2(i + 1),
///   MAP@k (average precision) = sum_i hit_i * (sum_{j <= i} hit_j / i)  /  min(k, |T|),
///   AUC = P(score of a relevant candidate > score of another candidate), ties counting 1/2.
///
/// Each figure is averaged over the users with at least one relevant candidate (AUC over those
/// that also have another candidate). Sums are exact (ExactSum), so the figures are bitwise the
/// same for any number of ranks and threads.

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/factors.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/top_items.hpp"

namespace distmf {

/// Partial sums of the ranking metrics over some users.
struct RankingSums {
    ExactSum precision;
    ExactSum recall;
    ExactSum ndcg;
    ExactSum average_precision;
    ExactSum auc;
    std::int64_t users = 0;      ///< users with a relevant candidate
    std::int64_t auc_users = 0;  ///< of those, users with another candidate too
    /// Local. Adds another partial sum.
    void add(const RankingSums& other);
};

/// Local. Adds one user's metrics at cut-off k: `scores` over all items (training items
/// -inf), `relevant` the user's held-out items (ascending; excluded ones are ignored).
/// `scratch` is a reusable buffer.
void add_user_ranking(std::span<const float> scores, std::span<const std::int32_t> relevant, int k,
                      std::vector<ScoredItem>& scratch, RankingSums& sums);

/// Fills `scores` (count x n_items) with the scores of users [first_user, first_user + count).
using UserScorer =
    std::function<void(std::int64_t first_user, std::int64_t count, RowMatrixXf& scores)>;

/// Local. The popularity ranking: every user ranks item j by counts[j] (its number of
/// training interactions), exactly for any int64 counts (the scores are popularity_scores).
UserScorer popularity_scorer(const std::vector<std::int64_t>& counts);

/// Local. Scores of a factor model: score_items over the users' factor rows.
UserScorer model_scorer(const FactorTable& users, const FactorTable& items);

/// Local. The ranking metrics' sums over the users (rows) of `relevant`: each user's items of
/// `excluded` (the same or a wider range of rows; its values are not used) are not candidates.
/// Users are scored in blocks by `scorer`, with `threads` threads.
RankingSums rank_users(const RatingMatrix& excluded, const RatingMatrix& relevant,
                       const UserScorer& scorer, std::int64_t n_items, int k, int threads);

/// The ranking metrics of a data set (NaN when no user had a relevant candidate).
struct RankingMetrics {
    double precision = 0.0;
    double recall = 0.0;
    double ndcg = 0.0;
    double map = 0.0;
    double auc = 0.0;
    std::int64_t users = 0;
};

/// Collective: every rank of comm must call. The averages over every rank's users.
RankingMetrics all_reduce_ranking(const Communicator& comm, const RankingSums& mine);

}  // namespace distmf
