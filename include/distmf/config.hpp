#pragma once
/// @file config.hpp
/// The whole configuration of a distmf run: one plain struct with a nested struct per INI
/// section; member initializers are the defaults. Every option is declared exactly once, in
/// config.cpp, and that one declaration serves the command line (`--data.train FILE`), INI
/// files (`[data]` / `train = FILE`), `--help` and `--print-config`.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace distmf {

/// The subcommands of the distmf binary.
enum class Command { train, evaluate, inspect, data, generate, recommend, predict, tune };

/// Text layout of a ratings file. `automatic` detects it from the first lines.
enum class DataFormat { automatic, tsv, csv, movielens_dat };
/// Whether a ratings file starts with a header line.
enum class HeaderMode { automatic, present, absent };
/// What to do when the same (user, item) pair is rated more than once.
enum class DuplicatePolicy { error, last, mean };
/// How the ridge penalty of a row scales: lambda * n_i (ALS-WR, Zhou et al. 2008) or lambda.
enum class Regularization { weighted, plain };
/// The training algorithm: explicit ALS on ratings, implicit ALS on interaction strengths,
/// distributed SGD on ratings (Gemulla et al. 2011), or Bayesian PMF on ratings by Gibbs
/// sampling (Salakhutdinov & Mnih 2008).
enum class Algorithm { als, ials, dsgd, bpmf };
/// How the training ratings are split into train and test when no test file is given: each
/// rating by a hash of (seed, user, item), or a fraction of every user's ratings (hold-out).
enum class SplitMethod { hash, per_user };
/// Implicit ALS: the confidence of an interaction r > 0, c = 1 + alpha f(r), with f(r) = r
/// (linear) or log(1 + r / epsilon) (log).
enum class ConfidenceScaling { linear, log };
/// ALS (explicit and implicit): how a row's system is solved (a few conjugate-gradient steps
/// warm-started from the row's current values, or exactly by Cholesky).
enum class LinearSolver { cg, cholesky };
/// The row solver of implicit ALS ([ials] solver): the same choice as explicit ALS's.
using ImplicitSolver = LinearSolver;
/// Training: where the factor tables live. Replicated: every rank holds all of W and H
/// (all-gathered after each half-sweep). Sharded: every rank holds its own blocks plus the
/// rows its ratings touch (ghosts), routed by MPI_Alltoallv (factor_routing.hpp).
enum class FactorLayout { replicated, sharded };
/// `distmf evaluate --baseline`: rank by the model (none) or by training popularity.
enum class Baseline { none, popularity };
/// Where `recommend --all-users` and `evaluate` keep the item factors while each rank scores
/// its own users: all of H on every rank (replicated), each rank its own block of items,
/// passed around the ring (rotated), or replicated when H is at most
/// replicated_item_factors_limit bytes (automatic, "auto").
enum class ItemFactorsMode { automatic, replicated, rotated };
/// Text layout of the files `recommend` and `predict` write.
enum class OutputFormat { csv, tsv };
/// How the DSGD step size changes from one epoch to the next (adaptive: per row, AdaGrad; sgd.hpp).
enum class StepSchedule { bold_driver, fixed, inverse_decay, adaptive };
/// How `distmf data --plan` prints its figures: aligned text, or CSV with one row per rank.
enum class PlanFormat { table, csv };
/// `distmf tune`: how candidates are drawn from the search space: at random (each candidate
/// from its own seeded stream), or the whole grid.
enum class SearchMethod { random, grid };
/// `distmf tune`: the validation metric the search minimizes (rmse, mae) or maximizes (the
/// ranking metrics at --eval.k); automatic: rmse for explicit models, ndcg for implicit ALS.
enum class TuneMetric { automatic, rmse, mae, ndcg, precision, recall, map, auc };

/// [data]: where ratings come from and how they are split into train and test.
struct DataConfig {
    std::string train;           ///< ratings file to train on (required)
    std::string test;            ///< optional separate test file
    double test_fraction = 0.0;  ///< fraction of train held out by hash, in [0, 1)
    DataFormat format = DataFormat::automatic;
    std::string delimiter;  ///< overrides the format's separator; empty: from format
    HeaderMode header = HeaderMode::automatic;
    std::uint64_t seed = 42;  ///< seeds the hash split and the partition permutation
    DuplicatePolicy duplicates = DuplicatePolicy::error;
    SplitMethod split = SplitMethod::hash;  ///< how test_fraction is held out
    std::string cache;  ///< folder of the parsed-data cache (data_cache.hpp); empty: none
};

