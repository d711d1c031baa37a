#include "distmf/checkpoint.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "distmf/atomic_file.hpp"
#include "distmf/bpmf.hpp"
#include "distmf/checkpoint_folder.hpp"
#include "distmf/collective_section.hpp"
#include "distmf/dsgd.hpp"
#include "distmf/error.hpp"
#include "distmf/factor_views.hpp"
#include "distmf/fault_injection.hpp"
#include "distmf/hashing.hpp"
#include "distmf/model_io.hpp"

namespace distmf {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t history_columns = 7;
constexpr std::int64_t ranking_columns = 5;

/// Test-only fault injection: DISTMF_FAULT=abort-during-checkpoint[:N].
void inject_fault_if_requested(std::int64_t iteration) {
    const std::optional<std::string> argument = requested_fault("abort-during-checkpoint");
    if (!argument || (!argument->empty() && std::stoll(*argument) != iteration)) return;
    std::fprintf(stderr,
                 "distmf: DISTMF_FAULT: killing this rank while checkpoint %lld is "
                 "being written\n",
                 static_cast<long long>(iteration));
    std::fflush(stderr);
    std::raise(SIGKILL);
}

/// The option value of an enum, as --print-config writes it.
template <class Enum>
std::string option_text(Enum value) {
    std::ostringstream text;
    text << value;
    return text.str();
}

double effective_bias_lambda(const ModelConfig& model) {
    return model.bias_lambda < 0.0 ? model.lambda : model.bias_lambda;
}

/// The [ials] settings that change the model ("" for explicit ALS).
std::string implicit_description(const Config& config) {
    if (config.model.algorithm != Algorithm::ials) return "";
    std::ostringstream text;
    text.precision(17);
    text << "alpha " << config.ials.alpha << ", confidence " << config.ials.confidence
         << ", epsilon " << config.ials.epsilon << ", solver " << config.ials.solver
         << ", cg-steps " << config.ials.cg_steps;
    return text.str();
}

/// The [als] settings that change an explicit ALS model ("" for the other algorithms; a
/// Cholesky run is "solver cholesky", as checkpoints written before --als.solver have it).
std::string explicit_description(const Config& config) {
    if (config.model.algorithm != Algorithm::als) return "";
    std::ostringstream text;
    text << "solver " << config.als.solver;
    if (config.als.solver == LinearSolver::cg) text << ", cg-steps " << config.als.cg_steps;
    return text.str();
}

/// The [bpmf] settings of a run, as /state attributes ("" for the other algorithms).
struct BpmfState {
    double alpha = 0.0;
    double beta0 = 0.0;
    std::int64_t burn_in = -1;
    std::int64_t keep_samples = -1;  ///< -1: absent (an older version, which kept every sample)
    bool has_prediction_sums = false;
};

constexpr const char* train_sums_name = "bpmf_train_prediction_sums";
constexpr const char* test_sums_name = "bpmf_test_prediction_sums";

/// Collective. Writes every rank's prediction sums (its users' ratings, a range of the global
/// order: users ascending, within a user items ascending) as the 1-D dataset `name`.
void write_prediction_sums(const Communicator& comm, const H5Handle& group, const char* name,
                           const std::vector<double>& mine) {
    const auto count = static_cast<std::int64_t>(mine.size());
    write_checked_rows(comm, group, name, comm.all_reduce_sum(count), 0,
                       comm.exclusive_scan_sum(count), count, mine.data());
}

/// Collective. Reads the prediction sums `name` of /state: with `own_count` (this rank's
/// ratings), this rank's range of the global order, or nothing if the dataset does not have
/// the length of this run's ratings (other data: check_compatible refuses the checkpoint);
/// without, every entry.
std::vector<double> read_prediction_sums(const Communicator& comm, const H5Handle& file,
                                         const char* name, std::optional<std::int64_t> own_count) {
    const std::string path = std::string("state/") + name;
    if (!own_count) {
        return read_checked_share<double>(comm, file, path, 0, {0, dataset_rows(file, path)},
                                          ShareCoverage::whole);
    }
    const std::int64_t first = comm.exclusive_scan_sum(*own_count);
    if (dataset_rows(file, path) != comm.all_reduce_sum(*own_count)) return {};
    return read_checked_share<double>(comm, file, path, 0, {first, *own_count},
                                      ShareCoverage::partition);
}

/// The [dsgd] settings a DSGD run's results depend on, as /state attributes; `grid` is the
/// grid the epochs ran on (--dsgd.grid, or the one it chose), 0 in files of older versions.
struct DsgdState {
    std::string schedule;
    double step_size = 0.0;
    double grow = 0.0;
    double shrink = 0.0;
    double decay = 0.0;
    std::int64_t grid = 0;
};

/// Collective: every rank of comm must call. The grid of sub-blocks the DSGD epochs of this
/// run use (from this process's threads; the largest over the ranks, so that all agree).
std::int64_t run_dsgd_grid(const Communicator& comm, const Config& config, const Dataset& dataset) {
    const int threads = config.train.threads > 0 ? config.train.threads : omp_get_max_threads();
    return comm.all_reduce_max(std::int64_t{dsgd_grid_of_run(config, dataset, threads)});
}

void write_dsgd_settings(const H5Handle& group, const Config& config, std::int64_t grid) {
    write_string_attribute(group, "dsgd_schedule", option_text(config.dsgd.schedule));
    write_attribute<double>(group, "dsgd_step_size", config.dsgd.step_size);
    write_attribute<double>(group, "dsgd_grow", config.dsgd.grow);
    write_attribute<double>(group, "dsgd_shrink", config.dsgd.shrink);
    write_attribute<double>(group, "dsgd_decay", config.dsgd.decay);
    write_attribute<std::int64_t>(group, "dsgd_grid", grid);
}

DsgdState read_dsgd_settings(const H5Handle& group) {
    DsgdState dsgd;
    dsgd.schedule = read_string_attribute(group, "dsgd_schedule");
    dsgd.step_size = read_attribute<double>(group, "dsgd_step_size");
    dsgd.grow = read_attribute<double>(group, "dsgd_grow");
    dsgd.shrink = read_attribute<double>(group, "dsgd_shrink");
    dsgd.decay = read_attribute<double>(group, "dsgd_decay");
    dsgd.grid = read_attribute<std::int64_t>(group, "dsgd_grid");
    return dsgd;
}

/// Collective. Writes a pair of tables (users, items; every rank its blocks' rows) as datasets
/// `names[0]` and `names[1]` of `group`.
void write_table_pair(const Communicator& comm, const H5Handle& group, const Dataset& dataset,
                      const FactorTable& users, const FactorTable& items,
                      const std::array<const char*, 2>& names) {
    const int rank = comm.rank();
    for (const bool user_side : {true, false}) {
        const FactorTable& table = user_side ? users : items;
        const BlockPartition& blocks = user_side ? dataset.user_blocks : dataset.item_blocks;
        const std::vector<std::int64_t>& ids = user_side ? dataset.user_ids : dataset.item_ids;
        write_checked_rows(comm, group, user_side ? names[0] : names[1],
                           static_cast<std::int64_t>(ids.size()), table.width(), blocks.first(rank),
                           blocks.size(rank),
                           table.row_span(blocks.first(rank), blocks.size(rank)).data());
    }
}

void write_state(const Communicator& comm, const H5Handle& file, const Config& config,
                 const Dataset& dataset, const TrainState& state, std::uint64_t fingerprint) {
    const H5Handle group = create_group(file, "state");
    write_attribute<std::int64_t>(group, "users_half_done", state.users_half_done ? 1 : 0);
    write_attribute<std::int64_t>(group, "best_iteration", state.best_iteration);
    write_attribute<std::int64_t>(group, "stopped_early", state.stopped_early ? 1 : 0);
    write_attribute<std::int64_t>(group, "eval_every", config.eval.every);
    write_attribute<std::uint64_t>(group, "data_fingerprint", fingerprint);
    write_attribute<std::uint64_t>(group, "data_seed", config.data.seed);
    write_attribute<double>(group, "lambda", config.model.lambda);
    write_attribute<double>(group, "bias_lambda", effective_bias_lambda(config.model));
    write_string_attribute(group, "regularization", option_text(config.model.regularization));
    write_attribute<std::int64_t>(group, "sub_epochs_done", state.sub_epochs_done);
    write_attribute<double>(group, "step_size", state.step_size);
    std::vector<double> history;
    for (const IterationRecord& r : state.history) {
        history.insert(history.end(), {static_cast<double>(r.iteration), r.train_rmse, r.test_rmse,
                                       r.test_mae, r.objective, r.seconds, r.elapsed_seconds});
    }
    const auto n_records = static_cast<std::int64_t>(state.history.size());
    write_checked_rows(comm, group, "history", n_records, history_columns, 0,
                       comm.rank() == 0 ? n_records : 0, history.data());
    std::vector<double> ranking;
    for (const IterationRecord& r : state.history) {
        ranking.insert(ranking.end(),
                       {r.test_precision, r.test_recall, r.test_ndcg, r.test_map, r.test_auc});
    }
    write_checked_rows(comm, group, "ranking_history", n_records, ranking_columns, 0,
                       comm.rank() == 0 ? n_records : 0, ranking.data());
    write_string_attribute(group, "implicit", implicit_description(config));
    write_string_attribute(group, "explicit", explicit_description(config));
    if (state.best_iteration > 0) {
        write_table_pair(comm, group, dataset, state.best_users, state.best_items,
                         {"best_users", "best_items"});
    }
    if (config.model.algorithm == Algorithm::dsgd) {
        write_dsgd_settings(group, config, run_dsgd_grid(comm, config, dataset));
        if (config.dsgd.schedule == StepSchedule::adaptive) {
            write_table_pair(comm, group, dataset, state.user_step_sums, state.item_step_sums,
                             {"dsgd_user_step_sums", "dsgd_item_step_sums"});
        }
    }
    if (config.model.algorithm != Algorithm::bpmf) return;
    write_attribute<double>(group, "bpmf_alpha", config.bpmf.alpha);
    write_attribute<double>(group, "bpmf_beta0", config.bpmf.beta0);
    write_attribute<std::int64_t>(group, "bpmf_burn_in", config.bpmf.burn_in);
    write_attribute<std::int64_t>(group, "bpmf_keep_samples", config.bpmf.keep_samples);
    write_attribute<std::int64_t>(group, "bpmf_samples", state.samples_averaged);
    if (state.samples_averaged > 0) {
        write_table_pair(comm, group, dataset, state.user_samples, state.item_samples,
                         {"user_samples", "item_samples"});
        write_prediction_sums(comm, group, train_sums_name, state.train_prediction_sums);
        write_prediction_sums(comm, group, test_sums_name, state.test_prediction_sums);
    }
}

/// A checkpoint as read back.
struct LoadedCheckpoint {
    Model model;
    TrainState state;
    std::uint64_t fingerprint = 0;
    std::uint64_t data_seed = 0;
    double lambda = 0.0;
    double bias_lambda = 0.0;
    std::string regularization;
    std::string implicit;                     ///< implicit_description of the run that wrote it
    std::optional<std::string> explicit_als;  ///< its explicit_description (absent: older file)
    std::int64_t eval_every = 0;              ///< its --eval.every (0: written before the option)
    BpmfState bpmf;                 ///< the [bpmf] settings of the run that wrote it (BPMF only)
    std::optional<DsgdState> dsgd;  ///< its [dsgd] settings (DSGD; absent in older files)
};

/// Collective. Rows `rows` of the /state table `name` (k + biases columns) as a table whose
/// rows start at rows.first, verified as `coverage` says.
FactorTable state_table(const Communicator& comm, const H5Handle& file, const std::string& name,
                        RowRange rows, ShareCoverage coverage, int k, bool biases) {
    FactorTable table(rows.first, rows.count, k, biases);
    const std::vector<float> values =
        read_checked_share<float>(comm, file, name, table.width(), rows, coverage);
    std::copy(values.begin(), values.end(), table.values().data());
    return table;
}

/// The rows of each side a rank reads from a checkpoint: its own rows of `dataset`'s blocks
/// (null: every row). A checkpoint of another shape is read whole, for check_compatible to
/// refuse it by name.
ShareLayout checkpoint_layout(const ModelInfo& info, const Dataset* dataset) {
    if (dataset == nullptr || info.n_users != dataset->user_blocks.n_rows() ||
        info.n_items != dataset->item_blocks.n_rows()) {
        return whole_layout(info);
    }
    const int rank = dataset->rank;
    const BlockPartition& users = dataset->user_blocks;
    const BlockPartition& items = dataset->item_blocks;
    return {RowRange{users.first(rank), users.size(rank)}, ShareCoverage::partition,
            RowRange{items.first(rank), items.size(rank)}, ShareCoverage::partition};
}

/// Reads the BPMF part of /state: the [bpmf] settings, the samples kept and (this rank's share
/// of `dataset`'s ratings, or every one when null) the prediction sums.
void read_bpmf_state(const Communicator& comm, const H5Handle& file, const H5Handle& group,
                     const ShareLayout& rows, const Dataset* dataset, LoadedCheckpoint& loaded) {
    BpmfState& bpmf = loaded.bpmf;
    bpmf.alpha = read_attribute<double>(group, "bpmf_alpha");
    bpmf.beta0 = read_attribute<double>(group, "bpmf_beta0");
    bpmf.burn_in = read_attribute<std::int64_t>(group, "bpmf_burn_in");
    if (has_attribute(group, "bpmf_keep_samples")) {
        bpmf.keep_samples = read_attribute<std::int64_t>(group, "bpmf_keep_samples");
    }
    const std::int64_t samples = read_attribute<std::int64_t>(group, "bpmf_samples");
    loaded.state.samples_averaged = std::max<std::int64_t>(0, samples);
    if (samples <= 0) return;
    bpmf.has_prediction_sums = has_object(group, train_sums_name);
    if (bpmf.has_prediction_sums) {
        const bool own = dataset != nullptr && rows.user_coverage == ShareCoverage::partition;
        loaded.state.train_prediction_sums =
            read_prediction_sums(comm, file, train_sums_name,
                                 own ? std::optional(dataset->user_ratings.nnz()) : std::nullopt);
        loaded.state.test_prediction_sums =
            read_prediction_sums(comm, file, test_sums_name,
                                 own ? std::optional(dataset->test_ratings.nnz()) : std::nullopt);
    }
    // The samples kept: min(T, N), the mean's one with N = 0, every one in older versions.
    const std::int64_t kept = bpmf.keep_samples < 0    ? samples
                              : bpmf.keep_samples == 0 ? 1
                                                       : std::min(samples, bpmf.keep_samples);
    const ModelInfo& info = loaded.model.info;
    const auto width = static_cast<std::int64_t>(info.k) * kept;
    if (info.biases || width > std::numeric_limits<int>::max()) {
        throw InputError(file.file() + ": the BPMF samples do not fit the model");
    }
    loaded.state.user_samples = state_table(comm, file, "state/user_samples", rows.users,
                                            rows.user_coverage, static_cast<int>(width), false);
    loaded.state.item_samples = state_table(comm, file, "state/item_samples", rows.items,
                                            rows.item_coverage, static_cast<int>(width), false);
}

/// Throws InputError unless the history holds evaluated iterations (--eval.every) in ascending
/// order, none after state.iteration, among them the best one (--train.patience).
void check_history(const std::string& path, const TrainState& state) {
    std::int64_t previous = 0;
    bool has_best = state.best_iteration == 0;
    for (const IterationRecord& record : state.history) {
        if (record.iteration <= previous || record.iteration > state.iteration) {
            throw InputError(path + ": the history does not match the iteration count");
        }
        previous = record.iteration;
        has_best = has_best || record.iteration == state.best_iteration;
    }
    if (!has_best) throw InputError(path + ": the best iteration is not in the history");
}

/// Collective. Reads a checkpoint from the open file: of the factor tables (and the best and
/// BPMF sample tables), this rank's own rows of `dataset`'s blocks, or every row when null.
LoadedCheckpoint read_checkpoint(const Communicator& comm, const H5Handle& file,
                                 const Dataset* dataset) {
    LoadedCheckpoint loaded;
    ShareLayout rows;
    loaded.model = read_model_share(comm, file, [&](const ModelInfo& info) {
        rows = checkpoint_layout(info, dataset);
        return rows;
    });
    const ModelInfo& info = loaded.model.info;
    if (info.kind != "checkpoint") {
        throw InputError(file.file() + ": a " + info.kind + " file, not a checkpoint");
    }
    const H5Handle group = open_group(file, "state");
    TrainState& state = loaded.state;
    state.iteration = info.iteration;
    state.users_half_done = read_attribute<std::int64_t>(group, "users_half_done") != 0;
    state.best_iteration = read_attribute<std::int64_t>(group, "best_iteration");
    state.stopped_early = read_attribute<std::int64_t>(group, "stopped_early") != 0;
    loaded.fingerprint = read_attribute<std::uint64_t>(group, "data_fingerprint");
    loaded.data_seed = read_attribute<std::uint64_t>(group, "data_seed");
    loaded.lambda = read_attribute<double>(group, "lambda");
    loaded.bias_lambda = read_attribute<double>(group, "bias_lambda");
    loaded.regularization = read_string_attribute(group, "regularization");
    if (has_attribute(group, "step_size")) {  // written since DSGD (an ALS state has 0 and 0)
        state.sub_epochs_done = read_attribute<std::int64_t>(group, "sub_epochs_done");
        state.step_size = read_attribute<double>(group, "step_size");
    }
    const std::vector<double> history =
        read_checked_rows<double>(file, "state/history", history_columns, true);
    for (std::size_t row = 0; row + history_columns <= history.size(); row += history_columns) {
        const double* v = history.data() + row;
        state.history.push_back(
            {static_cast<std::int64_t>(v[0]), v[1], v[2], v[3], v[4], v[5], v[6]});
    }
    check_history(file.file(), state);
    if (has_object(group, "ranking_history")) {  // absent in checkpoints of older versions
        const std::vector<double> ranking =
            read_checked_rows<double>(file, "state/ranking_history", ranking_columns, true);
        if (ranking.size() != state.history.size() * ranking_columns) {
            throw InputError(file.file() + ": the ranking history does not match the history");
        }
        for (std::size_t i = 0; i < state.history.size(); ++i) {
            const double* v = ranking.data() + i * ranking_columns;
            IterationRecord& r = state.history[i];
            r.test_precision = v[0];
            r.test_recall = v[1];
            r.test_ndcg = v[2];
            r.test_map = v[3];
            r.test_auc = v[4];
        }
    }
    loaded.implicit =
        has_attribute(group, "implicit") ? read_string_attribute(group, "implicit") : "";
    if (has_attribute(group, "eval_every")) {
        loaded.eval_every = read_attribute<std::int64_t>(group, "eval_every");
    }
    if (has_attribute(group, "explicit")) {
        loaded.explicit_als = read_string_attribute(group, "explicit");
    }
    if (state.best_iteration > 0) {
        state.best_users = state_table(comm, file, "state/best_users", rows.users,
                                       rows.user_coverage, info.k, info.biases);
        state.best_items = state_table(comm, file, "state/best_items", rows.items,
                                       rows.item_coverage, info.k, info.biases);
    }
    if (has_attribute(group, "bpmf_samples")) {
        read_bpmf_state(comm, file, group, rows, dataset, loaded);
    }
    if (has_attribute(group, "dsgd_grid")) loaded.dsgd = read_dsgd_settings(group);
    if (loaded.dsgd && loaded.dsgd->schedule == "adaptive") {
        state.user_step_sums = state_table(comm, file, "state/dsgd_user_step_sums", rows.users,
                                           rows.user_coverage, 1, false);
        state.item_step_sums = state_table(comm, file, "state/dsgd_item_step_sums", rows.items,
                                           rows.item_coverage, 1, false);
    }
    state.users = std::move(loaded.model.users);
    state.items = std::move(loaded.model.items);
    return loaded;
}

/// Collective. Reads a checkpoint (this rank's own rows of `dataset`'s blocks, or every row
/// when null: read_checkpoint); every rank throws the same InputError if it is not usable.
LoadedCheckpoint load_checkpoint(const Communicator& comm, const std::string& path,
                                 const Dataset* dataset = nullptr) {
    LoadedCheckpoint loaded;
    std::optional<std::string> error;
    try {
        const H5Handle file = open_parallel_file(comm.get(), path);
        run_collective_section(
            comm, {"reading checkpoint '" + path + "'", SectionFailures::agreed_file_errors, ""},
            [&] {
                inject_io_error_if_requested("checkpoint-read");
                loaded = read_checkpoint(comm, file, dataset);
            });
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    return loaded;
}

/// `value` as text, as an option would take it.
template <class Value>
std::string number_text(Value value) {
    std::ostringstream text;
    text << value;
    return text.str();
}

/// "it has --<option> <written>, this run <wanted>", or nothing if they are equal.
template <class Value>
void compare_option(std::vector<std::string>& differences, const std::string& option, Value written,
                    Value wanted) {
    if (written != wanted) {
        differences.push_back("it has --" + option + " " + number_text(written) + ", this run " +
                              number_text(wanted));
    }
}

/// The differences in the penalties, [als], [ials] and [bpmf] settings and, for the algorithms that
/// draw from it after the start (DSGD, BPMF), --train.seed.
std::vector<std::string> model_differences(const LoadedCheckpoint& loaded, const Config& config) {
    std::vector<std::string> differences;
    compare_option(differences, "model.lambda", loaded.lambda, config.model.lambda);
    compare_option(differences, "model.bias-lambda", loaded.bias_lambda,
                   effective_bias_lambda(config.model));
    compare_option(differences, "model.regularization", loaded.regularization,
                   option_text(config.model.regularization));
    if (loaded.implicit != implicit_description(config)) {
        differences.push_back("it has the [ials] settings '" + loaded.implicit + "', this run '" +
                              implicit_description(config) + "'");
    }
    const Algorithm algorithm = config.model.algorithm;
    if (algorithm == Algorithm::als) {  // before --als.solver, explicit ALS used Cholesky
        const std::string written = loaded.explicit_als.value_or("solver cholesky");
        if (written != explicit_description(config)) {
            differences.push_back("it has the [als] settings '" + written + "', this run '" +
                                  explicit_description(config) + "'");
        }
    }
    if (algorithm == Algorithm::bpmf) {
        compare_option(differences, "bpmf.alpha", loaded.bpmf.alpha, config.bpmf.alpha);
        compare_option(differences, "bpmf.beta0", loaded.bpmf.beta0, config.bpmf.beta0);
        compare_option(differences, "bpmf.burn-in", loaded.bpmf.burn_in,
                       static_cast<std::int64_t>(config.bpmf.burn_in));
    }
    if (algorithm == Algorithm::bpmf || algorithm == Algorithm::dsgd) {
        compare_option(differences, "train.seed", loaded.model.info.seed, config.train.seed);
    }
    return differences;
}

/// What this run is: its number of ranks and, for DSGD, the grid its epochs use.
struct RunShape {
    int ranks = 1;
    std::int64_t dsgd_grid = 0;
};

/// The differences in what a DSGD run's epochs depend on: the number of ranks (the strata),
/// the grid and the [dsgd] step-size schedule (only the options the schedule uses).
std::vector<std::string> dsgd_differences(const LoadedCheckpoint& loaded, const Config& config,
                                          const RunShape& run) {
    const int comm_size = run.ranks;
    std::vector<std::string> differences;
    const std::int64_t written_ranks = loaded.model.info.ranks;
    if (written_ranks != comm_size) {
        differences.push_back("it was written by DSGD on " + number_text(written_ranks) +
                              " ranks, this run has " + number_text(comm_size) +
                              " (DSGD's strata depend on the number of ranks: resume on " +
                              number_text(written_ranks) + " ranks)");
    }
    if (!loaded.dsgd) return differences;  // a checkpoint of an older version
    const DsgdState& written = *loaded.dsgd;
    const DsgdConfig& wanted = config.dsgd;
    const std::int64_t grid = run.dsgd_grid;
    if (written.grid != grid) {
        differences.push_back(
            "it ran DSGD with --dsgd.grid " + number_text(written.grid) + ", this run " +
            number_text(grid) +
            (wanted.grid > 0 ? std::string()
                             : " (--dsgd.grid 0 chooses it from the threads and the block size; "
                               "--dsgd.grid " +
                                   number_text(written.grid) + " resumes bitwise)"));
    }
    compare_option(differences, "dsgd.schedule", written.schedule, option_text(wanted.schedule));
    if (written.schedule != "adaptive" && wanted.schedule == StepSchedule::adaptive) {
        differences.back() += " (its rows have no step accumulators: they would start afresh)";
    }
    compare_option(differences, "dsgd.step-size", written.step_size, wanted.step_size);
    if (written.schedule != option_text(wanted.schedule)) return differences;
    if (wanted.schedule == StepSchedule::bold_driver) {
        compare_option(differences, "dsgd.grow", written.grow, wanted.grow);
        compare_option(differences, "dsgd.shrink", written.shrink, wanted.shrink);
    }
    if (wanted.schedule == StepSchedule::inverse_decay) {
        compare_option(differences, "dsgd.decay", written.decay, wanted.decay);
    }
    return differences;
}

/// Why a BPMF checkpoint past its burn-in cannot continue this run, if it cannot: it keeps
/// other samples than --bpmf.keep-samples asks for, or it was written before the running
/// sums of the predictions (by a version that kept every sample).
std::optional<std::string> bpmf_refusal(const BpmfState& bpmf, const TrainState& state,
                                        const Config& config) {
    if (state.samples_averaged == 0) return std::nullopt;  // burn-in: nothing kept yet
    if (!bpmf.has_prediction_sums) {
        return std::string(
            "it was written by an older distmf, which kept every BPMF sample and no running "
            "sums of the predictions (continue it with that version, or start afresh with "
            "--checkpoint.resume never)");
    }
    if (bpmf.keep_samples != config.bpmf.keep_samples) {
        return "it has --bpmf.keep-samples " + number_text(bpmf.keep_samples) + ", this run " +
               number_text(config.bpmf.keep_samples) +
               " (the samples it kept cannot make the other model: resume with "
               "--bpmf.keep-samples " +
               number_text(bpmf.keep_samples) + ")";
    }
    return std::nullopt;
}

/// Throws ConfigError naming the first difference that forbids resuming `loaded` in this run.
/// Differences --checkpoint.force may override are then reported in one warning each.
void check_compatible(const LoadedCheckpoint& loaded, const std::string& path, const Config& config,
                      const Dataset& dataset, std::uint64_t fingerprint, const RunShape& run,
                      const Logger& log) {
    const ModelInfo& info = loaded.model.info;
    const int comm_size = run.ranks;
    const auto refuse = [&](const std::string& what) {
        throw ConfigError("cannot resume from " + path + ": " + what);
    };
    const std::string algorithm = option_text(config.model.algorithm);
    if (info.algorithm != algorithm) {
        refuse("it was written by --model.algorithm " + info.algorithm + ", this run " + algorithm +
               " (--model.init " + path + " starts from its factors instead)");
    }
    if (loaded.state.sub_epochs_done > 0 && info.ranks != comm_size) {
        refuse("it stopped inside a DSGD epoch on " + number_text(info.ranks) +
               " ranks, and only that number of ranks can finish the epoch (resume on " +
               number_text(info.ranks) + " ranks, or from a checkpoint taken between epochs)");
    }
    if (info.k != config.model.rank) {
        refuse("it has --model.rank " + number_text(info.k) + ", this run " +
               number_text(config.model.rank));
    }
    if (info.biases != config.model.biases) {
        refuse(std::string("it has --model.biases ") + (info.biases ? "true" : "false") +
               ", this run " + (config.model.biases ? "true" : "false"));
    }
    if (loaded.data_seed != config.data.seed) {
        refuse("it has --data.seed " + number_text(loaded.data_seed) + ", this run " +
               number_text(config.data.seed));
    }
    if (loaded.fingerprint != fingerprint || loaded.model.user_ids != dataset.user_ids ||
        loaded.model.item_ids != dataset.item_ids) {
        refuse("the training data differs (another file, split or test set)");
    }
    if (config.model.algorithm == Algorithm::bpmf) {
        if (const auto refusal = bpmf_refusal(loaded.bpmf, loaded.state, config)) refuse(*refusal);
    }
    if (loaded.eval_every > 0 && loaded.eval_every != config.eval.every) {
        log.info("evaluations follow --eval.every " + number_text(config.eval.every) +
                 " from here (multiples of it, and the last iteration); " + path +
                 " was written with --eval.every " + number_text(loaded.eval_every));
    }
    std::vector<std::string> differences = model_differences(loaded, config);
    if (config.model.algorithm == Algorithm::dsgd) {
        for (std::string& difference : dsgd_differences(loaded, config, run)) {
            differences.push_back(std::move(difference));
        }
    }
    if (differences.empty()) return;
    if (!config.checkpoint.force) {
        refuse(differences.front() + " (--checkpoint.force resumes anyway)");
    }
    for (const std::string& difference : differences) {
        log.warn("resuming from " + path + " although " + difference +
                 " (--checkpoint.force): the result is not that of an uninterrupted run of "
                 "either setting");
    }
}

}  // namespace

std::uint64_t data_fingerprint(const Communicator& comm, const Dataset& dataset,
                               std::uint64_t data_seed) {
    std::uint64_t sum = 0;
    for (const bool test : {false, true}) {
        const RatingMatrix& ratings = test ? dataset.test_ratings : dataset.user_ratings;
        for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
            const auto user = static_cast<std::uint64_t>(
                dataset.user_ids[static_cast<std::size_t>(ratings.first_row + row)]);
            const auto columns = ratings.row_columns(row);
            const auto values = ratings.row_values(row);
            for (std::size_t e = 0; e < columns.size(); ++e) {
                std::uint32_t bits = 0;
                std::memcpy(&bits, &values[e], sizeof bits);
                const auto item = static_cast<std::uint64_t>(
                    dataset.item_ids[static_cast<std::size_t>(columns[e])]);
                sum += hash_keys(test ? 2 : 1, user, item, bits);
            }
        }
    }
    return hash_keys(comm.all_reduce_sum(sum), data_seed);
}

