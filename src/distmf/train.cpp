#include "distmf/train.hpp"

#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>

#include "distmf/als.hpp"
#include "distmf/atomic_file.hpp"
#include "distmf/bpmf.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/dsgd.hpp"
#include "distmf/error.hpp"
#include "distmf/factor_routing.hpp"
#include "distmf/factor_views.hpp"
#include "distmf/fault_injection.hpp"
#include "distmf/hashing.hpp"
#include "distmf/implicit_als.hpp"
#include "distmf/log.hpp"
#include "distmf/metrics.hpp"
#include "distmf/model_io.hpp"
#include "distmf/ranking.hpp"
#include "distmf/resources.hpp"
#include "distmf/row_moments.hpp"
#include "distmf/signals.hpp"
#include "distmf/warm_start.hpp"

namespace distmf {
namespace {

constexpr std::uint64_t user_init_stream = 1;
constexpr std::uint64_t item_init_stream = 2;

int thread_count(const Config& config) {
    return config.train.threads > 0 ? config.train.threads : omp_get_max_threads();
}

bool has_test_data(const Dataset& dataset) { return dataset.summary.n_test > 0; }

bool is_implicit(const Config& config) { return config.model.algorithm == Algorithm::ials; }

bool is_bpmf(const Config& config) { return config.model.algorithm == Algorithm::bpmf; }

/// Collective. One half-sweep of the configured algorithm in iteration `iteration`: solve (or,
/// BPMF, draw) this rank's rows of `solved` (its own block of `blocks`) against `fixed` (the
/// other side's rows that the columns of `ratings` index). Explicit ALS, implicit ALS and BPMF
/// differ only in the row solver. fixed_own / fixed_blocks: the other side's own rows on this
/// rank and its blocks (implicit ALS sums F^T F over every rank's rows). train_counts: the
/// training ratings of every global row of `solved` (BPMF's prior uses only rows that have
/// some). The rows are solved in `chunks`, which pass them on.
void half_sweep(const Communicator& comm, const Config& config, const RatingMatrix& ratings,
                const BlockPartition& blocks, const FactorTable& fixed,
                const FactorTable& fixed_own, const BlockPartition& fixed_blocks,
                const AlsSettings& settings, std::int64_t iteration, FactorTable& solved,
                std::span<const std::int64_t> train_counts, std::span<const std::int64_t> ids,
                const char* side, const RowChunks& chunks) {
    if (is_bpmf(config)) {
        const BpmfSettings bpmf = bpmf_settings(config, settings.global_mean, settings.threads);
        bpmf_half_sweep(comm, ratings, blocks, fixed, bpmf, iteration, solved, train_counts, ids,
                        side, chunks);
        return;
    }
    if (!is_implicit(config)) {
        als_half_sweep(comm, ratings, fixed, settings, solved, ids, side, chunks);
        return;
    }
    const ImplicitSettings implicit = implicit_settings(config.ials);
    const Eigen::MatrixXd gram = distributed_gram(comm, fixed_own, fixed_blocks, settings.threads);
    als_half_sweep(comm, ratings, implicit_row_solvers(fixed, gram, settings, implicit),
                   settings.threads, solved, ids, side, chunks);
}

/// The implicit figures of the iteration just completed (collective): the objective (weighted
/// squared error over every cell plus the penalty) and the ranking metrics of the test set.
/// `items` are the item rows this rank's users read (`views.items()` or one as wide as the
/// model), `own_items` this rank's own item rows.
void measure_implicit(const Communicator& comm, const Config& config, const Dataset& dataset,
                      const FactorViews& views, const FactorTable& users, const FactorTable& items,
                      const FactorTable& own_items, const AlsSettings& settings,
                      IterationRecord& record) {
    const Eigen::MatrixXd item_gram =
        distributed_gram(comm, own_items, dataset.item_blocks, settings.threads);
    const ExactSum loss = implicit_loss(views.user_ratings(), users, items, item_gram,
                                        implicit_settings(config.ials), settings.threads);
    record.train_rmse = std::numeric_limits<double>::quiet_NaN();
    record.objective += ExactSum::all_reduce(comm, loss).value();
    if (!has_test_data(dataset)) return;
    // Ranking scores every item: sharded, the item table is gathered for it (and freed).
    std::optional<FactorTable> gathered;
    if (views.item_routing().is_sharded()) {
        gathered = gather_all_rows(comm, own_items, dataset.item_blocks);
    }
    const FactorTable& all_items = gathered ? *gathered : items;
    const RankingMetrics ranking = all_reduce_ranking(
        comm, rank_users(dataset.user_ratings, dataset.test_ratings, model_scorer(users, all_items),
                         all_items.rows(), config.eval.k, settings.threads));
    record.test_precision = ranking.precision;
    record.test_recall = ranking.recall;
    record.test_ndcg = ranking.ndcg;
    record.test_map = ranking.map;
    record.test_auc = ranking.auc;
}

RatingRange training_range(const Dataset& dataset) {
    return RatingRange{dataset.summary.min_rating, dataset.summary.max_rating};
}

/// Fills the explicit figures of `record` from the global training and test errors; the
/// objective adds the squared training error (unclipped).
void record_errors(const ErrorMetrics& train, const ErrorMetrics& test, IterationRecord& record) {
    record.train_rmse = train.rmse;
    if (test.count > 0) {
        record.test_rmse = test.rmse;
        record.test_mae = test.mae;
    }
    record.objective += train.squared_unclipped;
}

/// Computes the figures of the model after an iteration (collective): `users` and `own_items`
/// are this rank's own rows of the model, `items` the item rows its users read (as laid out by
/// `views`). The objective is the squared training error plus the penalty; BPMF has no penalty
/// (its prior is learned), so its objective is the squared training error of the model alone.
IterationRecord measure(const Communicator& comm, const Config& config, const Dataset& dataset,
                        const FactorViews& views, const FactorTable& users,
                        const FactorTable& items, const FactorTable& own_items,
                        const AlsSettings& settings) {
    IterationRecord record;
    if (!is_bpmf(config)) {
        ExactSum penalty = penalty_sum(users, dataset.user_train_counts, users.first_row(),
                                       users.rows(), settings);
        penalty.add(penalty_sum(own_items, dataset.item_train_counts, own_items.first_row(),
                                own_items.rows(), settings));
        record.objective = ExactSum::all_reduce(comm, penalty).value();
    }
    if (is_implicit(config)) {
        measure_implicit(comm, config, dataset, views, users, items, own_items, settings, record);
        return record;
    }
    const RatingRange range = training_range(dataset);
    record_errors(
        all_reduce_errors(comm, rating_errors(views.user_ratings(), users, items,
                                              settings.global_mean, range, settings.threads)),
        all_reduce_errors(comm, rating_errors(views.test_ratings(), users, items,
                                              settings.global_mean, range, settings.threads)),
        record);
    return record;
}

/// measure() of the model `state` predicts with: its current tables, or with BPMF after its
/// burn-in the mean of the predictions of its T samples, from their running sums (O(nnz)).
IterationRecord measure_state(const Communicator& comm, const Config& config,
                              const Dataset& dataset, const FactorViews& views,
                              const TrainState& state, const AlsSettings& settings) {
    if (state.samples_averaged == 0) {
        return measure(comm, config, dataset, views, state.users, views.items(), state.items,
                       settings);
    }
    const auto errors = [&](const RatingMatrix& ratings, const std::vector<double>& sums) {
        return all_reduce_errors(
            comm,
            averaged_rating_errors(ratings, sums, state.samples_averaged, settings.global_mean,
                                   training_range(dataset), settings.threads));
    };
    IterationRecord record;
    record_errors(errors(views.user_ratings(), state.train_prediction_sums),
                  errors(views.test_ratings(), state.test_prediction_sums), record);
    return record;
}

/// measure() of the model BPMF writes (bpmf_model: the last samples kept or their mean),
/// whose item rows are passed to the readers for the occasion (they are k S wide).
IterationRecord measure_bpmf_model(const Communicator& comm, const Config& config,
                                   const Dataset& dataset, const FactorViews& views,
                                   const TrainState& state, const AlsSettings& settings) {
    const BpmfModel model = bpmf_model(state, config.bpmf.keep_samples);
    FactorTable items = views.item_routing().make_view(model.items);
    views.item_routing().exchange(comm, model.items, items);
    return measure(comm, config, dataset, views, model.users, items, model.items, settings);
}

/// The figure early stopping minimizes: the test RMSE, or minus the test NDCG (implicit).
double early_stop_score(const Config& config, const IterationRecord& record) {
    return is_implicit(config) ? -record.test_ndcg : record.test_rmse;
}

/// Whether the model after iteration `iteration` is evaluated: every --eval.every-th iteration
/// (counted from the start of training, whatever the resumes), and the last one.
bool is_evaluated(const Config& config, std::int64_t iteration) {
    return iteration % config.eval.every == 0 || iteration >= config.train.iterations;
}

/// The record of the evaluation of iteration `iteration` (one of state.history, which holds
/// the evaluated iterations in ascending order).
const IterationRecord& evaluation_of(const TrainState& state, std::int64_t iteration) {
    const auto found = std::lower_bound(
        state.history.begin(), state.history.end(), iteration,
        [](const IterationRecord& record, std::int64_t value) { return record.iteration < value; });
    if (found == state.history.end() || found->iteration != iteration) {
        throw Error(
            format_text("iteration %lld was not evaluated", static_cast<long long>(iteration)));
    }
    return *found;
}

/// The evaluations in state.history after iteration `iteration`.
std::int64_t evaluations_after(const TrainState& state, std::int64_t iteration) {
    return std::count_if(state.history.begin(), state.history.end(),
                         [iteration](const IterationRecord& r) { return r.iteration > iteration; });
}

/// The progress line of an iteration: its figures when it was `evaluated`, with ranking
/// metrics when there are any (implicit ALS, cut-off k), then its seconds; `suffix` ends it
/// (DSGD: the step size the epoch ran with; BPMF: the samples averaged).
std::string progress_line(const IterationRecord& r, bool evaluated, std::int64_t total,
                          double seconds_left, int k, const std::string& suffix) {
    std::string line = format_text("iter %3lld/%lld", static_cast<long long>(r.iteration),
                                   static_cast<long long>(total));
    if (!evaluated) {
        return line + format_text("  %.2f s  eta %.0f s", r.seconds, seconds_left) + suffix;
    }
    if (!std::isnan(r.train_rmse)) line += format_text("  train RMSE %.4f", r.train_rmse);
    if (!std::isnan(r.test_rmse))
        line += format_text("  test RMSE %.4f  MAE %.4f", r.test_rmse, r.test_mae);
    if (!std::isnan(r.test_ndcg)) {
        line += format_text("  test P@%d %.4f  R@%d %.4f  NDCG@%d %.4f  MAP@%d %.4f  AUC %.4f", k,
                            r.test_precision, k, r.test_recall, k, r.test_ndcg, k, r.test_map,
                            r.test_auc);
    }
    line +=
        format_text("  objective %.6g  %.2f s  eta %.0f s", r.objective, r.seconds, seconds_left);
    return line + suffix;
}

/// Rank 0's JSON-lines metrics file, one line per evaluated iteration (--eval.every):
/// rewritten from the state's history when training starts (so a resumed run's file holds
/// each evaluation exactly once), then appended to.
class MetricsFile {
  public:
    /// Collective: an open failure on rank 0 is an agreed InputError.
    MetricsFile(const Communicator& comm, const std::string& path,
                const std::vector<IterationRecord>& history) {
        std::optional<std::string> error;
        if (!path.empty() && comm.rank() == 0) {
            out_.open(path, std::ios::trunc);
            for (const IterationRecord& record : history) write(record);
            if (!out_) error = "cannot write metrics file '" + path + "'";
        }
        if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    }
    void write(const IterationRecord& record) {
        if (!out_.is_open()) return;
        out_ << metrics_json(record) << '\n' << std::flush;
    }