/// Options of `distmf generate` (top level, no section: `--users 1000`).
struct GenerateConfig {
    std::int64_t users = 1000;      ///< number of users
    std::int64_t items = 1000;      ///< number of items
    std::int64_t ratings = 100000;  ///< number of distinct (user, item) ratings
    int rank = 8;                   ///< rank of the true low-rank model
    double noise = 0.5;             ///< standard deviation of the Gaussian rating noise
    std::uint64_t seed = 1;         ///< everything generated follows from this seed
    std::string out;                ///< output TSV file (required)
    double min_rating = 1.0;        ///< ratings are clipped to [min_rating, max_rating]
    double max_rating = 5.0;
};

/// Options of `distmf data` (top level): what training would hold and move on other numbers
/// of ranks (shard_plan.hpp).
struct PlanConfig {
    std::string ranks;  ///< "P1,P2,...": the rank counts to plan for; empty: no plan
    PlanFormat format = PlanFormat::table;
};

/// [model]: the model being fitted.
struct ModelConfig {
    Algorithm algorithm = Algorithm::als;
    int rank = 10;              ///< k, the number of latent factors
    double lambda = 0.05;       ///< ridge penalty of factors (per rating with `weighted`)
    double bias_lambda = -1.0;  ///< ridge penalty of biases; < 0: the same as lambda
    Regularization regularization = Regularization::weighted;
    bool biases = true;  ///< a_ij ~ mu + b_i + c_j + w_i.h_j (else w_i.h_j)
    std::string init;    ///< a distmf model file to start from (rows matched by external ID)
};

/// [als]: the row solver of explicit ALS (with --model.algorithm als).
struct AlsConfig {
    LinearSolver solver = LinearSolver::cg;
    int cg_steps = 3;  ///< conjugate-gradient steps per row and half-sweep
};

/// [ials]: implicit ALS (Hu, Koren & Volinsky 2008).
struct IalsConfig {
    double alpha = 1.0;  ///< confidence c = 1 + alpha f(r)
    ConfidenceScaling confidence = ConfidenceScaling::linear;
    double epsilon = 1.0;  ///< f(r) = log(1 + r / epsilon) with `log`
    ImplicitSolver solver = ImplicitSolver::cg;
    int cg_steps = 3;  ///< conjugate-gradient steps per row and half-sweep
};

/// [eval]: ranking metrics.
struct EvalConfig {
    int k = 10;     ///< cut-off of precision@k, recall@k, NDCG@k and MAP@k
    int every = 1;  ///< `train`: metrics after every `every`-th iteration and the final one
};

/// Options of `distmf recommend` and `distmf predict` (top level).
struct ServeConfig {
    std::int64_t user = -1;  ///< one external user ID (-1: none)
    std::string users;       ///< file of external user IDs, one per line
    bool all_users = false;  ///< every user of the model
    int top = 10;            ///< recommendations per user
    std::string out;         ///< output file (empty: standard output)
    OutputFormat format = OutputFormat::csv;
    std::string fold_in;                 ///< ratings/interactions of users to fold in
    std::string pairs;                   ///< (user, item) pairs to predict
    Baseline baseline = Baseline::none;  ///< `evaluate`: rank by popularity instead
    ItemFactorsMode item_factors = ItemFactorsMode::automatic;  ///< --recommend.item-factors
};

/// [train]: the training loop.
struct TrainConfig {
    int iterations = 10;      ///< ALS iterations (a user and an item half-sweep each) or
                              ///< DSGD epochs
    std::uint64_t seed = 1;   ///< seeds the initial factors (by external ID)
    double init_scale = 0.1;  ///< standard deviation of the initial factors
    int threads = 0;          ///< OpenMP threads per rank; 0: OMP_NUM_THREADS
    int patience = 0;         ///< stop after this many evaluations (--eval.every) without a
                              ///< better test RMSE and keep the best model; 0: never
    FactorLayout factors = FactorLayout::sharded;  ///< where the factor tables live
    int exchange_chunks = 1;  ///< ALS/iALS/BPMF: chunks a half-sweep's rows are solved and
                              ///< sent in (overlapping the exchange with the solve); 1: none
};

/// The largest --dsgd.grid (sub-blocks per side of a rank's block).
inline constexpr int max_dsgd_grid = 256;

/// [dsgd]: distributed stochastic gradient descent (with --model.algorithm dsgd).
struct DsgdConfig {
    double step_size = 0.01;  ///< alpha of the first epoch (adaptive: of every epoch)
    StepSchedule schedule = StepSchedule::bold_driver;
    double grow = 1.05;   ///< bold driver: alpha *= grow after an epoch that lowered the objective
    double shrink = 0.5;  ///< bold driver: alpha *= shrink after one that raised it
    double decay = 0.1;   ///< inverse decay: alpha_t = step_size / (1 + decay * t)
    int grid = 0;         ///< sub-blocks per side of a rank's block; 0: from the thread count
};

