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
struct EnumNames<ImplicitSolver> {
    static constexpr std::array<std::pair<ImplicitSolver, std::string_view>, 2> table{{
        {ImplicitSolver::cg, "cg"},
        {ImplicitSolver::cholesky, "cholesky"},
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
    static constexpr std::array<std::pair<StepSchedule, std::string_view>, 3> table{{
        {StepSchedule::bold_driver, "bold-driver"},
        {StepSchedule::fixed, "fixed"},
        {StepSchedule::inverse_decay, "inverse-decay"},
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

/// One declared option: how to print its current value as INI text.
struct DeclaredOption {
    std::size_t group;
    std::string key;
    std::string help;
    std::function<std::string()> value_text;
};

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
        options_.push_back({index, key, help_text, [&field] { return format_value(field); }});
    }

    /// Declares a boolean option that accepts true|false|yes|no|1|0 (and on|off).
    void add(const std::string& key, bool& field, const std::string& help) {
        const std::size_t index = groups_.size() - 1;
        const std::string name = full_name(index, key);
        groups_[index].description->add_options()(
            name.c_str(), po::value<bool>(&field)->default_value(field, format_value(field)),
            (help + " (true|false)").c_str());
        options_.push_back({index, key, help, [&field] { return format_value(field); }});
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
        options_.push_back({index, key, help, [&field] { return format_value(field); }});
    }

    const std::vector<OptionGroup>& groups() const { return groups_; }
    const std::vector<DeclaredOption>& options() const { return options_; }
    std::string full_name(std::size_t group_index, const std::string& key) const {
        const std::string& prefix = groups_[group_index].prefix;
        return prefix.empty() ? key : prefix + "." + key;
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
    baseline_group
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
          "stop when the test RMSE has not improved for this many iterations and keep the "
          "best model; 0: run every iteration");

    r.group("dsgd", "Distributed SGD [dsgd] (with --model.algorithm dsgd)");
    r.add("step-size", c.dsgd.step_size, "step size (learning rate) of the first epoch; > 0");
    r.add("schedule", c.dsgd.schedule,
          "step size after each epoch: bold-driver (times grow after an epoch that lowered the "
          "training objective, times shrink after one that raised it), fixed, or inverse-decay "
          "(step-size / (1 + decay * epochs done))");
    r.add("grow", c.dsgd.grow,
          "bold driver: factor after an epoch that lowered the objective; >= 1");
    r.add("shrink", c.dsgd.shrink,
          "bold driver: factor after an epoch that raised the objective; in (0, 1]");
    r.add("decay", c.dsgd.decay, "inverse decay: the rate per epoch; >= 0");
    r.add("grid", c.dsgd.grid,
          "each rank's block is cut into grid x grid sub-blocks, processed in waves by the "
          "threads; results depend on the grid, not on how many threads run it; 0: at least "
          "2 x threads, and enough that a part's factor rows take at most 2 MiB");

    r.group("bpmf", "Bayesian PMF [bpmf] (with --model.algorithm bpmf)");
    r.add("alpha", c.bpmf.alpha,
          "precision of the rating noise (1 / variance, in 1 / rating units squared); > 0");
    r.add("beta0", c.bpmf.beta0,
          "Normal-Wishart hyper-prior of the factor means and precisions: the weight of its "
          "mean 0, in pseudo-rows; > 0");
    r.add("burn-in", c.bpmf.burn_in,
          "sweeps drawn but not averaged into the model (the model is the mean of the "
          "predictions of the later sweeps); >= 0 and < --train.iterations");

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
          "resume even though lambda, bias-lambda, regularization, the [ials] or [bpmf] "
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
         {data_group, model_group, ials_group, eval_group, train_group, dsgd_group, bpmf_group,
          output_group, checkpoint_group}},
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
         "Reads a ratings data set across all ranks and prints its statistics and partition.",
         {data_group}},
        {Command::generate,
         "generate",
         "Writes a synthetic ratings file with known low-rank structure.",
         {generate_group}},
        {Command::recommend,
         "recommend",
         "Top-N items for users of a model (or folded-in users), excluding their training items.",
         {model_file_group, serve_group, data_group}},
        {Command::predict,
         "predict",
         "Predicted ratings (or preference scores) of a model for (user, item) pairs.",
         {model_file_group, serve_group, data_group}},
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

/// The groups an INI file may set for `command`: every section (so one file serves every
/// command), the command's own top-level options, and other commands' top-level options
/// whose keys do not clash with those (generate's and recommend's `out`, for instance).
std::vector<std::size_t> ini_groups(const OptionRegistry& registry, Command command) {
    std::vector<std::size_t> order = groups_of(command);
    for (std::size_t i = 0; i < registry.groups().size(); ++i) {
        if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
    }
    std::vector<std::size_t> indices;
    std::vector<std::string> top_level_keys;
    const auto keys_of = [&registry](std::size_t group) {
        std::vector<std::string> keys;
        for (const DeclaredOption& option : registry.options()) {
            if (option.group == group) keys.push_back(option.key);
        }
        return keys;
    };
    for (const std::size_t i : order) {
        if (registry.groups()[i].prefix.empty()) {
            const std::vector<std::string> keys = keys_of(i);
            const bool clashes = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
                return std::find(top_level_keys.begin(), top_level_keys.end(), k) !=
                       top_level_keys.end();
            });
            if (clashes) continue;
            top_level_keys.insert(top_level_keys.end(), keys.begin(), keys.end());
        }
        indices.push_back(i);
    }
    return indices;
}

