#include "distmf/bpmf.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/log.hpp"
#include "distmf/row_moments.hpp"

namespace distmf {
namespace {

/// Keeps BPMF's streams apart from the other uses of --train.seed (initial factors).
constexpr std::uint64_t bpmf_stream_key = 0xB93F;

/// A row's draw from its conditional: X_i and y_i gathered like an ALS row, then sample_row.
class BpmfRowSampler final : public RowSolver {
  public:
    BpmfRowSampler(const FactorTable& fixed, const GaussianPrior& prior,
                   std::span<const std::int64_t> ids, const BpmfSettings& settings,
                   std::uint64_t stream)
        : fixed_(fixed), prior_(prior), ids_(ids), settings_(settings), stream_(stream) {}

    bool solve(const RatingMatrix& ratings, std::int64_t row,
               Eigen::Ref<Eigen::VectorXf> solution) override {
        gather_row_system(ratings, row, fixed_, settings_.global_mean, x_, y_);
        const std::int64_t id = ids_[static_cast<std::size_t>(ratings.first_row + row)];
        SplitMix64 random(hash_keys(stream_, static_cast<std::uint64_t>(id)));
        return sample_row(x_, y_, settings_.alpha, prior_, random, solution);
    }
    bool solves_empty_rows() const override { return true; }

  private:
    const FactorTable& fixed_;
    const GaussianPrior& prior_;
    std::span<const std::int64_t> ids_;
    const BpmfSettings& settings_;
    std::uint64_t stream_;
    RowMatrixXf x_;
    Eigen::VectorXf y_;
};

/// The table with `extra`'s values appended as columns to `samples`' (no biases).
FactorTable append_columns(const FactorTable& samples, const FactorTable& extra) {
    const int k_before = samples.rows() == extra.rows() ? samples.k() : 0;
    FactorTable joined(extra.first_row(), extra.rows(), k_before + extra.k(), false);
    if (k_before > 0) joined.values().leftCols(k_before) = samples.values();
    joined.values().rightCols(extra.k()) = extra.values().rightCols(extra.k());
    return joined;
}

/// Keeps `draw` in `kept` as sample t (1-based) as add_sample says.
void keep_draw(FactorTable& kept, const FactorTable& draw, std::int64_t t, int keep_samples) {
    if (t == 1) {
        kept = draw;  // the first sample, and the mean of one sample
        return;
    }
    if (keep_samples == 0) {
        kept.values() += (draw.values() - kept.values()) / static_cast<float>(t);
        return;
    }
    if (t <= keep_samples) {
        kept = append_columns(kept, draw);
        return;
    }
    const std::int64_t slot = (t - 1) % keep_samples;
    kept.values().middleCols(slot * draw.k(), draw.k()) = draw.values();
}

/// The last S samples of `kept` (column blocks of k, slot (t - 1) mod N holding sample t of
/// `t_last`) in chronological order, scaled by `scale`.
FactorTable chronological(const FactorTable& kept, int k, std::int64_t t_last, int keep_samples,
                          float scale) {
    FactorTable result(kept.first_row(), kept.rows(), kept.k(), false);
    const std::int64_t kept_samples = kept.k() / k;
    // Sample t_last - S + 1, the oldest kept, is in slot (t_last - S) mod N.
    const std::int64_t oldest = (t_last - kept_samples) % keep_samples;
    for (std::int64_t i = 0; i < kept_samples; ++i) {
        const std::int64_t slot = (oldest + i) % keep_samples;
        result.values().middleCols(i * k, k) = kept.values().middleCols(slot * k, k) * scale;
    }
    return result;
}

}  // namespace

BpmfSettings bpmf_settings(const Config& config, double global_mean, int threads) {
    return BpmfSettings{config.bpmf.alpha, config.bpmf.beta0,
                        hash_keys(config.train.seed, bpmf_stream_key), global_mean, threads};
}

std::uint64_t bpmf_half_sweep_stream(const BpmfSettings& settings, std::int64_t sweep,
                                     const char* side) {
    return hash_keys(settings.stream, static_cast<std::uint64_t>(sweep),
                     hash_bytes(0, side, std::strlen(side)));
}

RowSolverFactory bpmf_row_samplers(const FactorTable& fixed, const GaussianPrior& prior,
                                   std::span<const std::int64_t> ids, const BpmfSettings& settings,
                                   std::uint64_t stream) {
    return [&fixed, &prior, ids, &settings, stream]() -> std::unique_ptr<RowSolver> {
        return std::make_unique<BpmfRowSampler>(fixed, prior, ids, settings, stream);
    };
}

void bpmf_half_sweep(const Communicator& comm, const RatingMatrix& ratings,
                     const BlockPartition& blocks, const FactorTable& fixed,
                     const BpmfSettings& settings, std::int64_t sweep, FactorTable& sampled,
                     std::span<const std::int64_t> train_counts, std::span<const std::int64_t> ids,
                     const char* side, const RowChunks& chunks) {
    const std::uint64_t stream = bpmf_half_sweep_stream(settings, sweep, side);
    SplitMix64 prior_random(stream);
    const std::span<const std::int64_t> own_counts = train_counts.subspan(
        static_cast<std::size_t>(sampled.first_row()), static_cast<std::size_t>(sampled.rows()));
    const GaussianPrior prior =
        sample_prior(row_moments(comm, sampled, blocks, own_counts, settings.threads),
                     settings.beta0, prior_random);
    als_half_sweep(comm, ratings, bpmf_row_samplers(fixed, prior, ids, settings, stream),
                   settings.threads, sampled, ids, side, chunks);
}

void add_sample(TrainState& state, const RatingMatrix& train, const RatingMatrix& test,
                const FactorTable& items_read, int keep_samples, int threads) {
    const std::int64_t t = ++state.samples_averaged;
    for (auto [sums, ratings] : {std::pair{&state.train_prediction_sums, &train},
                                 std::pair{&state.test_prediction_sums, &test}}) {
        if (sums->size() != static_cast<std::size_t>(ratings->nnz())) {
            if (t != 1) throw Error("BPMF: the prediction sums do not match the ratings");
            sums->assign(static_cast<std::size_t>(ratings->nnz()), 0.0);
        }
        add_predictions(*ratings, state.users, items_read, *sums, threads);
    }
    keep_draw(state.user_samples, state.users, t, keep_samples);
    keep_draw(state.item_samples, state.items, t, keep_samples);
}

void add_predictions(const RatingMatrix& by_user, const FactorTable& users,
                     const FactorTable& items, std::span<double> sums, int threads) {
    constexpr std::size_t prefetch_distance = 8;
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(dynamic, 64)
    for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
        const std::int64_t user = by_user.first_row + row;
        const auto columns = by_user.row_columns(row);
        const auto first =
            static_cast<std::size_t>(by_user.row_start[static_cast<std::size_t>(row)]);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            if (e + prefetch_distance < columns.size()) {  // the item rows are random reads
                __builtin_prefetch(items.values().data() +
                                   columns[e + prefetch_distance] * items.width());
            }
            sums[first + e] +=
                static_cast<double>(users.factors(user).dot(items.factors(columns[e])));
        }
    }
}