/// [bpmf]: Bayesian probabilistic matrix factorization (with --model.algorithm bpmf). Every
/// --train.iterations is one Gibbs sweep; the model averages the sweeps after the burn-in.
struct BpmfConfig {
    double alpha = 2.0;    ///< precision of the rating noise, 1 / sigma^2
    double beta0 = 2.0;    ///< Normal-Wishart hyper-prior: weight of its mean 0
    int burn_in = 10;      ///< sweeps drawn but not averaged; < --train.iterations
    int keep_samples = 0;  ///< samples the model file holds (the last ones); 0: the
                           ///< posterior mean factors only (bpmf.hpp)
};

/// [output]: what training writes.
struct OutputConfig {
    std::string model;    ///< HDF5 model file (optional)
    std::string metrics;  ///< JSON-lines metrics file (optional)
};

/// [checkpoint]: periodic checkpoints and resuming from them.
struct CheckpointConfig {
    std::string dir;              ///< folder of checkpoint files; empty: no checkpoints
    int every = 1;                ///< checkpoint every N iterations (0: not by count)
    double every_seconds = 0.0;   ///< and/or when this many seconds passed (0: not by time)
    int keep = 2;                 ///< newest N checkpoints kept
    std::string resume = "auto";  ///< auto | never | a checkpoint file
    bool force = false;           ///< resume despite changed lambda/regularization/biases-lambda
};

/// [tune]: the hyper-parameter search of `distmf tune` (tune.hpp): successive halving over
/// rungs of training iterations (Hyperband with brackets > 1), on a validation split carved out
/// of the training data.
struct TuneConfig {
    std::string space;  ///< the search-space file (search_space.hpp; required)
    std::string dir;    ///< folder of the search state, results and best.ini
    SearchMethod search = SearchMethod::random;
    int candidates = 27;               ///< random: candidates of the first bracket's first rung
    std::int64_t budget = 0;           ///< training iterations the search may spend; 0: none
    int max_iterations = 0;            ///< iterations of the last rung; 0: --train.iterations
    int min_iterations = 0;            ///< iterations of the first rung; 0: max / eta^2
    int eta = 3;                       ///< 1 / eta of a rung's candidates are promoted
    int brackets = 1;                  ///< 1: successive halving; > 1: Hyperband brackets
    int grid_points = 3;               ///< grid: values of each range
    std::uint64_t seed = 1;            ///< seeds the random candidates
    double validation_fraction = 0.1;  ///< per-user share of the training ratings held out
    TuneMetric metric = TuneMetric::automatic;
    int group_size = 0;  ///< ranks training one candidate; 0: from the data size
    bool refit = false;  ///< train the best on all training data, test once
};

/// Options of `distmf evaluate` and `distmf inspect` (top level).
struct ModelFileConfig {
    std::string model;  ///< the HDF5 model file to read
};

/// Everything a run needs. Identical on every rank (checked by hash at start-up).
struct Config {
    DataConfig data;
    GenerateConfig generate;
    ModelConfig model;
    AlsConfig als;
    IalsConfig ials;
    EvalConfig eval;
    TrainConfig train;
    DsgdConfig dsgd;
    BpmfConfig bpmf;
    OutputConfig output;
    CheckpointConfig checkpoint;
    ModelFileConfig model_file;
    ServeConfig serve;
    PlanConfig plan;
    TuneConfig tune;
};

/// The result of parsing a command line.
struct ParsedCommandLine {
    Command command = Command::data;
    Config config;
    bool help = false;          ///< --help: print help_text(command) and exit 0
    bool print_config = false;  ///< --print-config: print effective_ini() and exit 0
    std::string config_file;    ///< the --config file read, if any
    /// Values of the config file that the command line overrode indirectly, one line each
    /// (print them as warnings): an option that excludes one the command line sets.
    std::vector<std::string> notes;
};

/// Local. Parses `distmf <command> [options]` (argv[0] is the program, argv[1] the command)
/// and the INI file named by --config. `distmf inspect FILE` takes the model file as a
/// positional argument. The command line wins over the file, also where it sets an option
/// that excludes one the file sets (`--data.test` over `test-fraction`): the file's is then
/// reset to its default, with a note. In the file, a key before any [section] must be a
/// top-level option of this command; a [section] key may belong to any command. Throws
/// ConfigError naming the offending option, key or file (and line); quoted values and file
/// content are escaped (printable_text). Does not validate the values (config_validation.hpp
/// does).
ParsedCommandLine parse_command_line(int argc, const char* const* argv);

