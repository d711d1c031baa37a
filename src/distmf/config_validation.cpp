#include "distmf/config_validation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "distmf/error.hpp"
#include "distmf/log.hpp"

namespace distmf {
namespace {

std::string option_name(std::string_view prefix, std::string_view key) {
    return "--" +
           (prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key));
}

using FailFunction = void (*)(std::string_view prefix, std::string_view key,
                              const std::string& why);

[[noreturn]] void fail_option(std::string_view prefix, std::string_view key,
                              const std::string& why) {
    throw ConfigError(option_name(prefix, key) + ": " + why);
}

/// The range of --model.rank (k), for `distmf train` and `distmf data --plan`.
void validate_model_rank(const ModelConfig& model, FailFunction fail) {
    if (model.rank < 1 || model.rank > 4096) {
        fail("model", "rank", "must be in [1, 4096], got " + value_text(model.rank));
    }
}

/// The [dsgd] ranges (checked whatever the algorithm, so a config file stays valid when the
/// algorithm changes on the command line).
void validate_dsgd(const DsgdConfig& s, FailFunction fail) {
    if (!(s.step_size > 0.0) || !std::isfinite(s.step_size)) {
        fail("dsgd", "step-size", "must be a finite number > 0, got " + value_text(s.step_size));
    }
    if (!(s.grow >= 1.0) || !std::isfinite(s.grow)) {
        fail("dsgd", "grow", "must be a finite number >= 1, got " + value_text(s.grow));
    }
    if (!(s.shrink > 0.0 && s.shrink <= 1.0)) {
        fail("dsgd", "shrink", "must be in (0, 1], got " + value_text(s.shrink));
    }
    if (!(s.decay >= 0.0) || !std::isfinite(s.decay)) {
        fail("dsgd", "decay", "must be a finite number >= 0, got " + value_text(s.decay));
    }
    if (s.grid < 0 || s.grid > max_dsgd_grid) {
        fail("dsgd", "grid",
             "must be in [0, " + value_text(max_dsgd_grid) + "], got " + value_text(s.grid));
    }
}

/// The [als] rules of `distmf train` (the ranges whatever the algorithm, like [dsgd]).
void validate_als(const Config& config, FailFunction fail) {
    if (config.als.cg_steps < 1 || config.als.cg_steps > 1000) {
        fail("als", "cg-steps", "must be in [1, 1000], got " + value_text(config.als.cg_steps));
    }
}

/// The [ials] and [eval] rules of `distmf train`.
void validate_implicit(const Config& config, FailFunction fail) {
    if (config.eval.k < 1) fail("eval", "k", "must be >= 1, got " + value_text(config.eval.k));
    if (config.eval.every < 1) {
        fail("eval", "every", "must be >= 1, got " + value_text(config.eval.every));
    }
    if (config.model.algorithm != Algorithm::ials) return;
    if (config.model.biases) {
        fail("model", "biases",
             "implicit ALS (--model.algorithm ials) fits no biases and no global mean; set "
             "--model.biases false");
    }
    const IalsConfig& i = config.ials;
    if (!(i.alpha >= 0.0) || !std::isfinite(i.alpha)) {
        fail("ials", "alpha", "must be a finite number >= 0, got " + value_text(i.alpha));
    }
    if (!(i.epsilon > 0.0) || !std::isfinite(i.epsilon)) {
        fail("ials", "epsilon", "must be a finite number > 0, got " + value_text(i.epsilon));
    }
    if (i.cg_steps < 1 || i.cg_steps > 1000) {
        fail("ials", "cg-steps", "must be in [1, 1000], got " + value_text(i.cg_steps));
    }
}

/// The [bpmf] rules of `distmf train` (the ranges whatever the algorithm, like [dsgd]).
void validate_bpmf(const Config& config, FailFunction fail) {
    const BpmfConfig& b = config.bpmf;
    if (!(b.alpha > 0.0) || !std::isfinite(b.alpha)) {
        fail("bpmf", "alpha", "must be a finite number > 0, got " + value_text(b.alpha));
    }
    if (!(b.beta0 > 0.0) || !std::isfinite(b.beta0)) {
        fail("bpmf", "beta0", "must be a finite number > 0, got " + value_text(b.beta0));
    }
    if (b.burn_in < 0) fail("bpmf", "burn-in", "must be >= 0, got " + value_text(b.burn_in));
    if (b.keep_samples < 0) {
        fail(
            "bpmf", "keep-samples",
            "must be >= 0 (0: the posterior mean factors only), got " + value_text(b.keep_samples));
    } else if (config.model.rank > 0 &&
               b.keep_samples > std::numeric_limits<int>::max() / config.model.rank) {
        fail("bpmf", "keep-samples",
             "must be at most " + value_text(std::numeric_limits<int>::max() / config.model.rank) +
                 " with --model.rank " + value_text(config.model.rank) +
                 " (the model's width k N must stay below 2^31), got " +
                 value_text(b.keep_samples));
    }
    if (config.model.algorithm != Algorithm::bpmf) return;
    if (config.model.biases) {
        fail("model", "biases",
             "Bayesian PMF (--model.algorithm bpmf) fits w_i.h_j to the ratings minus their "
             "global mean, with no biases; set --model.biases false");
    }
    if (config.train.patience > 0) {
        fail("train", "patience",
             "does not apply to Bayesian PMF (--model.algorithm bpmf): its model is the average "
             "of the samples, which does not overfit as sweeps are added; set "
             "--train.patience 0");
    }
    if (b.burn_in >= config.train.iterations) {
        fail("bpmf", "burn-in",
             "must be less than --train.iterations (" + value_text(config.train.iterations) +
                 ") so that some sweeps are averaged, got " + value_text(b.burn_in));
    }
}

/// The rules of `distmf recommend` and `distmf predict`.
void validate_serving(const Config& config, Command command, FailFunction fail) {
    const ServeConfig& s = config.serve;
    if (command == Command::predict) {
        if (s.pairs.empty() == config.data.test.empty()) {
            fail("", "pairs", "give the (user, item) pairs to predict with --pairs or --data.test");
        }
        return;
    }
    const int sources = (s.user >= 0 ? 1 : 0) + (s.users.empty() ? 0 : 1) + (s.all_users ? 1 : 0);
    if (sources > 1) fail("", "user", "choose one of --user, --users and --all-users");
    if (sources == 0 && s.fold_in.empty()) {
        fail("", "user",
             "say whom to recommend for: --user ID, --users FILE, --all-users or "
             "--fold-in FILE");
    }
    if (s.user < -1) fail("", "user", "must be an external ID >= 0, got " + value_text(s.user));
    if (s.top < 1) fail("", "top", "must be >= 1, got " + value_text(s.top));
}

}  // namespace

