#include "distmf/top_items.hpp"

#include <omp.h>

#include <algorithm>
#include <iterator>
#include <limits>

namespace distmf {
namespace {

/// Whether any of scores[0..count) is above the threshold (NaN never is): one branch-free
/// pass. (Not unrolled: GCC would then not vectorize it where it is inlined.)
bool any_above(const float* scores, std::size_t count, float threshold) {
    int above = 0;
#pragma GCC unroll 1
    for (std::size_t i = 0; i < count; ++i) above |= scores[i] > threshold ? 1 : 0;
    return above != 0;
}

/// ranks_before as a function object, which the standard algorithms inline (a function
/// pointer they would call).
constexpr auto in_ranking_order = [](const ScoredItem& a, const ScoredItem& b) {
    return ranks_before(a, b);
};

/// The seconds since `clock`, which moves to now.
double lap(double& clock) {
    const double now = omp_get_wtime();
    const double seconds = now - clock;
    clock = now;
    return seconds;
}

}  // namespace

TopSelector::TopSelector(std::size_t n)
    : n_(n),
      capacity_(std::max<std::size_t>(4 * n, 64)),
      buffer_(n == 0 ? 0 : capacity_ + scores_per_group) {}

void TopSelector::reset() {
    size_ = 0;
    threshold_ = -std::numeric_limits<float>::infinity();
}

void TopSelector::offer(std::span<const float> scores, std::int32_t first_item) {
    if (n_ == 0) return;
    std::size_t i = 0;
    for (; i + scores_per_group <= scores.size(); i += scores_per_group) {
        if (any_above(scores.data() + i, scores_per_group, threshold_)) {
            offer_group(scores.data() + i, scores_per_group,
                        first_item + static_cast<std::int32_t>(i));
        }
    }
    offer_group(scores.data() + i, scores.size() - i, first_item + static_cast<std::int32_t>(i));
}

void TopSelector::offer_group(const float* scores, std::size_t count, std::int32_t first_item) {
    // Items arrive in ascending index order, so one that only ties the n-th best ranks after
    // it: strictly greater is the test. -inf and NaN never pass it. Branch-free: every item is
    // written to the next free slot, which only one that passes takes (a group can overfill
    // the buffer by fewer than scores_per_group, for which it has room).
    for (std::size_t i = 0; i < count; ++i) {
        buffer_[size_] = {first_item + static_cast<std::int32_t>(i), scores[i]};
        size_ += scores[i] > threshold_ ? 1 : 0;
    }
    if (size_ >= capacity_) cut_to_n();
}

void TopSelector::cut_to_n() {
    const auto begin = buffer_.begin();
    std::nth_element(begin, begin + static_cast<std::ptrdiff_t>(n_ - 1),
                     begin + static_cast<std::ptrdiff_t>(size_), in_ranking_order);
    size_ = n_;
    threshold_ = buffer_[n_ - 1].score;
}

void TopSelector::take(std::vector<ScoredItem>& best) {
    const std::size_t kept = std::min(n_, size_);
    const auto begin = buffer_.begin();
    std::partial_sort(begin, begin + static_cast<std::ptrdiff_t>(kept),
                      begin + static_cast<std::ptrdiff_t>(size_), in_ranking_order);
    best.assign(begin, begin + static_cast<std::ptrdiff_t>(kept));
}

void merge_best(std::vector<ScoredItem>& best, std::span<const ScoredItem> more, std::size_t n,
                std::vector<ScoredItem>& scratch) {
    scratch.clear();
    std::merge(best.begin(), best.end(), more.begin(), more.end(), std::back_inserter(scratch),
               in_ranking_order);
    if (scratch.size() > n) scratch.resize(n);
    best.swap(scratch);
}

void select_top(std::span<const float> scores, std::size_t n, std::vector<ScoredItem>& best) {
    TopSelector selector(n);
    selector.offer(scores, 0);
    selector.take(best);
}

std::vector<float> popularity_scores(std::span<const std::int64_t> counts) {
    std::vector<std::int64_t> distinct(counts.begin(), counts.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<float> scores(counts.size());
    for (std::size_t j = 0; j < counts.size(); ++j) {
        const auto rank = std::lower_bound(distinct.begin(), distinct.end(), counts[j]);
        scores[j] = static_cast<float>(rank - distinct.begin());
    }
    return scores;
}

void select_most_popular(std::span<const std::int64_t> counts, std::size_t n,
                         std::vector<ScoredItem>& best) {
    select_top(popularity_scores(counts), n, best);
}

std::vector<float> item_biases(const FactorTable& items) {
    if (!items.has_bias()) return {};
    std::vector<float> biases(static_cast<std::size_t>(items.rows()));
    for (std::int64_t j = 0; j < items.rows(); ++j) {
        biases[static_cast<std::size_t>(j)] = items.bias(items.first_row() + j);
    }
    return biases;
}

void score_item_range(const Eigen::Ref<const RowMatrixXf>& query_factors, const FactorTable& items,
                      std::span<const float> biases, std::int64_t first_item, std::int64_t count,
                      RowMatrixXf& scores) {
    const int k = items.k();
    scores.resize(query_factors.rows(), count);
    scores.noalias() =
        query_factors * items.values().middleRows(first_item, count).rightCols(k).transpose();
    if (biases.empty()) return;
    const Eigen::Map<const Eigen::RowVectorXf> tile_biases(biases.data() + first_item,
                                                           static_cast<Eigen::Index>(count));
    scores.rowwise() += tile_biases;
}

void score_items(const Eigen::Ref<const RowMatrixXf>& query_factors, const FactorTable& items,
                 RowMatrixXf& scores) {
    score_item_range(query_factors, items, item_biases(items), 0, items.rows(), scores);
}

BlockTopItems::BlockTopItems(const FactorTable& items, std::size_t n)
    : items_(items), biases_(item_biases(items)), n_(n) {}

void BlockTopItems::run(const Eigen::Ref<const RowMatrixXf>& query_factors,
                        std::span<const std::span<const std::int32_t>> excluded,
                        TopItemsSeconds& seconds) {
    const auto n_queries = static_cast<std::size_t>(query_factors.rows());
    if (selectors_.size() < n_queries) selectors_.resize(n_queries, TopSelector(n_));
    if (best_.size() < n_queries) best_.resize(n_queries);
    for (std::size_t u = 0; u < n_queries; ++u) selectors_[u].reset();
    // Each query's first excluded item of the table's rows.
    next_excluded_.resize(n_queries);
    for (std::size_t u = 0; u < n_queries; ++u) {
        next_excluded_[u] = static_cast<std::size_t>(
            std::lower_bound(excluded[u].begin(), excluded[u].end(), items_.first_row()) -
            excluded[u].begin());
    }
    double clock = omp_get_wtime();
    for (std::int64_t first = 0; first < items_.rows(); first += items_per_tile) {
        const std::int64_t count = std::min(items_per_tile, items_.rows() - first);
        score_item_range(query_factors, items_, biases_, first, count, tile_);
        seconds.scoring += lap(clock);
        select_tile(items_.first_row() + first, excluded);
        seconds.selection += lap(clock);
    }
    for (std::size_t u = 0; u < n_queries; ++u) selectors_[u].take(best_[u]);
    seconds.selection += lap(clock);
}

void BlockTopItems::select_tile(std::int64_t first_item,
                                std::span<const std::span<const std::int32_t>> excluded) {
    const std::int64_t end_item = first_item + tile_.cols();
    for (std::size_t u = 0; u < static_cast<std::size_t>(tile_.rows()); ++u) {
        float* scores = tile_.row(static_cast<Eigen::Index>(u)).data();
        const std::span<const std::int32_t> items = excluded[u];
        std::size_t& next = next_excluded_[u];
        for (; next < items.size() && items[next] < end_item; ++next) {
            scores[items[next] - first_item] = -std::numeric_limits<float>::infinity();
        }
        selectors_[u].offer(std::span<const float>(scores, static_cast<std::size_t>(tile_.cols())),
                            static_cast<std::int32_t>(first_item));
    }
}

}  // namespace distmf
