#include "distmf/config.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <vector>

#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::Command;
using distmf::Config;
using distmf::ConfigError;
using distmf::DataFormat;
using distmf::DuplicatePolicy;
using distmf::HeaderMode;
using distmf::ParsedCommandLine;
using distmf::testing::TempDir;
using distmf::testing::write_text;

namespace {

/// Parses `distmf <args...>` (args[0] is the command).
ParsedCommandLine parse(const std::vector<std::string>& args) {
    std::vector<const char*> argv{"distmf"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    return distmf::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

/// The message of the ConfigError that parsing `args` throws ("" if it does not throw).
std::string parse_error(const std::vector<std::string>& args) {
    try {
        parse(args);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

/// The message of the ConfigError that validate throws ("" if it does not throw).
std::string validate_error(const Config& config, Command command) {
    try {
        distmf::validate(config, command);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

void require_same_data(const distmf::DataConfig& a, const distmf::DataConfig& b) {
    CHECK(a.train == b.train);
    CHECK(a.test == b.test);
    CHECK(a.test_fraction == b.test_fraction);
    CHECK(a.format == b.format);
    CHECK(a.delimiter == b.delimiter);
    CHECK(a.header == b.header);
    CHECK(a.seed == b.seed);
    CHECK(a.duplicates == b.duplicates);
}

void require_same_generate(const distmf::GenerateConfig& a, const distmf::GenerateConfig& b) {
    CHECK(a.users == b.users);
    CHECK(a.items == b.items);
    CHECK(a.ratings == b.ratings);
    CHECK(a.rank == b.rank);
    CHECK(a.noise == b.noise);
    CHECK(a.seed == b.seed);
    CHECK(a.out == b.out);
    CHECK(a.min_rating == b.min_rating);
    CHECK(a.max_rating == b.max_rating);
}

/// A data configuration that passes validate().
Config valid_data_config() {
    Config config;
    config.data.train = "ratings.tsv";
    return config;
}

/// A generate configuration that passes validate().
Config valid_generate_config() {
    Config config;
    config.generate.out = "out.tsv";
    return config;
}

}  // namespace

TEST_CASE("command-line values reach the config", "[config]") {
    const auto parsed =
        parse({"data", "--data.train", "train.csv", "--data.test", "test.csv", "--data.format",
               "csv", "--data.delimiter", "semicolon", "--data.header", "false", "--data.seed",
               "18446744073709551615", "--data.duplicates", "mean"});
    CHECK(parsed.command == Command::data);
    CHECK_FALSE(parsed.help);
    CHECK_FALSE(parsed.print_config);
    CHECK(parsed.config_file.empty());
    const auto& data = parsed.config.data;
    CHECK(data.train == "train.csv");
    CHECK(data.test == "test.csv");
    CHECK(data.format == DataFormat::csv);
    CHECK(data.delimiter == "semicolon");
    CHECK(data.header == HeaderMode::absent);
    CHECK(data.seed == 18446744073709551615ULL);
    CHECK(data.duplicates == DuplicatePolicy::mean);
    CHECK(data.test_fraction == 0.0);  // untouched options keep their defaults

    const auto generate = parse({"generate", "--users", "12", "--items=34", "--ratings", "100",
                                 "--rank", "3", "--noise", "0.25", "--seed", "9", "--out", "o.tsv",
                                 "--min-rating", "0.5", "--max-rating", "10", "--print-config"});
    CHECK(generate.command == Command::generate);
    CHECK(generate.print_config);
    const auto& g = generate.config.generate;
    CHECK(g.users == 12);
    CHECK(g.items == 34);
    CHECK(g.ratings == 100);
    CHECK(g.rank == 3);
    CHECK(g.noise == 0.25);
    CHECK(g.seed == 9);
    CHECK(g.out == "o.tsv");
    CHECK(g.min_rating == 0.5);
    CHECK(g.max_rating == 10.0);
}

TEST_CASE("defaults are the member initializers, and --help is recorded", "[config]") {
    const auto parsed = parse({"data", "--help"});
    CHECK(parsed.help);
    require_same_data(parsed.config.data, Config{}.data);
    require_same_generate(parsed.config.generate, Config{}.generate);
}

TEST_CASE("no command or an unknown command is a ConfigError", "[config]") {
    std::vector<const char*> argv{"distmf"};
    CHECK_THROWS_AS(distmf::parse_command_line(1, argv.data()), ConfigError);
    CHECK_THAT(parse_error({"trian"}), Contains("unknown command 'trian'"));
}

TEST_CASE("an INI file given with --config sets options by section", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("run.ini");
    write_text(path,
               "# a comment\n"
               "[data]\n"
               "train = from-ini.tsv\n"
               "test-fraction = 0.125\n"
               "format = movielens-dat\n"
               "header = true\n"
               "duplicates = last\n"
               "seed = 5\n");
    const auto parsed = parse({"data", "--config", path});
    CHECK(parsed.config_file == path);
    const auto& data = parsed.config.data;
    CHECK(data.train == "from-ini.tsv");
    CHECK(data.test_fraction == 0.125);
    CHECK(data.format == DataFormat::movielens_dat);
    CHECK(data.header == HeaderMode::present);
    CHECK(data.duplicates == DuplicatePolicy::last);
    CHECK(data.seed == 5);

    // A file serves every command: generate reads its own top-level keys and skips [data].
    write_text(path, "users = 77\n[data]\ntrain = from-ini.tsv\n");
    const auto generate = parse({"generate", "--config", path});
    CHECK(generate.config.generate.users == 77);
    CHECK(generate.config.data.train == "from-ini.tsv");
}

TEST_CASE("the command line overrides the INI file, wherever --config appears", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("run.ini");
    write_text(path, "[data]\ntrain = ini.tsv\nseed = 3\nformat = csv\n");
    for (const bool config_first : {true, false}) {
        INFO("--config first: " << config_first);
        const auto parsed = config_first ? parse({"data", "--config", path, "--data.seed", "7"})
                                         : parse({"data", "--data.seed", "7", "--config", path});
        CHECK(parsed.config.data.seed == 7);           // from the command line
        CHECK(parsed.config.data.train == "ini.tsv");  // from the file
        CHECK(parsed.config.data.format == DataFormat::csv);
        CHECK(parsed.config.data.test_fraction == 0.0);  // default
    }
    // An explicit command-line value equal to the default still wins over the file.
    CHECK(parse({"data", "--config", path, "--data.seed", "42"}).config.data.seed == 42);
}

TEST_CASE("an unknown command-line option is a ConfigError naming it", "[config]") {
    CHECK_THAT(parse_error({"data", "--data.trian", "x"}), Contains("data.trian"));
    CHECK_THAT(parse_error({"data", "--bogus"}), Contains("bogus"));
    // generate's options do not exist for data, and the reverse
    CHECK_THAT(parse_error({"data", "--users", "3"}), Contains("users"));
    CHECK_THAT(parse_error({"generate", "--data.train", "x"}), Contains("data.train"));
    // no guessing of abbreviations
    CHECK_THAT(parse_error({"data", "--data.tr", "x"}), Contains("data.tr"));
}

TEST_CASE("an unknown INI key is a ConfigError naming the key and the file", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("typo.ini");
    SECTION("in a known section") {
        write_text(path, "[data]\ntrian = x.tsv\n");
        const std::string message = parse_error({"data", "--config", path});
        CHECK_THAT(message, Contains("data.trian"));
        CHECK_THAT(message, Contains(path));
    }
    SECTION("in an unknown section") {
        write_text(path, "[als]\nlambda = 0.1\n");
        const std::string message = parse_error({"data", "--config", path});
        CHECK_THAT(message, Contains("als.lambda"));
        CHECK_THAT(message, Contains(path));
    }
    SECTION("at top level") {
        write_text(path, "train = x.tsv\n");
        const std::string message = parse_error({"generate", "--config", path});
        CHECK_THAT(message, Contains("train"));
        CHECK_THAT(message, Contains(path));
    }
}

TEST_CASE("a malformed numeric value is a ConfigError naming the option", "[config]") {
    CHECK_THAT(parse_error({"data", "--data.test-fraction", "abc"}),
               Contains("data.test-fraction"));
    CHECK_THAT(parse_error({"data", "--data.seed", "12x"}), Contains("data.seed"));
    CHECK_THAT(parse_error({"generate", "--users", "1.5"}), Contains("users"));
    CHECK_THAT(parse_error({"generate", "--rank", "99999999999"}), Contains("rank"));
    CHECK_THAT(parse_error({"generate", "--ratings", "99999999999999999999"}), Contains("ratings"));
    CHECK_THAT(parse_error({"generate", "--noise", ""}), Contains("noise"));

    const TempDir dir;
    const std::string path = dir.file("bad.ini");
    write_text(path, "[data]\ntest-fraction = 0.1.2\n");
    const std::string message = parse_error({"data", "--config", path});
    CHECK_THAT(message, Contains("data.test-fraction"));
    CHECK_THAT(message, Contains(path));
}

TEST_CASE("an invalid enum value is a ConfigError listing the choices", "[config]") {
    const std::string format = parse_error({"data", "--data.format", "xml"});
    CHECK_THAT(format, Contains("data.format"));
    CHECK_THAT(format, Contains("auto|tsv|csv|movielens-dat"));
    const std::string header = parse_error({"data", "--data.header", "yes"});
    CHECK_THAT(header, Contains("data.header"));
    CHECK_THAT(header, Contains("auto|true|false"));
    const std::string duplicates = parse_error({"data", "--data.duplicates", "first"});
    CHECK_THAT(duplicates, Contains("data.duplicates"));
    CHECK_THAT(duplicates, Contains("error|last|mean"));

    const TempDir dir;
    const std::string path = dir.file("enum.ini");
    write_text(path, "[data]\nduplicates = sum\n");
    const std::string from_file = parse_error({"data", "--config", path});
    CHECK_THAT(from_file, Contains("data.duplicates"));
    CHECK_THAT(from_file, Contains("error|last|mean"));
    CHECK_THAT(from_file, Contains(path));
}

TEST_CASE("a missing config file is a ConfigError naming it", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("absent.ini");
    CHECK_THAT(parse_error({"data", "--config", path}), Contains(path));
    // a folder is not a config file either
    CHECK_THAT(parse_error({"data", "--config", dir.path()}), Contains(dir.path()));
}

TEST_CASE("effective_ini reads back to the same config", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("effective.ini");

    SECTION("data") {
        const auto parsed =
            parse({"data", "--data.train", "/some/where/train.csv", "--data.test-fraction", "0.1",
                   "--data.format", "csv", "--data.delimiter", "pipe", "--data.header", "true",
                   "--data.seed", "18446744073709551615", "--data.duplicates", "mean"});
        const std::string ini = distmf::effective_ini(parsed.config, Command::data);
        CHECK_THAT(ini, Contains("[data]"));
        write_text(path, ini);
        const auto again = parse({"data", "--config", path});
        require_same_data(again.config.data, parsed.config.data);
        CHECK(distmf::effective_ini(again.config, Command::data) == ini);
        CHECK(distmf::config_fingerprint(again.config, Command::data) ==
              distmf::config_fingerprint(parsed.config, Command::data));
    }
    SECTION("data with a separate test file and defaults") {
        const auto parsed = parse({"data", "--data.train", "a.tsv", "--data.test", "b.tsv"});
        write_text(path, distmf::effective_ini(parsed.config, Command::data));
        require_same_data(parse({"data", "--config", path}).config.data, parsed.config.data);
    }
    SECTION("generate") {
        const auto parsed = parse({"generate", "--users", "123", "--items", "456", "--ratings",
                                   "789", "--rank", "5", "--noise", "0.3", "--seed", "11", "--out",
                                   "x/y.tsv", "--min-rating", "-2.5", "--max-rating", "2.5"});
        const std::string ini = distmf::effective_ini(parsed.config, Command::generate);
        write_text(path, ini);
        const auto again = parse({"generate", "--config", path});
        require_same_generate(again.config.generate, parsed.config.generate);
        CHECK(distmf::effective_ini(again.config, Command::generate) == ini);
    }
}

TEST_CASE("config_fingerprint changes with any option of the command", "[config]") {
    Config config = valid_data_config();
    const auto base = distmf::config_fingerprint(config, Command::data);
    CHECK(distmf::config_fingerprint(config, Command::data) == base);
    config.data.seed += 1;
    CHECK(distmf::config_fingerprint(config, Command::data) != base);
    config = valid_data_config();
    config.data.test_fraction = 0.2;
    CHECK(distmf::config_fingerprint(config, Command::data) != base);
}

TEST_CASE("help text lists every option of the command", "[config]") {
    const std::string data = distmf::help_text(Command::data);
    for (const char* option : {"--data.train", "--data.test", "--data.test-fraction",
                               "--data.format", "--data.delimiter", "--data.header", "--data.seed",
                               "--data.duplicates", "--config", "--print-config", "--help"}) {
        CHECK_THAT(data, Contains(option));
    }
    const std::string generate = distmf::help_text(Command::generate);
    for (const char* option : {"--users", "--items", "--ratings", "--rank", "--noise", "--seed",
                               "--out", "--min-rating", "--max-rating"}) {
        CHECK_THAT(generate, Contains(option));
    }
    CHECK_THAT(distmf::overview_text(), Contains("generate"));
}

TEST_CASE("validate accepts valid configurations", "[config]") {
    CHECK_NOTHROW(distmf::validate(valid_data_config(), Command::data));
    CHECK_NOTHROW(distmf::validate(valid_generate_config(), Command::generate));
    Config config = valid_data_config();
    config.data.test = "test.tsv";  // a test file with test-fraction 0 is fine
    CHECK_NOTHROW(distmf::validate(config, Command::data));
    config = valid_generate_config();
    config.generate.users = 2;
    config.generate.items = 3;
    config.generate.ratings = 3;  // exactly users * items / 2
    CHECK_NOTHROW(distmf::validate(config, Command::generate));
}

TEST_CASE("validate: data options", "[config]") {
    Config config = valid_data_config();
    SECTION("--data.train is required") {
        config.data.train.clear();
        CHECK_THAT(validate_error(config, Command::data), Contains("--data.train"));
    }
    SECTION("--data.test-fraction must be in [0, 1)") {
        for (const double bad : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
            config.data.test_fraction = bad;
            INFO(bad);
            CHECK_THAT(validate_error(config, Command::data), Contains("--data.test-fraction"));
        }
        config.data.test_fraction = 0.999;
        CHECK(validate_error(config, Command::data).empty());
    }
    SECTION("--data.test and --data.test-fraction > 0 exclude each other") {
        config.data.test = "test.tsv";
        config.data.test_fraction = 0.2;
        const std::string message = validate_error(config, Command::data);
        CHECK_THAT(message, Contains("--data.test-fraction"));
        CHECK_THAT(message, Contains("--data.test"));
    }
    SECTION("--data.delimiter must not contain a line break") {
        config.data.delimiter = "\n";
        CHECK_THAT(validate_error(config, Command::data), Contains("--data.delimiter"));
    }
    SECTION("generate options are not checked for data") {
        config.generate.users = 0;
        CHECK(validate_error(config, Command::data).empty());
    }
}

TEST_CASE("validate: train option ranges", "[config]") {
    Config config = valid_data_config();
    CHECK(validate_error(config, Command::train).empty());
    auto& m = config.model;
    auto& t = config.train;
    std::string option;
    SECTION("rank 0") {
        m.rank = 0;
        option = "--model.rank";
    }
    SECTION("rank above 4096") {
        m.rank = 4097;
        option = "--model.rank";
    }
    SECTION("lambda negative") {
        m.lambda = -1.0;
        option = "--model.lambda";
    }
    SECTION("lambda infinite") {
        m.lambda = std::numeric_limits<double>::infinity();
        option = "--model.lambda";
    }
    SECTION("bias-lambda NaN") {
        m.bias_lambda = std::numeric_limits<double>::quiet_NaN();
        option = "--model.bias-lambda";
    }
    SECTION("bias-lambda infinite") {
        m.bias_lambda = std::numeric_limits<double>::infinity();
        option = "--model.bias-lambda";
    }
    SECTION("iterations") {
        t.iterations = 0;
        option = "--train.iterations";
    }
    SECTION("threads") {
        t.threads = -1;
        option = "--train.threads";
    }
    SECTION("patience negative") {
        t.patience = -1;
        option = "--train.patience";
    }
    SECTION("patience without test data") {
        t.patience = 2;
        option = "--train.patience";
    }
    const std::string message = validate_error(config, Command::train);
    INFO(message);
    CHECK(message.rfind(option + ":", 0) == 0);  // the message starts with the option's name
}

TEST_CASE("validate accepts the train options' boundary values", "[config]") {
    Config config = valid_data_config();
    config.model.rank = 4096;
    config.model.lambda = 0.0;
    config.model.bias_lambda = -1.0;  // negative: the same as lambda
    CHECK(validate_error(config, Command::train).empty());
    config.model.rank = 1;
    config.model.bias_lambda = 0.0;
    config.train.patience = 3;
    config.data.test_fraction = 0.1;
    CHECK(validate_error(config, Command::train).empty());
    config.data.test_fraction = 0.0;
    config.data.test = "test.tsv";
    CHECK(validate_error(config, Command::train).empty());
}

TEST_CASE("validate: generate option ranges", "[config]") {
    Config config = valid_generate_config();
    auto& g = config.generate;
    std::string option;
    SECTION("users") {
        g.users = 0;
        option = "--users";
    }
    SECTION("items") {
        g.items = -3;
        option = "--items";
    }
    SECTION("ratings below 1") {
        g.ratings = 0;
        option = "--ratings";
    }
    SECTION("ratings above users * items / 2") {
        g.users = 10;
        g.items = 10;
        g.ratings = 51;
        option = "--ratings";
    }
    SECTION("rank") {
        g.rank = 0;
        option = "--rank";
    }
    SECTION("noise") {
        g.noise = -0.5;
        option = "--noise";
    }
    SECTION("noise NaN") {
        g.noise = std::numeric_limits<double>::quiet_NaN();
        option = "--noise";
    }
    SECTION("out") {
        g.out.clear();
        option = "--out";
    }
    SECTION("max-rating equal to min-rating") {
        g.max_rating = g.min_rating;
        option = "--max-rating";
    }
    SECTION("max-rating below min-rating") {
        g.min_rating = 5.0;
        g.max_rating = 1.0;
        option = "--max-rating";
    }
    const std::string message = validate_error(config, Command::generate);
    INFO(message);
    CHECK(message.rfind(option + ":", 0) == 0);  // the message starts with the option's name
    CHECK(validate_error(config, Command::data) == "--data.train: a ratings file is required");
}

TEST_CASE("model.algorithm, model.init and the [dsgd] options reach the config", "[config]") {
    const auto parsed = parse({"train", "--data.train", "r.tsv", "--model.algorithm", "dsgd",
                               "--model.init", "als.h5", "--dsgd.step-size", "0.02",
                               "--dsgd.schedule", "inverse-decay", "--dsgd.grow", "1.1",
                               "--dsgd.shrink", "0.25", "--dsgd.decay", "0.5", "--dsgd.grid", "6"});
    const Config& c = parsed.config;
    CHECK(c.model.algorithm == distmf::Algorithm::dsgd);
    CHECK(c.model.init == "als.h5");
    CHECK(c.dsgd.step_size == 0.02);
    CHECK(c.dsgd.schedule == distmf::StepSchedule::inverse_decay);
    CHECK(c.dsgd.grow == 1.1);
    CHECK(c.dsgd.shrink == 0.25);
    CHECK(c.dsgd.decay == 0.5);
    CHECK(c.dsgd.grid == 6);
    CHECK(Config{}.model.algorithm == distmf::Algorithm::als);  // ALS stays the default
    CHECK(Config{}.dsgd.schedule == distmf::StepSchedule::bold_driver);
    CHECK(validate_error(c, Command::train).empty());

    const TempDir dir;
    write_text(dir.file("run.ini"), distmf::effective_ini(c, Command::train));
    const Config again = parse({"train", "--config", dir.file("run.ini")}).config;
    CHECK(distmf::effective_ini(again, Command::train) == distmf::effective_ini(c, Command::train));
    CHECK_THAT(parse_error({"train", "--model.algorithm", "sgd"}),
               Contains("--model.algorithm") && Contains("als|dsgd"));
    CHECK_THAT(parse_error({"train", "--dsgd.schedule", "adagrad"}),
               Contains("bold-driver|fixed|inverse-decay"));
}

TEST_CASE("validate: dsgd option ranges", "[config]") {
    Config config = valid_data_config();
    config.model.algorithm = distmf::Algorithm::dsgd;
    CHECK(validate_error(config, Command::train).empty());
    auto& d = config.dsgd;
    std::string option;
    SECTION("step size 0") {
        d.step_size = 0.0;
        option = "--dsgd.step-size";
    }
    SECTION("step size infinite") {
        d.step_size = std::numeric_limits<double>::infinity();
        option = "--dsgd.step-size";
    }
    SECTION("grow below 1") {
        d.grow = 0.9;
        option = "--dsgd.grow";
    }
    SECTION("shrink 0") {
        d.shrink = 0.0;
        option = "--dsgd.shrink";
    }
    SECTION("shrink above 1") {
        d.shrink = 1.5;
        option = "--dsgd.shrink";
    }
    SECTION("decay negative") {
        d.decay = -0.1;
        option = "--dsgd.decay";
    }
    SECTION("grid negative") {
        d.grid = -1;
        option = "--dsgd.grid";
    }
    SECTION("grid too large") {
        d.grid = distmf::max_dsgd_grid + 1;
        option = "--dsgd.grid";
    }
    SECTION("init scale 0") {
        config.train.init_scale = 0.0;
        option = "--train.init-scale";
    }
    SECTION("init scale NaN") {
        config.train.init_scale = std::numeric_limits<double>::quiet_NaN();
        option = "--train.init-scale";
    }
    const std::string message = validate_error(config, Command::train);
    INFO(message);
    CHECK(message.rfind(option + ":", 0) == 0);
}

TEST_CASE("the [bpmf] options reach the config", "[config][bpmf]") {
    const Config defaults;
    CHECK(defaults.bpmf.alpha == 2.0);
    CHECK(defaults.bpmf.beta0 == 2.0);
    CHECK(defaults.bpmf.burn_in == 10);
    CHECK(defaults.bpmf.keep_samples == 0);  // the posterior mean factors
    const auto parsed = parse({"train", "--data.train", "r.tsv", "--model.algorithm", "bpmf",
                               "--model.biases", "false", "--bpmf.alpha", "1.5", "--bpmf.beta0",
                               "3", "--bpmf.burn-in", "4", "--bpmf.keep-samples", "7"});
    const Config& c = parsed.config;
    CHECK(c.model.algorithm == distmf::Algorithm::bpmf);
    CHECK(c.bpmf.alpha == 1.5);
    CHECK(c.bpmf.beta0 == 3.0);
    CHECK(c.bpmf.burn_in == 4);
    CHECK(c.bpmf.keep_samples == 7);
    CHECK(validate_error(c, Command::train).empty());
    CHECK(distmf::uses_global_mean(c.model));  // BPMF centres the ratings, with no biases
    CHECK(distmf::effective_ini(c, Command::train).find("[bpmf]\n") != std::string::npos);
    CHECK(distmf::help_text(Command::train).find("--bpmf.burn-in") != std::string::npos);
    CHECK(distmf::help_text(Command::train).find("--bpmf.keep-samples") != std::string::npos);
    CHECK_THAT(parse_error({"train", "--model.algorithm", "gibbs"}),
               Contains("als|ials|dsgd|bpmf"));
}

TEST_CASE("validate: bpmf option ranges and rules", "[config][bpmf]") {
    Config config = valid_data_config();
    config.model.algorithm = distmf::Algorithm::bpmf;
    config.model.biases = false;
    config.train.iterations = 20;
    CHECK(validate_error(config, Command::train).empty());
    auto& b = config.bpmf;
    std::string option;
    std::string why;
    SECTION("alpha 0") {
        b.alpha = 0.0;
        option = "--bpmf.alpha";
    }
    SECTION("alpha NaN") {
        b.alpha = std::numeric_limits<double>::quiet_NaN();
        option = "--bpmf.alpha";
    }
    SECTION("beta0 negative") {
        b.beta0 = -1.0;
        option = "--bpmf.beta0";
    }
    SECTION("burn-in negative") {
        b.burn_in = -1;
        option = "--bpmf.burn-in";
    }
    SECTION("keep-samples negative") {
        b.keep_samples = -1;
        option = "--bpmf.keep-samples";
        why = ">= 0";
    }
    SECTION("keep-samples too many for the model's width") {
        config.model.rank = 64;
        b.keep_samples = 40000000;
        option = "--bpmf.keep-samples";
        why = "at most 33554431 with --model.rank 64";
    }
    SECTION("burn-in not below the iterations") {
        b.burn_in = 20;
        option = "--bpmf.burn-in";
        why = "less than --train.iterations (20)";
    }
    SECTION("biases") {
        config.model.biases = true;
        option = "--model.biases";
        why = "set --model.biases false";
    }
    SECTION("patience") {
        config.data.test_fraction = 0.1;
        config.train.patience = 3;
        option = "--train.patience";
        why = "--model.algorithm bpmf";
    }
    const std::string message = validate_error(config, Command::train);
    INFO(message);
    CHECK(message.rfind(option + ":", 0) == 0);
    CHECK_THAT(message, Contains(why));
}

TEST_CASE("validate: the [bpmf] ranges hold for the other algorithms, its rules do not",
          "[config][bpmf]") {
    Config config = valid_data_config();
    config.bpmf.burn_in = 50;  // more than --train.iterations: only a rule of BPMF
    CHECK(validate_error(config, Command::train).empty());
    config.bpmf.alpha = -1.0;
    CHECK(validate_error(config, Command::train).rfind("--bpmf.alpha:", 0) == 0);
    CHECK_FALSE(distmf::uses_global_mean(distmf::ModelConfig{
        distmf::Algorithm::als, 10, 0.05, -1.0, distmf::Regularization::weighted, false, ""}));
}

// ---- the command line wins over excluding options of the file (issue 11, item 7) -----------

TEST_CASE("the command line wins over a config file option that excludes the one it sets",
          "[config]") {
    const TempDir dir;
    const std::string path = dir.file("run.ini");
    SECTION("--data.test over test-fraction and split = per-user") {
        write_text(path, "[data]\ntrain = r.tsv\ntest-fraction = 0.1\nsplit = per-user\n");
        for (const Command command : {Command::data, Command::train, Command::evaluate}) {
            INFO(distmf::command_name(command));
            std::vector<std::string> args{distmf::command_name(command), "--config", path,
                                          "--data.test", "t.tsv"};
            if (command == Command::evaluate) args.insert(args.end(), {"--model", "m.h5"});
            const Config c = parse(args).config;
            CHECK(c.data.test == "t.tsv");
            CHECK(c.data.test_fraction == 0.0);
            CHECK(c.data.split == distmf::SplitMethod::hash);
            CHECK(c.data.train == "r.tsv");  // the file's other options stay
            CHECK(validate_error(c, command).empty());
        }
    }
    SECTION("--data.test-fraction or --data.split over test") {
        write_text(path, "[data]\ntrain = r.tsv\ntest = t.tsv\n");
        const Config c = parse({"train", "--config", path, "--data.test-fraction", "0.2"}).config;
        CHECK(c.data.test.empty());
        CHECK(c.data.test_fraction == 0.2);
        CHECK(validate_error(c, Command::train).empty());
        write_text(path, "[data]\ntrain = r.tsv\ntest = t.tsv\ntest-fraction = 0.2\n");
        const Config per_user =
            parse({"train", "--config", path, "--data.split", "per-user"}).config;
        CHECK(per_user.data.test.empty());
        CHECK(per_user.data.test_fraction == 0.2);
        CHECK(validate_error(per_user, Command::train).empty());
    }
    SECTION("a command-line value that sets nothing drops nothing") {
        write_text(path, "[data]\ntrain = r.tsv\ntest = t.tsv\n");
        const Config c = parse({"train", "--config", path, "--data.test-fraction", "0"}).config;
        CHECK(c.data.test == "t.tsv");
        CHECK(validate_error(c, Command::train).empty());
    }
    SECTION("recommend: --user, --users and --all-users") {
        write_text(path, "model = m.h5\nusers = u.txt\n");
        const Config one = parse({"recommend", "--config", path, "--user", "5"}).config;
        CHECK(one.serve.user == 5);
        CHECK(one.serve.users.empty());
        CHECK(validate_error(one, Command::recommend).empty());
        write_text(path, "model = m.h5\nuser = 3\n");
        const Config all = parse({"recommend", "--config", path, "--all-users"}).config;
        CHECK(all.serve.all_users);
        CHECK(all.serve.user == -1);
        CHECK(validate_error(all, Command::recommend).empty());
    }
    SECTION("predict: --data.test over pairs") {
        write_text(path, "model = m.h5\npairs = p.tsv\n");
        const Config c = parse({"predict", "--config", path, "--data.test", "t.tsv"}).config;
        CHECK(c.serve.pairs.empty());
        CHECK(validate_error(c, Command::predict).empty());
    }
    SECTION("both from the file stay an error naming both") {
        write_text(path, "[data]\ntrain = r.tsv\ntest = t.tsv\ntest-fraction = 0.1\n");
        const std::string message =
            validate_error(parse({"train", "--config", path}).config, Command::train);
        CHECK_THAT(message, Contains("--data.test-fraction") && Contains("--data.test "));
        write_text(path, "model = m.h5\nuser = 3\nall-users = true\n");
        CHECK_THAT(
            validate_error(parse({"recommend", "--config", path}).config, Command::recommend),
            Contains("--users") && Contains("--all-users"));
    }
}

// ---- keys the running command does not have (issue 11, item 8) -----------------------------

TEST_CASE("a key before any section that the command does not have is an error", "[config]") {
    const TempDir dir;
    const std::string path = dir.file("run.ini");
    SECTION("generate's rank given to train names train and suggests [model] rank") {
        write_text(path, "# k\nrank = 4\n[data]\ntrain = r.tsv\n");
        const std::string message = parse_error({"train", "--config", path});
        CHECK_THAT(message, Contains("config file '" + path + "', line 2"));
        CHECK_THAT(message, Contains("'rank'") && Contains("distmf train"));
        CHECK_THAT(message, Contains("[model] rank"));
        CHECK(parse({"generate", "--config", path}).config.generate.rank == 4);  // its own key
    }
    SECTION("recommend's top given to train names the commands that have it") {
        write_text(path, "top = 5\n[data]\ntrain = r.tsv\n");
        const std::string message = parse_error({"train", "--config", path});
        CHECK_THAT(message, Contains("'top'") && Contains("distmf train"));
        CHECK_THAT(message, Contains("distmf recommend"));
    }
    SECTION("generate's users given to data") {
        write_text(path, "users = 77\n[data]\ntrain = r.tsv\n");
        CHECK_THAT(parse_error({"data", "--config", path}),
                   Contains("'users'") && Contains("distmf data"));
    }
    SECTION("a section no command has, with another command's key") {
        write_text(path, "[data]\ntrain = r.tsv\n[recommend]\ntop = 5\n");
        const std::string message = parse_error({"train", "--config", path});
        CHECK_THAT(message, Contains("line 4") && Contains("recommend.top"));
        CHECK_THAT(message, Contains("distmf recommend"));
    }
    SECTION("a section of another command is read: one file serves train and evaluate") {
        write_text(path,
                   "[data]\ntrain = r.tsv\ntest-fraction = 0.1\n[model]\nrank = 4\n"
                   "[dsgd]\nstep-size = 0.02\n[eval]\nk = 5\n");
        const Config evaluate = parse({"evaluate", "--config", path, "--model", "m.h5"}).config;
        CHECK(evaluate.eval.k == 5);
        CHECK(validate_error(evaluate, Command::evaluate).empty());
        CHECK(parse({"train", "--config", path}).config.model.rank == 4);
        CHECK(parse({"data", "--config", path}).config.data.test_fraction == 0.1);
    }
    SECTION("on the command line, --rank for train suggests --model.rank") {
        CHECK_THAT(parse_error({"train", "--rank", "4"}),
                   Contains("'--rank'") && Contains("--model.rank"));
    }
}

// ---- config files of binary junk, byte order marks (issue 11, item 8) ----------------------

namespace {

/// True if `text` holds no byte below 0x20 and no DEL: it prints as one line.
bool one_printable_line(const std::string& text) {
    return std::none_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

}  // namespace

TEST_CASE("config errors quote file content and values with their control bytes escaped",
          "[config]") {
    const TempDir dir;
    const std::string path = dir.file("junk.ini");
    SECTION("a binary file") {
        write_text(path, std::string("\x7F"
                                     "ELF\x02\x01\x01\0\0\0\x1B[2J\ttab\r",
                                     19) +
                             std::string(300, '\x03') + "\n[data]\n");
        const std::string message = parse_error({"train", "--config", path});
        INFO(message);
        CHECK_THAT(message, Contains("config file '" + path + "', line 1"));
        CHECK_THAT(message,
                   Contains("'\\x7FELF\\x02\\x01\\x01\\x00\\x00\\x00\\x1B[2J\\ttab\\r\\x03"));
        CHECK(one_printable_line(message));
        CHECK(message.size() < 600);  // the quote of a long line is cut
    }
    SECTION("a key and a value with control bytes") {
        write_text(path, std::string("[data]\nse\x01"
                                     "ed = 4\n"));
        const std::string key = parse_error({"train", "--config", path});
        CHECK_THAT(key, Contains("'data.se\\x01ed'"));
        CHECK(one_printable_line(key));
        write_text(path, std::string("[data]\nseed = 4\x02\0\x03\n", 19));
        const std::string value = parse_error({"train", "--config", path});
        CHECK_THAT(value, Contains("4\\x02\\x00\\x03") && Contains("data.seed"));
        CHECK(one_printable_line(value));
        const std::string command_line = parse_error({"data", "--data.seed", "7\n8"});
        CHECK_THAT(command_line, Contains("'7\\n8'"));
        CHECK(one_printable_line(command_line));
    }
    SECTION("UTF-8 text is quoted as it is") {
        write_text(path, "[data]\nseed = données\n");
        CHECK_THAT(parse_error({"train", "--config", path}), Contains("'données'"));
    }
}

TEST_CASE("a config file that starts with a UTF-8 byte order mark reads as without it",
          "[config]") {
    const TempDir dir;
    const std::string with_bom = dir.file("bom.ini");
    const std::string without = dir.file("plain.ini");
    const std::string text = "[data]\ntrain = r.tsv\nseed = 5\n[model]\nrank = 3\n";
    write_text(with_bom, "\xEF\xBB\xBF" + text);
    write_text(without, text);
    const Config c = parse({"train", "--config", with_bom}).config;
    CHECK(c.data.train == "r.tsv");
    CHECK(c.model.rank == 3);
    CHECK(distmf::effective_ini(c, Command::train) ==
          distmf::effective_ini(parse({"train", "--config", without}).config, Command::train));
    // a byte order mark before a top-level key as well
    write_text(with_bom, "\xEF\xBB\xBFusers = 12\n");
    CHECK(parse({"generate", "--config", with_bom}).config.generate.users == 12);
}

// ---- doubles in the effective configuration (issue 11, item 7) ------------------------------

TEST_CASE("every double option prints in the shortest form that reads back exactly", "[config]") {
    Config c = valid_data_config();
    c.data.test_fraction = 0.1;
    c.model.lambda = 0.1 + 0.2;  // 0.30000000000000004: shortest, not rounded to 0.3
    c.model.bias_lambda = 0.01;
    c.ials.alpha = 40.0;
    c.ials.epsilon = 1e-7;
    c.train.init_scale = 0.03;
    c.dsgd.step_size = 0.007;
    c.dsgd.grow = 1.05;
    c.dsgd.shrink = 0.7;
    c.dsgd.decay = 1e-300;
    c.bpmf.alpha = 2.5;
    c.bpmf.beta0 = 1e+300;
    c.checkpoint.every_seconds = 3600.5;
    const std::string train = distmf::effective_ini(c, Command::train);
    for (const char* line :
         {"\ntest-fraction = 0.1\n", "\nlambda = 0.30000000000000004\n", "\nbias-lambda = 0.01\n",
          "\nalpha = 40\n", "\nepsilon = 1e-07\n", "\ninit-scale = 0.03\n", "\nstep-size = 0.007\n",
          "\ngrow = 1.05\n", "\nshrink = 0.7\n", "\ndecay = 1e-300\n", "\nalpha = 2.5\n",
          "\nbeta0 = 1e+300\n", "\nevery-seconds = 3600.5\n"}) {
        INFO(line);
        CHECK(train.find(line) != std::string::npos);
    }
    Config g = valid_generate_config();
    g.generate.noise = 0.1;
    g.generate.min_rating = 0.5;
    g.generate.max_rating = 4.9;
    const std::string generate = distmf::effective_ini(g, Command::generate);
    for (const char* line : {"\nnoise = 0.1\n", "\nmin-rating = 0.5\n", "\nmax-rating = 4.9\n"}) {
        INFO(line);
        CHECK(generate.find(line) != std::string::npos);
    }

    // The text reads back to the same bits, and to the same text (so the same fingerprint).
    const TempDir dir;
    write_text(dir.file("train.ini"), train);
    const Config again = parse({"train", "--config", dir.file("train.ini")}).config;
    CHECK(distmf::effective_ini(again, Command::train) == train);
    CHECK(distmf::config_fingerprint(again, Command::train) ==
          distmf::config_fingerprint(c, Command::train));
    CHECK(again.model.lambda == c.model.lambda);
    CHECK(again.ials.epsilon == c.ials.epsilon);
    CHECK(again.dsgd.decay == c.dsgd.decay);
    CHECK(again.bpmf.beta0 == c.bpmf.beta0);
    write_text(dir.file("generate.ini"), generate);
    const Config generated = parse({"generate", "--config", dir.file("generate.ini")}).config;
    CHECK(distmf::effective_ini(generated, Command::generate) == generate);
    CHECK(generated.generate.max_rating == 4.9);

    // Model files and checkpoints written before keep 17 digits in their `config` attribute:
    // they read back to the same values (nothing compares that text).
    const Config old = distmf::config_from_ini(
        "[data]\ntest-fraction = 0.10000000000000001\n[model]\nlambda = 0.050000000000000003\n",
        Command::train);
    CHECK(old.data.test_fraction == 0.1);
    CHECK(old.model.lambda == 0.05);
}

TEST_CASE("no default prints a double with 17 digits", "[config]") {
    for (const Command command : {Command::train, Command::evaluate, Command::data,
                                  Command::generate, Command::recommend, Command::predict}) {
        const std::string ini = distmf::effective_ini(Config{}, command);
        INFO(ini);
        CHECK(ini.find("00000000") == std::string::npos);
        CHECK(ini.find("99999999") == std::string::npos);
    }
}

TEST_CASE("config_with_settings applies settings as the command line reads them", "[config]") {
    Config base = valid_data_config();
    base.model.rank = 24;
    base.model.lambda = 0.125;
    base.dsgd.step_size = 0.02;
    base.data.delimiter = "tab";
    const Config changed = distmf::config_with_settings(base,
                                                        {{"model.lambda", "0.05"},
                                                         {"model.regularization", "plain"},
                                                         {"model.biases", "no"},
                                                         {"bpmf.burn-in", "3"},
                                                         {"train.seed", "7"}},
                                                        Command::train);
    CHECK(changed.model.lambda == 0.05);
    CHECK(changed.model.regularization == distmf::Regularization::plain);
    CHECK_FALSE(changed.model.biases);
    CHECK(changed.bpmf.burn_in == 3);
    CHECK(changed.train.seed == 7);
    // Untouched options keep base's values, not the declared defaults.
    CHECK(changed.model.rank == 24);
    CHECK(changed.dsgd.step_size == 0.02);
    CHECK(changed.data.train == "ratings.tsv");
    CHECK(changed.data.delimiter == "tab");
    // No settings: base itself, to the bit (the same effective INI).
    CHECK(distmf::effective_ini(distmf::config_with_settings(base, {}, Command::train),
                                Command::train) == distmf::effective_ini(base, Command::train));
    // The same result as the command line.
    const Config cli = parse({"train", "--data.train", "ratings.tsv", "--model.lambda", "0.05",
                              "--model.regularization", "plain", "--model.biases", "no"})
                           .config;
    const Config from_defaults = distmf::config_with_settings(
        valid_data_config(),
        {{"model.lambda", "0.05"}, {"model.regularization", "plain"}, {"model.biases", "no"}},
        Command::train);
    CHECK(distmf::effective_ini(from_defaults, Command::train) ==
          distmf::effective_ini(cli, Command::train));
    for (const char* spelling : {"true", "yes", "1", "on"}) {
        INFO(spelling);
        CHECK(distmf::config_with_settings(base, {{"model.biases", spelling}}, Command::train)
                  .model.biases);
    }
}

TEST_CASE("config_with_settings names the option of an unknown option or unreadable value",
          "[config]") {
    const Config base = valid_data_config();
    const auto error = [&](const std::vector<distmf::Setting>& settings) {
        try {
            distmf::config_with_settings(base, settings, Command::train);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK_THAT(error({{"model.lamda", "0.1"}}), Contains("--model.lamda"));
    CHECK_THAT(error({{"model.alpha", "1"}}), Contains("[ials] alpha") || Contains("--ials.alpha"));
    CHECK_THAT(error({{"users", "10"}}), Contains("--users"));  // generate's, not train's
    CHECK_THAT(error({{"model.rank", "ten"}}), Contains("model.rank") && Contains("'ten'"));
    CHECK_THAT(error({{"model.rank", "8.5"}}), Contains("model.rank") && Contains("8.5"));
    CHECK_THAT(error({{"model.regularization", "heavy"}}),
               Contains("regularization") && Contains("weighted|plain"));
    CHECK_THAT(error({{"model.biases", "maybe"}}), Contains("model.biases"));
    CHECK_THAT(error({{"train.seed", "-1"}}), Contains("train.seed"));
    CHECK_THAT(error({{"model.rank", "8"}, {"model.rank", "16"}}),
               Contains("--model.rank") && Contains("twice"));
    CHECK_THAT(error({{"model.rank", std::string("1\0x", 3)}}), Contains("\\x00"));
    // Not validated: a value out of range reads.
    CHECK(distmf::config_with_settings(base, {{"model.rank", "0"}}, Command::train).model.rank ==
          0);
}

TEST_CASE("option_kind tells integers, floating-point numbers and other options apart",
          "[config]") {
    using distmf::OptionKind;
    CHECK(distmf::option_kind("model.rank", Command::train) == OptionKind::integer);
    CHECK(distmf::option_kind("train.seed", Command::train) == OptionKind::integer);
    CHECK(distmf::option_kind("model.lambda", Command::train) == OptionKind::floating);
    CHECK(distmf::option_kind("model.regularization", Command::train) == OptionKind::other);
    CHECK(distmf::option_kind("model.biases", Command::train) == OptionKind::other);
    CHECK(distmf::option_kind("model.init", Command::train) == OptionKind::other);
    CHECK(distmf::option_kind("model.lamda", Command::train) == OptionKind::unknown);
    CHECK(distmf::option_kind("users", Command::train) == OptionKind::unknown);
    CHECK(distmf::option_kind("users", Command::generate) == OptionKind::integer);
    const std::vector<std::string> names = distmf::option_names(Command::train);
    CHECK(std::find(names.begin(), names.end(), "bpmf.burn-in") != names.end());
    CHECK(std::find(names.begin(), names.end(), "users") == names.end());
}