/// `distmf tune`: the [tune] options (the space file itself is read by search_space.cpp).
void validate_tune(const Config& config, FailFunction fail) {
    const TuneConfig& t = config.tune;
    if (t.space.empty()) fail("tune", "space", "a search-space file is required");
    if (t.dir.empty()) fail("tune", "dir", "a folder for the search is required");
    if (t.candidates < 1)
        fail("tune", "candidates", "must be >= 1, got " + value_text(t.candidates));
    if (t.budget < 0) fail("tune", "budget", "must be >= 0, got " + value_text(t.budget));
    if (t.max_iterations < 0) {
        fail("tune", "max-iterations", "must be >= 0, got " + value_text(t.max_iterations));
    }
    const int max_iterations = t.max_iterations > 0 ? t.max_iterations : config.train.iterations;
    if (t.min_iterations < 0 || t.min_iterations > max_iterations) {
        fail("tune", "min-iterations",
             "must be in [0, " + value_text(max_iterations) +
                 "] (the last rung's iterations), got " + value_text(t.min_iterations));
    }
    if (t.eta < 2 || t.eta > 100)
        fail("tune", "eta", "must be in [2, 100], got " + value_text(t.eta));
    if (t.brackets < 1) fail("tune", "brackets", "must be >= 1, got " + value_text(t.brackets));
    if (t.brackets > 1 && t.search == SearchMethod::grid) {
        fail("tune", "brackets", "Hyperband brackets need --tune.search random");
    }
    if (t.grid_points < 2 || t.grid_points > 1000) {
        fail("tune", "grid-points", "must be in [2, 1000], got " + value_text(t.grid_points));
    }
    if (!(t.validation_fraction > 0.0 && t.validation_fraction < 1.0)) {
        fail("tune", "validation-fraction",
             "must be in (0, 1), got " + value_text(t.validation_fraction));
    }
    if (t.group_size < 0) {
        fail("tune", "group-size", "must be >= 0, got " + value_text(t.group_size));
    }
    const bool implicit = config.model.algorithm == Algorithm::ials;
    const bool ranking = t.metric != TuneMetric::automatic && t.metric != TuneMetric::rmse &&
                         t.metric != TuneMetric::mae;
    if (implicit && !ranking && t.metric != TuneMetric::automatic) {
        fail("tune", "metric",
             "implicit ALS is measured by a ranking metric (ndcg, precision, "
             "recall, map or auc)");
    }
    if (!implicit && ranking) {
        fail("tune", "metric", "an explicit model is measured by rmse or mae");
    }
}

