// --eval.every end to end: which iterations the metrics file and the progress lines report,
// --train.patience counted in evaluations, resumes between two evaluations (on another number
// of ranks, and with another --eval.every), DSGD's bold driver at evaluations only, and bad
// values.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::expect_agreed_error;
using distmf::testing::generate_main;
using distmf::testing::generate_split;
using distmf::testing::json_number;
using distmf::testing::lines_of;
using distmf::testing::lines_starting;
using distmf::testing::metrics_without_seconds;
using distmf::testing::read_model_file;
using distmf::testing::read_text;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::with;

/// The "iteration" of every line of a metrics file.
std::vector<int> metrics_iterations(const std::string& path) {
    std::vector<int> iterations;
    for (const std::string& line : lines_of(read_text(path))) {
        iterations.push_back(static_cast<int>(json_number(line, "iteration")));
    }
    return iterations;
}

/// Runs `args` on `ranks` ranks writing dir/<name>.h5 and dir/<name>.jsonl; returns the run.
CommandResult train_to(const TempDir& dir, int ranks, const std::vector<std::string>& args,
                       const std::string& name) {
    return run_ok(ranks, with(args, {"--output.model", dir.file(name + ".h5"), "--output.metrics",
                                     dir.file(name + ".jsonl")}));
}

}  // namespace

TEST_CASE("train --eval.every 3 over 7 iterations evaluates iterations 3, 6 and 7",
          "[cli][train][eval]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> args = train_args(data, 7);
    train_to(dir, 2, args, "every1");
    const CommandResult every3 = train_to(dir, 2, with(args, {"--eval.every", "3"}), "every3");

    CHECK(metrics_iterations(dir.file("every3.jsonl")) == std::vector<int>{3, 6, 7});
    // The figures are those of the same iterations evaluated every time (ALS does not depend
    // on its evaluations), and so is the model.
    const std::vector<std::string> all = metrics_without_seconds(dir.file("every1.jsonl"));
    REQUIRE(all.size() == 7);
    CHECK(metrics_without_seconds(dir.file("every3.jsonl")) ==
          std::vector<std::string>{all[2], all[5], all[6]});
    check_same_model(dir.file("every3.h5"), dir.file("every1.h5"));
    // A progress line every iteration, with figures only when evaluated.
    const std::vector<std::string> progress = lines_starting(every3.out, "iter ");
    REQUIRE(progress.size() == 7);
    for (std::size_t i = 0; i < progress.size(); ++i) {
        INFO(progress[i]);
        const bool evaluated = i == 2 || i == 5 || i == 6;
        CHECK((progress[i].find("test RMSE") != std::string::npos) == evaluated);
        CHECK(progress[i].find(" s  eta ") != std::string::npos);
    }
    CHECK(lines_starting(every3.out, "final: iteration 7, test RMSE ").size() == 1);
}

TEST_CASE(
    "train bpmf --eval.every 3: every sweep after the burn-in is still kept in the model, "
    "which is evaluated at 3, 6 and 7",
    "[cli][train][eval][bpmf]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> args =
        with(train_args(data, 7),
             {"--model.algorithm", "bpmf", "--model.biases", "false", "--bpmf.burn-in", "2"});
    train_to(dir, 2, args, "every1");
    const CommandResult every3 = train_to(dir, 4, with(args, {"--eval.every", "3"}), "every3");
    INFO(every3.out);
    const std::vector<std::string> all = metrics_without_seconds(dir.file("every1.jsonl"));
    REQUIRE(all.size() == 7);
    CHECK(metrics_without_seconds(dir.file("every3.jsonl")) ==
          std::vector<std::string>{all[2], all[5], all[6]});
    check_same_model(read_model_file(dir.file("every3.h5")),
                     read_model_file(dir.file("every1.h5")));
    CHECK(lines_starting(every3.out, "iter   7/7 ").front().find("mean of 5 samples") !=
          std::string::npos);
}

TEST_CASE("train --train.patience counts evaluations of --eval.every", "[cli][train][eval]") {
    // The overfitting case of train_test.cpp: the test RMSE bottoms out after a few iterations.
    const TempDir dir;
    const SplitData data =
        generate_split(dir, {"--users", "200", "--items", "150", "--ratings", "4000", "--rank", "2",
                             "--noise", "0.5", "--seed", "11"});
    constexpr int every = 2;
    constexpr int patience = 2;
    const std::vector<std::string> args{"train",
                                        "--data.train",
                                        data.train,
                                        "--data.test",
                                        data.test,
                                        "--model.rank",
                                        "8",
                                        "--model.lambda",
                                        "0.001",
                                        "--train.iterations",
                                        "50",
                                        "--train.threads",
                                        "1",
                                        "--eval.every",
                                        std::to_string(every),
                                        "--train.patience",
                                        std::to_string(patience)};
    const CommandResult result = train_to(dir, 2, args, "patience");
    const std::vector<std::string> lines = lines_of(read_text(dir.file("patience.jsonl")));
    REQUIRE(lines.size() >= 2);
    std::size_t best = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        INFO(lines[i]);
        CHECK(json_number(lines[i], "iteration") == static_cast<double>(every * (i + 1)));
        if (json_number(lines[i], "test_rmse") < json_number(lines[best], "test_rmse")) best = i;
    }
    // Stopped `patience` evaluations (not iterations) after the best; the best is kept.
    CHECK(lines.size() == best + 1 + patience);
    const int best_iteration = every * static_cast<int>(best + 1);
    CHECK(lines_starting(result.out, "iter ").size() == every * lines.size());
    CHECK(lines_starting(result.out,
                         "early stop: test RMSE has not improved for 2 evaluations; "
                         "keeping iteration " +
                             std::to_string(best_iteration))
              .size() == 1);
    CHECK(read_model_file(dir.file("patience.h5")).iteration == best_iteration);
}

