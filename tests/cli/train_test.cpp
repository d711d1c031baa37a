// `distmf train`, `evaluate` and `inspect` end to end through the real binary: a synthetic
// data set from `distmf generate`, split into train and test files by line number, trained
// with 1, 2 and 4 ranks; the model files, progress lines and metrics files are checked, the
// model is evaluated and inspected, and bad input is an agreed error.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "distmf/hdf5_file.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::exists;
using distmf::testing::expect_agreed_error;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;
using distmf::testing::write_text;

// ---- fixtures ------------------------------------------------------------------------------

/// `distmf generate` output split by line: every 10th line (3, 13, 23, ...) is held out.
struct SplitData {
    std::string train;
    std::string test;
    std::set<std::string> users;  ///< distinct user IDs of both files
    std::set<std::string> items;
};

/// Generates a synthetic data set in `dir` and splits it into train.tsv and test.tsv.
SplitData generate_split(const TempDir& dir, const std::vector<std::string>& options) {
    const std::string all = dir.file("all.tsv");
    std::vector<std::string> args{"generate", "--out", all};
    args.insert(args.end(), options.begin(), options.end());
    const CommandResult generated = run_distmf(0, args);
    INFO(generated.out << generated.err);
    REQUIRE(generated.exit_code == 0);
    SplitData data{dir.file("train.tsv"), dir.file("test.tsv"), {}, {}};
    std::string train_text;
    std::string test_text;
    int number = 0;
    for (const std::string& line : lines_of(read_text(all))) {
        ((++number % 10 == 3) ? test_text : train_text) += line + "\n";
        std::istringstream fields(line);
        std::string user;
        std::string item;
        fields >> user >> item;
        data.users.insert(user);
        data.items.insert(item);
    }
    REQUIRE(number > 0);
    write_text(data.train, train_text);
    write_text(data.test, test_text);
    return data;
}

/// The main fixture: 400 users, 300 items, 20000 ratings of a rank-4 model with noise 0.3.
SplitData generate_main(const TempDir& dir) {
    return generate_split(dir, {"--users", "400", "--items", "300", "--ratings", "20000", "--rank",
                                "4", "--noise", "0.3", "--seed", "3"});
}