void validate(const Config& config, Command command) {
    const FailFunction fail = fail_option;
    const DataConfig& d = config.data;
    const bool trains = command == Command::train || command == Command::tune;
    if (command == Command::data || trains) {
        if (d.train.empty()) fail("data", "train", "a ratings file is required");
    }
    if (command == Command::data || trains || command == Command::evaluate) {
        if (!(d.test_fraction >= 0.0 && d.test_fraction < 1.0)) {
            fail("data", "test-fraction", "must be in [0, 1), got " + value_text(d.test_fraction));
        }
        if (!d.test.empty() && d.test_fraction > 0.0) {
            fail("data", "test-fraction", "cannot be combined with --data.test (choose one)");
        }
        if (d.split == SplitMethod::per_user && !(d.test_fraction > 0.0)) {
            fail("data", "split", "per-user needs a --data.test-fraction > 0 to hold out");
        }
        if (d.delimiter.find_first_of("\r\n") != std::string::npos) {
            fail("data", "delimiter", "must not contain a line break");
        }
    }
    if (command == Command::data && !config.plan.ranks.empty()) {
        plan_rank_counts(config.plan.ranks);
        validate_model_rank(config.model, fail);
    }
    if (trains) {
        const ModelConfig& m = config.model;
        validate_model_rank(m, fail);
        if (!(m.lambda >= 0.0) || !std::isfinite(m.lambda)) {
            fail("model", "lambda", "must be a finite number >= 0, got " + value_text(m.lambda));
        }
        if (!std::isfinite(m.bias_lambda)) {  // negative is allowed: the same as lambda
            fail("model", "bias-lambda",
                 "must be a finite number, got " + value_text(m.bias_lambda));
        }
        validate_als(config, fail);
        validate_implicit(config, fail);
        const TrainConfig& t = config.train;
        if (t.iterations < 1) {
            fail("train", "iterations", "must be >= 1, got " + value_text(t.iterations));
        }
        if (t.threads < 0) fail("train", "threads", "must be >= 0, got " + value_text(t.threads));
        if (t.exchange_chunks < 1 || t.exchange_chunks > 4096) {
            fail("train", "exchange-chunks",
                 "must be in [1, 4096], got " + value_text(t.exchange_chunks));
        }
        if (!(t.init_scale > 0.0) || !std::isfinite(t.init_scale)) {
            fail("train", "init-scale",
                 "must be a finite number > 0, got " + value_text(t.init_scale));
        }
        if (t.patience < 0) {
            fail("train", "patience", "must be >= 0, got " + value_text(t.patience));
        }
        if (command == Command::train && t.patience > 0 && d.test.empty() &&
            d.test_fraction <= 0.0) {
            fail("train", "patience", "needs test data (--data.test or --data.test-fraction)");
        }
        const CheckpointConfig& c = config.checkpoint;
        if (c.every < 0) fail("checkpoint", "every", "must be >= 0, got " + value_text(c.every));
        if (!(c.every_seconds >= 0.0) || !std::isfinite(c.every_seconds)) {
            fail("checkpoint", "every-seconds",
                 "must be a finite number >= 0, got " + value_text(c.every_seconds));
        }
        if (c.keep < 1) fail("checkpoint", "keep", "must be >= 1, got " + value_text(c.keep));
        if (c.resume.empty()) fail("checkpoint", "resume", "must be auto, never or a file");
        validate_dsgd(config.dsgd, fail);
        validate_bpmf(config, fail);
    }
    if (command == Command::tune) validate_tune(config, fail);
    if (command == Command::evaluate || command == Command::inspect ||
        command == Command::recommend || command == Command::predict) {
        if (config.model_file.model.empty()) fail("", "model", "a model file is required");
    }
    if (command == Command::evaluate) {
        if (d.test.empty() && (d.train.empty() || !(d.test_fraction > 0.0))) {
            fail("data", "test",
                 "a ratings file to evaluate on is required (or --data.train with "
                 "--data.test-fraction, to rebuild the held-out part of a training split)");
        }
        if (config.eval.k < 1) fail("eval", "k", "must be >= 1, got " + value_text(config.eval.k));
    }
    if (command == Command::recommend || command == Command::predict) {
        validate_serving(config, command, fail);
    }
    if (command == Command::generate) {
        const GenerateConfig& g = config.generate;
        if (g.users < 1) fail("", "users", "must be >= 1, got " + value_text(g.users));
        if (g.items < 1) fail("", "items", "must be >= 1, got " + value_text(g.items));
        if (g.ratings < 1) fail("", "ratings", "must be >= 1, got " + value_text(g.ratings));
        if (static_cast<double>(g.ratings) >
            static_cast<double>(g.users) * static_cast<double>(g.items) / 2.0) {
            fail("", "ratings",
                 "must be at most users * items / 2 (" +
                     value_text(static_cast<double>(g.users) * static_cast<double>(g.items) / 2.0) +
                     "), got " + value_text(g.ratings));
        }
        if (g.rank < 1) fail("", "rank", "must be >= 1, got " + value_text(g.rank));
        if (!(g.noise >= 0.0)) fail("", "noise", "must be >= 0, got " + value_text(g.noise));
        if (g.out.empty()) fail("", "out", "an output file is required");
        if (!(g.min_rating < g.max_rating)) {
            fail("", "max-rating", "must be greater than --min-rating");
        }
    }
}

std::vector<int> plan_rank_counts(const std::string& list) {
    // (Messages are built by appending: GCC 12 warns falsely on "..." + std::string&&.)
    const auto fail = [&list](std::string why) {
        why.append(" in '").append(printable_text(list));
        why.append("'; expected rank counts separated by commas, such as 1,2,4,64");
        fail_option("", "plan", why);
    };
    std::vector<int> counts;
    std::string_view rest = list;
    while (true) {
        const std::string_view item = rest.substr(0, rest.find(','));
        int count = 0;
        const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), count);
        if (item.empty() || error != std::errc() || end != item.data() + item.size()) {
            std::string why(1, '\'');
            fail(why.append(printable_text(item)).append("' is not a rank count"));
        }
        if (count < 1 || count > max_plan_ranks) {
            fail(value_text(count)
                     .append(" is not in [1, ")
                     .append(value_text(max_plan_ranks))
                     .append("]"));
        }
        if (std::find(counts.begin(), counts.end(), count) != counts.end()) {
            fail(value_text(count).append(" is listed twice"));
        }
        counts.push_back(count);
        if (item.size() == rest.size()) return counts;
        rest.remove_prefix(item.size() + 1);
    }
}

}  // namespace distmf
