#include "distmf/tune.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>

#include "distmf/atomic_file.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/config_validation.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/hashing.hpp"
#include "distmf/log.hpp"
#include "distmf/search_space.hpp"
#include "distmf/signals.hpp"
#include "distmf/train.hpp"
#include "distmf/tune_candidate.hpp"
#include "distmf/tune_results.hpp"
#include "distmf/tune_schedule.hpp"

namespace distmf {
namespace {

namespace fs = std::filesystem;

/// Runs `body` on rank 0 only (file system work); a failure there is an agreed InputError.
template <class Body>
void on_rank_zero(const Communicator& comm, const Body& body) {
    std::string error;
    if (comm.rank() == 0) {
        try {
            body();
        } catch (const std::exception& e) {
            error = e.what();
            if (error.empty()) error = "failed";
        }
    }
    comm.broadcast(error);
    if (!error.empty()) throw InputError(error);
}

/// Ranks per candidate group: --tune.group-size, or one per 128 MiB of training file.
int group_size_of(const Communicator& world, const Config& config) {
    int size = config.tune.group_size;
    if (size == 0) {
        std::int64_t bytes = 0;
        std::error_code error;
        if (world.rank() == 0) {
            bytes = static_cast<std::int64_t>(fs::file_size(config.data.train, error));
        }
        world.broadcast(bytes);
        const std::int64_t per_rank = std::int64_t{128} << 20;
        size = static_cast<int>(
            std::clamp<std::int64_t>((bytes + per_rank - 1) / per_rank, 1, world.size()));
    }
    if (size > world.size()) {
        throw ConfigError("--tune.group-size: " + std::to_string(size) + " exceeds the " +
                          std::to_string(world.size()) + " ranks of this run");
    }
    return size;
}

/// The part of the configuration that fixes the search's results (not where it writes, not how
/// many ranks or threads run it).
std::string search_identity(const Config& config, const SearchSpace& space) {
    Config copy = config;
    const Config defaults;
    copy.output = defaults.output;
    copy.checkpoint = defaults.checkpoint;
    copy.train.threads = 0;
    copy.data.cache.clear();
    copy.data.test.clear();
    copy.tune.dir.clear();
    copy.tune.space.clear();
    copy.tune.group_size = 0;
    copy.tune.refit = false;
    return effective_ini(copy, Command::tune) + "\n" + space.canonical_text;
}

/// A search's ranks and what its candidates share.
struct SearchContext {
    const Communicator& world;
    const CandidateTraining& training;
};

/// Where the groups are: which one this rank is in, and each one's first world rank.
struct GroupLayout {
    int size = 1;   ///< ranks per group (the last one also takes the remainder)
    int count = 1;  ///< number of groups
    int mine = 0;   ///< this rank's group
    int leader(int group_index) const { return group_index * size; }
};

const CandidateResult* find_result(const std::vector<CandidateResult>& results,
                                   std::int64_t candidate, int bracket, int rung) {
    for (const CandidateResult& result : results) {
        if (result.candidate == candidate && result.bracket == bracket && result.rung == rung) {
            return &result;
        }
    }
    return nullptr;
}

std::string result_line(const SearchContext& context, const CandidateResult& r) {
    return format_text(
        "tune: bracket %d rung %d (%lld iterations) candidate %lld: %s %.6g at "
        "iteration %lld%s (%.2f s)  %s",
        r.bracket, r.rung, static_cast<long long>(r.iterations),
        static_cast<long long>(r.candidate), context.training.metric.name.c_str(), r.value,
        static_cast<long long>(r.best_iteration), r.hopeless ? ", hopeless" : "", r.seconds,
        describe_settings(context.training.settings[static_cast<std::size_t>(r.candidate)])
            .c_str());
}

/// World-collective. Trains the rung's candidates that have no result yet, dealt round-robin
/// to the groups, and appends their results in candidate order. False when a stop signal
/// interrupted it (the results of the candidates that finished are kept).
bool run_rung(const SearchContext& context, const GroupLayout& groups, int bracket,
              const RungPlan& rung, const std::vector<std::int64_t>& alive,
              std::vector<CandidateResult>& results, const Logger& log) {
    std::vector<std::string> finished(alive.size());
    bool stopped = false;
    // An agreed error of one group (a candidate's checkpoint that does not fit, ...) reaches
    // its ranks only: every rank meets here before the next collective, so the whole job ends
    // with it instead of the other groups waiting for this one's results.
    run_agreed(context.world, [&] {
        for (std::size_t j = 0; j < alive.size(); ++j) {
            if (static_cast<int>(j % static_cast<std::size_t>(groups.count)) != groups.mine) {
                continue;
            }
            if (find_result(results, alive[j], bracket, rung.rung) != nullptr) continue;
            stopped = stopped || stop_agreed(context.training.group);
            if (stopped) continue;
            const auto result =
                train_candidate(context.training, alive[j], bracket, rung.rung, rung.iterations);
            if (result) {
                finished[j] = serialize_result(*result);
            } else {
                stopped = true;
            }
        }
    });
    for (std::size_t j = 0; j < alive.size(); ++j) {
        if (find_result(results, alive[j], bracket, rung.rung) != nullptr) continue;
        std::string text = finished[j];
        context.world.broadcast(
            text, groups.leader(static_cast<int>(j % static_cast<std::size_t>(groups.count))));
        if (text.empty()) continue;
        results.push_back(parse_result(text, "a candidate's result"));
        log.info(result_line(context, results.back()));
    }
    return context.world.all_reduce_max(stopped ? 1 : 0) == 0;
}

/// Local. Promotes the best of a decided rung (none from a bracket's last rung) and sets the
/// statuses of its results.
std::vector<std::int64_t> decide_rung(const SearchContext& context, const BracketPlan& bracket,
                                      std::size_t rung_index,
                                      const std::vector<std::int64_t>& alive,
                                      std::vector<CandidateResult>& results) {
    const int rung = bracket.rungs[rung_index].rung;
    const bool last = rung_index + 1 == bracket.rungs.size();
    std::vector<RungStanding> standings;
    for (const std::int64_t candidate : alive) {
        if (const CandidateResult* r = find_result(results, candidate, bracket.bracket, rung)) {
            standings.push_back({candidate, r->value, r->hopeless});
        }
    }
    const std::int64_t count = last ? 0 : bracket.rungs[rung_index + 1].candidates;
    const std::vector<std::int64_t> promoted =
        promoted_candidates(standings, count, context.training.metric.lower_is_better);
    for (CandidateResult& r : results) {
        if (r.bracket != bracket.bracket || r.rung != rung) continue;
        const bool up = std::find(promoted.begin(), promoted.end(), r.candidate) != promoted.end();
        r.status = r.hopeless ? "hopeless" : up ? "promoted" : last ? "final" : "stopped";
    }
    return promoted;
}

/// World-collective. Sorts the results by bracket, rung and candidate (the same order however
/// the search was interrupted) and writes the search state, results.jsonl and results.csv
/// (rank 0).
void save_search(const SearchContext& context, const SearchSpace& space, std::uint64_t fingerprint,
                 std::vector<CandidateResult>& results) {
    std::sort(results.begin(), results.end(),
              [](const CandidateResult& a, const CandidateResult& b) {
                  return std::tie(a.bracket, a.rung, a.candidate) <
                         std::tie(b.bracket, b.rung, b.candidate);
              });
    const fs::path dir(context.training.base.tune.dir);
    std::vector<std::string> options;
    for (const SearchDimension& dimension : space.dimensions) options.push_back(dimension.option);
    on_rank_zero(context.world, [&] {
        const auto write = [](const fs::path& path, const std::string& text) {
            AtomicFile file(path.string());
            file.write(text);
            file.commit();
        };
        write(dir / "search-state.txt", search_state_text(fingerprint, results));
        write(dir / "results.jsonl",
              results_jsonl(results, context.training.settings, context.training.metric.name));
        write(dir / "results.csv", results_csv(results, context.training.settings, options,
                                               context.training.metric.name));
    });
}

/// World-collective. The results saved in <dir>/search-state.txt; nullopt when there is none.
std::optional<std::vector<CandidateResult>> load_search(const Communicator& world,
                                                        const std::string& dir,
                                                        std::uint64_t fingerprint) {
    const std::string path = (fs::path(dir) / "search-state.txt").string();
    std::string text;
    int present = 0;
    if (world.rank() == 0 && fs::exists(path)) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        text = bytes.str();
        present = in || in.eof() ? 1 : 2;
    }
    world.broadcast(present);
    if (present == 2) throw InputError("search state '" + path + "': cannot be read");
    if (present == 0) return std::nullopt;
    world.broadcast(text);
    return parse_search_state(text, path, fingerprint);
}

/// World-collective. Removes the checkpoints of the candidates no longer in the search.
void remove_checkpoints(const Communicator& world, const std::string& dir,
                        const std::vector<std::int64_t>& candidates) {
    on_rank_zero(world, [&] {
        for (const std::int64_t candidate : candidates) {
            std::error_code ignored;
            fs::remove_all(candidate_dir(dir, candidate), ignored);
        }
    });
}

/// The result with the best value among the rows of the highest rung reached (hopeless rows
/// never count), or nullptr.
CandidateResult* best_result(const SearchContext& context, std::vector<CandidateResult>& results) {
    int top_rung = -1;
    for (const CandidateResult& r : results) {
        if (!r.hopeless && std::isfinite(r.value)) top_rung = std::max(top_rung, r.rung);
    }
    CandidateResult* best = nullptr;
    for (CandidateResult& r : results) {
        if (r.hopeless || !std::isfinite(r.value) || r.rung != top_rung) continue;
        const bool better = best == nullptr ||
                            (context.training.metric.lower_is_better ? r.value < best->value
                                                                     : r.value > best->value) ||
                            (r.value == best->value && r.candidate < best->candidate);
        if (better) best = &r;
    }
    return best;
}

/// The configuration the best candidate names: the base with its settings, trained for its
/// best iteration count.
Config best_config(const SearchContext& context, const CandidateResult& best) {
    Config config = config_with_settings(
        context.training.base, context.training.settings[static_cast<std::size_t>(best.candidate)],
        Command::train);
    config.train.iterations = static_cast<int>(best.best_iteration);
    return config;
}

std::string ladder_text(const std::vector<std::int64_t>& ladder) {
    std::string text;
    for (const std::int64_t iterations : ladder) {
        text += (text.empty() ? "" : ", ") + std::to_string(iterations);
    }
    return text;
}

/// World-collective. best.ini (rank 0), and the refit when asked for: `distmf train` with it on
/// all the training data, its model evaluated once on the test data.
int finish_search(const SearchContext& context, std::vector<CandidateResult>& results,
                  const Search& search, const Logger& log) {
    CandidateResult* best = best_result(context, results);
    if (best == nullptr) {
        throw InputError(
            "tune: every candidate was hopeless (diverged or worse than the "
            "training mean); widen or move the search space");
    }
    best->status = "best";
    const Config config = best_config(context, *best);
    const std::string best_path = (fs::path(context.training.base.tune.dir) / "best.ini").string();
    on_rank_zero(context.world, [&] {
        AtomicFile file(best_path);
        file.write(format_text(
            "# distmf tune: the best of %lld candidates, validation %s %.6g "
            "at iteration %lld\n# settings: %s\n",
            static_cast<long long>(search.plan.total_candidates),
            context.training.metric.name.c_str(), best->value,
            static_cast<long long>(best->best_iteration),
            describe_settings(context.training.settings[static_cast<std::size_t>(best->candidate)])
                .c_str()));
        file.write(effective_ini(config, Command::train));
        file.commit();
    });
    log.info(format_text(
        "tune: best candidate %lld, validation %s %.6g at iteration %lld: %s",
        static_cast<long long>(best->candidate), context.training.metric.name.c_str(), best->value,
        static_cast<long long>(best->best_iteration),
        describe_settings(context.training.settings[static_cast<std::size_t>(best->candidate)])
            .c_str()));
    log.info("tune: " + best_path + " holds its configuration (distmf train --config " + best_path +
             ")");
    if (!context.training.base.tune.refit) return 0;
    Config refit = config;
    refit.train.patience = 0;                   // the test data must not choose anything
    refit.eval.every = refit.train.iterations;  // one evaluation: the final model's
    refit.checkpoint.dir = (fs::path(context.training.base.tune.dir) / "refit").string();
    refit.checkpoint.every = 0;  // by time (and on a stop signal), not every iteration
    if (refit.checkpoint.every_seconds <= 0.0) refit.checkpoint.every_seconds = 60.0;
    if (refit.output.model.empty()) {
        refit.output.model = (fs::path(context.training.base.tune.dir) / "model.h5").string();
    }
    log.info("tune: refit on all the training data, then one evaluation on the test data");
    return run_train_command(context.world, refit);
}

}  // namespace