void prepare_checkpoint_dir(const Communicator& comm, const std::string& dir) {
    std::optional<std::string> error;
    if (comm.rank() == 0) {
        std::error_code code;
        fs::create_directories(dir, code);
        if (code || !fs::is_directory(dir)) {
            error = "cannot create checkpoint folder '" + dir + "': " + code.message();
        } else {
            for (const auto& entry : fs::directory_iterator(dir, code)) {
                const std::string file = entry.path().filename().string();
                const std::string tmp = ".tmp";
                const bool temporary =
                    file.size() > tmp.size() &&
                    file.compare(file.size() - tmp.size(), tmp.size(), tmp) == 0 &&
                    parse_checkpoint_file_name(file.substr(0, file.size() - tmp.size()));
                // A folder (or a device) under a name checkpoints are written to would fail
                // only when that checkpoint is written: refuse it before training.
                if ((temporary || parse_checkpoint_file_name(file)) && !entry.is_regular_file()) {
                    error = "'" + entry.path().string() +
                            "' is in the way of the checkpoints: it has a checkpoint's name but "
                            "is not a file (remove or rename it)";
                    break;
                }
                if (temporary) {
                    std::printf("removing %s, left by an interrupted checkpoint\n",
                                entry.path().string().c_str());
                    fs::remove(entry.path(), code);
                }
            }
        }
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
}

ModelInfo run_model_info(const Communicator& comm, const Config& config, const Dataset& dataset,
                         std::int64_t iteration, const std::string& kind) {
    ModelInfo info;
    info.kind = kind;
    info.algorithm = option_text(config.model.algorithm);
    info.k = config.model.rank;
    info.biases = config.model.biases;
    info.iteration = iteration;
    info.seed = config.train.seed;
    info.config = effective_ini(config, Command::train);
    info.global_mean = uses_global_mean(config.model) ? dataset.summary.mean_rating : 0.0;
    info.rating_min = dataset.summary.min_rating;
    info.rating_max = dataset.summary.max_rating;
    std::string created = utc_timestamp();
    comm.broadcast(created);  // attribute values must agree on every rank
    info.created = created;
    return info;
}

std::string save_checkpoint(const Communicator& comm, const Config& config, const Dataset& dataset,
                            const TrainState& state, std::uint64_t fingerprint) {
    const std::string& dir = config.checkpoint.dir;
    const CheckpointName name = checkpoint_name_of(state);
    const std::string path = (fs::path(dir) / checkpoint_file_name(name)).string();
    const ModelInfo info = run_model_info(comm, config, dataset, state.iteration, "checkpoint");
    save_model(comm, path, info,
               ModelView{dataset.user_ids, dataset.item_ids, state.users, state.items,
                         dataset.user_blocks, dataset.item_blocks, nullptr, nullptr},
               [&](const H5Handle& file) {
                   write_state(comm, file, config, dataset, state, fingerprint);
                   inject_fault_if_requested(state.iteration);
               });
    return path;
}

/// Local. A resumed state holds this rank's own rows only, as training does (the checkpoint
/// holds every row, in global order, so any number of ranks can take theirs; each rank has
/// read only its own, so this only checks the tables' extent).
ResumedState own_rows_state(TrainState state, const Dataset& dataset, const std::string& path) {
    for (FactorTable* table :
         {&state.users, &state.best_users, &state.user_samples, &state.user_step_sums}) {
        if (table->rows() > 0) *table = own_rows_of(*table, dataset.user_blocks, dataset.rank);
    }
    for (FactorTable* table :
         {&state.items, &state.best_items, &state.item_samples, &state.item_step_sums}) {
        if (table->rows() > 0) *table = own_rows_of(*table, dataset.item_blocks, dataset.rank);
    }
    return ResumedState{std::move(state), path};
}

std::optional<ResumedState> resume_from_checkpoint(const Communicator& comm, const Config& config,
                                                   const Dataset& dataset,
                                                   std::uint64_t fingerprint, const Logger& log) {
    const std::string& resume = config.checkpoint.resume;
    const std::string& dir = config.checkpoint.dir;
    RunShape run{comm.size(), 0};
    if (config.model.algorithm == Algorithm::dsgd) {
        run.dsgd_grid = run_dsgd_grid(comm, config, dataset);
    }
    if (resume == "never") {
        if (!dir.empty()) set_aside_later_checkpoints(comm, dir, std::nullopt, log);
        return std::nullopt;
    }
    if (resume != "auto") {
        LoadedCheckpoint loaded;
        try {
            loaded = load_checkpoint(comm, resume, &dataset);
        } catch (const InputError& e) {
            throw InputError(std::string("cannot resume: ") + e.what());
        }
        check_compatible(loaded, resume, config, dataset, fingerprint, run, log);
        if (!dir.empty())
            set_aside_later_checkpoints(comm, dir, checkpoint_name_of(loaded.state), log);
        return own_rows_state(std::move(loaded.state), dataset, resume);
    }
    if (dir.empty()) return std::nullopt;
    CheckpointListing listing = list_checkpoint_folder(comm, dir);
    for (const auto& [name, path] : listing.checkpoints) {
        LoadedCheckpoint loaded;
        try {
            loaded = load_checkpoint(comm, path, &dataset);
        } catch (const InputError& e) {
            const std::string aside = move_checkpoint_aside(comm, path, unusable_suffix);
            log.warn("unusable checkpoint " + path + " moved aside as " + aside + ": " + e.what());
            listing.unusable.push_back(fs::path(aside).filename().string());
            continue;
        }
        check_compatible(loaded, path, config, dataset, fingerprint, run, log);
        return own_rows_state(std::move(loaded.state), dataset, path);
    }
    if (!listing.unusable.empty())
        throw InputError(no_usable_checkpoint_message(dir, listing.unusable));
    return std::nullopt;
}

CheckpointSchedule::CheckpointSchedule(const Communicator& comm, const Config& config,
                                       const Dataset& dataset, std::uint64_t fingerprint,
                                       const TrainState& start, const Logger& log)
    : comm_(comm),
      config_(config),
      dataset_(dataset),
      fingerprint_(fingerprint),
      log_(log),
      active_(!config.checkpoint.dir.empty()),
      last_time_(MPI_Wtime()) {
    if (!active_) return;
    // The checkpoints this run may delete once it has written newer ones: those up to its
    // starting point (resume_from_checkpoint moved the later ones aside).
    const CheckpointName start_name = checkpoint_name_of(start);
    for (const auto& [name, path] :
         list_checkpoint_folder(comm, config.checkpoint.dir).checkpoints) {
        if (!is_later(name, start_name)) removable_.push_back(name);
    }
}

void CheckpointSchedule::remove_superseded(const CheckpointName& written) {
    if (std::none_of(removable_.begin(), removable_.end(),
                     [&](const CheckpointName& name) { return same_place(name, written); })) {
        removable_.push_back(written);
    }
    std::sort(removable_.begin(), removable_.end(),
              [](const CheckpointName& a, const CheckpointName& b) { return is_later(a, b); });
    std::vector<CheckpointName> kept;
    for (const CheckpointName& name : removable_) {
        if (is_later(name, written) || static_cast<int>(kept.size()) < config_.checkpoint.keep) {
            kept.push_back(name);
            continue;
        }
        if (comm_.rank() == 0) {
            std::error_code ignored;
            fs::remove(fs::path(config_.checkpoint.dir) / checkpoint_file_name(name), ignored);
        }
    }
    removable_ = std::move(kept);
    comm_.barrier();
}

void CheckpointSchedule::after_iteration(const TrainState& state) {
    if (!active_) return;
    const CheckpointConfig& c = config_.checkpoint;
    bool due = c.every > 0 && state.iteration % c.every == 0;
    if (c.every_seconds > 0.0) {
        double waited = MPI_Wtime() - last_time_;
        comm_.broadcast(waited);  // rank 0's clock decides for everyone
        due = due || waited >= c.every_seconds;
    }
    if (due) write_now(state);
}

std::string CheckpointSchedule::write_now(const TrainState& state) {
    if (!active_) return "";
    const CheckpointName name = checkpoint_name_of(state);
    const std::string path =
        (fs::path(config_.checkpoint.dir) / checkpoint_file_name(name)).string();
    if (last_written_ && same_place(*last_written_, name)) return path;
    const double start = MPI_Wtime();
    save_checkpoint(comm_, config_, dataset_, state, fingerprint_);
    remove_superseded(name);
    last_written_ = name;
    last_time_ = MPI_Wtime();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", last_time_ - start);
    log_.info("checkpoint " + path + " written in " + seconds + " s");
    return path;
}

std::string describe_checkpoint_state(const H5Handle& file) {
    const H5Handle group = open_group(file, "state");
    char text[512];
    std::snprintf(
        text, sizeof text,
        "state         user half-sweep of the next iteration done: %s\n"
        "              best iteration (patience): %lld, stopped early: %s\n"
        "              data fingerprint %016llx (--data.seed %llu)\n"
        "              lambda %g, bias-lambda %g, regularization %s\n",
        read_attribute<std::int64_t>(group, "users_half_done") != 0 ? "yes" : "no",
        static_cast<long long>(read_attribute<std::int64_t>(group, "best_iteration")),
        read_attribute<std::int64_t>(group, "stopped_early") != 0 ? "yes" : "no",
        static_cast<unsigned long long>(read_attribute<std::uint64_t>(group, "data_fingerprint")),
        static_cast<unsigned long long>(read_attribute<std::uint64_t>(group, "data_seed")),
        read_attribute<double>(group, "lambda"), read_attribute<double>(group, "bias_lambda"),
        read_string_attribute(group, "regularization").c_str());
    std::string description = text;
    if (has_attribute(group, "bpmf_samples")) {
        std::snprintf(text, sizeof text,
                      "              BPMF alpha %g, beta0 %g, burn-in %lld; samples averaged: %lld",
                      read_attribute<double>(group, "bpmf_alpha"),
                      read_attribute<double>(group, "bpmf_beta0"),
                      static_cast<long long>(read_attribute<std::int64_t>(group, "bpmf_burn_in")),
                      static_cast<long long>(read_attribute<std::int64_t>(group, "bpmf_samples")));
        description += text;
        if (has_attribute(group, "bpmf_keep_samples")) {
            description += ", keep-samples " +
                           std::to_string(read_attribute<std::int64_t>(group, "bpmf_keep_samples"));
        }
        description += "\n";
    }
    if (has_attribute(group, "step_size")) {
        std::snprintf(
            text, sizeof text,
            "              DSGD sub-epochs of the next epoch done: %lld, step size %.9g\n",
            static_cast<long long>(read_attribute<std::int64_t>(group, "sub_epochs_done")),
            read_attribute<double>(group, "step_size"));
        description += text;
    }
    if (has_attribute(group, "dsgd_grid")) {
        const DsgdState dsgd = read_dsgd_settings(group);
        std::snprintf(text, sizeof text,
                      "              DSGD grid %lld, schedule %s, step-size %g, grow %g, shrink "
                      "%g, decay %g, --train.seed %llu\n",
                      static_cast<long long>(dsgd.grid), dsgd.schedule.c_str(), dsgd.step_size,
                      dsgd.grow, dsgd.shrink, dsgd.decay,
                      static_cast<unsigned long long>(read_attribute<std::uint64_t>(file, "seed")));
        description += text;
    }
    return description;
}

std::string verify_checkpoint(const Communicator& comm, const std::string& path) {
    try {
        load_checkpoint(comm, path);
    } catch (const InputError& e) {
        return e.what();
    }
    return "ok";
}

}  // namespace distmf