std::int64_t samples_kept(const TrainState& state) {
    if (state.samples_averaged == 0 || state.users.k() == 0) return 0;
    return state.user_samples.k() / state.users.k();
}

bool model_differs_from_average(const TrainState& state, int keep_samples) {
    return keep_samples == 0 || state.samples_averaged > keep_samples;
}

BpmfModel bpmf_model(const TrainState& state, int keep_samples) {
    if (keep_samples == 0) return BpmfModel{state.user_samples, state.item_samples};
    const auto scale =
        static_cast<float>(1.0 / std::sqrt(static_cast<double>(samples_kept(state))));
    const int k = state.users.k();
    const std::int64_t t = state.samples_averaged;
    return BpmfModel{chronological(state.user_samples, k, t, keep_samples, scale),
                     chronological(state.item_samples, k, t, keep_samples, scale)};
}

std::string describe_bpmf_model(const TrainState& state, int keep_samples,
                                const IterationRecord& record) {
    const int k = state.users.k();
    const std::int64_t kept = samples_kept(state);
    std::string line =
        keep_samples == 0
            ? format_text("model file (the posterior mean factors, rank %d):", k)
            : format_text("model file (the last %lld of the samples, rank %lld):",
                          static_cast<long long>(kept), static_cast<long long>(kept * k));
    line += format_text(" train RMSE %.4f", record.train_rmse);
    if (!std::isnan(record.test_rmse)) {
        line += format_text(", test RMSE %.4f, MAE %.4f", record.test_rmse, record.test_mae);
    }
    return line + format_text(" (the figures above average the predictions of all %lld samples)",
                              static_cast<long long>(state.samples_averaged));
}

}  // namespace distmf
