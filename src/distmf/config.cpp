#include "distmf/config.hpp"

#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include "distmf/error.hpp"
#include "distmf/log.hpp"

namespace po = boost::program_options;

namespace boost {
/// Boost reads "-1" into an unsigned option as 2^64 - 1; distmf's unsigned options (seeds)
/// reject negative values instead. Found by argument-dependent lookup through boost::any.
void validate(boost::any& value, const std::vector<std::string>& tokens, std::uint64_t* /*tag*/,
              long /*tag*/) {
    po::validators::check_first_occurrence(value);
    const std::string& token = po::validators::get_single_string(tokens);
    const auto first = token.find_first_not_of(" \t");
    if (first == std::string::npos || token[first] == '-' || token[first] == '+') {
        throw po::invalid_option_value(token);
    }
    try {
        value = boost::lexical_cast<std::uint64_t>(token.substr(first));
    } catch (const boost::bad_lexical_cast&) {
        throw po::invalid_option_value(token);
    }
}
}  // namespace boost

namespace distmf {
namespace {

// ---- enum names: one table per enum serves parsing, printing and help ---------------------

template <class Enum>
struct EnumNames;

template <>
struct EnumNames<DataFormat> {
    static constexpr std::array<std::pair<DataFormat, std::string_view>, 4> table{{
        {DataFormat::automatic, "auto"},
        {DataFormat::tsv, "tsv"},
        {DataFormat::csv, "csv"},
        {DataFormat::movielens_dat, "movielens-dat"},
    }};
};

template <>
struct EnumNames<HeaderMode> {
    static constexpr std::array<std::pair<HeaderMode, std::string_view>, 3> table{{
        {HeaderMode::automatic, "auto"},
        {HeaderMode::present, "true"},
        {HeaderMode::absent, "false"},
    }};
};

template <>
struct EnumNames<DuplicatePolicy> {
    static constexpr std::array<std::pair<DuplicatePolicy, std::string_view>, 3> table{{
        {DuplicatePolicy::error, "error"},
        {DuplicatePolicy::last, "last"},
        {DuplicatePolicy::mean, "mean"},
    }};
};

template <>
struct EnumNames<Regularization> {
    static constexpr std::array<std::pair<Regularization, std::string_view>, 2> table{{
        {Regularization::weighted, "weighted"},
        {Regularization::plain, "plain"},
    }};
};

template <>
struct EnumNames<Algorithm> {
    static constexpr std::array<std::pair<Algorithm, std::string_view>, 4> table{{
        {Algorithm::als, "als"},
        {Algorithm::ials, "ials"},
        {Algorithm::dsgd, "dsgd"},
        {Algorithm::bpmf, "bpmf"},
    }};
};

template <>
struct EnumNames<SplitMethod> {
    static constexpr std::array<std::pair<SplitMethod, std::string_view>, 2> table{{
        {SplitMethod::hash, "hash"},
        {SplitMethod::per_user, "per-user"},
    }};
};

template <>
struct EnumNames<ConfidenceScaling> {
    static constexpr std::array<std::pair<ConfidenceScaling, std::string_view>, 2> table{{
        {ConfidenceScaling::linear, "linear"},
        {ConfidenceScaling::log, "log"},
    }};
};

template <>
struct EnumNames<LinearSolver> {
    static constexpr std::array<std::pair<LinearSolver, std::string_view>, 2> table{{
        {LinearSolver::cg, "cg"},
        {LinearSolver::cholesky, "cholesky"},
    }};
};

template <>
struct EnumNames<FactorLayout> {
    static constexpr std::array<std::pair<FactorLayout, std::string_view>, 2> table{{
        {FactorLayout::replicated, "replicated"},
        {FactorLayout::sharded, "sharded"},
    }};
};

template <>
struct EnumNames<ItemFactorsMode> {
    static constexpr std::array<std::pair<ItemFactorsMode, std::string_view>, 3> table{{
        {ItemFactorsMode::automatic, "auto"},
        {ItemFactorsMode::replicated, "replicated"},
        {ItemFactorsMode::rotated, "rotated"},
    }};
};

template <>
struct EnumNames<Baseline> {
    static constexpr std::array<std::pair<Baseline, std::string_view>, 2> table{{
        {Baseline::none, "none"},
        {Baseline::popularity, "popularity"},
    }};
};

template <>
struct EnumNames<OutputFormat> {
    static constexpr std::array<std::pair<OutputFormat, std::string_view>, 2> table{{
        {OutputFormat::csv, "csv"},
        {OutputFormat::tsv, "tsv"},
    }};
};

template <>
struct EnumNames<StepSchedule> {
    static constexpr std::array<std::pair<StepSchedule, std::string_view>, 4> table{{
        {StepSchedule::bold_driver, "bold-driver"},
        {StepSchedule::fixed, "fixed"},
        {StepSchedule::inverse_decay, "inverse-decay"},
        {StepSchedule::adaptive, "adaptive"},
    }};
};

template <>
struct EnumNames<PlanFormat> {
    static constexpr std::array<std::pair<PlanFormat, std::string_view>, 2> table{{
        {PlanFormat::table, "table"},
        {PlanFormat::csv, "csv"},
    }};
};

template <>
struct EnumNames<SearchMethod> {
    static constexpr std::array<std::pair<SearchMethod, std::string_view>, 2> table{{
        {SearchMethod::random, "random"},
        {SearchMethod::grid, "grid"},
    }};
};

template <>
struct EnumNames<TuneMetric> {
    static constexpr std::array<std::pair<TuneMetric, std::string_view>, 8> table{{
        {TuneMetric::automatic, "auto"},
        {TuneMetric::rmse, "rmse"},
        {TuneMetric::mae, "mae"},
        {TuneMetric::ndcg, "ndcg"},
        {TuneMetric::precision, "precision"},
        {TuneMetric::recall, "recall"},
        {TuneMetric::map, "map"},
        {TuneMetric::auc, "auc"},
    }};
};

template <class Enum>
std::ostream& write_enum(std::ostream& out, Enum value) {
    for (const auto& [candidate, name] : EnumNames<Enum>::table) {
        if (candidate == value) return out << name;
    }
    return out << "?";
}

template <class Enum>
std::istream& read_enum(std::istream& in, Enum& value) {
    std::string word;
    in >> word;
    for (const auto& [candidate, name] : EnumNames<Enum>::table) {
        if (word == name) {
            value = candidate;
            return in;
        }
    }
    in.setstate(std::ios::failbit);
    return in;
}

template <class Enum>
std::string enum_choices() {
    std::string text;
    for (const auto& entry : EnumNames<Enum>::table) {
        if (!text.empty()) text += '|';
        text += entry.second;
    }
    return text;
}

// ---- value formatting ---------------------------------------------------------------------

template <class T>
std::string format_value(const T& value) {
    return value_text(value);
}

std::string format_value(const bool& value) { return value ? "true" : "false"; }

template <class T>
constexpr bool is_enum_option = std::is_enum_v<T>;

// ---- the option registry: every option of every command, declared once --------------------

/// A group of options: a command-line prefix ("data" -> --data.train, "" -> --users) and
/// the caption shown by --help.
struct OptionGroup {
    std::string prefix;
    std::string caption;
    std::shared_ptr<po::options_description> description;
};

/// One declared option: how to print its current value as INI text, whether it holds its
/// default, and how to put the default back.
struct DeclaredOption {
    std::size_t group;
    std::string key;
    std::string help;
    OptionKind kind;
    std::function<std::string()> value_text;
    std::function<bool()> is_default;
    std::function<void()> reset;
};

/// The DeclaredOption callbacks bound to `field`, whose current value is the default.
template <class T>
DeclaredOption bound_option(std::size_t group, const std::string& key, const std::string& help,
                            T& field) {
    const T initial = field;
    OptionKind kind = OptionKind::other;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) kind = OptionKind::integer;
    if constexpr (std::is_floating_point_v<T>) kind = OptionKind::floating;
    return {group,
            key,
            help,
            kind,
            [&field] { return format_value(field); },
            [&field, initial] { return field == initial; },
            [&field, initial] { field = initial; }};
}

class OptionRegistry {
  public:
    /// Starts a new group; options added next belong to it.
    void group(const std::string& prefix, const std::string& caption) {
        groups_.push_back({prefix, caption, std::make_shared<po::options_description>(caption)});
    }

