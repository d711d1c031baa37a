// `distmf train`, `evaluate` and `inspect` end to end through the real binary: a synthetic
// data set from `distmf generate`, split into train and test files by line number, trained
// with 1, 2 and 4 ranks; the model files, progress lines and metrics files are checked, and
// the model is evaluated, inspected and used by examples/predict.py. (Bad input:
// train_errors_test.cpp.)
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::check_same_model;
using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::exists;
using distmf::testing::generate_main;
using distmf::testing::generate_split;
using distmf::testing::json_number;
using distmf::testing::lines_of;
using distmf::testing::lines_starting;
using distmf::testing::ModelFile;
using distmf::testing::number_after;
using distmf::testing::read_model_file;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::same_model;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::with;
using distmf::testing::write_text;

// ---- reading what distmf wrote -------------------------------------------------------------

/// A metrics line without its wall time (the only figure that may differ between runs).
std::string without_seconds(const std::string& line) {
    return line.substr(0, line.find(",\"seconds\""));
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
    std::map<int, ModelFile> models;
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
        models[ranks] = read_model_file(model);
        CHECK(models[ranks].ranks == ranks);
        CHECK_FALSE(exists(model + ".tmp"));
    }
    const ModelFile& one = models[1];
    CHECK(one.k == 4);
    CHECK(one.iteration == iterations);
    CHECK(one.user_ids.size() == data.users.size());
    CHECK(one.item_ids.size() == data.items.size());
    CHECK(one.user_factors.size() == 4 * data.users.size());
    CHECK(one.item_bias.size() == data.items.size());
    for (const int ranks : {2, 4}) {
        INFO("ranks " << ranks << " against 1");
        check_same_model(models[ranks], one);
        CHECK(same_model(models[ranks], one));
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
    const double mean = read_model_file(model).global_mean.at(0);
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
    CHECK(lines_starting(out, "format        distmf version 2").size() == 1);
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
        FAIL(
            "h5dump is not installed: install the package hdf5-tools, a dependency of the tests "
            "(scripts/install-deps.sh)");
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
    ModelFile first_model;
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
        const ModelFile saved = read_model_file(model);
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
        CHECK(same_model(saved, first_model));

        std::string figures;
        for (const std::string& line : lines) figures += without_seconds(line) + "\n";
        if (first_metrics.empty()) first_metrics = figures;
        CHECK(figures == first_metrics);  // the same decision for every rank count
    }
}

TEST_CASE("examples/predict.py predicts what the model file says", "[cli][python]") {
    // Assumed interface: `python3 examples/predict.py MODEL USER ITEM` prints the predicted
    // rating mu + b_u + c_i + w_u . h_i (clipped to the training range) as a number.
    const std::string script = distmf::testing::source_dir() + "/examples/predict.py";
    REQUIRE(exists(script));
    // Debian's interpreter has python3-h5py; a developer's PATH may put another python3 first.
    const std::string python = distmf::testing::python_with_packages();
    if (python.empty()) {
        std::cout << "SKIPPED: no Python can import h5py and numpy (apt-get install python3-h5py)"
                  << std::endl;
        return;
    }
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string model = dir.file("model.h5");
    const CommandResult trained =
        run_distmf(1, with(train_args(data, 3), {"--output.model", model}));
    INFO(trained.out << trained.err);
    REQUIRE(trained.exit_code == 0);

    const ModelFile m = read_model_file(model);
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