  private:
    std::ofstream out_;
};

/// Collective. One ALS iteration (BPMF: Gibbs sweep) from where `state` is (possibly after its
/// user half-sweep); false when the ranks agreed to stop between the half-sweeps. A BPMF sweep
/// after the burn-in adds its sample to the running sums and the samples kept.
bool alternating_iteration(const Communicator& comm, const Config& config, const Dataset& dataset,
                           const AlsSettings& settings, FactorViews& views, TrainState& state,
                           const StopCheck& stop_requested) {
    const std::int64_t iteration = state.iteration + 1;
    const int chunks = config.train.exchange_chunks;
    if (!state.users_half_done) {
        views.solve_and_publish_users(comm, state.users, chunks, [&](const RowChunks& solving) {
            half_sweep(comm, config, views.user_ratings(), dataset.user_blocks, views.items(),
                       state.items, dataset.item_blocks, settings, iteration, state.users,
                       dataset.user_train_counts, dataset.user_ids, "user", solving);
        });
        state.users_half_done = true;
        if (stop_requested()) return false;
    }
    views.solve_and_publish_items(comm, state.items, chunks, [&](const RowChunks& solving) {
        half_sweep(comm, config, views.item_ratings(), dataset.item_blocks, views.users(),
                   state.users, dataset.user_blocks, settings, iteration, state.items,
                   dataset.item_train_counts, dataset.item_ids, "item", solving);
    });
    state.users_half_done = false;
    if (is_bpmf(config) && iteration > config.bpmf.burn_in) {
        add_sample(state, views.user_ratings(), views.test_ratings(), views.items(),
                   config.bpmf.keep_samples, settings.threads);
    }
    return true;
}

/// The end of the progress line: DSGD's step size, BPMF's number of samples averaged.
std::string progress_suffix(const Config& config, const TrainState& state, double step_size) {
    if (config.model.algorithm == Algorithm::dsgd) return format_text("  step %.4g", step_size);
    if (!is_bpmf(config)) return "";
    const std::int64_t samples = state.samples_averaged;
    return samples == 0 ? std::string("  burn-in")
                        : format_text("  mean of %lld samples", static_cast<long long>(samples));
}

/// With --train.patience, after an evaluation (state.history.back()): keeps the best model so
/// far and decides an early stop after `patience` evaluations without improvement.
void track_best(const Config& config, TrainState& state, const Logger& log) {
    const std::int64_t patience = config.train.patience;
    const IterationRecord& record = state.history.back();
    const double best = state.best_iteration == 0
                            ? std::numeric_limits<double>::infinity()
                            : early_stop_score(config, evaluation_of(state, state.best_iteration));
    if (early_stop_score(config, record) < best) {
        state.best_iteration = state.iteration;
        state.best_users = state.users;
        state.best_items = state.items;
    } else if (evaluations_after(state, state.best_iteration) >= patience) {
        log.info(format_text(
            "early stop: test %s has not improved for %lld evaluations; keeping iteration %lld",
            is_implicit(config) ? "NDCG" : "RMSE", static_cast<long long>(patience),
            static_cast<long long>(state.best_iteration)));
        state.stopped_early = true;
    }
}

void check_outputs(const Communicator& comm, const Config& config) {
    check_writable_destinations(comm, {config.output.model, config.output.metrics});
}

void log_dataset(const Logger& log, const Dataset& dataset, int n_ranks, int threads) {
    const DatasetSummary& s = dataset.summary;
    log.info(format_text(
        "data: %lld users, %lld items, %lld train and %lld test ratings (mean %.4f); "
        "%d rank%s x %d thread%s, imbalance %.3f users / %.3f items",
        static_cast<long long>(s.n_users), static_cast<long long>(s.n_items),
        static_cast<long long>(s.n_train), static_cast<long long>(s.n_test), s.mean_rating, n_ranks,
        n_ranks == 1 ? "" : "s", threads, threads == 1 ? "" : "s", imbalance(s.train_by_user_block),
        imbalance(s.train_by_item_block)));
    // What the factor tables and DSGD's ring cost is measured, not predicted: train_model's
    // last lines.
    log.info(format_text("ingest %.2f s", dataset.timings.read_seconds +
                                              dataset.timings.map_seconds +
                                              dataset.timings.shuffle_seconds));
}

/// " and the user half-sweep of the next" / " and 2 sub-epochs of the next" / "".
std::string partial_iteration(const TrainState& state) {
    if (state.users_half_done) return " and the user half-sweep of the next";
    if (state.sub_epochs_done > 0) {
        return format_text(" and %lld sub-epoch%s of the next",
                           static_cast<long long>(state.sub_epochs_done),
                           state.sub_epochs_done == 1 ? "" : "s");
    }
    return "";
}

/// The starting state of a run that does not resume: seeded, then --model.init's rows.
TrainState starting_state(const Communicator& comm, const Config& config, const Dataset& dataset,
                          const Logger& log) {
    TrainState state = initial_state(config, dataset);
    if (config.model.init.empty()) return state;
    const WarmStartReport found = warm_start(
        comm, config.model.init, own_ids(dataset.user_ids, dataset.user_blocks, comm.rank()),
        own_ids(dataset.item_ids, dataset.item_blocks, comm.rank()), state);
    log.info(format_text("starting from %s: %lld of %lld users and %lld of %lld items found",
                         config.model.init.c_str(), static_cast<long long>(found.users_found),
                         static_cast<long long>(dataset.summary.n_users),
                         static_cast<long long>(found.items_found),
                         static_cast<long long>(dataset.summary.n_items)));
    return state;
}

/// Logs the final figures and writes --output.model (the best iteration with --train.patience).
void write_final_model(const Communicator& comm, const Config& config, const Dataset& dataset,
                       const TrainState& state, const Logger& log) {
    if (state.history.empty()) return;
    const bool keep_best = config.train.patience > 0 && state.best_iteration > 0;
    const IterationRecord& final_record =
        keep_best ? evaluation_of(state, state.best_iteration) : state.history.back();
    if (!std::isnan(final_record.test_ndcg)) {
        const int k = config.eval.k;
        log.info(format_text(
            "final: iteration %lld, test P@%d %.4f, R@%d %.4f, NDCG@%d %.4f, MAP@%d %.4f, AUC %.4f",
            static_cast<long long>(final_record.iteration), k, final_record.test_precision, k,
            final_record.test_recall, k, final_record.test_ndcg, k, final_record.test_map,
            final_record.test_auc));
    } else if (!std::isnan(final_record.test_rmse)) {
        log.info(format_text("final: iteration %lld, test RMSE %.4f, MAE %.4f",
                             static_cast<long long>(final_record.iteration), final_record.test_rmse,
                             final_record.test_mae));
    } else if (is_implicit(config)) {
        log.info(format_text("final: iteration %lld, objective %.6g",
                             static_cast<long long>(final_record.iteration),
                             final_record.objective));
    } else {
        log.info(format_text("final: iteration %lld, train RMSE %.4f",
                             static_cast<long long>(final_record.iteration),
                             final_record.train_rmse));
    }
    if (config.output.model.empty()) return;
    const double start = MPI_Wtime();
    const auto save = [&](const FactorTable& users, const FactorTable& items) {
        ModelInfo info = run_model_info(comm, config, dataset, final_record.iteration, "model");
        info.k = users.k();  // BPMF: k times the samples kept
        save_model(
            comm, config.output.model, info,
            ModelView{dataset.user_ids, dataset.item_ids, users, items, dataset.user_blocks,
                      dataset.item_blocks, &dataset.user_ratings, &dataset.item_train_counts});
    };
    if (keep_best) {
        save(state.best_users, state.best_items);
    } else if (state.samples_averaged > 0) {
        const BpmfModel model = bpmf_model(state, config.bpmf.keep_samples);
        save(model.users, model.items);
    } else {
        save(state.users, state.items);
    }
    log.info(format_text("model written to %s (%.2f s)", config.output.model.c_str(),
                         MPI_Wtime() - start));
}

}  // namespace

TrainState initial_state(const Config& config, const Dataset& dataset) {
    TrainState state;
    const int rank = dataset.rank;
    const int k = config.model.rank;
    const bool biases = config.model.biases;
    state.users = own_rows_table(dataset.user_blocks, rank, k, biases);
    state.items = own_rows_table(dataset.item_blocks, rank, k, biases);
    const auto scale = static_cast<float>(config.train.init_scale);
    state.users.initialize(own_ids(dataset.user_ids, dataset.user_blocks, rank),
                           hash_keys(config.train.seed, user_init_stream), scale);
    state.items.initialize(own_ids(dataset.item_ids, dataset.item_blocks, rank),
                           hash_keys(config.train.seed, item_init_stream), scale);
    state.step_size = config.dsgd.step_size;
    return state;
}

std::string metrics_json(const IterationRecord& record) {
    const auto number = [](double value) {
        return std::isfinite(value) ? format_text("%.17g", value) : std::string("null");
    };
    return "{\"iteration\":" + std::to_string(record.iteration) +
           ",\"train_rmse\":" + number(record.train_rmse) +
           ",\"test_rmse\":" + number(record.test_rmse) +
           ",\"test_mae\":" + number(record.test_mae) +
           ",\"test_precision\":" + number(record.test_precision) +
           ",\"test_recall\":" + number(record.test_recall) +
           ",\"test_ndcg\":" + number(record.test_ndcg) +
           ",\"test_map\":" + number(record.test_map) + ",\"test_auc\":" + number(record.test_auc) +
           ",\"objective\":" + number(record.objective) + ",\"seconds\":" + number(record.seconds) +
           ",\"elapsed_seconds\":" + number(record.elapsed_seconds) + "}";
}

TrainOutcome train_model(const Communicator& comm, const Config& config, const Dataset& dataset,
                         TrainState& state, const Logger& log, double run_start,
                         const IterationHook& after_iteration, const StopCheck& stop_check) {
    const StopCheck stop_requested =
        stop_check ? stop_check : [&comm] { return stop_agreed(comm); };
    const AlsSettings settings =
        als_settings(config, uses_global_mean(config.model) ? dataset.summary.mean_rating : 0.0,
                     thread_count(config));
    const std::int64_t total = config.train.iterations;
    std::optional<DsgdTrainer> dsgd;
    if (config.model.algorithm == Algorithm::dsgd) {
        dsgd.emplace(comm.rank(), comm.size(), config, dataset, settings);
        dsgd->prepare(state);
    }
    // The views of the other sides' rows (DSGD reads only the items, for its metrics).
    FactorViews views(comm, dataset, config.train.factors, state.users, state.items, !dsgd);
    if (!dsgd) views.publish_users(comm, state.users);
    views.publish_items(comm, state.items);
    MetricsFile metrics(comm, config.output.metrics, state.history);
    // Evaluates the model after iteration state.iteration (DSGD's views are published only
    // for this) and records it in the history and the metrics file.
    const auto evaluate = [&](IterationRecord& record, double start) {
        if (dsgd) views.publish_items(comm, state.items);
        const std::int64_t iteration = record.iteration;
        record = measure_state(comm, config, dataset, views, state, settings);
        record.iteration = iteration;
        record.seconds = comm.all_reduce_max(MPI_Wtime() - start);
        record.elapsed_seconds = comm.all_reduce_max(MPI_Wtime() - run_start);
        state.history.push_back(record);
        metrics.write(record);
    };
    const std::int64_t received_before = comm.traffic().received_bytes;
    double seconds_so_far = 0.0;
    std::int64_t iterations_run = 0;
    while (state.iteration < total && !state.stopped_early) {
        const double start = MPI_Wtime();
        const double step_size = state.step_size;
        const bool completed = dsgd ? dsgd->run_epoch(comm, state, stop_requested)
                                    : alternating_iteration(comm, config, dataset, settings, views,
                                                            state, stop_requested);
        if (!completed) return TrainOutcome::interrupted;
        ++state.iteration;
        IterationRecord record;
        record.iteration = state.iteration;
        const bool evaluated = is_evaluated(config, state.iteration);
        if (evaluated) {
            evaluate(record, start);
        } else {
            record.seconds = comm.all_reduce_max(MPI_Wtime() - start);
        }
        if (dsgd) dsgd->finish_epoch(state, evaluated);
        seconds_so_far += record.seconds;
        ++iterations_run;
        const double per_iteration = seconds_so_far / static_cast<double>(iterations_run);
        log.info(progress_line(record, evaluated, total,
                               per_iteration * static_cast<double>(total - state.iteration),
                               config.eval.k, progress_suffix(config, state, step_size)));
        if (evaluated && config.train.patience > 0 && has_test_data(dataset)) {
            track_best(config, state, log);
        }
        if (after_iteration) after_iteration(state);
        if (stop_requested()) return TrainOutcome::interrupted;
    }
    // The final model is always evaluated (unevaluated only when a resumed run had no
    // iteration left to run, e.g. with a smaller --train.iterations).
    if (state.iteration > 0 && !state.users_half_done && state.sub_epochs_done == 0 &&
        (state.history.empty() || state.history.back().iteration != state.iteration)) {
        IterationRecord record;
        record.iteration = state.iteration;
        evaluate(record, MPI_Wtime());
        log.info(progress_line(record, true, total, 0.0, config.eval.k, ""));
    }
    if (is_bpmf(config) && state.samples_averaged > 0 &&
        model_differs_from_average(state, config.bpmf.keep_samples)) {
        log.info(
            describe_bpmf_model(state, config.bpmf.keep_samples,
                                measure_bpmf_model(comm, config, dataset, views, state, settings)));
    }
    if (iterations_run > 0) {
        log.info(describe_factor_costs(comm, views, state.users, state.items,
                                       comm.traffic().received_bytes - received_before,
                                       iterations_run));
    }
    if (dsgd && iterations_run > 0) {
        log.info(describe_dsgd_counters(comm.all_gather(dsgd->counters()), settings.threads));
    }
    return TrainOutcome::finished;
}

CheckpointedTraining train_with_checkpoints(const Communicator& comm, const Config& config,
                                            const Dataset& dataset, std::uint64_t fingerprint,
                                            const Logger& log, double run_start,
                                            const IterationHook& after_iteration,
                                            const StopCheck& stop_check) {
    CheckpointedTraining run;
    TrainState& state = run.state;
    if (auto resumed = resume_from_checkpoint(comm, config, dataset, fingerprint, log)) {
        state = std::move(resumed->state);
        log.info(format_text("resuming from %s: %lld iteration%s done%s", resumed->path.c_str(),
                             static_cast<long long>(state.iteration),
                             state.iteration == 1 ? "" : "s", partial_iteration(state).c_str()));
        if (!config.model.init.empty()) {
            log.info("--model.init " + config.model.init + " is not used: the checkpoint wins");
        }
    } else {
        state = starting_state(comm, config, dataset, log);
    }
    CheckpointSchedule checkpoints(comm, config, dataset, fingerprint, state, log);
    run.outcome = train_model(
        comm, config, dataset, state, log, run_start,
        [&](const TrainState& s) {
            checkpoints.after_iteration(s);
            if (after_iteration) after_iteration(s);
        },
        stop_check);
    if (checkpoints.active()) run.checkpoint_path = checkpoints.write_now(state);
    return run;
}

int run_train_command(const Communicator& comm, const Config& config) {
    const double run_start = MPI_Wtime();
    install_stop_handlers();
    const Logger log(comm.rank());
    check_outputs(comm, config);
    if (!config.model.init.empty()) {
        check_warm_start_file(comm, config.model.init, config.model.rank, config.model.biases);
    }
    if (!config.checkpoint.dir.empty()) prepare_checkpoint_dir(comm, config.checkpoint.dir);
    const Dataset dataset = load_dataset(comm, config.data);
    if (requested_fault("stop-signal-after-ingest")) std::raise(SIGUSR1);  // test only
    const int threads = thread_count(config);
    warn_if_threads_share_cpus(comm, log, threads);
    log_dataset(log, dataset, comm.size(), threads);
    if (config.model.rank > std::min(dataset.summary.n_users, dataset.summary.n_items)) {
        log.warn(
            format_text("--model.rank %d exceeds the number of users (%lld) or items (%lld): "
                        "the extra factors can only fit noise",
                        config.model.rank, static_cast<long long>(dataset.summary.n_users),
                        static_cast<long long>(dataset.summary.n_items)));
    }
    const CheckpointedTraining run = train_with_checkpoints(
        comm, config, dataset, data_fingerprint(comm, dataset, config.data.seed), log, run_start);
    const TrainState& state = run.state;
    if (run.outcome == TrainOutcome::interrupted) {
        const int signal_number = comm.all_reduce_max(stop_signal());
        if (run.checkpoint_path.empty()) {
            log.info(
                format_text("stopped by signal %d after iteration %lld; no --checkpoint.dir, so "
                            "nothing was saved",
                            signal_number, static_cast<long long>(state.iteration)));
            return 128 + signal_number;
        }
        log.info(format_text(
            "stopped by signal %d: checkpoint %s holds %lld iteration%s%s; resume "
            "with --checkpoint.resume auto (exit code %d)",
            signal_number, run.checkpoint_path.c_str(), static_cast<long long>(state.iteration),
            state.iteration == 1 ? "" : "s", partial_iteration(state).c_str(), exit_checkpointed));
        return exit_checkpointed;
    }
    write_final_model(comm, config, dataset, state, log);
    const MemoryReport memory = peak_memory(comm);
    log.info(format_text("done in %.2f s; peak memory %.1f MB on the largest rank, %.1f MB in all",
                         comm.all_reduce_max(MPI_Wtime() - run_start),
                         static_cast<double>(memory.max_bytes) / 1e6,
                         static_cast<double>(memory.total_bytes) / 1e6));
    return 0;
}

}  // namespace distmf