    /// Declares one option bound to `field`, whose current value is its default.
    template <class T>
    void add(const std::string& key, T& field, const std::string& help) {
        const std::size_t index = groups_.size() - 1;
        const std::string name = full_name(index, key);
        std::string help_text = help;
        if constexpr (is_enum_option<T>) {
            help_text += " (" + enum_choices<T>() + ")";
            choices_[name] = enum_choices<T>();
        }
        groups_[index].description->add_options()(
            name.c_str(), po::value<T>(&field)->default_value(field, format_value(field)),
            help_text.c_str());
        options_.push_back(bound_option(index, key, help_text, field));
    }

    /// Declares a boolean option that accepts true|false|yes|no|1|0 (and on|off).
    void add(const std::string& key, bool& field, const std::string& help) {
        const std::size_t index = groups_.size() - 1;
        const std::string name = full_name(index, key);
        groups_[index].description->add_options()(
            name.c_str(), po::value<bool>(&field)->default_value(field, format_value(field)),
            (help + " (true|false)").c_str());
        options_.push_back(bound_option(index, key, help, field));
    }

    /// Declares a boolean switch: `--key` alone means true (`--key=false` also works).
    void add_switch(const std::string& key, bool& field, const std::string& help) {
        const std::size_t index = groups_.size() - 1;
        const std::string name = full_name(index, key);
        groups_[index].description->add_options()(name.c_str(),
                                                  po::value<bool>(&field)
                                                      ->default_value(field, format_value(field))
                                                      ->implicit_value(true),
                                                  (help + " (a switch)").c_str());
        options_.push_back(bound_option(index, key, help, field));
    }

    const std::vector<OptionGroup>& groups() const { return groups_; }
    const std::vector<DeclaredOption>& options() const { return options_; }
    std::string full_name(std::size_t group_index, const std::string& key) const {
        const std::string& prefix = groups_[group_index].prefix;
        return prefix.empty() ? key : prefix + "." + key;
    }
    std::string full_name(const DeclaredOption& option) const {
        return full_name(option.group, option.key);
    }
    /// The option named `name` ("data.test", "users") in one of `group_indices`, or nullptr.
    const DeclaredOption* find(const std::string& name,
                               const std::vector<std::size_t>& group_indices) const {
        for (const DeclaredOption& option : options_) {
            if (full_name(option) == name && std::find(group_indices.begin(), group_indices.end(),
                                                       option.group) != group_indices.end()) {
                return &option;
            }
        }
        return nullptr;
    }
    /// The accepted values of an enum option, or "" for other options.
    std::string choices(const std::string& name) const {
        const auto found = choices_.find(name);
        return found == choices_.end() ? std::string() : found->second;
    }