/// Local. The `--help` text of a command (or of the program, for the overview).
std::string help_text(Command command);
/// Local. The top-level usage text listing the commands.
std::string overview_text();

/// Local. The effective configuration of `command` as INI text that parse_command_line reads
/// back to the same Config (`--print-config`).
std::string effective_ini(const Config& config, Command command);

/// Local. A 64-bit fingerprint of the effective configuration (FNV-1a of effective_ini).
std::uint64_t config_fingerprint(const Config& config, Command command);

/// Local. The name of a command as typed on the command line.
const char* command_name(Command command);

std::ostream& operator<<(std::ostream& out, DataFormat value);
std::istream& operator>>(std::istream& in, DataFormat& value);
std::ostream& operator<<(std::ostream& out, HeaderMode value);
std::istream& operator>>(std::istream& in, HeaderMode& value);
std::ostream& operator<<(std::ostream& out, DuplicatePolicy value);
std::istream& operator>>(std::istream& in, DuplicatePolicy& value);
std::ostream& operator<<(std::ostream& out, Regularization value);
std::istream& operator>>(std::istream& in, Regularization& value);
std::ostream& operator<<(std::ostream& out, Algorithm value);
std::istream& operator>>(std::istream& in, Algorithm& value);
std::ostream& operator<<(std::ostream& out, SplitMethod value);
std::istream& operator>>(std::istream& in, SplitMethod& value);
std::ostream& operator<<(std::ostream& out, ConfidenceScaling value);
std::istream& operator>>(std::istream& in, ConfidenceScaling& value);
std::ostream& operator<<(std::ostream& out, LinearSolver value);
std::istream& operator>>(std::istream& in, LinearSolver& value);
std::ostream& operator<<(std::ostream& out, FactorLayout value);
std::istream& operator>>(std::istream& in, FactorLayout& value);
std::ostream& operator<<(std::ostream& out, Baseline value);
std::istream& operator>>(std::istream& in, Baseline& value);
std::ostream& operator<<(std::ostream& out, ItemFactorsMode value);
std::istream& operator>>(std::istream& in, ItemFactorsMode& value);
std::ostream& operator<<(std::ostream& out, OutputFormat value);
std::istream& operator>>(std::istream& in, OutputFormat& value);

/// Local. Whether the model predicts from the global mean of the training ratings: with
/// biases, and always with BPMF (which fits the centred ratings, with no biases).
bool uses_global_mean(const ModelConfig& model);

/// Local. The name of an algorithm as written in model files ("als", "ials").
std::string algorithm_name(Algorithm algorithm);

/// Local. The configuration of `command` read from INI text (such as a model file's `config`
/// attribute); throws ConfigError for text it cannot read.
Config config_from_ini(const std::string& ini_text, Command command);

/// One option's value of a candidate: `option` as on the command line without dashes
/// ("model.lambda"), `value` as text ("0.05").
struct Setting {
    std::string option;
    std::string value;
    /// Equal when option and value are.
    bool operator==(const Setting&) const = default;
};

/// Local. `base` with `settings` applied, parsed exactly as the command line would parse them
/// (the same types, enum names, bool spellings), for `command`'s options; untouched options
/// keep base's values. Throws ConfigError naming the option (and its value) for an unknown
/// option, an option given twice, or a value it cannot read. Does not validate
/// (config_validation.hpp does).
Config config_with_settings(const Config& base, const std::vector<Setting>& settings,
                            Command command);

/// What an option holds: `unknown` (no such option), an integer (int, int64, the unsigned
/// seeds), a floating-point number, or another type (enum, bool, string).
enum class OptionKind { unknown, integer, floating, other };

/// Local. The kind of `command`'s option `option` ("model.rank": integer).
OptionKind option_kind(const std::string& option, Command command);

/// Local. The names of `command`'s options ("model.rank", ...), in declaration order.
std::vector<std::string> option_names(Command command);
std::ostream& operator<<(std::ostream& out, StepSchedule value);
std::istream& operator>>(std::istream& in, StepSchedule& value);
std::ostream& operator<<(std::ostream& out, PlanFormat value);
std::istream& operator>>(std::istream& in, PlanFormat& value);
std::ostream& operator<<(std::ostream& out, SearchMethod value);
std::istream& operator>>(std::istream& in, SearchMethod& value);
std::ostream& operator<<(std::ostream& out, TuneMetric value);
std::istream& operator>>(std::istream& in, TuneMetric& value);

}  // namespace distmf