int run_tune_command(const Communicator& world, const Config& config) {
    const double run_start = MPI_Wtime();
    install_stop_handlers();
    const Logger log(world.rank());
    SearchSpace space;
    Search search;
    run_agreed(world, [&] {
        Config base = config;  // the space's values are checked as the last rung trains
        if (config.tune.max_iterations > 0) base.train.iterations = config.tune.max_iterations;
        space = read_search_space(config.tune.space, base);
        search = plan_candidates(config, space);
        check_candidates(config, search);
    });
    on_rank_zero(world, [&] {
        std::error_code error;
        fs::create_directories(fs::path(config.tune.dir) / "candidates", error);
        if (error) {
            throw InputError("--tune.dir '" + config.tune.dir + "': " + error.message());
        }
    });
    GroupLayout groups;
    groups.size = group_size_of(world, config);
    groups.count = world.size() / groups.size;
    groups.mine = std::min(world.rank() / groups.size, groups.count - 1);
    const SplitCommunicator split(world, groups.mine, world.rank());
    Dataset dataset;
    run_agreed(world, [&] {
        dataset =
            load_validation_dataset(split.comm(), config.data, config.tune.validation_fraction);
    });
    CandidateTraining training{config,
                               split.comm(),
                               dataset,
                               data_fingerprint(split.comm(), dataset, config.data.seed),
                               metric_choice(config),
                               0.0,
                               search.settings};
    training.baseline = baseline_value(split.comm(), dataset, training.metric.metric);
    const SearchContext context{world, training};
    const std::string identity = search_identity(config, space);
    const std::uint64_t fingerprint =
        hash_bytes(training.data_fingerprint, identity.data(), identity.size());
    std::optional<std::vector<CandidateResult>> saved;
    run_agreed(world, [&] { saved = load_search(world, config.tune.dir, fingerprint); });
    std::vector<CandidateResult> results = saved.value_or(std::vector<CandidateResult>{});
    // From the start, the folder belongs to this search (another one is refused).
    if (!saved) save_search(context, space, fingerprint, results);
    const SearchPlan& plan = search.plan;
    log.info(format_text(
        "tune: %lld candidates in %zu bracket%s, rungs of %s iterations (%lld in all); %d "
        "group%s of %d rank%s; validation: %lld of %lld training ratings; %s%s",
        static_cast<long long>(plan.total_candidates), plan.brackets.size(),
        plan.brackets.size() == 1 ? "" : "s", ladder_text(plan.ladder).c_str(),
        static_cast<long long>(plan.total_iterations), groups.count, groups.count == 1 ? "" : "s",
        groups.size, groups.size == 1 ? "" : "s", static_cast<long long>(dataset.summary.n_test),
        static_cast<long long>(dataset.summary.n_test + dataset.summary.n_train),
        context.training.metric.name.c_str(),
        std::isnan(context.training.baseline)
            ? ""
            : format_text(" (the training mean scores %.6g)", context.training.baseline).c_str()));
    if (saved) {
        log.info(format_text("tune: continuing the search in %s: %zu results so far",
                             config.tune.dir.c_str(), results.size()));
    }
    for (const BracketPlan& bracket : plan.brackets) {
        std::vector<std::int64_t> alive(static_cast<std::size_t>(bracket.rungs.front().candidates));
        for (std::size_t i = 0; i < alive.size(); ++i) {
            alive[i] = bracket.first_candidate + static_cast<std::int64_t>(i);
        }
        for (std::size_t i = 0; i < bracket.rungs.size() && !alive.empty(); ++i) {
            const bool completed =
                run_rung(context, groups, bracket.bracket, bracket.rungs[i], alive, results, log);
            if (!completed) {
                save_search(context, space, fingerprint, results);
                log.info(format_text(
                    "tune: stopped by signal %d: the search state is saved in %s; rerun the same "
                    "command to continue (exit code %d)",
                    world.all_reduce_max(stop_signal()), config.tune.dir.c_str(),
                    exit_checkpointed));
                return exit_checkpointed;
            }
            const std::vector<std::int64_t> promoted =
                decide_rung(context, bracket, i, alive, results);
            save_search(context, space, fingerprint, results);
            std::vector<std::int64_t> dropped;
            for (const std::int64_t c : alive) {
                if (std::find(promoted.begin(), promoted.end(), c) == promoted.end() &&
                    i + 1 < bracket.rungs.size()) {
                    dropped.push_back(c);
                }
            }
            remove_checkpoints(world, config.tune.dir, dropped);
            alive = promoted;
        }
    }
    const int code = finish_search(context, results, search, log);
    save_search(context, space, fingerprint, results);
    std::vector<std::int64_t> finished;  // every candidate's checkpoint but the best one's
    for (const CandidateResult& r : results) {
        if (r.status == "best") continue;
        if (std::none_of(results.begin(), results.end(), [&](const CandidateResult& other) {
                return other.candidate == r.candidate && other.status == "best";
            })) {
            finished.push_back(r.candidate);
        }
    }
    remove_checkpoints(world, config.tune.dir, finished);
    log.info(
        format_text("tune: finished in %.2f s", world.all_reduce_max(MPI_Wtime() - run_start)));
    return code;
}

}  // namespace distmf