  private:
    std::vector<OptionGroup> groups_;
    std::vector<DeclaredOption> options_;
    std::map<std::string, std::string> choices_;
};

enum GroupIndex : std::size_t {
    data_group,
    model_group,
    als_group,
    ials_group,
    eval_group,
    train_group,
    dsgd_group,
    bpmf_group,
    output_group,
    checkpoint_group,
    generate_group,
    model_file_group,
    serve_group,
    baseline_group,
    item_factors_group,
    plan_group,
    tune_group
};

/// The one place where options are declared. Group order must match GroupIndex; top-level
/// groups (prefix "") of different commands must not share keys.
void declare_options(Config& c, OptionRegistry& r) {
    r.group("data", "Ratings data [data]");
    r.add("train", c.data.train, "ratings file to train on (required)");
    r.add("test", c.data.test,
          "separate ratings file to test on (instead of --data.test-fraction)");
    r.add("test-fraction", c.data.test_fraction,
          "fraction of the train file held out for testing, chosen by a hash of "
          "(seed, user, item); in [0, 1)");
    r.add("format", c.data.format, "text layout of the ratings files");
    r.add("delimiter", c.data.delimiter,
          "field separator overriding the format's: a literal string, or tab|comma|space|"
          "semicolon|pipe; empty: from the format");
    r.add("header", c.data.header, "whether the files start with a header line");
    r.add("seed", c.data.seed, "seed of the train/test hash split and of the partition order");
    r.add("duplicates", c.data.duplicates,
          "a (user, item) pair rated more than once: fail, keep the last rating in file order, "
          "or average them");
    r.add("split", c.data.split,
          "how --data.test-fraction is held out: each rating by a hash of (seed, user, item), "
          "or that fraction of every user's ratings (per-user hold-out, for ranking metrics)");
    r.add("cache", c.data.cache,
          "folder of a cache of the parsed data (train, evaluate, data): the first run stores "
          "the parsed, ID-mapped, split ratings there (distmf-data-cache.h5, readable by any "
          "number of ranks); later runs with the same files and [data] options load it at "
          "disk speed. Rebuilt when a file or a [data] option changes; empty: no cache");

    r.group("model", "Model [model]");
    r.add("algorithm", c.model.algorithm,
          "als: explicit ratings by alternating least squares; ials: implicit feedback (play "
          "counts, clicks) with confidence weights, see [ials]; dsgd: explicit ratings by "
          "distributed stochastic gradient descent, see [dsgd]; bpmf: explicit ratings by "
          "Bayesian PMF (Gibbs sampling, the model averages the samples), see [bpmf]");
    r.add("rank", c.model.rank, "k, the number of latent factors per user and item; >= 1");
    r.add("lambda", c.model.lambda, "ridge penalty on the factors; >= 0");
    r.add("bias-lambda", c.model.bias_lambda,
          "ridge penalty on the biases (scaled like lambda); negative: the same as lambda");
    r.add("regularization", c.model.regularization,
          "penalty of a row: lambda * (its number of ratings), as in ALS-WR, or plain lambda");
    r.add("biases", c.model.biases,
          "fit a_ij ~ mu + b_i + c_j + w_i.h_j (global mean and biases); false: w_i.h_j");
    r.add("init", c.model.init,
          "start from this distmf model file (same rank and biases; rows matched by external "
          "ID, the others drawn from --train.seed); empty: random start");

    r.group("als", "Explicit ALS [als] (with --model.algorithm als)");
    r.add("solver", c.als.solver,
          "row solver: cg, a few conjugate-gradient steps warm-started from the row's current "
          "values, the matrix applied as X^T (X v) + D v without forming X^T X (the default: "
          "on the 20 M-rating benchmark it reaches Cholesky's best test RMSE in the same "
          "iterations at 0.3-0.5x its time per iteration, k = 64-32); or cholesky, the exact "
          "solve of the normal equations (SYRK and Cholesky)");
    r.add("cg-steps", c.als.cg_steps,
          "conjugate-gradient steps per row and half-sweep with --als.solver cg; in [1, 1000]");

    r.group("ials", "Implicit ALS [ials] (with --model.algorithm ials)");
    r.add("alpha", c.ials.alpha, "confidence of an interaction r > 0: c = 1 + alpha f(r); >= 0");
    r.add("confidence", c.ials.confidence,
          "f(r) = r (linear) or log(1 + r / epsilon) (log, for heavy-tailed counts)");
    r.add("epsilon", c.ials.epsilon, "epsilon of the log confidence; > 0");
    r.add("solver", c.ials.solver,
          "row solver: a few conjugate-gradient steps warm-started from the current factors, "
          "or an exact Cholesky solve");
    r.add("cg-steps", c.ials.cg_steps, "conjugate-gradient steps per row and half-sweep; >= 1");

    r.group("eval", "Ranking metrics [eval]");
    r.add("k", c.eval.k,
          "cut-off of precision@k, recall@k, NDCG@k and MAP@k (over all items the user has "
          "no training interaction with); >= 1");
    r.add("every", c.eval.every,
          "train: compute the metrics (RMSE, objective, ranking) only after iterations that are "
          "multiples of this, and after the last one (--train.iterations or an early stop); "
          "--train.patience counts these evaluations; >= 1 (evaluate ignores it)");

    r.group("train", "Training [train]");
    r.add("iterations", c.train.iterations,
          "ALS iterations (user then item half-sweep), DSGD epochs or BPMF Gibbs sweeps "
          "(burn-in included); >= 1");
    r.add("seed", c.train.seed, "seed of the initial factors (drawn per external ID)");
    r.add("init-scale", c.train.init_scale,
          "standard deviation of the initial factors (biases start at 0); > 0. Smaller values "
          "regularize DSGD more (it starts nearer 0); ALS hardly depends on it");
    r.add("threads", c.train.threads, "OpenMP threads per rank; 0: from OMP_NUM_THREADS");
    r.add("patience", c.train.patience,
          "stop when the test RMSE (implicit: NDCG) has not improved for this many evaluations "
          "(one every --eval.every iterations) and keep the best evaluated model; 0: run every "
          "iteration");
    r.add("factors", c.train.factors,
          "where the factor tables live: sharded (each rank its own rows plus the rows its "
          "ratings touch, exchanged by all-to-all) or replicated (all of W and H on every rank, "
          "all-gathered); the results are bitwise the same");
    r.add("exchange-chunks", c.train.exchange_chunks,
          "ALS, implicit ALS, BPMF with P > 1: a rank solves its rows of a half-sweep in this "
          "many chunks and starts sending each chunk to the ranks that read it (non-blocking) "
          "while it solves the next (worth it over a network, with a core per rank: an "
          "oversubscribed rank yields its core at each MPI_Test); 1: solve every row, then "
          "exchange; in [1, 4096]. The results are bitwise the same");

    r.group("dsgd", "Distributed SGD [dsgd] (with --model.algorithm dsgd)");
    r.add("step-size", c.dsgd.step_size,
          "step size (learning rate) of the first epoch (adaptive: alpha of every epoch); > 0");
    r.add("schedule", c.dsgd.schedule,
          "step size after each epoch: bold-driver (times grow after an epoch that lowered the "
          "training objective, times shrink after one that raised it), fixed, inverse-decay "
          "(step-size / (1 + decay * epochs done)), or adaptive (per-row AdaGrad as in LIBMF: "
          "a row's step is step-size / sqrt(G), G = 1 + the mean squared gradient of its "
          "factors summed over its updates; kept in checkpoints)");
    r.add("grow", c.dsgd.grow,
          "bold driver: factor after an epoch that lowered the objective; >= 1");
    r.add("shrink", c.dsgd.shrink,
          "bold driver: factor after an epoch that raised the objective; in (0, 1]");
    r.add("decay", c.dsgd.decay, "inverse decay: the rate per epoch; >= 0");
    r.add("grid", c.dsgd.grid,
          "each rank's block is cut into grid x grid sub-blocks, processed in waves by the "
          "threads; results depend on the grid, not on how many threads run it; 0: at least "
          "2 x threads, enough that a part's factor rows take at most 2 MiB, and a multiple "
          "of the threads");

    r.group("bpmf", "Bayesian PMF [bpmf] (with --model.algorithm bpmf)");
    r.add("alpha", c.bpmf.alpha,
          "precision of the rating noise (1 / variance, in 1 / rating units squared); > 0");
    r.add("beta0", c.bpmf.beta0,
          "Normal-Wishart hyper-prior of the factor means and precisions: the weight of its "
          "mean 0, in pseudo-rows; > 0");
    r.add("burn-in", c.bpmf.burn_in,
          "sweeps drawn but not averaged into the model (the model is the mean of the "
          "predictions of the later sweeps); >= 0 and < --train.iterations");
    r.add("keep-samples", c.bpmf.keep_samples,
          "samples the model file (and the checkpoints) keep: the last N, side by side (a "
          "model of rank k N); 0: the posterior mean factors only (rank k, which predicts "
          "differently from the mean of the predictions); the reported metrics average every "
          "sample after the burn-in whatever N; >= 0, k N < 2^31");

    r.group("output", "Output [output]");
    r.add("model", c.output.model, "HDF5 model file to write (empty: none)");
    r.add("metrics", c.output.metrics, "JSON-lines file, one object per iteration (empty: none)");

    r.group("checkpoint", "Checkpoints [checkpoint]");
    r.add("dir", c.checkpoint.dir,
          "folder for checkpoint files (created if missing); empty: no checkpoints");
    r.add("every", c.checkpoint.every, "checkpoint every N iterations; 0: not by count");
    r.add("every-seconds", c.checkpoint.every_seconds,
          "also checkpoint when this many seconds passed since the last one; 0: not by time");
    r.add("keep", c.checkpoint.keep,
          "newest N checkpoints kept (older ones deleted once a new one is complete); >= 1");
    r.add("resume", c.checkpoint.resume,
          "auto: continue from the newest valid checkpoint in the folder, if any (unreadable ones "
          "are moved aside as .unusable; with only those, an error); never: start afresh, "
          "moving the folder's checkpoints aside as .old; or the path of a checkpoint file to "
          "continue from");
    r.add("force", c.checkpoint.force,
          "resume even though lambda, bias-lambda, regularization, the [als], [ials] or [bpmf] "
          "settings, or (DSGD, BPMF) --train.seed, or (DSGD) the ranks, grid or [dsgd] "
          "schedule changed, with a warning each (rank, biases, algorithm and data must always "
          "match)");

    r.group("", "Synthetic ratings (generate)");
    r.add("users", c.generate.users, "number of users, >= 1");
    r.add("items", c.generate.items, "number of items, >= 1");
    r.add("ratings", c.generate.ratings,
          "number of distinct (user, item) ratings, <= users * items / 2");
    r.add("rank", c.generate.rank, "rank of the true low-rank model, >= 1");
    r.add("noise", c.generate.noise, "standard deviation of the Gaussian rating noise, >= 0");
    r.add("seed", c.generate.seed, "seed; the output is a function of the options alone");
    r.add("out", c.generate.out, "output TSV file: user<TAB>item<TAB>rating (required)");
    r.add("min-rating", c.generate.min_rating, "lowest rating; ratings are clipped to the scale");
    r.add("max-rating", c.generate.max_rating, "highest rating, > min-rating");

    r.group("", "Model file");
    r.add("model", c.model_file.model, "HDF5 model file written by distmf train");

    r.group("", "Serving (recommend, predict)");
    r.add("user", c.serve.user, "recommend for this external user ID (-1: none)");
    r.add("users", c.serve.users, "recommend for the external user IDs in this file, one a line");
    r.add_switch("all-users", c.serve.all_users, "recommend for every user of the model");
    r.add("top", c.serve.top, "recommendations per user; >= 1");
    r.add("out", c.serve.out,
          "output file, written through a temporary name (empty: standard output)");
    r.add("format", c.serve.format, "output layout (with a header line)");
    r.add("fold-in", c.serve.fold_in,
          "ratings or interactions (user item value lines) of users to solve against the "
          "model's item factors, then recommend for (users not in the model included)");
    r.add("pairs", c.serve.pairs,
          "predict: file of user item [value] lines whose predictions are wanted");

    r.group("", "Evaluation");
    r.add("baseline", c.serve.baseline,
          "evaluate: rank by the model, or by training popularity (most interactions first)");

    r.group("recommend", "Item factors while scoring [recommend]");
    r.add("item-factors", c.serve.item_factors,
          "recommend --all-users, where each rank scores its own users: every "
          "item factor on every rank (replicated), each rank's block of items passed around "
          "the ring (rotated), or replicated up to 256 MiB of item factors, else rotated (auto)");
    r.group("", "Planning other rank counts (data)");
    r.add("plan", c.plan.ranks,
          "comma-separated rank counts (e.g. 1,2,4,64), each in [1, 16384]: for each, the "
          "ratings, own and ghost factor rows, factor memory and bytes sent and received per "
          "ALS iteration of every rank, replicated vs sharded, as training on that many ranks "
          "would have them (with --model.rank and --model.biases); empty: no plan");
    r.add("plan-format", c.plan.format,
          "how the plan is printed: a summary table per rank count, or CSV with every rank");

    r.group("tune", "Hyper-parameter search [tune]");
    r.add("space", c.tune.space,
          "the search-space file: [section] option = a, b, c | range(low, high) | "
          "log-range(low, high) (required)");
    r.add("dir", c.tune.dir,
          "folder of the search: its state (a rerun continues it), the candidates' checkpoints, "
          "results.csv, results.jsonl and best.ini (required)");
    r.add("search", c.tune.search,
          "random: candidates drawn from the space, each from its own seeded stream; grid: "
          "every combination (ranges take --tune.grid-points values)");
    r.add("candidates", c.tune.candidates,
          "random: candidates in the first rung of the first bracket; >= 1");
    r.add("budget", c.tune.budget,
          "training iterations the whole search may spend (all candidates and rungs); random: "
          "the most candidates that fit (instead of --tune.candidates); 0: no budget");
    r.add("max-iterations", c.tune.max_iterations,
          "iterations of the last rung (the most a candidate trains); 0: --train.iterations");
    r.add("min-iterations", c.tune.min_iterations,
          "iterations of the first rung; rungs grow by eta up to max-iterations; 0: "
          "max-iterations / eta^2 (at least 1)");
    r.add("eta", c.tune.eta,
          "successive halving: the best 1/eta of a rung's candidates train on, eta times "
          "longer; >= 2");
    r.add("brackets", c.tune.brackets,
          "1: successive halving; B > 1: Hyperband, B brackets each starting one rung later "
          "with fewer candidates; at most the number of rungs");
    r.add("grid-points", c.tune.grid_points, "grid: values of each range; >= 2");
    r.add("seed", c.tune.seed, "seeds the random candidates (the search follows from it)");
    r.add("validation-fraction", c.tune.validation_fraction,
          "share of every user's training ratings held out for validation (a user keeps at "
          "least one); the test data is never read by the search; in (0, 1)");
    r.add("metric", c.tune.metric,
          "validation metric: rmse, mae (lower is better) or the ranking metrics at --eval.k "
          "(higher is better); auto: rmse, or ndcg for implicit ALS");
    r.add("group-size", c.tune.group_size,
          "ranks that train one candidate together (the ranks form groups that train "
          "candidates in parallel); 0: one rank per 128 MiB of training file, at most all");
    r.add("refit", c.tune.refit,
          "train the best candidate on all training data (as --output.model, else "
          "<dir>/model.h5) and evaluate it once on the test data");
}

/// What the command line of each command accepts.
struct CommandInfo {
    Command command;
    const char* name;
    const char* summary;
    std::vector<std::size_t> groups;
};

const std::vector<CommandInfo>& command_table() {
    static const std::vector<CommandInfo> table{
        {Command::train,
         "train",
         "Trains a matrix-factorization model with ALS (explicit or implicit), DSGD or BPMF "
         "across all ranks.",
         {data_group, model_group, als_group, ials_group, eval_group, train_group, dsgd_group,
          bpmf_group, output_group, checkpoint_group}},
        {Command::evaluate,
         "evaluate",
         "Prints the RMSE/MAE and ranking metrics of a saved model (or a baseline) on test data.",
         {model_file_group, data_group, eval_group, baseline_group}},
        {Command::inspect,
         "inspect",
         "Prints the metadata of a model file (distmf inspect FILE).",
         {model_file_group}},
        {Command::data,
         "data",
         "Reads a ratings data set across all ranks and prints its statistics and partition "
         "(and, with --plan, what training would hold and move on other numbers of ranks).",
         {plan_group, data_group, model_group}},
        {Command::generate,
         "generate",
         "Writes a synthetic ratings file with known low-rank structure.",
         {generate_group}},
        {Command::recommend,
         "recommend",
         "Top-N items for users of a model (or folded-in users), excluding their training items.",
         {model_file_group, serve_group, data_group, item_factors_group}},
        {Command::predict,
         "predict",
         "Predicted ratings (or preference scores) of a model for (user, item) pairs.",
         {model_file_group, serve_group, data_group}},
        {Command::tune,
         "tune",
         "Searches hyper-parameters (successive halving / Hyperband over a search space) on a "
         "validation split of the training data, with the ranks in parallel groups.",
         {data_group, model_group, als_group, ials_group, eval_group, train_group, dsgd_group,
          bpmf_group, output_group, checkpoint_group, tune_group}},
    };
    return table;
}

const CommandInfo& info_of(Command command) {
    for (const CommandInfo& info : command_table()) {
        if (info.command == command) return info;
    }
    throw Error("unknown command");
}

const std::vector<std::size_t>& groups_of(Command command) { return info_of(command).groups; }

void add_common_options(po::options_description& common, std::string& config_file, bool& help,
                        bool& print_config) {
    common.add_options()("help,h", po::bool_switch(&help), "print this help and exit")(
        "config", po::value<std::string>(&config_file),
        "INI file with options ([section] key = value); the command line wins")(
        "print-config", po::bool_switch(&print_config),
        "print the effective configuration as INI text and exit");
}

po::options_description description_for(const OptionRegistry& registry,
                                        const std::vector<std::size_t>& group_indices) {
    po::options_description all;
    for (const std::size_t index : group_indices) all.add(*registry.groups()[index].description);
    return all;
}

/// The groups of `command`'s top-level options (prefix "": `--users`, `--top`).
std::vector<std::size_t> top_level_groups(const OptionRegistry& registry, Command command) {
    std::vector<std::size_t> indices;
    for (const std::size_t index : groups_of(command)) {
        if (registry.groups()[index].prefix.empty()) indices.push_back(index);
    }
    return indices;
}

/// The groups an INI file may set for `command`: every section, whichever command it belongs
/// to (so one file serves train, evaluate and data), and `command`'s own top-level options.
/// Top-level keys of other commands are not among them: `rank = 4` before any section is
/// generate's --rank, and an error for train (whose rank is [model] rank).
std::vector<std::size_t> ini_groups(const OptionRegistry& registry, Command command) {
    std::vector<std::size_t> indices = top_level_groups(registry, command);
    for (std::size_t i = 0; i < registry.groups().size(); ++i) {
        if (!registry.groups()[i].prefix.empty()) indices.push_back(i);
    }
    return indices;
}

/// How an option is written: "--model.rank" on the command line, "[model] rank" in a file.
std::string spelling(const OptionRegistry& registry, const DeclaredOption& option, bool in_file) {
    const std::string& prefix = registry.groups()[option.group].prefix;
    if (!in_file) return "--" + registry.full_name(option);
    if (prefix.empty()) return "'" + option.key + "' before any [section]";
    return "[" + prefix + "] " + option.key;
}

/// What to say after "unknown option" about the option `written` ("rank", "data.seed"): the
/// options of `command` with the same last name ("; did you mean [model] rank?"), or else the
/// other commands' ("; it is an option of distmf recommend, predict").
std::string suggestion(const OptionRegistry& registry, Command command, const std::string& written,
                       bool in_file) {
    const std::string key = written.substr(written.rfind('.') + 1);
    const auto uses = [](const CommandInfo& info, std::size_t group) {
        return std::find(info.groups.begin(), info.groups.end(), group) != info.groups.end();
    };
    std::string own;
    for (const DeclaredOption& option : registry.options()) {
        if (option.key == key && uses(info_of(command), option.group)) {
            own += (own.empty() ? "" : " or ") + spelling(registry, option, in_file);
        }
    }
    if (!own.empty()) return "; did you mean " + own + "?";
    std::string others;
    for (const DeclaredOption& option : registry.options()) {
        if (option.key != key) continue;
        std::string commands;
        for (const CommandInfo& info : command_table()) {
            if (uses(info, option.group)) {
                commands += (commands.empty() ? "" : ", ") + std::string(info.name);
            }
        }
        const bool as_written = registry.full_name(option) == written;
        others += "; " + (as_written ? std::string("it") : spelling(registry, option, in_file)) +
                  " is an option of distmf " + commands;
    }
    return others;
}

ConfigError describe(const po::error& error, const OptionRegistry& registry, Command command,
                     const std::string& where) {
    std::string message = where.empty() ? std::string(error.what()) : where + ": " + error.what();
    if (const auto* invalid = dynamic_cast<const po::invalid_option_value*>(&error)) {
        std::string name = invalid->get_option_name();
        if (name.rfind("--", 0) == 0) name = name.substr(2);
        const std::string choices = registry.choices(name);
        if (!choices.empty()) message += "; expected one of " + choices;
    }
    if (const auto* unknown = dynamic_cast<const po::unknown_option*>(&error)) {
        std::string name = unknown->get_option_name();
        name.erase(0, name.find_first_not_of('-'));
        message += suggestion(registry, command, name, false);
    }
    return ConfigError(printable_text(message));
}

/// One `key = value` line of a config file.
struct IniEntry {
    int line = 0;         ///< 1-based line number
    std::string section;  ///< "" before any [section]
    std::string key;
    std::string value;
    std::string name() const { return section.empty() ? key : section + "." + key; }
};

/// "config file 'PATH'" or "config file 'PATH', line N", for messages (printable_text).
std::string file_location(const std::string& path, int line = 0) {
    std::string location = "config file '" + printable_text(path) + "'";
    if (line > 0) location += ", line " + std::to_string(line);
    return location;
}

/// `text` without the blanks Boost's config parser drops around keys and values.
std::string_view trim_blanks(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

/// The `key = value` lines of INI text, read as Boost's parse_config_file reads them ('#'
/// starts a comment anywhere in a line, blanks around keys and values are dropped, `[name]`
/// prefixes the keys that follow), with their line numbers, each passed to `check` as it is
/// read (so the first bad line is the one reported). A leading UTF-8 byte order mark is
/// skipped. Throws ConfigError for any other line and for a key set twice.
std::vector<IniEntry> ini_entries(std::string_view text, const std::string& path,
                                  const std::function<void(const IniEntry&)>& check) {
    constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
    if (text.substr(0, byte_order_mark.size()) == byte_order_mark) {
        text.remove_prefix(byte_order_mark.size());
    }
    constexpr std::size_t quoted_bytes = 80;  // of a bad line: a binary file has long ones
    const auto quoted = [](std::string_view line) {
        if (line.size() <= quoted_bytes) return "'" + printable_text(line) + "'";
        return "'" + printable_text(line.substr(0, quoted_bytes)) + "'...";
    };
    std::vector<IniEntry> entries;
    std::string section;
    int line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = std::min(text.find('\n'), text.size());
        const std::string_view raw_line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        const std::string_view line = trim_blanks(raw_line.substr(0, raw_line.find('#')));
        if (line.empty()) continue;
        const std::string where = file_location(path, line_number);
        if (line.front() == '[' && line.back() == ']') {
            section = trim_blanks(line.substr(1, line.size() - 2));
            if (section.empty()) throw ConfigError(where + ": empty section name '[]'");
            continue;
        }
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            throw ConfigError(where + ": expected '[section]' or 'key = value', got " +
                              quoted(raw_line));
        }
        IniEntry entry{line_number, section, std::string(trim_blanks(line.substr(0, equals))),
                       std::string(trim_blanks(line.substr(equals + 1)))};
        if (entry.key.empty()) throw ConfigError(where + ": no key before '=' in " + quoted(line));
        for (const IniEntry& earlier : entries) {
            if (earlier.name() == entry.name()) {
                throw ConfigError(where + ": " + printable_text(entry.name()) +
                                  " is set a second time (first on line " +
                                  std::to_string(earlier.line) + ")");
            }
        }
        check(entry);
        entries.push_back(std::move(entry));
    }
    return entries;
}