TEST_CASE(
    "train --eval.every: a resume between two evaluations, on another number of ranks, ends "
    "as the uninterrupted run, and another --eval.every applies from there",
    "[cli][train][eval][checkpoint]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string folder = dir.file("checkpoints");
    const std::vector<std::string> args = with(train_args(data, 7), {"--eval.every", "3"});
    const std::string patience = "5";  // never stops here, but its state is checkpointed
    train_to(dir, 2,
             with(args, {"--train.patience", patience, "--checkpoint.dir", folder,
                         "--checkpoint.keep", "10"}),
             "reference");
    const std::string fourth = folder + "/checkpoint-000004.h5";  // evaluated: 3 only
    REQUIRE(distmf::testing::exists(fourth));

    const auto resume = [&](int ranks, const std::string& every, const std::string& name) {
        const std::string copy = dir.file(name + "-checkpoints");
        std::filesystem::create_directories(copy);
        std::filesystem::copy_file(fourth, copy + "/checkpoint-000004.h5");
        return train_to(dir, ranks,
                        with(train_args(data, 7), {"--eval.every", every, "--train.patience",
                                                   patience, "--checkpoint.dir", copy}),
                        name);
    };
    for (const int ranks : {4, 1}) {
        const std::string name = "resumed" + std::to_string(ranks);
        const CommandResult resumed = resume(ranks, "3", name);
        INFO(resumed.out);
        CHECK(lines_starting(resumed.out, "resuming from ").size() == 1);
        CHECK(lines_starting(resumed.out, "iter ").size() == 3);  // iterations 5, 6, 7
        check_same_model(dir.file(name + ".h5"), dir.file("reference.h5"));
        CHECK(metrics_without_seconds(dir.file(name + ".jsonl")) ==
              metrics_without_seconds(dir.file("reference.jsonl")));
    }
    // --eval.every 5 from iteration 5 on: evaluations 3 (before the resume), 5 and 7.
    const CommandResult changed = resume(2, "5", "every5");
    INFO(changed.out);
    CHECK(lines_starting(changed.out, "evaluations follow --eval.every 5 from here").size() == 1);
    CHECK(metrics_iterations(dir.file("every5.jsonl")) == std::vector<int>{3, 5, 7});
    check_same_model(dir.file("every5.h5"), dir.file("reference.h5"));

    // Nothing left to run (--train.iterations 5 from the unevaluated iteration 5): the final
    // model is evaluated all the same.
    const std::string fifth = dir.file("fifth");
    std::filesystem::create_directories(fifth);
    std::filesystem::copy_file(folder + "/checkpoint-000005.h5", fifth + "/checkpoint-000005.h5");
    const CommandResult ended = train_to(
        dir, 1, with(train_args(data, 5), {"--eval.every", "3", "--checkpoint.dir", fifth}),
        "ended");
    INFO(ended.out);
    CHECK(metrics_iterations(dir.file("ended.jsonl")) == std::vector<int>{3, 5});
    CHECK(lines_starting(ended.out, "final: iteration 5, test RMSE ").size() == 1);
    CHECK(read_model_file(dir.file("ended.h5")).iteration == 5);
}

TEST_CASE(
    "train --eval.every with DSGD: the bold driver adapts at evaluations only, and a resume "
    "between evaluations ends as the uninterrupted run",
    "[cli][train][eval][dsgd]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string folder = dir.file("checkpoints");
    const std::vector<std::string> args =
        with(train_args(data, 7),
             {"--model.algorithm", "dsgd", "--dsgd.step-size", "0.02", "--eval.every", "3"});
    const CommandResult reference = train_to(
        dir, 2, with(args, {"--checkpoint.dir", folder, "--checkpoint.keep", "10"}), "reference");
    // The step changes only after an evaluated epoch with an earlier evaluation (6 against 3).
    const std::vector<std::string> progress = lines_starting(reference.out, "iter ");
    REQUIRE(progress.size() == 7);
    const auto step_of = [](const std::string& line) { return line.substr(line.rfind("step ")); };
    for (std::size_t i = 1; i < 6; ++i) CHECK(step_of(progress[i]) == step_of(progress[0]));
    CHECK(step_of(progress[6]) != step_of(progress[0]));
    CHECK(metrics_iterations(dir.file("reference.jsonl")) == std::vector<int>{3, 6, 7});

    const std::string copy = dir.file("copy");
    std::filesystem::create_directories(copy);
    std::filesystem::copy_file(folder + "/checkpoint-000005.h5", copy + "/checkpoint-000005.h5");
    train_to(dir, 2, with(args, {"--checkpoint.dir", copy}), "resumed");
    check_same_model(dir.file("resumed.h5"), dir.file("reference.h5"));
    CHECK(metrics_without_seconds(dir.file("resumed.jsonl")) ==
          metrics_without_seconds(dir.file("reference.jsonl")));
}

TEST_CASE("train: --eval.every 0, negative or not a number is an agreed error",
          "[cli][train][bad]") {
    for (const char* value : {"0", "-2", "three"}) {
        expect_agreed_error({"train", "--data.train", "ratings.tsv", "--eval.every", value},
                            {"--eval.every", value});
    }
}

TEST_CASE("train: --train.exchange-chunks 0 or above 4096 is an agreed error",
          "[cli][train][bad]") {
    for (const char* value : {"0", "5000"}) {
        expect_agreed_error(
            {"train", "--data.train", "ratings.tsv", "--train.exchange-chunks", value},
            {"--train.exchange-chunks", value});
    }
}
