#include "distmf/bpmf.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "distmf/hashing.hpp"
#include "distmf/metrics.hpp"
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

TEST_CASE("add_sample keeps running sums of the predictions and the last N samples, or their mean",
          "[bpmf]") {
    const int keep = GENERATE(0, 2, 3, 10);
    INFO("--bpmf.keep-samples " << keep);
    const std::vector<LocalRating> ratings = small_ratings();
    const RatingMatrix train = user_rows(ratings, 0, 30);
    const RatingMatrix test = user_rows(ratings, 10, 20);  // a range of users, as on a rank
    TrainState state;
    state.users = FactorTable(0, 30, 2, false);
    state.items = FactorTable(20, 2, false);
    std::vector<std::int64_t> user_ids(30);
    std::vector<std::int64_t> item_ids(20);
    for (std::size_t i = 0; i < user_ids.size(); ++i) user_ids[i] = static_cast<std::int64_t>(i);
    for (std::size_t i = 0; i < item_ids.size(); ++i) item_ids[i] = static_cast<std::int64_t>(i);
    // predictions[t][u][i]: the prediction of sample t (no global mean).
    std::vector<std::vector<std::vector<double>>> predictions;
    std::vector<double> train_sums(static_cast<std::size_t>(train.nnz()), 0.0);
    FactorTable user_sum(30, 2, false);
    const int n_samples = 5;
    for (int t = 0; t < n_samples; ++t) {
        state.users.initialize(user_ids, 10 + static_cast<std::uint64_t>(t), 1.0F);
        state.items.initialize(item_ids, 20 + static_cast<std::uint64_t>(t), 1.0F);
        user_sum.values() += state.users.values();
        auto& p = predictions.emplace_back(30, std::vector<double>(20, 0.0));
        for (std::int64_t u = 0; u < 30; ++u) {
            for (std::int64_t i = 0; i < 20; ++i) {
                p[static_cast<std::size_t>(u)][static_cast<std::size_t>(i)] =
                    distmf::predict_rating(state.users, u, state.items, i, 0.0);
            }
        }
        for (std::int64_t row = 0; row < train.n_rows(); ++row) {
            const auto columns = train.row_columns(row);
            for (std::size_t e = 0; e < columns.size(); ++e) {
                train_sums[static_cast<std::size_t>(
                               train.row_start[static_cast<std::size_t>(row)]) +
                           e] +=
                    p[static_cast<std::size_t>(row)][static_cast<std::size_t>(columns[e])];
            }
        }
        distmf::add_sample(state, train, test, state.items, keep, 1 + t % 2);
        CHECK(state.samples_averaged == t + 1);
    }
    // The sums: the predictions added in sweep order, whatever the threads.
    CHECK(state.train_prediction_sums == train_sums);
    REQUIRE(state.test_prediction_sums.size() == static_cast<std::size_t>(test.nnz()));
    CHECK(state.test_prediction_sums.front() ==
          train_sums[static_cast<std::size_t>(train.row_start[10])]);  // user 10's first rating

    const distmf::BpmfModel model = distmf::bpmf_model(state, keep);
    CHECK_FALSE(model.users.has_bias());
    CHECK(distmf::model_differs_from_average(state, keep) == (keep == 0 || keep < n_samples));
    if (keep == 0) {  // the posterior mean factors, rank k
        CHECK(distmf::samples_kept(state) == 1);
        REQUIRE(model.users.k() == 2);
        for (std::int64_t u = 0; u < 30; ++u) {
            for (int c = 0; c < 2; ++c) {
                CHECK(model.users.values()(u, c) ==
                      Approx(user_sum.values()(u, c) / n_samples).margin(1e-6));
            }
        }
        return;
    }
    // The last S samples: a model of rank k S predicting the mean of their predictions.
    const int kept = std::min(keep, n_samples);
    CHECK(distmf::samples_kept(state) == kept);
    REQUIRE(model.users.k() == 2 * kept);
    REQUIRE(model.items.k() == 2 * kept);
    for (std::int64_t u = 0; u < 30; ++u) {
        for (std::int64_t i = 0; i < 20; ++i) {
            double mean = 0.0;
            for (int t = n_samples - kept; t < n_samples; ++t) {
                mean += predictions[static_cast<std::size_t>(t)][static_cast<std::size_t>(u)]
                                   [static_cast<std::size_t>(i)] /
                        kept;
            }
            CHECK(distmf::predict_rating(model.users, u, model.items, i, 3.5) ==
                  Approx(3.5 + mean).epsilon(1e-5));
        }
    }
    // In chronological order: the newest sample last.
    const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kept)));
    CHECK(model.users.values().rightCols(2) == state.users.values() * scale);
}

TEST_CASE("averaged_rating_errors of one sample's sums is rating_errors of that sample, bitwise",
          "[bpmf][metrics]") {
    const RatingMatrix ratings = user_rows(small_ratings(), 0, 30);
    FactorTable users(30, 3, false);
    FactorTable items(20, 3, false);
    std::vector<std::int64_t> ids(30);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    users.initialize(ids, 1, 1.0F);
    items.initialize(std::span(ids).first(20), 2, 1.0F);
    std::vector<double> sums(static_cast<std::size_t>(ratings.nnz()), 0.0);
    distmf::add_predictions(ratings, users, items, sums, 2);
    const distmf::RatingRange range{1.0, 5.0};
    const distmf::ErrorSums direct = distmf::rating_errors(ratings, users, items, 3.0, range, 1);
    const distmf::ErrorSums averaged =
        distmf::averaged_rating_errors(ratings, sums, 1, 3.0, range, 3);
    CHECK(averaged.count == direct.count);
    CHECK(averaged.squared.value() == direct.squared.value());
    CHECK(averaged.absolute.value() == direct.absolute.value());
    CHECK(averaged.squared_unclipped.value() == direct.squared_unclipped.value());
}
