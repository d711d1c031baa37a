#include "distmf/tune_candidate.hpp"

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "distmf/checkpoint.hpp"
#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/log.hpp"
#include "distmf/signals.hpp"
#include "distmf/train.hpp"
#include "distmf/tune_schedule.hpp"

namespace distmf {
namespace {

namespace fs = std::filesystem;

/// The candidate's figures after training: its curve, best value and best iteration.
void record_curve(const CandidateTraining& training, const TrainState& state,
                  CandidateResult& result) {
    result.iterations = state.iteration;
    for (const IterationRecord& record : state.history) {
        const double value = metric_value(record, training.metric.metric);
        result.curve.push_back({record.iteration, value});
        const bool better =
            std::isnan(result.value) ||
            (training.metric.lower_is_better ? value < result.value : value > result.value);
        if (std::isfinite(value) && better) {
            result.value = value;
            result.best_iteration = record.iteration;
        }
    }
}

}  // namespace

MetricChoice metric_choice(const Config& config) {
    MetricChoice choice;
    choice.metric = config.tune.metric;
    if (choice.metric == TuneMetric::automatic) {
        choice.metric =
            config.model.algorithm == Algorithm::ials ? TuneMetric::ndcg : TuneMetric::rmse;
    }
    std::ostringstream name;
    name << choice.metric;
    choice.name = name.str();
    choice.lower_is_better = choice.metric == TuneMetric::rmse || choice.metric == TuneMetric::mae;
    return choice;
}

double metric_value(const IterationRecord& record, TuneMetric metric) {
    switch (metric) {
        case TuneMetric::automatic:
        case TuneMetric::rmse:
            return record.test_rmse;
        case TuneMetric::mae:
            return record.test_mae;
        case TuneMetric::ndcg:
            return record.test_ndcg;
        case TuneMetric::precision:
            return record.test_precision;
        case TuneMetric::recall:
            return record.test_recall;
        case TuneMetric::map:
            return record.test_map;
        case TuneMetric::auc:
            return record.test_auc;
    }
    return record.test_rmse;
}

double baseline_value(const Communicator& group, const Dataset& dataset, TuneMetric metric) {
    if (metric != TuneMetric::rmse && metric != TuneMetric::mae) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    ExactSum sum;
    const RatingMatrix& validation = dataset.test_ratings;
    for (std::int64_t row = 0; row < validation.n_rows(); ++row) {
        for (const float value : validation.row_values(row)) {
            const double error = static_cast<double>(value) - dataset.summary.mean_rating;
            sum.add(metric == TuneMetric::rmse ? error * error : std::abs(error));
        }
    }
    const double n = static_cast<double>(dataset.summary.n_test);
    const double total = ExactSum::all_reduce(group, sum).value();
    return metric == TuneMetric::rmse ? std::sqrt(total / n) : total / n;
}

std::string candidate_dir(const std::string& dir, std::int64_t candidate) {
    char name[32];
    std::snprintf(name, sizeof name, "c%06lld", static_cast<long long>(candidate));
    return (fs::path(dir) / "candidates" / name).string();
}

Config candidate_config(const CandidateTraining& training, std::int64_t candidate,
                        std::int64_t iterations) {
    Config config = config_with_settings(
        training.base, training.settings[static_cast<std::size_t>(candidate)], Command::train);
    config.train.iterations = static_cast<int>(iterations);
    config.checkpoint.dir = candidate_dir(training.base.tune.dir, candidate);
    config.checkpoint.every = 0;  // at the rung's end and on a stop signal (and by time)
    config.checkpoint.keep = 1;
    config.checkpoint.resume = "auto";
    config.output = OutputConfig{};
    config.bpmf.keep_samples = 0;  // BPMF: no samples in the checkpoints (the sums measure)
    return config;
}

bool is_hopeless(const CandidateTraining& training, const TrainState& state) {
    if (state.history.empty() || state.history.back().iteration != state.iteration) return false;
    const double value = metric_value(state.history.back(), training.metric.metric);
    if (!std::isfinite(value)) return true;
    return state.history.size() >= 2 && !std::isnan(training.baseline) && value > training.baseline;
}

std::optional<CandidateResult> train_candidate(const CandidateTraining& training,
                                               std::int64_t candidate, int bracket, int rung,
                                               std::int64_t iterations) {
    const Config config = candidate_config(training, candidate, iterations);
    validate(config, Command::train);
    prepare_checkpoint_dir(training.group, config.checkpoint.dir);
    const double start = MPI_Wtime();
    const Logger quiet(training.group.rank(), true);
    bool hopeless = false;
    CheckpointedTraining run;
    try {
        run = train_with_checkpoints(
            training.group, config, training.dataset, training.data_fingerprint, quiet, start,
            [&](const TrainState& state) { hopeless = hopeless || is_hopeless(training, state); },
            [&] { return stop_agreed(training.group) || hopeless; });
    } catch (const NumericalError&) {  // agreed by the group: diverged (DSGD) or singular
        hopeless = true;
        run.outcome = TrainOutcome::interrupted;
    }
    if (run.outcome == TrainOutcome::interrupted && !hopeless) return std::nullopt;
    CandidateResult result;
    result.candidate = candidate;
    result.bracket = bracket;
    result.rung = rung;
    result.hopeless = hopeless;
    result.seconds = training.group.all_reduce_max(MPI_Wtime() - start);
    record_curve(training, run.state, result);
    return result;
}

Search plan_candidates(const Config& config, const SearchSpace& space) {
    const TuneConfig& t = config.tune;
    const int max_iterations = t.max_iterations > 0 ? t.max_iterations : config.train.iterations;
    std::vector<std::int64_t> ladder = rung_ladder(max_iterations, t.min_iterations, t.eta);
    Search search;
    if (t.search == SearchMethod::grid) {
        search.settings = grid_candidates(space, t.grid_points, 100000);
        search.plan = plan_search(std::move(ladder),
                                  static_cast<std::int64_t>(search.settings.size()), t.eta, 1);
        return search;
    }
    std::int64_t candidates = t.candidates;
    if (t.budget > 0) {
        candidates = candidates_within_budget(ladder, t.budget, t.eta, t.brackets);
        if (candidates == 0) {
            throw ConfigError(format_text(
                "--tune.budget %lld: not even one candidate fits (one candidate trains %lld "
                "iterations per bracket)",
                static_cast<long long>(t.budget), static_cast<long long>(ladder.back())));
        }
    }
    search.plan = plan_search(std::move(ladder), candidates, t.eta, t.brackets);
    for (std::int64_t c = 0; c < search.plan.total_candidates; ++c) {
        search.settings.push_back(random_candidate(space, t.seed, c));
    }
    return search;
}

void check_candidates(const Config& config, const Search& search) {
    for (const BracketPlan& bracket : search.plan.brackets) {
        const std::int64_t n = bracket.rungs.front().candidates;
        for (std::int64_t c = bracket.first_candidate; c < bracket.first_candidate + n; ++c) {
            const std::vector<Setting>& settings = search.settings[static_cast<std::size_t>(c)];
            try {
                Config candidate = config_with_settings(config, settings, Command::train);
                candidate.train.iterations = static_cast<int>(bracket.rungs.front().iterations);
                validate(candidate, Command::train);
            } catch (const ConfigError& e) {
                throw ConfigError(format_text(
                    "candidate %lld (%s), trained for %lld iterations "
                    "in its first rung: %s",
                    static_cast<long long>(c), describe_settings(settings).c_str(),
                    static_cast<long long>(bracket.rungs.front().iterations), e.what()));
            }
        }
    }
}

}  // namespace distmf