/// Throws ConfigError unless `command` may read `entry` from a config file: a [section] key
/// must be an option of that section (whichever command uses it), a key before any section
/// an option of `command` itself.
void check_key(const IniEntry& entry, const OptionRegistry& registry, Command command,
               const std::string& path) {
    if (registry.find(entry.name(), ini_groups(registry, command)) != nullptr) return;
    const std::string where = file_location(path, entry.line);
    const std::string hint = suggestion(registry, command, entry.name(), true);
    if (entry.section.empty()) {
        throw ConfigError(printable_text(where + ": '" + entry.key +
                                         "' before any [section] is not an option of distmf " +
                                         command_name(command) + hint));
    }
    throw ConfigError(
        printable_text(where + ": unrecognised option '" + entry.name() + "'" + hint));
}

/// The text of a config file; throws ConfigError if it cannot be read.
std::string read_text_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ConfigError("cannot open " + file_location(path));
    constexpr std::size_t largest = std::size_t{16} << 20U;  // no config file is 16 MiB
    std::string text;
    std::array<char, 65536> buffer{};
    while (file.read(buffer.data(), buffer.size()) || file.gcount() > 0) {
        text.append(buffer.data(), static_cast<std::size_t>(file.gcount()));
        if (text.size() > largest) {
            throw ConfigError(file_location(path) + " is larger than 16 MiB: not a config file");
        }
    }
    // A folder opens like a file but fails on the first read; so does an I/O error.
    if (file.bad()) throw ConfigError("cannot read " + file_location(path));
    return text;
}

