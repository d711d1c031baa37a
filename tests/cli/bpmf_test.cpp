// `distmf train --model.algorithm bpmf` end to end through the real binary: the Gibbs chain,
// and so the posterior-mean model, is bitwise the same on 1, 2 and 4 ranks and 1 or 2 threads;
// a run continued from its checkpoint, or stopped by a signal (possibly between the half-sweeps of
// a sweep) and resumed, on another number of ranks, equals one uninterrupted run; a
// checkpoint of other [bpmf] settings is refused naming the option; the figures of the running
// sums are those `distmf evaluate` gives a model of every sample; --bpmf.keep-samples N writes
// a model of rank k N (N = 0: k) whose own figures are logged and are what `distmf evaluate`
// finds; bad options are agreed errors naming the option.
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include "background_run.hpp"
#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "distmf/checkpoint_name.hpp"
#include "model_files.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::expect_agreed_error;
using distmf::testing::ModelFile;
using distmf::testing::read_model_file;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::with;

/// `args` with the value of "--option=value" replaced by `value`.
std::vector<std::string> replaced(std::vector<std::string> args, const std::string& option,
                                  const std::string& value) {
    for (std::string& arg : args) {
        if (arg.rfind(option + "=", 0) == 0) arg = option + "=" + value;
    }
    return args;
}

/// BPMF on the main fixture, `sweeps` sweeps of which 3 burn-in, alpha 4, k = 6: the data are
/// a rank-4 model plus user and item offsets, which BPMF (no biases) fits with 2 more factors.
std::vector<std::string> bpmf_args(const SplitData& data, int sweeps) {
    return with(replaced(distmf::testing::train_args(data, sweeps), "--model.rank", "6"),
                {"--model.algorithm", "bpmf", "--model.biases", "false", "--bpmf.alpha", "4",
                 "--bpmf.burn-in", "3"});
}

}  // namespace

TEST_CASE("train bpmf: the model is the same on 1, 2 and 4 ranks and 1 or 2 threads, bit for bit",
          "[cli][bpmf]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    const std::string reference = dir.file("np1.h5");
    const CommandResult first = run_ok(1, with(bpmf_args(data, 12), {"--output.model", reference}));
    INFO(first.out);
    CHECK(first.out.find("iter   3/12") != std::string::npos);
    CHECK(first.out.find("burn-in\n") != std::string::npos);
    CHECK(first.out.find("mean of 9 samples\n") != std::string::npos);
    const double rmse = distmf::testing::final_test_rmse(first.out);
    CHECK(rmse < 0.45);  // measured 0.397 (noise 0.3; ALS with biases at k = 4 reaches 0.36)
    CHECK(rmse > 0.25);
    // By default (--bpmf.keep-samples 0) the model is the posterior mean factors, rank k; its
    // own figures are logged.
    const std::vector<std::string> model_line = distmf::testing::lines_starting(
        first.out, "model file (the posterior mean factors, rank 6)");
    REQUIRE(model_line.size() == 1);
    const ModelFile expected = read_model_file(reference);
    CHECK(expected.k == 6);
    CHECK(expected.user_bias.empty());
    REQUIRE(expected.global_mean.size() == 1);
    CHECK(expected.global_mean.front() > 2.0);  // the ratings' mean, though there are no biases
    const CommandResult inspected = run_ok(0, {"inspect", reference});
    CHECK(inspected.out.find("algorithm     bpmf\n") != std::string::npos);

    for (const int ranks : {2, 4}) {
        const std::string model = dir.file("np" + std::to_string(ranks) + ".h5");
        run_ok(ranks, with(replaced(bpmf_args(data, 12), "--train.threads", ranks == 2 ? "2" : "1"),
                           {"--output.model", model}));
        INFO("ranks " << ranks);
        const ModelFile other = read_model_file(model);
        CHECK(other.k == expected.k);
        distmf::testing::check_same_model(other, expected);
    }
}

