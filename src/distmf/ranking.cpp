#include "distmf/ranking.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace distmf {
namespace {

/// Users scored together by one matrix product: 64 x n_items floats per thread.
constexpr std::int64_t users_per_block = 64;

double discount(std::size_t position) {  // 1 / log2(position + 2), position from 0
    return 1.0 / std::log2(static_cast<double>(position) + 2.0);
}

/// The user's AUC: over pairs (relevant candidate p, other candidate q), [s_p > s_q] + [=]/2,
/// divided by their number. One branch-free counting pass over the items per relevant item
/// (counts of lower and equal scores, which vectorizes), corrected for the relevant items and
/// the excluded ones (-inf) among them.
double user_auc(std::span<const float> scores, const std::vector<float>& relevant_scores,
                std::int64_t& n_others) {
    std::int64_t n_excluded = 0;
    for (const float score : scores) {
        n_excluded += score == -std::numeric_limits<float>::infinity() ? 1 : 0;
    }
    const auto n_relevant = static_cast<std::int64_t>(relevant_scores.size());
    n_others = static_cast<std::int64_t>(scores.size()) - n_excluded - n_relevant;
    if (n_others <= 0) return 0.0;
    double correct = 0.0;
    for (const float threshold : relevant_scores) {
        std::int64_t lower = 0;
        std::int64_t equal = 0;
        for (const float score : scores) {
            lower += score < threshold ? 1 : 0;
            equal += score == threshold ? 1 : 0;
        }
        for (const float other : relevant_scores) {
            lower -= other < threshold ? 1 : 0;
            equal -= other == threshold ? 1 : 0;
        }
        correct += static_cast<double>(lower - n_excluded) + 0.5 * static_cast<double>(equal);
    }
    return correct / (static_cast<double>(n_relevant) * static_cast<double>(n_others));
}

}  // namespace

void RankingSums::add(const RankingSums& other) {
    precision.add(other.precision);
    recall.add(other.recall);
    ndcg.add(other.ndcg);
    average_precision.add(other.average_precision);
    auc.add(other.auc);
    users += other.users;
    auc_users += other.auc_users;
}

void add_user_ranking(std::span<const float> scores, std::span<const std::int32_t> relevant, int k,
                      std::vector<ScoredItem>& scratch, RankingSums& sums) {
    std::vector<float> relevant_scores;
    std::vector<std::int32_t> candidates;  // relevant items that are candidates
    for (const std::int32_t item : relevant) {
        const float score = scores[static_cast<std::size_t>(item)];
        if (score > -std::numeric_limits<float>::infinity()) {
            relevant_scores.push_back(score);
            candidates.push_back(item);
        }
    }
    if (candidates.empty()) return;
    select_top(scores, static_cast<std::size_t>(k), scratch);
    double hits = 0.0;
    double dcg = 0.0;
    double precision_sum = 0.0;
    for (std::size_t i = 0; i < scratch.size(); ++i) {
        if (!std::binary_search(candidates.begin(), candidates.end(), scratch[i].item)) continue;
        hits += 1.0;
        dcg += discount(i);
        precision_sum += hits / static_cast<double>(i + 1);
    }
    const std::size_t ideal = std::min(static_cast<std::size_t>(k), candidates.size());
    double ideal_dcg = 0.0;
    for (std::size_t i = 0; i < ideal; ++i) ideal_dcg += discount(i);
    sums.precision.add(hits / static_cast<double>(k));
    sums.recall.add(hits / static_cast<double>(candidates.size()));
    sums.ndcg.add(dcg / ideal_dcg);
    sums.average_precision.add(precision_sum / static_cast<double>(ideal));
    ++sums.users;
    std::int64_t n_others = 0;
    const double auc = user_auc(scores, relevant_scores, n_others);
    if (n_others > 0) {
        sums.auc.add(auc);
        ++sums.auc_users;
    }
}

UserScorer popularity_scorer(const std::vector<std::int64_t>& counts) {
    std::vector<float> item_scores = popularity_scores(counts);
    return [item_scores = std::move(item_scores)](std::int64_t /*first_user*/, std::int64_t count,
                                                  RowMatrixXf& scores) {
        const auto n_items = static_cast<Eigen::Index>(item_scores.size());
        scores =
            Eigen::Map<const Eigen::RowVectorXf>(item_scores.data(), n_items).replicate(count, 1);
    };
}

UserScorer model_scorer(const FactorTable& users, const FactorTable& items) {
    return [&users, &items](std::int64_t first_user, std::int64_t count, RowMatrixXf& scores) {
        score_items(
            users.values().middleRows(first_user - users.first_row(), count).rightCols(users.k()),
            items, scores);
    };
}

RankingSums rank_users(const RatingMatrix& excluded, const RatingMatrix& relevant,
                       const UserScorer& scorer, std::int64_t n_items, int k, int threads) {
    const int n_threads = std::max(1, threads);
    std::vector<RankingSums> partial(static_cast<std::size_t>(n_threads));
    const std::int64_t n_blocks = (relevant.n_rows() + users_per_block - 1) / users_per_block;
    constexpr float excluded_score = -std::numeric_limits<float>::infinity();
#pragma omp parallel num_threads(n_threads)
    {
        RankingSums& mine = partial[static_cast<std::size_t>(omp_get_thread_num())];
        RowMatrixXf scores;
        std::vector<ScoredItem> scratch;
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t block = 0; block < n_blocks; ++block) {
            const std::int64_t first = block * users_per_block;
            const std::int64_t count = std::min(users_per_block, relevant.n_rows() - first);
            scorer(relevant.first_row + first, count, scores);
            for (std::int64_t r = 0; r < count; ++r) {
                if (relevant.row_size(first + r) == 0) continue;
                const std::int64_t user = relevant.first_row + first + r;
                float* row = scores.row(r).data();
                for (const std::int32_t item : excluded.row_columns(user - excluded.first_row)) {
                    row[item] = excluded_score;
                }
                add_user_ranking(std::span<const float>(row, static_cast<std::size_t>(n_items)),
                                 relevant.row_columns(first + r), k, scratch, mine);
            }
        }
    }
    RankingSums total;
    for (const RankingSums& p : partial) total.add(p);  // exact sums: any order
    return total;
}

RankingMetrics all_reduce_ranking(const Communicator& comm, const RankingSums& mine) {
    RankingMetrics metrics;
    metrics.users = comm.all_reduce_sum(mine.users);
    const std::int64_t auc_users = comm.all_reduce_sum(mine.auc_users);
    const auto average = [&](const ExactSum& sum, std::int64_t count) {
        const double total = ExactSum::all_reduce(comm, sum).value();
        return count > 0 ? total / static_cast<double>(count)
                         : std::numeric_limits<double>::quiet_NaN();
    };
    metrics.precision = average(mine.precision, metrics.users);
    metrics.recall = average(mine.recall, metrics.users);
    metrics.ndcg = average(mine.ndcg, metrics.users);
    metrics.map = average(mine.average_precision, metrics.users);
    metrics.auc = average(mine.auc, auc_users);
    return metrics;
}

}  // namespace distmf