/// Stores the value `value` of the option `name` (one of `all`'s) into `values`; throws
/// ConfigError starting with `where` for a value it cannot read, naming the option as a config
/// file's key (`style` 0) or as a command-line option (po::command_line_style::allow_long).
void store_option_value(const po::options_description& all, const std::string& name,
                        const std::string& value, po::variables_map& values,
                        const OptionRegistry& registry, Command command, const std::string& where,
                        int style = 0) {
    po::parsed_options parsed(&all, style);
    po::option option(name, {value});
    option.original_tokens = {name, value};
    parsed.options.push_back(std::move(option));
    try {
        po::store(parsed, values);
    } catch (po::error_with_option_name& error) {
        // what() is a C string: quote the value escaped, or a NUL in it would cut the message
        error.set_substitute("value", printable_text(value));
        throw describe(error, registry, command, where);
    } catch (const po::error& error) {
        throw describe(error, registry, command, where);
    }
}

/// Reads the config file `path` into `values` (where the command line's values, stored
/// first, win) and returns its entries.
std::vector<IniEntry> read_config_file(const std::string& path, const OptionRegistry& registry,
                                       Command command, po::variables_map& values) {
    const std::vector<IniEntry> entries =
        ini_entries(read_text_file(path), path,
                    [&](const IniEntry& entry) { check_key(entry, registry, command, path); });
    const po::options_description all = description_for(registry, ini_groups(registry, command));
    for (const IniEntry& entry : entries) {
        store_option_value(all, entry.name(), entry.value, values, registry, command,
                           file_location(path, entry.line));
    }
    return entries;
}