/// `distmf train` options for the main fixture (k = 4, `iterations` ALS iterations).
std::vector<std::string> train_args(const SplitData& data, int iterations) {
    return {"train",
            "--data.train=" + data.train,
            "--data.test=" + data.test,
            "--train.iterations=" + std::to_string(iterations),
            "--model.rank=4",
            "--train.threads=1"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// ---- reading what distmf wrote -------------------------------------------------------------

/// Lines of `out` starting with `prefix`.
std::vector<std::string> lines_starting(const std::string& out, const std::string& prefix) {
    std::vector<std::string> selected;
    for (const std::string& line : lines_of(out)) {
        if (line.rfind(prefix, 0) == 0) selected.push_back(line);
    }
    return selected;
}

/// The number after "<key>": in a JSON line, NaN for null or a missing key.
double json_number(const std::string& line, const std::string& key) {
    const std::string quoted = "\"" + key + "\":";
    const auto at = line.find(quoted);
    if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
    const std::string rest = line.substr(at + quoted.size());
    if (rest.rfind("null", 0) == 0) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(rest.c_str(), nullptr);
}

/// A metrics line without its wall time (the only figure that may differ between runs).
std::string without_seconds(const std::string& line) {
    return line.substr(0, line.find(",\"seconds\""));
}

/// The first number after `label` in the line of `out` that starts with `line_start`.
double number_after(const std::string& out, const std::string& line_start,
                    const std::string& label) {
    const std::vector<std::string> lines = lines_starting(out, line_start);
    if (lines.empty()) return std::numeric_limits<double>::quiet_NaN();
    const auto at = lines.front().find(label);
    if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(lines.front().c_str() + at + label.size(), nullptr);
}

/// The datasets of a model file that must not depend on the number of ranks, and its
/// attributes k, iteration and ranks.
struct ModelContents : distmf::testing::ModelArrays {
    std::int64_t k = 0;
    std::int64_t iteration = 0;
    std::int64_t ranks = 0;

    bool operator==(const ModelContents& other) const {
        // Bitwise: the vectors compare float by float, and no value is NaN.
        return user_ids == other.user_ids && item_ids == other.item_ids &&
               user_factors == other.user_factors && item_factors == other.item_factors &&
               user_bias == other.user_bias && item_bias == other.item_bias &&
               global_mean == other.global_mean && k == other.k && iteration == other.iteration;
    }
};

ModelContents read_model(const std::string& path) {
    distmf::silence_hdf5_errors();
    ModelContents model;
    static_cast<distmf::testing::ModelArrays&>(model) = distmf::testing::read_arrays(path);
    const distmf::H5Handle file = distmf::open_serial_file(path);
    model.k = distmf::read_attribute<std::int64_t>(file, "k");
    model.iteration = distmf::read_attribute<std::int64_t>(file, "iteration");
    model.ranks = distmf::read_attribute<std::int64_t>(file, "ranks");
    return model;
}

/// Creates an HDF5 file that is not a distmf model (one integer dataset, no attributes).
void write_foreign_hdf5(const std::string& path) {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set =
        H5Dcreate2(file, "values", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int values[4] = {1, 2, 3, 4};
    CHECK(H5Dwrite(set, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
}

/// Files in `folder` (names only).
std::set<std::string> files_in(const std::string& folder) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        names.insert(entry.path().filename().string());
    }
    return names;
}

const std::regex& progress_pattern() {
    static const std::regex pattern(
        R"(iter +(\d+)/(\d+)  train RMSE \d+\.\d{4}  test RMSE \d+\.\d{4}  MAE \d+\.\d{4})"
        R"(  objective \S+  \d+\.\d\d s  eta \d+ s)");
    return pattern;
}

}  // namespace

TEST_CASE("train: 1, 2 and 4 ranks write the same model, progress and metrics", "[cli][train]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    constexpr int iterations = 6;
    std::map<int, ModelContents> models;
    std::map<int, std::vector<std::string>> metrics;
    for (const int ranks : cli_rank_counts) {
        const std::string model = dir.file("model" + std::to_string(ranks) + ".h5");
        const std::string metrics_file = dir.file("metrics" + std::to_string(ranks) + ".jsonl");
        const CommandResult result =
            run_distmf(ranks, with(train_args(data, iterations),
                                   {"--output.model", model, "--output.metrics", metrics_file}));
        INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
        REQUIRE(result.exit_code == 0);
        CHECK(distmf_messages(result.err).empty());

        const std::vector<std::string> progress = lines_starting(result.out, "iter ");
        REQUIRE(progress.size() == iterations);
        for (std::size_t i = 0; i < progress.size(); ++i) {
            std::smatch match;
            INFO(progress[i]);
            REQUIRE(std::regex_match(progress[i], match, progress_pattern()));
            CHECK(std::stoi(match[1].str()) == static_cast<int>(i) + 1);
            CHECK(std::stoi(match[2].str()) == iterations);
        }
        CHECK(lines_starting(result.out, "final: iteration 6, test RMSE ").size() == 1);
        CHECK(lines_starting(result.out, "model written to " + model).size() == 1);
        CHECK(lines_starting(result.out, "data: 400 users, ").size() == 1);

        const std::vector<std::string> lines = lines_of(read_text(metrics_file));
        REQUIRE(lines.size() == iterations);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            INFO(lines[i]);
            CHECK(lines[i].front() == '{');
            CHECK(lines[i].back() == '}');
            CHECK(json_number(lines[i], "iteration") == static_cast<double>(i + 1));
            for (const char* key :
                 {"train_rmse", "test_rmse", "test_mae", "objective", "seconds"}) {
                CHECK(std::isfinite(json_number(lines[i], key)));
            }
            metrics[ranks].push_back(without_seconds(lines[i]));
        }
        models[ranks] = read_model(model);
        CHECK(models[ranks].ranks == ranks);
        CHECK_FALSE(exists(model + ".tmp"));
    }
    const ModelContents& one = models[1];
    CHECK(one.k == 4);
    CHECK(one.iteration == iterations);
    CHECK(one.user_ids.size() == data.users.size());
    CHECK(one.item_ids.size() == data.items.size());
    CHECK(one.user_factors.size() == 4 * data.users.size());
    CHECK(one.item_bias.size() == data.items.size());
    for (const int ranks : {2, 4}) {
        INFO("ranks " << ranks << " against 1");
        CHECK(models[ranks].user_ids == one.user_ids);
        CHECK(models[ranks].item_ids == one.item_ids);
        CHECK(models[ranks].user_factors == one.user_factors);
        CHECK(models[ranks].item_factors == one.item_factors);
        CHECK(models[ranks].user_bias == one.user_bias);
        CHECK(models[ranks].item_bias == one.item_bias);
        CHECK(models[ranks].global_mean == one.global_mean);
        CHECK(models[ranks] == one);
        CHECK(metrics[ranks] == metrics[1]);  // every figure, to the last digit
    }
}

TEST_CASE("train: the test RMSE falls and ends near the noise level", "[cli][train]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string metrics_file = dir.file("metrics.jsonl");
    const CommandResult result =
        run_distmf(2, with(train_args(data, 8), {"--output.metrics", metrics_file}));
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    const std::vector<std::string> lines = lines_of(read_text(metrics_file));
    REQUIRE(lines.size() == 8);
    const double first = json_number(lines.front(), "test_rmse");
    const double last = json_number(lines.back(), "test_rmse");
    // Measured (seed 3): 0.770 after iteration 1, 0.361 after 8; the noise is 0.3 and a model
    // of the biases alone is near 0.85 (the interaction term has standard deviation 0.8).
    CHECK(last < first - 0.2);
    CHECK(last < 0.45);
    CHECK(last > 0.25);  // below the noise would mean the test ratings leaked into training
    // The objective, which each iteration minimizes, never rises.
    for (std::size_t i = 1; i < lines.size(); ++i) {
        INFO("iteration " << i + 1);
        CHECK(json_number(lines[i], "objective") <=
              json_number(lines[i - 1], "objective") * (1.0 + 1e-9));
    }
    // No model file requested: none written, and training says nothing about one.
    CHECK(lines_starting(result.out, "model written").empty());
}

TEST_CASE("evaluate reproduces train's final test RMSE and MAE", "[cli][train][evaluate]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string model = dir.file("model.h5");
    const std::string metrics_file = dir.file("metrics.jsonl");
    const CommandResult trained = run_distmf(
        2, with(train_args(data, 5), {"--output.model", model, "--output.metrics", metrics_file}));
    INFO(trained.out << trained.err);
    REQUIRE(trained.exit_code == 0);
    const std::vector<std::string> lines = lines_of(read_text(metrics_file));
    REQUIRE(lines.size() == 5);
    const double test_rmse = json_number(lines.back(), "test_rmse");
    const double test_mae = json_number(lines.back(), "test_mae");
    CHECK(number_after(trained.out, "final:", "test RMSE ") == Approx(test_rmse).margin(6e-5));

    for (const int ranks : {1, 4}) {
        const CommandResult evaluated =
            run_distmf(ranks, {"evaluate", "--model", model, "--data.test", data.test});
        INFO("ranks " << ranks << "\n" << evaluated.out << evaluated.err);
        REQUIRE(evaluated.exit_code == 0);
        CHECK(number_after(evaluated.out, "RMSE ", "RMSE ") == Approx(test_rmse).margin(1e-6));
        CHECK(number_after(evaluated.out, "RMSE ", "MAE ") == Approx(test_mae).margin(1e-6));
        CHECK(lines_starting(evaluated.out,
                             "unknown: 0 pairs with an unknown user, 0 with an "
                             "unknown item, 0 with both")
                  .size() == 1);
        CHECK(lines_starting(evaluated.out, "model " + model + " (als, k=4, iteration 5)").size() ==
              1);
    }
}

TEST_CASE("evaluate counts unknown users and items and predicts from what it knows",
          "[cli][evaluate]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string model = dir.file("model.h5");
    const CommandResult trained =
        run_distmf(1, with(train_args(data, 2), {"--output.model", model}));
    INFO(trained.out << trained.err);
    REQUIRE(trained.exit_code == 0);
    const std::string known_user = *data.users.begin();
    const std::string known_item = *data.items.begin();
    const std::string unknown = dir.file("unknown.tsv");
    write_text(unknown, "99999\t" + known_item + "\t3\n" + "99998\t" + known_item + "\t4\n" +
                            known_user + "\t88888\t4\n" + "77777\t66666\t2\n" + known_user + "\t" +
                            known_item + "\t3\n");
    const CommandResult evaluated =
        run_distmf(2, {"evaluate", "--model", model, "--data.test", unknown});
    INFO(evaluated.out << evaluated.err);
    REQUIRE(evaluated.exit_code == 0);
    CHECK(lines_starting(evaluated.out,
                         "unknown: 2 pairs with an unknown user, 1 with an "
                         "unknown item, 1 with both")
              .size() == 1);
    CHECK(lines_starting(evaluated.out, "model " + model).size() == 1);

    // A pair of an unknown user and an unknown item is predicted as the global mean.
    const double mean = read_model(model).global_mean.at(0);
    const std::string both = dir.file("both.tsv");
    write_text(both, "77777\t66666\t5\n");
    const CommandResult alone = run_distmf(1, {"evaluate", "--model", model, "--data.test", both});
    INFO(alone.out << alone.err);
    REQUIRE(alone.exit_code == 0);
    CHECK(number_after(alone.out, "RMSE ", "RMSE ") == Approx(5.0 - mean).margin(1e-6));
}

TEST_CASE("inspect and h5dump show the model's attributes", "[cli][inspect]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string model = dir.file("model.h5");
    const CommandResult trained =
        run_distmf(2, with(train_args(data, 3), {"--output.model", model, "--train.seed", "17"}));
    INFO(trained.out << trained.err);
    REQUIRE(trained.exit_code == 0);

    const CommandResult inspected = run_distmf(1, {"inspect", model});
    INFO(inspected.out << inspected.err);
    REQUIRE(inspected.exit_code == 0);
    const std::string& out = inspected.out;
    CHECK(lines_starting(out, "file          " + model).size() == 1);
    CHECK(lines_starting(out, "kind          model").size() == 1);
    CHECK(lines_starting(out, "format        distmf version 1").size() == 1);
    CHECK(lines_starting(out, "algorithm     als").size() == 1);
    CHECK(lines_starting(out, "k             4").size() == 1);
    CHECK(lines_starting(out, "biases        yes").size() == 1);
    CHECK(lines_starting(out, "iteration     3").size() == 1);
    CHECK(lines_starting(out, "seed          17").size() == 1);
    CHECK(lines_starting(out, "users         " + std::to_string(data.users.size())).size() == 1);
    CHECK(lines_starting(out, "items         " + std::to_string(data.items.size())).size() == 1);
    CHECK(lines_starting(out, "rating range  1 .. 5").size() == 1);
    CHECK(lines_starting(out, "written by    2 ranks").size() == 1);
    // The effective configuration follows, and reads back as one.
    CHECK(out.find("# distmf train: effective configuration") != std::string::npos);
    CHECK(out.find("\nrank = 4\n") != std::string::npos);
    CHECK(out.find("\niterations = 3\n") != std::string::npos);

    if (std::system("command -v h5dump > /dev/null 2>&1") != 0) {
        WARN("h5dump is not installed: its check is skipped");
        return;
    }
    const std::string dump = dir.file("dump.txt");
    REQUIRE(std::system(("h5dump -A '" + model + "' > '" + dump + "' 2>&1").c_str()) == 0);
    const std::string attributes = read_text(dump);
    for (const char* name :
         {"format", "format_version", "kind", "algorithm", "k", "biases", "iteration", "seed",
          "ranks", "created", "rating_min", "rating_max", "config", "complete"}) {
        INFO("attribute " << name);
        CHECK(attributes.find("ATTRIBUTE \"" + std::string(name) + "\"") != std::string::npos);
    }
    CHECK(attributes.find("\"distmf\"") != std::string::npos);
    CHECK(attributes.find("DATASET \"factors\"") != std::string::npos);
}

TEST_CASE("train --train.patience stops early and keeps the best model", "[cli][train]") {
    // Overfitting by design: k = 8 for a rank-2 truth, almost no penalty, few ratings per user;
    // the test RMSE bottoms out after a few iterations (measured: iteration 3) and rises.
    const TempDir dir;
    const SplitData data =
        generate_split(dir, {"--users", "200", "--items", "150", "--ratings", "4000", "--rank", "2",
                             "--noise", "0.5", "--seed", "11"});
    constexpr int patience = 3;
    std::string first_metrics;
    ModelContents first_model;
    for (const int ranks : cli_rank_counts) {
        const std::string model = dir.file("model" + std::to_string(ranks) + ".h5");
        const std::string metrics_file = dir.file("metrics" + std::to_string(ranks) + ".jsonl");
        const CommandResult result = run_distmf(
            ranks, {"train", "--data.train", data.train, "--data.test", data.test, "--model.rank",
                    "8", "--model.lambda", "0.001", "--train.iterations", "50", "--train.patience",
                    std::to_string(patience), "--train.threads", "1", "--output.model", model,
                    "--output.metrics", metrics_file});
        INFO("ranks " << ranks << "\n" << result.out << result.err);
        REQUIRE(result.exit_code == 0);

        const std::vector<std::string> lines = lines_of(read_text(metrics_file));
        REQUIRE(lines.size() >= 2);
        std::size_t best = 0;
        for (std::size_t i = 1; i < lines.size(); ++i) {
            if (json_number(lines[i], "test_rmse") < json_number(lines[best], "test_rmse"))
                best = i;
        }
        const auto best_iteration = static_cast<std::int64_t>(best) + 1;
        // Stopped `patience` iterations after the best, long before 50.
        CHECK(lines.size() == best + 1 + patience);
        CHECK(lines_starting(result.out, "iter ").size() == lines.size());
        CHECK(lines_starting(result.out, "early stop: ").size() == 1);
        CHECK(lines_starting(result.out,
                             "final: iteration " + std::to_string(best_iteration) + ", test RMSE ")
                  .size() == 1);
        const ModelContents saved = read_model(model);
        CHECK(saved.iteration == best_iteration);

        if (ranks == 1) {  // the saved model is the best one: evaluate gives its test RMSE
            const CommandResult evaluated =
                run_distmf(1, {"evaluate", "--model", model, "--data.test", data.test});
            INFO(evaluated.out << evaluated.err);
            REQUIRE(evaluated.exit_code == 0);
            CHECK(number_after(evaluated.out, "RMSE ", "RMSE ") ==
                  Approx(json_number(lines[best], "test_rmse")).margin(1e-6));
            first_model = saved;
        }
        CHECK(saved == first_model);

        std::string figures;
        for (const std::string& line : lines) figures += without_seconds(line) + "\n";
        if (first_metrics.empty()) first_metrics = figures;
        CHECK(figures == first_metrics);  // the same decision for every rank count
    }
}

TEST_CASE("train: --model.rank 0 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--model.rank", "0"},
                        {"--model.rank", "0"});
}

