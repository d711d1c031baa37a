#pragma once
/// @file tune_candidate.hpp
/// One candidate of a `distmf tune` search trained for one rung: its configuration (the base
/// with the candidate's settings), its training by the ordinary trainer inside its group of
/// ranks, resumed from and saved to its own checkpoint folder, and its figures: the validation
/// curve, the best value and the iteration it came at. A candidate is hopeless, and stopped at
/// once, when an evaluation is not finite, or (RMSE, MAE) from its second evaluation on worse
/// than predicting the training mean for every validation rating.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/search_space.hpp"
#include "distmf/train_state.hpp"
#include "distmf/tune_results.hpp"
#include "distmf/tune_schedule.hpp"

namespace distmf {

/// The validation metric of a search: which figure of an evaluation, and which way is better.
struct MetricChoice {
    TuneMetric metric = TuneMetric::rmse;  ///< never automatic
    std::string name;                      ///< "rmse", "ndcg", ...
    bool lower_is_better = true;
};

/// Local. --tune.metric, with automatic resolved (rmse; ndcg for implicit ALS).
MetricChoice metric_choice(const Config& config);

/// Local. The figure of `record` that `metric` names (NaN when it was not measured).
double metric_value(const IterationRecord& record, TuneMetric metric);

/// Collective: every rank of comm must call. The value of predicting the training mean for
/// every validation rating (dataset.test_ratings), for rmse and mae; NaN for ranking metrics.
/// Exact sums: the same for any number of ranks.
double baseline_value(const Communicator& comm, const Dataset& dataset, TuneMetric metric);

/// Local. The checkpoint folder of candidate `candidate`: <dir>/candidates/c000042.
std::string candidate_dir(const std::string& dir, std::int64_t candidate);

/// The candidates of a search: its plan (tune_schedule.hpp) and every candidate's settings.
struct Search {
    SearchPlan plan;
    std::vector<std::vector<Setting>> settings;  ///< by candidate number
};

/// Local. The search [tune] asks for over `space`: the rung ladder from --tune.max-iterations,
/// --tune.min-iterations and --tune.eta; grid: every combination of the space, one bracket;
/// random: --tune.candidates (or as many as fit --tune.budget) in the first bracket and
/// --tune.brackets brackets, candidate c drawn by random_candidate(space, --tune.seed, c).
/// Throws ConfigError when --tune.budget is too small for one candidate.
Search plan_candidates(const Config& config, const SearchSpace& space);

/// Local. Throws ConfigError, naming the candidate and its settings, unless every candidate's
/// configuration is valid at the first rung it trains in (checked alike on every rank before
/// any training, so that no group fails alone).
void check_candidates(const Config& config, const Search& search);

/// What every candidate of a search shares.
struct CandidateTraining {
    const Config& base;                  ///< the search's configuration (--config and [tune])
    const Communicator& group;           ///< the ranks that train a candidate together
    const Dataset& dataset;              ///< the group's share of the training and validation data
    std::uint64_t data_fingerprint = 0;  ///< of `dataset` (checkpoint.hpp): computed once
    MetricChoice metric;
    double baseline = 0.0;                       ///< baseline_value; NaN: no such test
    std::vector<std::vector<Setting>> settings;  ///< every candidate's, by candidate number
};

/// Local. The configuration candidate `candidate` trains with until `iterations`: the base
/// with its settings, checkpoints in candidate_dir (at the end and on a stop signal, plus
/// --checkpoint.every-seconds), no model or metrics file, BPMF keeping no samples (its running
/// sums give the figures; the refit keeps what --bpmf.keep-samples asks).
Config candidate_config(const CandidateTraining& training, std::int64_t candidate,
                        std::int64_t iterations);

/// Local. Whether the evaluations of `state` make the candidate hopeless (above).
bool is_hopeless(const CandidateTraining& training, const TrainState& state);

/// Collective: every rank of training.group must call. Trains candidate `candidate` (resuming
/// its checkpoint) until `iterations`, or until it is hopeless, and returns its result for
/// (bracket, rung); nullopt when a stop signal interrupted it (its checkpoint holds where).
std::optional<CandidateResult> train_candidate(const CandidateTraining& training,
                                               std::int64_t candidate, int bracket, int rung,
                                               std::int64_t iterations);

}  // namespace distmf