/// Options that exclude each other in the commands that use them: one alternative (a list
/// of options) of a group may be set, or none. The rules themselves are validate()'s.
struct ExclusiveOptions {
    std::vector<Command> commands;
    std::vector<std::vector<std::string>> alternatives;
};

const std::vector<ExclusiveOptions>& exclusive_options() {
    static const std::vector<ExclusiveOptions> table{
        {{Command::data, Command::train, Command::evaluate},
         {{"data.test"}, {"data.test-fraction", "data.split"}}},
        {{Command::recommend}, {{"user"}, {"users"}, {"all-users"}}},
        {{Command::predict}, {{"pairs"}, {"data.test"}}},
    };
    return table;
}

/// The command line wins over the config file for options that exclude each other too:
/// where the command line sets one alternative of an exclusive group (to a value other than
/// the default) and the file another, the file's values are put back to their defaults.
/// Returns one note per value dropped. (Both from the same source stay validate()'s error.)
std::vector<std::string> drop_excluded_file_values(const OptionRegistry& registry, Command command,
                                                   const std::vector<std::string>& command_line,
                                                   const std::vector<IniEntry>& file,
                                                   const std::string& path) {
    const std::vector<std::size_t> groups = ini_groups(registry, command);
    const auto on_command_line = [&](const std::string& name) {
        return std::find(command_line.begin(), command_line.end(), name) != command_line.end();
    };
    std::vector<std::string> notes;
    for (const ExclusiveOptions& exclusive : exclusive_options()) {
        const auto& commands = exclusive.commands;
        if (std::find(commands.begin(), commands.end(), command) == commands.end()) continue;
        std::vector<std::string> chosen;  // per alternative: the option that sets it, or ""
        for (const std::vector<std::string>& alternative : exclusive.alternatives) {
            chosen.emplace_back();
            for (const std::string& name : alternative) {
                const DeclaredOption* option = registry.find(name, groups);
                if (on_command_line(name) && option != nullptr && !option->is_default()) {
                    chosen.back() = name;
                    break;
                }
            }
        }
        const auto set = std::count_if(chosen.begin(), chosen.end(),
                                       [](const std::string& name) { return !name.empty(); });
        if (set != 1) continue;
        const std::string winner = *std::find_if(
            chosen.begin(), chosen.end(), [](const std::string& name) { return !name.empty(); });
        for (std::size_t a = 0; a < exclusive.alternatives.size(); ++a) {
            if (!chosen[a].empty()) continue;
            for (const IniEntry& entry : file) {
                const auto& alternative = exclusive.alternatives[a];
                if (std::find(alternative.begin(), alternative.end(), entry.name()) ==
                        alternative.end() ||
                    on_command_line(entry.name())) {
                    continue;
                }
                const DeclaredOption* option = registry.find(entry.name(), groups);
                if (option == nullptr || option->is_default()) continue;
                option->reset();
                notes.push_back(printable_text(file_location(path, entry.line) + ": " + entry.key +
                                               " = " + entry.value + " ignored: --" + winner +
                                               " on the command line replaces it"));
            }
        }
    }
    return notes;
}