TEST_CASE(
    "train bpmf: the running sums give what `distmf evaluate` finds for a model of every "
    "sample, and --bpmf.keep-samples N writes a model of rank k N (N = 0: k) with the figures "
    "logged",
    "[cli][bpmf][evaluate]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    // 8 sweeps, 3 of burn-in: 5 samples averaged.
    const auto train = [&](const std::string& keep) {
        const std::string name = "keep" + keep;
        const CommandResult result =
            run_ok(2, with(bpmf_args(data, 8),
                           {"--bpmf.keep-samples", keep, "--output.model", dir.file(name + ".h5"),
                            "--output.metrics", dir.file(name + ".jsonl")}));
        const CommandResult evaluated =
            run_ok(1, {"evaluate", "--model", dir.file(name + ".h5"), "--data.test", data.test});
        return std::pair{result, evaluated};
    };
    const auto evaluated_rmse = [](const CommandResult& evaluated) {
        return distmf::testing::number_after(evaluated.out, "RMSE ", "RMSE ");
    };
    const auto [every, every_evaluated] = train("5");
    INFO(every.out << every_evaluated.out);
    CHECK(read_model_file(dir.file("keep5.h5")).k == 6 * 5);
    CHECK(distmf::testing::lines_starting(every.out, "model file").empty());
    const std::string last_metrics =
        distmf::testing::lines_of(distmf::testing::read_text(dir.file("keep5.jsonl"))).back();
    const double test_rmse = distmf::testing::json_number(last_metrics, "test_rmse");
    CHECK(evaluated_rmse(every_evaluated) == Approx(test_rmse).margin(1e-6));
    CHECK(distmf::testing::number_after(every_evaluated.out, "RMSE ", "MAE ") ==
          Approx(distmf::testing::json_number(last_metrics, "test_mae")).margin(1e-6));

    for (const std::string keep : {"2", "0"}) {
        const auto [kept, kept_evaluated] = train(keep);
        INFO("--bpmf.keep-samples " << keep << "\n" << kept.out << kept_evaluated.out);
        CHECK(read_model_file(dir.file("keep" + keep + ".h5")).k == (keep == "2" ? 12 : 6));
        // The figures average every sample whatever the model keeps.
        CHECK(distmf::testing::lines_starting(kept.out, "final:") ==
              distmf::testing::lines_starting(every.out, "final:"));
        const std::string prefix = keep == "2" ? "model file (the last 2 of the samples, rank 12):"
                                               : "model file (the posterior mean factors, rank 6):";
        const double logged = distmf::testing::number_after(kept.out, prefix, "test RMSE ");
        CHECK(evaluated_rmse(kept_evaluated) == Approx(logged).margin(5.1e-5));
        CHECK(std::abs(logged - test_rmse) > 1e-4);  // it predicts differently
    }
}

TEST_CASE("train bpmf: continuing from the last checkpoint equals one longer run",
          "[cli][bpmf][checkpoint]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    // The last 4 samples: 3 when checkpointed, 7 after the resume (the ring has wrapped).
    const auto args = [&](int sweeps) {
        return with(bpmf_args(data, sweeps), {"--bpmf.keep-samples", "4"});
    };
    const CommandResult straight_run =
        run_ok(2, with(args(10), {"--output.model", dir.file("straight.h5")}));
    const std::vector<std::string> checkpointed{"--checkpoint.dir", dir.file("ckpt"),
                                                "--output.model", dir.file("continued.h5")};
    run_ok(2, with(args(6), checkpointed));  // 3 burn-in sweeps and 3 samples
    const CommandResult inspected = run_ok(0, {"inspect", dir.file("ckpt/checkpoint-000006.h5")});
    CHECK(inspected.out.find(
              "BPMF alpha 4, beta0 2, burn-in 3; samples averaged: 3, keep-samples 4") !=
          std::string::npos);
    const CommandResult continued = run_ok(4, with(args(10), checkpointed));
    CHECK(continued.out.find("resuming from ") != std::string::npos);
    CHECK(continued.out.find("iter   7/10") != std::string::npos);
    CHECK(continued.out.find("iter   6/10") == std::string::npos);
    // The running sums continue bitwise: the same figures (and the model's own) to the digit.
    for (const std::string start : {"final:", "model file"}) {
        CHECK(distmf::testing::lines_starting(continued.out, start).size() == 1);
        CHECK(distmf::testing::lines_starting(continued.out, start) ==
              distmf::testing::lines_starting(straight_run.out, start));
    }
    const ModelFile straight = read_model_file(dir.file("straight.h5"));
    const ModelFile resumed = read_model_file(dir.file("continued.h5"));
    CHECK(resumed.k == 6 * 4);
    CHECK(resumed.k == straight.k);
    distmf::testing::check_same_model(resumed, straight);

    // Another --bpmf.keep-samples cannot continue the samples kept: refused, naming the option.
    const CommandResult other_keep = distmf::testing::run_distmf(
        2, with(bpmf_args(data, 12), {"--checkpoint.dir", dir.file("ckpt")}));
    CHECK(other_keep.exit_code == 2);
    CHECK(other_keep.err.find("cannot resume from " + dir.file("ckpt/checkpoint-000010.h5") +
                              ": it has --bpmf.keep-samples 4, this run 0") != std::string::npos);

    // Other [bpmf] settings: refused (exit code 2, every rank agreeing), naming the option.
    const CommandResult refused = distmf::testing::run_distmf(
        2, with(args(12), {"--checkpoint.dir", dir.file("ckpt"), "--bpmf.beta0", "3"}));
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("cannot resume from " + dir.file("ckpt/checkpoint-000010.h5") +
                           ": it has --bpmf.beta0 2, this run 3 (--checkpoint.force resumes "
                           "anyway)") != std::string::npos);
}

