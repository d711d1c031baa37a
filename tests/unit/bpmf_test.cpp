#include "distmf/bpmf.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "distmf/hashing.hpp"
#include "distmf/train_state.hpp"

using distmf::FactorTable;
using distmf::GaussianPrior;
using distmf::LocalRating;
using distmf::RatingMatrix;
using distmf::TrainState;

namespace {

/// 30 users x 20 items, about half the cells rated 1..5 (a hash of the cell decides).
std::vector<LocalRating> small_ratings() {
    std::vector<LocalRating> ratings;
    for (std::int32_t user = 0; user < 30; ++user) {
        for (std::int32_t item = 0; item < 20; ++item) {
            const std::uint64_t bits = distmf::hash_keys(5, static_cast<std::uint64_t>(user),
                                                         static_cast<std::uint64_t>(item));
            if (bits % 2 == 0) {
                ratings.push_back({user, item, static_cast<float>(1 + (bits >> 8U) % 5)});
            }
        }
    }
    return ratings;
}

/// The users [first, first + count) of `ratings` as a by-user matrix.
RatingMatrix user_rows(const std::vector<LocalRating>& ratings, std::int64_t first,
                       std::int64_t count) {
    std::vector<LocalRating> mine;
    for (const LocalRating& r : ratings) {
        if (r.user >= first && r.user < first + count) mine.push_back(r);
    }
    distmf::BuildReport report;
    return distmf::build_rating_matrix(mine, distmf::RowField::user, first, count,
                                       distmf::DuplicatePolicy::error, report);
}

/// Draws the users of `blocks` (one matrix per block) against `items` with `threads` threads.
FactorTable draw_users(const std::vector<RatingMatrix>& blocks, const FactorTable& items,
                       const std::vector<std::int64_t>& ids, int threads) {
    const GaussianPrior prior{Eigen::VectorXd::Constant(3, 0.1),
                              Eigen::MatrixXd::Identity(3, 3) * 2.0};
    const distmf::BpmfSettings settings{1.5, 2.0, 77, 3.0, threads};
    const std::uint64_t stream = distmf::bpmf_half_sweep_stream(settings, 4, "user");
    FactorTable users(30, 3, false);
    for (const RatingMatrix& block : blocks) {
        REQUIRE(distmf::solve_rows(block,
                                   distmf::bpmf_row_samplers(items, prior, ids, settings, stream),
                                   threads, users) == -1);
    }
    return users;
}

}  // namespace

TEST_CASE("bpmf row draws depend on the row alone, not on blocks or threads", "[bpmf]") {
    const std::vector<LocalRating> ratings = small_ratings();
    FactorTable items(20, 3, false);
    std::vector<std::int64_t> item_ids(20);
    for (std::size_t i = 0; i < item_ids.size(); ++i) item_ids[i] = static_cast<std::int64_t>(i);
    items.initialize(item_ids, 9, 0.5F);
    std::vector<std::int64_t> user_ids(30);
    for (std::size_t i = 0; i < user_ids.size(); ++i) {
        user_ids[i] = 1000 + static_cast<std::int64_t>(i);
    }

    const FactorTable whole = draw_users({user_rows(ratings, 0, 30)}, items, user_ids, 1);
    const FactorTable split =
        draw_users({user_rows(ratings, 0, 11), user_rows(ratings, 11, 19)}, items, user_ids, 3);
    CHECK(whole.values() == split.values());
    CHECK(whole.values().allFinite());
    CHECK(whole.values().cwiseAbs().maxCoeff() > 0.0F);

    // Another external ID draws another sample for the same row.
    std::vector<std::int64_t> other_ids = user_ids;
    other_ids[4] = 4;
    const FactorTable other = draw_users({user_rows(ratings, 0, 30)}, items, other_ids, 1);
    CHECK(other.values().row(4) != whole.values().row(4));
    CHECK(other.values().row(5) == whole.values().row(5));
}

TEST_CASE("bpmf half-sweep streams differ by sweep, side and seed", "[bpmf]") {
    const distmf::BpmfSettings a{2.0, 2.0, 1, 0.0, 1};
    const distmf::BpmfSettings b{2.0, 2.0, 2, 0.0, 1};
    const std::uint64_t base = distmf::bpmf_half_sweep_stream(a, 3, "user");
    CHECK(base == distmf::bpmf_half_sweep_stream(a, 3, "user"));
    CHECK(base != distmf::bpmf_half_sweep_stream(a, 4, "user"));
    CHECK(base != distmf::bpmf_half_sweep_stream(a, 3, "item"));
    CHECK(base != distmf::bpmf_half_sweep_stream(b, 3, "user"));
}

TEST_CASE("the posterior mean of the samples predicts the mean of their predictions", "[bpmf]") {
    TrainState state;
    state.users = FactorTable(4, 2, false);
    state.items = FactorTable(3, 2, false);
    CHECK(distmf::sample_count(state) == 0);
    std::vector<std::vector<double>> predictions(4, std::vector<double>(3, 0.0));
    const int n_samples = 3;
    for (int t = 0; t < n_samples; ++t) {
        const std::vector<std::int64_t> user_ids{1, 2, 3, 4};
        const std::vector<std::int64_t> item_ids{7, 8, 9};
        state.users.initialize(user_ids, 10 + static_cast<std::uint64_t>(t), 1.0F);
        state.items.initialize(item_ids, 20 + static_cast<std::uint64_t>(t), 1.0F);
        for (std::int64_t u = 0; u < 4; ++u) {
            for (std::int64_t i = 0; i < 3; ++i) {
                predictions[static_cast<std::size_t>(u)][static_cast<std::size_t>(i)] +=
                    distmf::predict_rating(state.users, u, state.items, i, 0.0) / n_samples;
            }
        }
        distmf::keep_sample(state);
        CHECK(distmf::sample_count(state) == t + 1);
    }
    CHECK(state.user_samples.k() == 2 * n_samples);
    CHECK(state.user_samples.values().rightCols(2) == state.users.values());
    const distmf::PosteriorMean mean = distmf::posterior_mean(state);
    REQUIRE(mean.users.k() == 2 * n_samples);
    REQUIRE(mean.items.k() == 2 * n_samples);
    CHECK_FALSE(mean.users.has_bias());
    for (std::int64_t u = 0; u < 4; ++u) {
        for (std::int64_t i = 0; i < 3; ++i) {
            CHECK(
                distmf::predict_rating(mean.users, u, mean.items, i, 3.5) ==
                Approx(3.5 + predictions[static_cast<std::size_t>(u)][static_cast<std::size_t>(i)])
                    .epsilon(1e-5));
        }
    }
}
