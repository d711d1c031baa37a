#pragma once
/// @file ranking.hpp
/// Ranking: scoring every item for a block of users with one matrix product, picking each
/// user's top N with a partial selection (never a full sort of the items), and the ranking
/// metrics of a held-out set. For a user with relevant (held-out) items T among the candidates
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

namespace distmf {

/// An item and its score.
struct ScoredItem {
    std::int32_t item = 0;
    float score = 0.0F;
};

/// Local. The ranking order: a higher score first, then the lower item index.
inline bool ranks_before(const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
}

/// Local. The best `n` entries of `scores` (index = item) in ranking order, skipping entries
/// that are -inf or NaN (excluded items), into `best` (fewer when there are fewer candidates).
/// One pass with a threshold: an item enters a buffer of 4n only if it beats the n-th best so
/// far; a full buffer is cut back to n with std::nth_element; std::partial_sort orders the
/// result. O(items + n log n) for typical data, never a sort of all items.
void select_top(std::span<const float> scores, std::size_t n, std::vector<ScoredItem>& best);

/// Local. scores (m x n_items, row-major) = Q V^T (+ the item bias c_j when `items` has
/// biases), where Q (m x k) holds query factor rows and V the items' factor columns: one
/// blocked matrix product (GEMM) for a block of users.
void score_items(const Eigen::Ref<const RowMatrixXf>& query_factors, const FactorTable& items,
                 RowMatrixXf& scores);

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

/// Local. The popularity ranking: every user's score of item j is counts[j] (its number of
/// training interactions).
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