ConfigError describe(const po::error& error, const OptionRegistry& registry,
                     const std::string& where) {
    std::string message = where.empty() ? std::string(error.what()) : where + ": " + error.what();
    if (const auto* invalid = dynamic_cast<const po::invalid_option_value*>(&error)) {
        std::string name = invalid->get_option_name();
        if (name.rfind("--", 0) == 0) name = name.substr(2);
        const std::string choices = registry.choices(name);
        if (!choices.empty()) message += "; expected one of " + choices;
    }
    return ConfigError(message);
}

void read_config_file(const std::string& path, const OptionRegistry& registry, Command command,
                      po::variables_map& values) {
    std::ifstream file(path);
    if (!file) throw ConfigError("cannot open config file '" + path + "'");
    const po::options_description all = description_for(registry, ini_groups(registry, command));
    try {
        po::store(po::parse_config_file(file, all, /*allow_unregistered=*/false), values);
    } catch (const po::error& error) {
        throw describe(error, registry, "config file '" + path + "'");
    }
    // A folder opens like a file but fails on the first read; so does an I/O error.
    if (file.bad()) throw ConfigError("cannot read config file '" + path + "'");
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
std::ostream& operator<<(std::ostream& out, ImplicitSolver value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, ImplicitSolver& value) { return read_enum(in, value); }
std::ostream& operator<<(std::ostream& out, Baseline value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, Baseline& value) { return read_enum(in, value); }
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
        throw describe(error, registry, "configuration text");
    }
    return config;
}
std::ostream& operator<<(std::ostream& out, StepSchedule value) { return write_enum(out, value); }
std::istream& operator>>(std::istream& in, StepSchedule& value) { return read_enum(in, value); }

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
        throw ConfigError("unknown command '" + command_word +
                          "'; run 'distmf --help' for the list");
    }
    result.command = found->command;

    OptionRegistry registry;
    declare_options(result.config, registry);
    po::options_description command_line("Common options");
    add_common_options(command_line, result.config_file, result.help, result.print_config);
    command_line.add(description_for(registry, groups_of(result.command)));

    po::variables_map values;
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
        if (values.count("config") != 0) {
            read_config_file(values["config"].as<std::string>(), registry, result.command, values);
        }
        po::notify(values);
    } catch (const po::error& error) {
        throw describe(error, registry, "");
    }
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