std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, DataFormat value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, DataFormat& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, HeaderMode value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, HeaderMode& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, DuplicatePolicy value) {
    return write_enum(out, value);
}
std::istream& operator>>(std::istream& in, DuplicatePolicy& value) { return read_enum(in, value); }

std::ostream& operator<<(std::ostream& out, Regularization value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, Regularization& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, Algorithm value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, Algorithm& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, SplitMethod value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, SplitMethod& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, ConfidenceScaling value) {
    return write_enum(out, value);
}
std::istream& operator>>(std::istream& in, ConfidenceScaling& value) {
    return read_enum(in, value);
}
std::ostream& operator<<(std::ostream& out, LinearSolver value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, LinearSolver& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, FactorLayout value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, FactorLayout& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, Baseline value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, Baseline& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, ItemFactorsMode value) {
    return write_enum(out, value);
}
std::istream& operator>>(std::istream& in, ItemFactorsMode& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, OutputFormat value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, OutputFormat& value) { return read_enum(in, value); }

std::string algorithm_name(Algorithm algorithm) { return format_value(algorithm); }

bool uses_global_mean(const ModelConfig& model) {
    return model.biases || model.algorithm == Algorithm::bpmf;
}

Config config_from_ini(const std::string& ini_text, Command command) {
    Config config;
    OptionRegistry registry;
    declare_options(config, registry);
    std::istringstream text(ini_text);
    po::variables_map values;
    try {
        // Keys of other distmf versions are skipped: what this version knows is read.
        po::store(po::parse_config_file(text, description_for(registry, groups_of(command)),
                                        /*allow_unregistered=*/true),
                  values);
        po::notify(values);
    } catch (const po::error& error) {
        throw describe(error, registry, command, "configuration text");
    }
    return config;
}
Config config_with_settings(const Config& base, const std::vector<Setting>& settings,
                            Command command) {
    Config config = base;
    OptionRegistry registry;
    declare_options(config, registry);  // the defaults are now base's values
    const po::options_description all = description_for(registry, groups_of(command));
    po::variables_map values;
    for (auto setting = settings.begin(); setting != settings.end(); ++setting) {
        const std::string& name = setting->option;
        if (registry.find(name, groups_of(command)) == nullptr) {
            throw ConfigError(printable_text("unknown option --" + name + " for distmf " +
                                             command_name(command) +
                                             suggestion(registry, command, name, false)));
        }
        if (std::any_of(settings.begin(), setting,
                        [&](const Setting& earlier) { return earlier.option == name; })) {
            throw ConfigError(printable_text("option --" + name + " is given twice"));
        }
        store_option_value(all, name, setting->value, values, registry, command, "",
                           po::command_line_style::allow_long);
    }
    po::notify(values);
    return config;
}