TEST_CASE("train bpmf: bad options are agreed errors naming the option", "[cli][bpmf]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    expect_agreed_error(with(distmf::testing::train_args(data, 5), {"--model.algorithm", "bpmf"}),
                        {"--model.biases", "set --model.biases false"});
    expect_agreed_error(with(bpmf_args(data, 3), {}), {"--bpmf.burn-in", "--train.iterations"});
    // (The [bpmf] ranges and the other rules: tests/unit/config_test.cpp.)
}

TEST_CASE("train bpmf: bad values of --bpmf.keep-samples are clear errors naming the option",
          "[cli][bpmf]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    expect_agreed_error(with(bpmf_args(data, 5), {"--bpmf.keep-samples", "-1"}),
                        {"--bpmf.keep-samples: must be >= 0 (0: the posterior mean factors only), "
                         "got -1"});
    for (const auto& [value, message] :
         {std::pair<std::string, std::string>{"two",
                                              "the argument ('two') for option "
                                              "'--bpmf.keep-samples' is invalid"},
          {"400000000",
           "--bpmf.keep-samples: must be at most 357913941 with --model.rank 6 (the "
           "model's width k N must stay below 2^31), got 400000000"}}) {
        const CommandResult result = distmf::testing::run_distmf(
            2, with(bpmf_args(data, 5), {"--bpmf.keep-samples", value}));
        INFO(result.out << result.err);
        CHECK(result.exit_code == 2);
        CHECK(distmf::testing::distmf_messages(result.err) ==
              std::vector<std::string>{"distmf: error: " + message});
    }
}

TEST_CASE("train bpmf: a run stopped by SIGTERM and resumed on 1 rank equals an uninterrupted run",
          "[cli][bpmf][checkpoint]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    const std::string folder = dir.file("ckpt");
    // Far more sweeps than it can run before the signal; checkpoints only when stopped. The
    // model keeps the last 2 samples (its ring wraps before and after the stop).
    const auto args = [&](const std::string& sweeps) {
        return with(replaced(bpmf_args(data, 1), "--train.iterations", sweeps),
                    {"--bpmf.keep-samples", "2"});
    };
    distmf::testing::BackgroundRun job(
        2, with(args("1000000"), {"--checkpoint.dir", folder, "--checkpoint.every", "0",
                                  "--output.metrics", dir.file("stopped.jsonl")}));
    const bool running = job.wait_until(
        [&] {
            return distmf::testing::lines_of(distmf::testing::read_text(dir.file("stopped.jsonl")))
                       .size() >= 5;  // past the burn-in: the checkpoint holds samples
        },
        60.0);
    REQUIRE(running);
    CHECK(job.signal_ranks(SIGTERM) == 2);
    const CommandResult stopped = job.wait(60.0);
    INFO(stopped.out << stopped.err);
    CHECK(stopped.exit_code == 75);
    const std::string written = distmf::testing::stop_checkpoint(stopped, SIGTERM);
    REQUIRE(!written.empty());
    const auto name = distmf::parse_checkpoint_file_name(
        written.substr(written.find_last_of('/') + 1));  // checkpoint-N.h5 or -N+u.h5
    REQUIRE(name.has_value());
    const std::string sweeps = std::to_string(name->iteration + 2);

    const CommandResult straight =
        run_ok(2, with(args(sweeps), {"--output.model", dir.file("straight.h5"), "--output.metrics",
                                      dir.file("straight.jsonl")}));
    const CommandResult resumed = run_ok(
        1, with(args(sweeps), {"--checkpoint.dir", folder, "--output.model", dir.file("resumed.h5"),
                               "--output.metrics", dir.file("resumed.jsonl")}));
    CHECK(distmf::testing::resumed_from(resumed) == written);
    // The running sums continued bitwise: every figure of every sweep, to the last bit.
    CHECK(distmf::testing::metrics_without_seconds(dir.file("resumed.jsonl")) ==
          distmf::testing::metrics_without_seconds(dir.file("straight.jsonl")));
    distmf::testing::check_same_model(read_model_file(dir.file("resumed.h5")),
                                      read_model_file(dir.file("straight.h5")));
}
