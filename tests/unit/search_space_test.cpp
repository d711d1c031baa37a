#include "distmf/search_space.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "distmf/config.hpp"
#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "distmf/log.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::Config;
using distmf::ConfigError;
using distmf::SearchDimension;
using distmf::SearchSpace;
using distmf::Setting;

namespace {

/// A train configuration that passes validate().
Config base_config() {
    Config config;
    config.data.train = "ratings.tsv";
    return config;
}

SearchSpace parse(const std::string& text, const Config& base = base_config()) {
    return distmf::parse_search_space(text, "space.ini", base);
}

/// The message of the ConfigError that parsing `text` throws ("" if it does not throw).
std::string parse_error(const std::string& text, const Config& base = base_config()) {
    try {
        parse(text, base);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

/// The value of `option` among `settings` ("" if absent).
std::string value_of(const std::vector<Setting>& settings, const std::string& option) {
    for (const Setting& setting : settings) {
        if (setting.option == option) return setting.value;
    }
    return "";
}

double number(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

const char* const example_space = R"(# comment (also ;)
[model]
rank = 16, 32, 64                 # a list: candidates take one of these values
lambda = log-range(0.005, 0.5)    # log-uniform between the bounds (grid: log-spaced)
bias-lambda = range(0, 0.2)       ; uniform (grid: evenly spaced)
algorithm = als                   # one value: fixed for every candidate
[bpmf]
alpha = range(1, 4)
)";

}  // namespace

TEST_CASE("the example space file reads to its dimensions in file order", "[search_space]") {
    const SearchSpace space = parse(example_space);
    CHECK(space.path == "space.ini");
    REQUIRE(space.dimensions.size() == 5);
    const SearchDimension& rank = space.dimensions[0];
    CHECK(rank.option == "model.rank");
    CHECK(rank.kind == SearchDimension::Kind::list);
    CHECK(rank.values == std::vector<std::string>{"16", "32", "64"});
    CHECK(rank.integer);
    CHECK(rank.line == 3);
    const SearchDimension& lambda = space.dimensions[1];
    CHECK(lambda.option == "model.lambda");
    CHECK(lambda.kind == SearchDimension::Kind::log_range);
    CHECK(lambda.low == 0.005);
    CHECK(lambda.high == 0.5);
    CHECK_FALSE(lambda.integer);
    CHECK(space.dimensions[2].kind == SearchDimension::Kind::range);
    CHECK(space.dimensions[3].values == std::vector<std::string>{"als"});
    CHECK(space.dimensions[4].option == "bpmf.alpha");
    CHECK(space.dimensions[4].line == 8);
    CHECK(space.canonical_text ==
          "model.rank = 16, 32, 64\nmodel.lambda = log-range(0.005, 0.5)\n"
          "model.bias-lambda = range(0, 0.2)\nmodel.algorithm = als\nbpmf.alpha = range(1, 4)\n");
    // Comments, blanks and the spelling of the bounds do not change the canonical text.
    const SearchSpace same = parse(
        "\xEF\xBB\xBF[model]\r\n  rank=16 ,32,  64\nlambda = log-range( 5e-3 ,0.50 )\n"
        "bias-lambda=range(0.0, 2e-1)\nalgorithm = als\n\n[ bpmf ]\nalpha = range(1.0, 4)");
    CHECK(same.canonical_text == space.canonical_text);
}

TEST_CASE("bad space files are errors naming the file and line", "[search_space]") {
    struct Case {
        const char* text;
        std::vector<const char*> expected;
    };
    const std::vector<Case> cases{
        {"[model]\nrank 16\n", {"line 2", "expected '[section]' or 'key = value'"}},
        {"rank = 16\n", {"line 1", "before any [section]"}},
        {"[model]\n = 16\n", {"line 2", "no key"}},
        {"[data]\ntest-fraction = 0.1\n", {"line 1", "[data]", "cannot be searched"}},
        {"[mode]\nrank = 16\n", {"line 1", "[mode]"}},
        {"[eval]\nk = 5, 10\n", {"line 1", "[eval]"}},
        {"[model]\nlamda = 0.1\n", {"line 2", "unknown option", "did you mean [model] lambda?"}},
        {"[model]\nalpha = 1\n", {"line 2", "[ials] alpha or [bpmf] alpha"}},
        {"[dsgd]\nstep_size = 0.1\n", {"line 2", "did you mean [dsgd] step-size?"}},
        {"[model]\n\x01\xff = 3\n", {"line 2", "unknown option '[model] \\x01\\xFF'"}},
        {"[train]\niterations = 5, 10\n", {"line 2", "set by the search", "--tune.max-iterations"}},
        {"[train]\nthreads = 1, 2\n", {"line 2", "[train] threads", "not a hyper-parameter"}},
        {"[train]\nfactors = sharded\n", {"line 2", "not a hyper-parameter"}},
        {"[train]\nexchange-chunks = 1\n", {"line 2", "not a hyper-parameter"}},
        {"[model]\ninit = m.h5\n", {"line 2", "[model] init", "not a hyper-parameter"}},
        {"[model]\nrank = 8\n\n[model]\nrank = 16\n", {"line 5", "second time", "line 2"}},
        {"[model]\nrank =\n", {"line 2", "[model] rank is empty"}},
        {"[model]\nrank = 8, , 16\n", {"line 2", "empty value"}},
        {"[model]\nrank = 8, 16, 8\n", {"line 2", "'8' is listed twice"}},
        {"[model]\nlambda = range(0.1)\n", {"line 2", "two finite numbers", "range(LOW, HIGH)"}},
        {"[model]\nlambda = range(0.1, 1, 2)\n", {"line 2", "two finite numbers"}},
        {"[model]\nlambda = range(0.1, inf)\n", {"line 2", "two finite numbers"}},
        {"[model]\nlambda = range(a, b)\n", {"line 2", "two finite numbers"}},
        {"[model]\nlambda = range(0.1, 1\n", {"line 2", "malformed range"}},
        {"[model]\nlambda = logrange(0.1, 1)\n",
         {"line 2", "'logrange' is not range or log-range"}},
        {"[model]\nlambda = range(0.5, 0.5)\n", {"line 2", "low bound must be below"}},
        {"[model]\nlambda = range(1, 0.5)\n", {"line 2", "low bound must be below"}},
        {"[model]\nlambda = log-range(0, 1)\n", {"line 2", "log-range needs bounds > 0"}},
        {"[model]\nregularization = range(0, 1)\n", {"line 2", "is not a number", "list its"}},
        {"[model]\nbiases = range(0, 1)\n", {"line 2", "is not a number"}},
        {"[model]\nrank = range(8.5, 64)\n", {"line 2", "holds integers"}},
        {"[model]\nrank = 16, sixteen\n", {"line 2", "'sixteen'", "--model.rank"}},
        {"[model]\nregularization = weighted, heavy\n", {"line 2", "'heavy'", "weighted|plain"}},
        {"[model]\nbiases = true, maybe\n", {"line 2", "'maybe'"}},
        {"[model]\nrank = 0, 16\n", {"line 2", "--model.rank: must be in [1, 4096], got 0"}},
        {"[model]\nlambda = range(-1, 1)\n", {"line 2", "--model.lambda", "got -1"}},
        {"[model]\nrank = log-range(1, 10000)\n", {"line 2", "--model.rank", "got 10000"}},
        {"[dsgd]\nshrink = range(0.5, 2)\n", {"line 2", "--dsgd.shrink", "(0, 1]"}},
        {"[model]\nalgorithm = bpmf\nbiases = false\n[bpmf]\nburn-in = 5, 10\n",
         {"line 5", "--bpmf.burn-in", "--train.iterations (10)"}},
        {"[train]\nseed = -1, 2\n", {"line 2", "--train.seed"}},
        {"# only comments\n\n; and blanks\n[model]\n", {"space file 'space.ini'", "no option"}},
        {"", {"space file 'space.ini'", "no option"}},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        const std::string message = parse_error(c.text);
        CHECK_THAT(message, Contains("space file 'space.ini'"));
        for (const char* expected : c.expected) CHECK_THAT(message, Contains(expected));
    }
}

TEST_CASE("values are checked with the space's fixed settings applied", "[search_space]") {
    Config base = base_config();
    base.train.iterations = 20;  // BPMF's burn-in (10) must be less
    // BPMF needs --model.biases false: fine when the space fixes it, on any line.
    CHECK_NOTHROW(parse("[model]\nalgorithm = bpmf\nbiases = false\nrank = 8, 16\n", base));
    CHECK_NOTHROW(parse("[model]\nbiases = false\nrank = 8, 16\nalgorithm = bpmf\n", base));
    // Without it, the fixed line that breaks the base configuration is named.
    CHECK_THAT(parse_error("[model]\nrank = 8, 16\nlambda = 0.1\nalgorithm = bpmf\n", base),
               Contains("line 4") && Contains("--model.biases"));
    // A fixed value out of range is blamed on its own line, not on a list checked with it.
    CHECK_THAT(parse_error("[model]\nlambda = 0.1, 0.2\nbias-lambda = 0.1\nrank = 0\n"),
               Contains("line 4") && Contains("--model.rank"));
    // A list value that contradicts a fixed one is blamed on the list.
    CHECK_THAT(parse_error("[model]\nbiases = true\nalgorithm = als, bpmf\n", base),
               Contains("line 3") && Contains("--model.biases"));
    // The base counts: burn-in 15 is fine when the base trains 20 sweeps, not 10.
    const std::string space =
        "[model]\nalgorithm = bpmf\nbiases = false\n[bpmf]\nburn-in = 5, 15\n";
    CHECK_NOTHROW(parse(space, base));
    CHECK_THAT(parse_error(space, base_config()), Contains("line 5") && Contains("(10)"));
}

TEST_CASE("space files that are missing, folders, binary or huge are clear errors",
          "[search_space]") {
    const distmf::testing::TempDir dir;
    const auto read_error = [](const std::string& path) {
        try {
            distmf::read_search_space(path, base_config());
        } catch (const ConfigError& error) {
            return std::string(error.what());
        }
        return std::string();
    };
    CHECK_THAT(read_error(dir.file("missing.ini")),
               Contains("cannot open space file '" + dir.file("missing.ini") + "'"));
    CHECK_THAT(read_error(dir.path()), Contains("is a folder"));

    std::string binary(5000, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37 % 256);
    distmf::testing::write_text(dir.file("binary.ini"), binary);
    const std::string binary_error = read_error(dir.file("binary.ini"));
    CHECK_THAT(binary_error, Contains("space file '" + dir.file("binary.ini") + "', line "));
    CHECK(binary_error.find('\0') == std::string::npos);
    CHECK(binary_error.size() < 400);

    distmf::testing::write_text(dir.file("long.ini"), "[model]\n" + std::string(100000, 'x'));
    const std::string long_error = read_error(dir.file("long.ini"));
    CHECK_THAT(long_error, Contains("line 2"));
    CHECK(long_error.size() < 400);

    distmf::testing::write_text(dir.file("huge.ini"), std::string((1 << 20) + 1, '#'));
    CHECK_THAT(read_error(dir.file("huge.ini")), Contains("larger than 1 MiB"));

    distmf::testing::write_text(dir.file("space.ini"), example_space);
    const SearchSpace space = distmf::read_search_space(dir.file("space.ini"), base_config());
    CHECK(space.path == dir.file("space.ini"));
    CHECK(space.canonical_text == parse(example_space).canonical_text);
}

TEST_CASE("random candidates are deterministic, within bounds and independent of the count",
          "[search_space]") {
    const SearchSpace space = parse(example_space + std::string("[dsgd]\ngrid = range(1, 4)\n"));
    constexpr std::uint64_t seed = 42;
    std::set<std::string> ranks;
    std::set<std::string> grids;
    double log_lambda_sum = 0;
    constexpr int n = 2000;
    for (std::int64_t c = 0; c < n; ++c) {
        const std::vector<Setting> settings = distmf::random_candidate(space, seed, c);
        REQUIRE(settings.size() == 6);
        CHECK(settings == distmf::random_candidate(space, seed, c));
        CHECK(settings[0].option == "model.rank");  // file order
        CHECK(settings[5].option == "dsgd.grid");
        ranks.insert(value_of(settings, "model.rank"));
        grids.insert(value_of(settings, "dsgd.grid"));
        const double lambda = number(value_of(settings, "model.lambda"));
        CHECK(lambda >= 0.005);
        CHECK(lambda <= 0.5);
        log_lambda_sum += std::log(lambda);
        const double bias_lambda = number(value_of(settings, "model.bias-lambda"));
        CHECK(bias_lambda >= 0.0);
        CHECK(bias_lambda <= 0.2);
        CHECK(value_of(settings, "model.algorithm") == "als");
        const double alpha = number(value_of(settings, "bpmf.alpha"));
        CHECK(alpha >= 1.0);
        CHECK(alpha <= 4.0);
        // The text is "%.6g": it reads back to itself.
        CHECK(distmf::format_text("%.6g", alpha) == value_of(settings, "bpmf.alpha"));
    }
    CHECK(ranks == std::set<std::string>{"16", "32", "64"});
    CHECK(grids == std::set<std::string>{"1", "2", "3", "4"});  // rounded to integers
    // Log-uniform: log lambda is uniform between log 0.005 and log 0.5, mean at log 0.05.
    CHECK(log_lambda_sum / n == Approx(std::log(0.05)).margin(0.1));
    // Another seed gives other candidates.
    CHECK(distmf::random_candidate(space, seed, 0) != distmf::random_candidate(space, 7, 0));
    // A dimension's value depends on (seed, candidate, dimension) only.
    const SearchSpace fewer = parse("[model]\nrank = 16, 32, 64\nlambda = log-range(0.005, 0.5)\n");
    for (std::int64_t c = 0; c < 20; ++c) {
        const auto all = distmf::random_candidate(space, seed, c);
        const auto two = distmf::random_candidate(fewer, seed, c);
        CHECK(two[0] == all[0]);
        CHECK(two[1] == all[1]);
    }
}

TEST_CASE("a range value printed with 6 digits stays within the bounds", "[search_space]") {
    const SearchSpace space = parse("[model]\nlambda = range(0.1234567, 0.1234568)\n");
    for (std::int64_t c = 0; c < 100; ++c) {
        const double lambda = number(distmf::random_candidate(space, 1, c)[0].value);
        CHECK(lambda >= 0.1234567);
        CHECK(lambda <= 0.1234568);
    }
}

TEST_CASE("the grid is the product in file order, the last dimension fastest", "[search_space]") {
    const SearchSpace space =
        parse("[model]\nrank = 8, 16\nlambda = log-range(0.001, 1)\n[bpmf]\nalpha = range(1, 2)\n");
    const auto grid = distmf::grid_candidates(space, 4, 100);
    REQUIRE(grid.size() == 2 * 4 * 4);
    CHECK(distmf::describe_settings(grid[0]) == "model.rank=8 model.lambda=0.001 bpmf.alpha=1");
    CHECK(distmf::describe_settings(grid[1]) ==
          "model.rank=8 model.lambda=0.001 bpmf.alpha=1.33333");
    CHECK(distmf::describe_settings(grid[3]) == "model.rank=8 model.lambda=0.001 bpmf.alpha=2");
    CHECK(distmf::describe_settings(grid[4]) == "model.rank=8 model.lambda=0.01 bpmf.alpha=1");
    CHECK(distmf::describe_settings(grid[8]) == "model.rank=8 model.lambda=0.1 bpmf.alpha=1");
    CHECK(distmf::describe_settings(grid[12]) == "model.rank=8 model.lambda=1 bpmf.alpha=1");
    CHECK(distmf::describe_settings(grid[16]) == "model.rank=16 model.lambda=0.001 bpmf.alpha=1");
    CHECK(distmf::describe_settings(grid.back()) == "model.rank=16 model.lambda=1 bpmf.alpha=2");
    std::set<std::string> distinct;
    for (const auto& settings : grid) distinct.insert(distmf::describe_settings(settings));
    CHECK(distinct.size() == grid.size());
}

TEST_CASE("grid values of an integer range are rounded without repeats", "[search_space]") {
    const SearchSpace space =
        parse("[model]\nrank = range(1, 3)\n[dsgd]\ngrid = log-range(1, 8)\n");
    const auto grid = distmf::grid_candidates(space, 5, 1000);
    std::vector<std::string> ranks;
    std::vector<std::string> grids;
    for (const auto& settings : grid) {
        if (ranks.empty() || ranks.back() != settings[0].value) ranks.push_back(settings[0].value);
        if (ranks.size() == 1) grids.push_back(settings[1].value);
    }
    CHECK(ranks == std::vector<std::string>{"1", "2", "3"});
    // 8^(i/4), i = 0..4: 1, 1.68, 2.83, 4.76, 8.
    CHECK(grids == std::vector<std::string>{"1", "2", "3", "5", "8"});
    CHECK(grid.size() == 15);
}

TEST_CASE("a grid larger than the limit, or with fewer than 2 points, is an error",
          "[search_space]") {
    const SearchSpace space =
        parse("[model]\nrank = 8, 16, 32\nlambda = range(0, 1)\n[bpmf]\nalpha = range(1, 2)\n");
    CHECK(distmf::grid_candidates(space, 10, 300).size() == 300);
    const auto error = [&](int points, std::int64_t most) {
        try {
            distmf::grid_candidates(space, points, most);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK_THAT(error(10, 299), Contains("space file 'space.ini'") &&
                                   Contains("has 300 candidates") && Contains("299"));
    CHECK_THAT(error(1, 1000), Contains("at least 2 points"));
}

TEST_CASE("describe_settings writes option=value pairs", "[search_space]") {
    CHECK(distmf::describe_settings({}).empty());
    CHECK(distmf::describe_settings({{"model.rank", "32"}, {"model.lambda", "0.05"}}) ==
          "model.rank=32 model.lambda=0.05");
}

TEST_CASE("every candidate of the example space reads into a valid configuration",
          "[search_space]") {
    const SearchSpace space = parse(
        "[model]\nrank = 8, 16\nlambda = log-range(0.01, 1)\n"
        "regularization = weighted, plain\nbiases = true, false\n");
    for (const auto& settings : distmf::grid_candidates(space, 3, 100)) {
        const Config config =
            distmf::config_with_settings(base_config(), settings, distmf::Command::train);
        CHECK_NOTHROW(distmf::validate(config, distmf::Command::train));
        CHECK(distmf::value_text(config.model.lambda) == value_of(settings, "model.lambda"));
    }
}

TEST_CASE(
    "every shipped space (configs/tune-*.ini) reads against a default configuration, and "
    "its random candidates are valid",
    "[search_space]") {
    const std::filesystem::path folder = distmf::testing::source_dir() + "/configs";
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("tune-", 0) == 0 && entry.path().extension() == ".ini") {
            files.push_back(entry.path().string());
        }
    }
    CHECK(files.size() >= 4);  // one space per algorithm
    Config base = base_config();
    base.train.iterations = 1000;  // the space's values are checked as a long last rung trains
    for (const std::string& file : files) {
        INFO(file);
        SearchSpace space;
        REQUIRE_NOTHROW(space = distmf::read_search_space(file, base));
        for (std::int64_t c = 0; c < 50; ++c) {
            const Config config = distmf::config_with_settings(
                base, distmf::random_candidate(space, 1, c), distmf::Command::train);
            CHECK_NOTHROW(distmf::validate(config, distmf::Command::train));
        }
    }
}