TEST_CASE("train: --model.lambda -1 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--model.lambda", "-1"},
                        {"--model.lambda", "-1"});
}

TEST_CASE("train: --train.iterations 0 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--train.iterations", "0"},
                        {"--train.iterations", "0"});
}

TEST_CASE("train: --train.patience without test data is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--train.patience", "2"},
                        {"--train.patience", "test data"});
}

TEST_CASE("train: --output.model in a missing folder fails before training, leaving no file",
          "[cli][train][bad]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::set<std::string> before = files_in(dir.path());
    const std::string model = dir.file("missing/model.h5");
    // expect_agreed_error also requires an empty stdout: no "data:" line, no iteration.
    expect_agreed_error({"train", "--data.train", data.train, "--output.model", model},
                        {model, "missing"});
    CHECK_FALSE(exists(model + ".tmp"));
    CHECK(files_in(dir.path()) == before);
}

TEST_CASE("train: --output.metrics in a missing folder fails before training, leaving no file",
          "[cli][train][bad]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::set<std::string> before = files_in(dir.path());
    const std::string metrics = dir.file("missing/metrics.jsonl");
    expect_agreed_error({"train", "--data.train", data.train, "--output.model",
                         dir.file("model.h5"), "--output.metrics", metrics},
                        {metrics, "missing"});
    CHECK(files_in(dir.path()) == before);
}

