// `distmf train --model.algorithm bpmf` end to end through the real binary: the Gibbs chain,
// and so the posterior-mean model, is bitwise the same on 1, 2 and 4 ranks and 1 or 2 threads;
// a run continued from its checkpoint, or stopped by a signal (possibly between the half-sweeps of
// a sweep) and resumed, on another number of ranks, equals one uninterrupted run; a
// checkpoint of other [bpmf] settings is refused naming the option; bad options are agreed
// errors naming the option.
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
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
    const ModelFile expected = read_model_file(reference);
    CHECK(expected.k == 6 * 9);  // the 9 samples after the burn-in, side by side
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

TEST_CASE("train bpmf: continuing from the last checkpoint equals one longer run",
          "[cli][bpmf][checkpoint]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    run_ok(2, with(bpmf_args(data, 10), {"--output.model", dir.file("straight.h5")}));
    const std::vector<std::string> checkpointed{"--checkpoint.dir", dir.file("ckpt"),
                                                "--output.model", dir.file("continued.h5")};
    run_ok(2, with(bpmf_args(data, 6), checkpointed));  // 3 burn-in sweeps and 3 samples
    const CommandResult inspected = run_ok(0, {"inspect", dir.file("ckpt/checkpoint-000006.h5")});
    CHECK(inspected.out.find("BPMF alpha 4, beta0 2, burn-in 3; samples averaged: 3") !=
          std::string::npos);
    const CommandResult continued = run_ok(4, with(bpmf_args(data, 10), checkpointed));
    CHECK(continued.out.find("resuming from ") != std::string::npos);
    CHECK(continued.out.find("iter   7/10") != std::string::npos);
    CHECK(continued.out.find("iter   6/10") == std::string::npos);
    const ModelFile straight = read_model_file(dir.file("straight.h5"));
    const ModelFile resumed = read_model_file(dir.file("continued.h5"));
    CHECK(resumed.k == 6 * 7);
    CHECK(resumed.k == straight.k);
    distmf::testing::check_same_model(resumed, straight);

    // Other [bpmf] settings: refused (exit code 2, every rank agreeing), naming the option.
    const CommandResult refused = distmf::testing::run_distmf(
        2, with(bpmf_args(data, 12), {"--checkpoint.dir", dir.file("ckpt"), "--bpmf.beta0", "3"}));
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

TEST_CASE("train bpmf: a run stopped by SIGTERM and resumed on 1 rank equals an uninterrupted run",
          "[cli][bpmf][checkpoint]") {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    const std::string folder = dir.file("ckpt");
    // Far more sweeps than it can run before the signal; checkpoints only when stopped.
    distmf::testing::BackgroundRun job(
        2, with(bpmf_args(data, 1000000), {"--checkpoint.dir", folder, "--checkpoint.every", "0",
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

    run_ok(2, with(replaced(bpmf_args(data, 1), "--train.iterations", sweeps),
                   {"--output.model", dir.file("straight.h5")}));
    const CommandResult resumed =
        run_ok(1, with(replaced(bpmf_args(data, 1), "--train.iterations", sweeps),
                       {"--checkpoint.dir", folder, "--output.model", dir.file("resumed.h5")}));
    CHECK(distmf::testing::resumed_from(resumed) == written);
    distmf::testing::check_same_model(read_model_file(dir.file("resumed.h5")),
                                      read_model_file(dir.file("straight.h5")));
}
