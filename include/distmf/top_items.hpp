#pragma once
/// @file top_items.hpp
/// Scoring items for a block of queries (users) and keeping each query's best N. A query with
/// factor row q_u (and the model's item factors h_j, item biases c_j) scores item j as
///
///   s_uj = q_u . h_j + c_j,
///
/// and its top N are the N candidates j (every item not in the query's excluded set S_u, and
/// with a score that is neither -inf nor NaN) ranked first by a higher s_uj, then by the lower
/// item index j. Ties are thus broken the same way whatever the order of computation, and any
/// exact selection gives the same list.

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "distmf/factors.hpp"

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

/// Local. Merges `more` (in ranking order, items not in `best`) into `best` (in ranking
/// order) and keeps the first n: the best n of the union, ties broken as ranks_before says,
/// whatever the order in which item blocks arrive. `scratch` is a reusable buffer.
void merge_best(std::vector<ScoredItem>& best, std::span<const ScoredItem> more, std::size_t n,
                std::vector<ScoredItem>& scratch);

/// Local. The best n of the scores offered to it, in any number of pieces of ascending,
/// consecutive item indices (each piece continues where the previous one ended, or starts
/// anew after reset()). One pass with a threshold: an item enters a buffer of max(4n, 64) only
/// if it beats the n-th best so far (strictly: a later item that only ties it ranks after it);
/// a full buffer is cut back to n with std::nth_element. Groups of 16 scores none of which
/// beats the threshold are skipped with one branch-free comparison pass (which vectorizes).
/// O(items + n log n) for typical data, never a sort of all items.
class TopSelector {
  public:
    /// Keeps the best `n`.
    explicit TopSelector(std::size_t n = 0);
    /// Local. Forgets every item offered (keeps the buffer's memory).
    void reset();
    /// Local. Offers items first_item, first_item + 1, ... with `scores`.
    void offer(std::span<const float> scores, std::int32_t first_item);
    /// Local. The best n offered so far (fewer when fewer candidates were offered) in ranking
    /// order, into `best`.
    void take(std::vector<ScoredItem>& best);

  private:
    void offer_group(const float* scores, std::size_t count, std::int32_t first_item);
    void cut_to_n();

    /// Scores compared with the threshold at once before any is looked at alone.
    static constexpr std::size_t scores_per_group = 16;

    std::size_t n_;
    std::size_t capacity_;
    float threshold_ = -std::numeric_limits<float>::infinity();
    std::vector<ScoredItem> buffer_;  ///< capacity_ + scores_per_group slots
    std::size_t size_ = 0;            ///< slots in use
};

/// Local. The best `n` entries of `scores` (index = item) in ranking order, skipping entries
/// that are -inf or NaN (excluded items), into `best` (fewer when there are fewer candidates):
/// TopSelector over one piece.
void select_top(std::span<const float> scores, std::size_t n, std::vector<ScoredItem>& best);

/// Local. Scores that rank items exactly as their integer counts do (the popularity ranking):
/// each count's dense rank among the distinct counts (0 for the smallest). Equal counts get
/// equal scores and a larger count a larger score, for any int64 counts: float holds the rank
/// exactly while there are at most 2^24 distinct counts, i.e. for any total below 2^47
/// interactions (d distinct counts sum to at least d(d-1)/2). A count cast to float would tie
/// counts above 2^24 that differ.
std::vector<float> popularity_scores(std::span<const std::int64_t> counts);

/// Local. The `n` items with the largest counts in ranking order (ties: the lower index
/// first; the scores are popularity_scores, not the counts), into `best`.
void select_most_popular(std::span<const std::int64_t> counts, std::size_t n,
                         std::vector<ScoredItem>& best);

/// Local. The biases c_j of the table's items as one contiguous vector (entry 0: its
/// first_row(); empty without biases): column 0 of
/// the row-major table is strided, too slow to add to every row of scores.
std::vector<float> item_biases(const FactorTable& items);

/// Local. scores (m x count, row-major) = Q V^T (+ c when `biases` is not empty), where Q
/// (m x k) holds query factor rows and V the factor rows of items [first_item, first_item +
/// count), c their biases (`biases` holds every item's, from item_biases): one blocked matrix
/// product (GEMM), then the bias added to each row.
void score_item_range(const Eigen::Ref<const RowMatrixXf>& query_factors, const FactorTable& items,
                      std::span<const float> biases, std::int64_t first_item, std::int64_t count,
                      RowMatrixXf& scores);

/// Local. score_item_range over every item.
void score_items(const Eigen::Ref<const RowMatrixXf>& query_factors, const FactorTable& items,
                 RowMatrixXf& scores);

/// Thread seconds spent in the two phases of BlockTopItems::run.
struct TopItemsSeconds {
    double scoring = 0.0;    ///< matrix products and biases
    double selection = 0.0;  ///< exclusion and selection
};

/// Local. The top n items of a block of queries (at most a few hundred), scored tile by tile:
/// the scores of items_per_tile items for every query of the block are one matrix product
/// (score_item_range, Q V_tile^T), which stays in the cache while each query's excluded items
/// of the tile are set to -inf (walking its ascending list) and its TopSelector is offered the
/// tile. The whole scores matrix (m x n_items floats, 27 MB for 256 queries and 27,000 items)
/// is never written to memory and read back. The scores are bitwise those of one product over
/// all items (score_items): see items_per_tile.
class BlockTopItems {
  public:
    /// Items per tile: a multiple of 48, so that Eigen's register blocks of item rows (three
    /// SIMD packets: 12, 24 or 48 floats with SSE, AVX, AVX-512) start at the same items as in
    /// one product over all items, and each score is computed with the same operations in the
    /// same order (tested). 384 x 256 queries x 4 bytes = 384 KB: fits the 512 KB L2 cache.
    static constexpr std::int64_t items_per_tile = 384;

    /// Scores against `items` (kept by reference: items first_row() .. end_row() - 1, a whole
    /// table or one block of it) and keeps the best `n` of each query. The scores of a block
    /// that starts at a multiple of items_per_tile are bitwise those over all items.
    BlockTopItems(const FactorTable& items, std::size_t n);

    /// Local. Selects the best n items of the table of each row u of `query_factors` (m x k),
    /// skipping the items `excluded[u]` (ascending global item indices, of any rows; m lists,
    /// empty for none); adds the thread seconds of each phase to `seconds`.
    void run(const Eigen::Ref<const RowMatrixXf>& query_factors,
             std::span<const std::span<const std::int32_t>> excluded, TopItemsSeconds& seconds);

    /// Local. Query u's best items of the last run, in ranking order.
    const std::vector<ScoredItem>& best(std::size_t u) const { return best_[u]; }

  private:
    void select_tile(std::int64_t first_item,
                     std::span<const std::span<const std::int32_t>> excluded);

    const FactorTable& items_;
    std::vector<float> biases_;
    std::size_t n_;
    std::vector<TopSelector> selectors_;  ///< one per query
    std::vector<std::size_t>
        next_excluded_;  ///< per query: its first excluded item not yet reached
    std::vector<std::vector<ScoredItem>> best_;
    RowMatrixXf tile_;
};

}  // namespace distmf