TEST_CASE("train: an unsolvable user is an agreed error naming it", "[cli][train][bad]") {
    // No penalty (--model.lambda 0, plain): user 4242 has 2 ratings for k + 1 = 5 unknowns.
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string sparse = dir.file("sparse.tsv");
    write_text(sparse, read_text(data.train) + "4242\t" + *data.items.begin() + "\t3\n4242\t" +
                           *data.items.rbegin() + "\t4\n");
    const std::string model = dir.file("model.h5");
    // An agreed error, but found after loading: the "data:" line is already out.
    std::string first_message;
    for (const int ranks : cli_rank_counts) {
        const CommandResult result =
            run_distmf(ranks, {"train", "--data.train", sparse, "--model.lambda", "0",
                               "--model.regularization", "plain", "--train.iterations", "2",
                               "--output.model", model});
        INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
        CHECK(result.exit_code == 2);
        CHECK(lines_starting(result.out, "iter ").empty());
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        const std::string& message = messages.front();
        CHECK(message.rfind("distmf: error: ", 0) == 0);
        CHECK(message.find("user 4242") != std::string::npos);
        CHECK(message.find("larger --model.lambda") != std::string::npos);
        if (first_message.empty()) first_message = message;
        CHECK(message == first_message);
        CHECK_FALSE(exists(model));
        CHECK_FALSE(exists(model + ".tmp"));
    }
}

