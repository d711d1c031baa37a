#include "distmf/bpmf.hpp"

#include <cmath>
#include <cstring>
#include <memory>

#include "distmf/hashing.hpp"
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

FactorTable scaled(const FactorTable& table, float scale) {
    FactorTable result(table.first_row(), table.rows(), table.k(), false);
    result.values() = table.values() * scale;
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

std::int64_t sample_count(const TrainState& state) {
    if (state.users.k() == 0 || state.user_samples.rows() != state.users.rows()) return 0;
    return state.user_samples.k() / state.users.k();
}

void keep_sample(TrainState& state) {
    state.user_samples = append_columns(state.user_samples, state.users);
    state.item_samples = append_columns(state.item_samples, state.items);
}

PosteriorMean posterior_mean(const TrainState& state) {
    const auto scale =
        static_cast<float>(1.0 / std::sqrt(static_cast<double>(sample_count(state))));
    return PosteriorMean{scaled(state.user_samples, scale), scaled(state.item_samples, scale)};
}

}  // namespace distmf