OptionKind option_kind(const std::string& option, Command command) {
    Config config;
    OptionRegistry registry;
    declare_options(config, registry);
    const DeclaredOption* declared = registry.find(option, groups_of(command));
    return declared == nullptr ? OptionKind::unknown : declared->kind;
}

std::vector<std::string> option_names(Command command) {
    Config config;
    OptionRegistry registry;
    declare_options(config, registry);
    const std::vector<std::size_t>& groups = groups_of(command);
    std::vector<std::string> names;
    for (const DeclaredOption& option : registry.options()) {
        if (std::find(groups.begin(), groups.end(), option.group) != groups.end()) {
            names.push_back(registry.full_name(option));
        }
    }
    return names;
}

std::ostream& operator<<(std::ostream& out, StepSchedule value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, StepSchedule& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, PlanFormat value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, PlanFormat& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, SearchMethod value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, SearchMethod& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, TuneMetric value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, TuneMetric& value) { return read_enum(in, value); }

const char* command_name(Command command) { return info_of(command).name; }

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
    if (argc < 2) throw ConfigError("no command given; run 'distmf --help' for the list");
    ParsedCommandLine result;
    const std::string command_word = argv[1];
    const auto& table = command_table();
    const auto found = std::find_if(table.begin(), table.end(), [&](const CommandInfo& info) {
        return command_word == info.name;
    });
    if (found == table.end()) {
        throw ConfigError("unknown command '" + printable_text(command_word) +
                          "'; run 'distmf --help' for the list");
    }
    result.command = found->command;

    OptionRegistry registry;
    declare_options(result.config, registry);
    po::options_description command_line("Common options");
    add_common_options(command_line, result.config_file, result.help, result.print_config);
    command_line.add(description_for(registry, groups_of(result.command)));

    po::variables_map values;
    std::vector<std::string> command_line_names;  // the options the command line sets
    std::vector<IniEntry> file_entries;
    try {
        const int style =
            po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::positional_options_description positional;  // distmf inspect FILE
        if (result.command == Command::inspect) positional.add("model", 1);
        po::store(po::command_line_parser(argc - 1, argv + 1)
                      .options(command_line)
                      .positional(positional)
                      .style(style)
                      .run(),
                  values);
        for (const auto& [name, value] : values) {
            if (!value.defaulted()) command_line_names.push_back(name);
        }
        if (values.count("config") != 0) {
            file_entries = read_config_file(values["config"].as<std::string>(), registry,
                                            result.command, values);
        }
        po::notify(values);
    } catch (const po::error& error) {
        throw describe(error, registry, result.command, "");
    }
    result.notes = drop_excluded_file_values(registry, result.command, command_line_names,
                                             file_entries, result.config_file);
    // INI values lose their leading and trailing blanks: keep a tab or space delimiter by its
    // name, so that the effective INI (--print-config) reads back to the same configuration.
    std::string& delimiter = result.config.data.delimiter;
    if (delimiter == "\t") delimiter = "tab";
    if (delimiter == " ") delimiter = "space";
    return result;
}

std::string help_text(Command command) {
    Config defaults;
    OptionRegistry registry;
    declare_options(defaults, registry);
    std::string config_file;
    bool help = false;
    bool print_config = false;
    po::options_description common("Common options");
    add_common_options(common, config_file, help, print_config);
    std::ostringstream out;
    out << "Usage: [mpirun -np P] distmf " << command_name(command) << " [options]\n"
        << info_of(command).summary << "\n\n"
        << common << "\n";
    for (const std::size_t index : groups_of(command)) {
        out << *registry.groups()[index].description << "\n";
    }
    return out.str();
}

std::string overview_text() {
    std::ostringstream out;
    out << "distmf: distributed matrix factorization for recommender systems\n\n"
        << "Usage: [mpirun -np P] distmf <command> [options]\n\nCommands:\n";
    for (const CommandInfo& info : command_table()) {
        out << "  " << info.name;
        for (std::size_t pad = std::string_view(info.name).size(); pad < 12; ++pad) out << ' ';
        out << info.summary << "\n";
    }
    out << "\nRun 'distmf <command> --help' for a command's options.\n";
    return out.str();
}

std::string effective_ini(const Config& config, Command command) {
    Config copy = config;
    OptionRegistry registry;
    declare_options(copy, registry);
    std::ostringstream out;
    out << "# distmf " << command_name(command) << ": effective configuration\n";
    for (const std::size_t index : groups_of(command)) {
        const OptionGroup& group = registry.groups()[index];
        out << "\n";
        if (!group.prefix.empty()) out << "[" << group.prefix << "]\n";
        for (const DeclaredOption& option : registry.options()) {
            if (option.group != index) continue;
            out << "# " << option.help << "\n"
                << option.key << " = " << option.value_text() << "\n";
        }
    }
    return out.str();
}

std::uint64_t config_fingerprint(const Config& config, Command command) {
    return fnv1a(effective_ini(config, command));
}

}  // namespace distmf