TEST_CASE("evaluate: a missing model file is an agreed error", "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    const std::string model = dir.file("missing.h5");
    expect_agreed_error({"evaluate", "--model", model, "--data.test", ratings}, {model});
}

TEST_CASE("evaluate: a text file as the model is an agreed error", "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    expect_agreed_error({"evaluate", "--model", ratings, "--data.test", ratings},
                        {ratings, "not an HDF5 file"});
}

TEST_CASE("inspect: an HDF5 file that is not a distmf model is an agreed error",
          "[cli][inspect][bad]") {
    const TempDir dir;
    const std::string other = dir.file("other.h5");
    write_foreign_hdf5(other);
    expect_agreed_error({"inspect", other}, {other, "not a distmf model file"});
}

TEST_CASE("evaluate: an HDF5 file that is not a distmf model is an agreed error",
          "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string other = dir.file("other.h5");
    write_foreign_hdf5(other);
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    expect_agreed_error({"evaluate", "--model", other, "--data.test", ratings},
                        {other, "not a distmf model file"});
}

TEST_CASE("examples/predict.py predicts what the model file says", "[cli][python]") {
    // Assumed interface: `python3 examples/predict.py MODEL USER ITEM` prints the predicted
    // rating mu + b_u + c_i + w_u . h_i (clipped to the training range) as a number.
    const std::string script = distmf::testing::source_dir() + "/examples/predict.py";
    REQUIRE(exists(script));
    // Debian's interpreter has python3-h5py; a developer's PATH may put another python3 first.
    const std::string python = exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    if (std::system((python + " -c 'import h5py, numpy' > /dev/null 2>&1").c_str()) != 0) {
        std::cout << "SKIPPED: " << python
                  << " cannot import h5py and numpy (apt-get install python3-h5py)" << std::endl;
        return;
    }
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string model = dir.file("model.h5");
    const CommandResult trained =
        run_distmf(1, with(train_args(data, 3), {"--output.model", model}));
    INFO(trained.out << trained.err);
    REQUIRE(trained.exit_code == 0);

    const ModelContents m = read_model(model);
    const auto k = static_cast<std::size_t>(m.k);
    const std::size_t user_row = 5;
    const std::size_t item_row = 7;
    double expected = m.global_mean.at(0) + static_cast<double>(m.user_bias.at(user_row)) +
                      static_cast<double>(m.item_bias.at(item_row));
    for (std::size_t f = 0; f < k; ++f) {
        expected += static_cast<double>(m.user_factors.at(user_row * k + f)) *
                    static_cast<double>(m.item_factors.at(item_row * k + f));
    }
    expected = std::min(5.0, std::max(1.0, expected));
    const std::string out = dir.file("predicted.txt");
    const std::string command = python + " '" + script + "' '" + model + "' " +
                                std::to_string(m.user_ids.at(user_row)) + " " +
                                std::to_string(m.item_ids.at(item_row)) + " > '" + out + "' 2>&1";
    const int status = std::system(command.c_str());
    const std::string printed = read_text(out);
    INFO(command << "\n" << printed);
    REQUIRE(status == 0);
    const std::vector<std::string> printed_lines = lines_of(printed);
    REQUIRE_FALSE(printed_lines.empty());
    const std::string& last = printed_lines.back();
    const auto number_start = last.find_last_of(" \t:=");
    const double predicted = std::strtod(
        last.c_str() + (number_start == std::string::npos ? 0 : number_start + 1), nullptr);
    CHECK(predicted == Approx(expected).margin(1e-4));
}
