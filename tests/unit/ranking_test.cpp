#include "distmf/ranking.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using distmf::RankingSums;
using distmf::ScoredItem;

namespace {

constexpr float excluded = -std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("ranking metrics of a hand-computed example", "[ranking]") {
    // Six items; item 1 is a training item (not a candidate); items 2 and 5 are held out.
    // Candidates by score: 0 (0.9), 2 (0.7), 3 (0.6), 4 (0.5), 5 (0.4); top 3: 0, 2, 3.
    const std::vector<float> scores{0.9F, excluded, 0.7F, 0.6F, 0.5F, 0.4F};
    const std::vector<std::int32_t> relevant{2, 5};
    std::vector<ScoredItem> scratch;
    RankingSums sums;
    distmf::add_user_ranking(scores, relevant, 3, scratch, sums);
    REQUIRE(sums.users == 1);
    CHECK(sums.precision.value() == Approx(1.0 / 3.0));  // one hit in 3
    CHECK(sums.recall.value() == Approx(1.0 / 2.0));     // of 2 relevant
    // DCG = 1/log2(3) (hit at position 2); ideal DCG = 1 + 1/log2(3).
    const double dcg = 1.0 / std::log2(3.0);
    CHECK(sums.ndcg.value() == Approx(dcg / (1.0 + dcg)));
    // AP = (1/2 at position 2) / min(3, 2).
    CHECK(sums.average_precision.value() == Approx(0.25));
    // AUC: relevant 2 beats 3 and 4 but not 0; relevant 5 beats none: 2 of 6 pairs.
    REQUIRE(sums.auc_users == 1);
    CHECK(sums.auc.value() == Approx(1.0 / 3.0));

    // A relevant item that is also a training item is not a candidate: ignored.
    RankingSums only_training;
    distmf::add_user_ranking(scores, std::vector<std::int32_t>{1}, 3, scratch, only_training);
    CHECK(only_training.users == 0);

    // A perfect ranking, with a tie counted as half in the AUC.
    const std::vector<float> tied{0.9F, 0.8F, 0.8F, 0.1F};
    RankingSums perfect;
    distmf::add_user_ranking(tied, std::vector<std::int32_t>{0, 1}, 2, scratch, perfect);
    CHECK(perfect.precision.value() == Approx(1.0));
    CHECK(perfect.recall.value() == Approx(1.0));
    CHECK(perfect.ndcg.value() == Approx(1.0));
    CHECK(perfect.average_precision.value() == Approx(1.0));
    CHECK(perfect.auc.value() == Approx((1.0 + 1.0 + 1.0 + 0.5) / 4.0));
}

TEST_CASE("rank_users scores blocks of users and excludes their training items", "[ranking]") {
    // 70 users (two blocks), 5 items; every user rated item 0 and holds out item 4, whose
    // popularity ranks it second after item 0.
    distmf::RatingMatrix train;
    distmf::RatingMatrix test;
    for (int user = 0; user < 70; ++user) {
        train.columns.push_back(0);
        train.row_start.push_back(train.nnz());
        test.columns.push_back(4);
        test.row_start.push_back(test.nnz());
    }
    const std::vector<std::int64_t> counts{100, 1, 2, 3, 50};
    const RankingSums sums =
        distmf::rank_users(train, test, distmf::popularity_scorer(counts), 5, 1, 2);
    CHECK(sums.users == 70);
    CHECK(sums.precision.value() == Approx(70.0));  // item 4 is every user's top candidate
    CHECK(sums.auc.value() == Approx(70.0));
}

TEST_CASE("the popularity ranking orders counts above 2^24 exactly", "[ranking]") {
    // float holds integers exactly only up to 2^24: 2^24 + 1 would tie with 2^24 (and the lower
    // index, item 0, would win). One user without training items holds out item 1.
    constexpr std::int64_t big = std::int64_t{1} << 24;
    const std::vector<std::int64_t> counts{big, big + 1, big + 1, big - 1};
    distmf::RatingMatrix train;
    train.row_start.push_back(train.nnz());  // no training items
    distmf::RatingMatrix test;
    test.columns.push_back(1);
    test.row_start.push_back(test.nnz());
    const RankingSums sums =
        distmf::rank_users(train, test, distmf::popularity_scorer(counts), 4, 1, 1);
    REQUIRE(sums.users == 1);
    CHECK(sums.precision.value() == 1.0);  // item 1 first (ties with item 2: lower index)
    // AUC: item 1 beats items 0 and 3 and ties item 2.
    CHECK(sums.auc.value() == Approx(2.5 / 3.0));
}
