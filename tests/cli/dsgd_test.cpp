// `distmf train --model.algorithm dsgd` end to end through the real binary: 1, 2 and 4 ranks
// reach a test RMSE near the noise of a synthetic set; a run is bitwise reproducible; a run
// continued from its checkpoint equals one longer run (bold driver and adaptive steps), and an
// adaptive run refuses a bold-driver checkpoint; --model.init starts DSGD from an ALS
// model (and ALS from a DSGD one); bad options are agreed errors naming the option.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::expect_agreed_error;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::run_ok;
using distmf::testing::TempDir;

/// 400 users, 300 items, 20000 ratings of a rank-4 model with noise 0.3, written to dir.
std::string generate_dsgd_data(const TempDir& dir) {
    const std::string path = dir.file("ratings.tsv");
    run_ok(0, {"generate", "--users", "400", "--items", "300", "--ratings", "20000", "--rank", "4",
               "--noise", "0.3", "--seed", "3", "--out", path});
    return path;
}

/// DSGD on `data` (10 % held out), k = 4, `epochs` epochs; each "--option value" pair of
/// `extra` replaces the value of the same option, or is added.
std::vector<std::string> dsgd_args(const std::string& data, int epochs,
                                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = distmf::testing::train_args(
        data, epochs, 4,
        {"--model.algorithm", "dsgd", "--dsgd.step-size", "0.02", "--train.threads", "1"});
    for (std::size_t i = 0; i + 1 < extra.size(); i += 2) {
        const auto same = std::find(args.begin(), args.end(), extra[i]);
        if (same != args.end()) {
            *(same + 1) = extra[i + 1];
        } else {
            args.insert(args.end(), {extra[i], extra[i + 1]});
        }
    }
    return args;
}

/// The test RMSE of every progress line of `out`.
std::vector<double> test_rmse_curve(const std::string& out) {
    std::vector<double> curve;
    for (const std::string& line : lines_of(out)) {
        const auto at = line.find("test RMSE ");
        if (line.rfind("iter ", 0) == 0 && at != std::string::npos) {
            curve.push_back(std::strtod(line.c_str() + at + 10, nullptr));
        }
    }
    return curve;
}

bool has_line_starting(const std::string& out, const std::string& start) {
    for (const std::string& line : lines_of(out)) {
        if (line.rfind(start, 0) == 0) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("train dsgd: 1, 2 and 4 ranks reach a test RMSE near the noise", "[cli][dsgd]") {
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    for (const int ranks : distmf::testing::cli_rank_counts) {
        const std::string model = dir.file("model" + std::to_string(ranks) + ".h5");
        const CommandResult result = run_ok(ranks, dsgd_args(data, 30, {"--output.model", model}));
        INFO("ranks " << ranks << "\n" << result.out);
        const std::vector<double> curve = test_rmse_curve(result.out);
        REQUIRE(curve.size() == 30);
        // Measured 0.356 (noise 0.3; ALS reaches 0.36; the biases alone about 0.85).
        CHECK(curve.back() < 0.42);
        CHECK(curve.back() > 0.25);
        CHECK(curve.back() < curve.front() - 0.2);
        CHECK(result.out.find("  step 0.02\n") != std::string::npos);  // epoch 1's step size
        CHECK(has_line_starting(result.out, "dsgd: "));
        CHECK(has_line_starting(result.out, "factor tables (sharded): "));
        const CommandResult inspected = run_ok(0, {"inspect", model});
        CHECK(inspected.out.find("algorithm     dsgd\n") != std::string::npos);
    }
}

TEST_CASE("train dsgd: the same seed and ranks give the same model, bit for bit", "[cli][dsgd]") {
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    for (const char* name : {"a.h5", "b.h5"}) {
        run_ok(2, dsgd_args(data, 5,
                            {"--output.model", dir.file(name), "--dsgd.grid", "2",
                             "--train.threads", std::string(name) == "a.h5" ? "1" : "2"}));
    }
    check_same_model(dir.file("b.h5"), dir.file("a.h5"));
}

TEST_CASE("train dsgd: continuing from the last checkpoint equals one longer run",
          "[cli][dsgd][checkpoint]") {
    const std::string schedule = GENERATE("bold-driver", "adaptive");
    INFO("--dsgd.schedule " << schedule);
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    const std::vector<std::string> options{"--dsgd.schedule", schedule};
    std::vector<std::string> straight = options;
    straight.insert(straight.end(), {"--output.model", dir.file("straight.h5")});
    run_ok(2, dsgd_args(data, 8, straight));
    std::vector<std::string> checkpointed = options;
    checkpointed.insert(checkpointed.end(), {"--checkpoint.dir", dir.file("ckpt"), "--output.model",
                                             dir.file("continued.h5")});
    run_ok(2, dsgd_args(data, 4, checkpointed));
    const CommandResult inspected = run_ok(0, {"inspect", dir.file("ckpt/checkpoint-000004.h5")});
    CHECK(inspected.out.find("DSGD sub-epochs of the next epoch done: 0, step size") !=
          std::string::npos);
    CHECK(inspected.out.find("schedule " + schedule + ",") != std::string::npos);
    const CommandResult continued = run_ok(2, dsgd_args(data, 8, checkpointed));
    CHECK(continued.out.find("resuming from ") != std::string::npos);
    check_same_model(dir.file("continued.h5"), dir.file("straight.h5"));
}

TEST_CASE("train dsgd: an adaptive run refuses a bold-driver checkpoint, naming the schedule",
          "[cli][dsgd][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    run_ok(2, dsgd_args(data, 2, {"--checkpoint.dir", dir.file("ckpt")}));
    // (On 2 ranks, as it was written: on others the number of ranks is the first difference.)
    const CommandResult refused = distmf::testing::run_distmf(
        2,
        dsgd_args(data, 4, {"--checkpoint.dir", dir.file("ckpt"), "--dsgd.schedule", "adaptive"}));
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 2);
    for (const char* part :
         {"--dsgd.schedule bold-driver, this run adaptive", "start afresh", "--checkpoint.force"}) {
        CHECK(refused.err.find(part) != std::string::npos);
    }
}

TEST_CASE("train: --model.init starts DSGD from an ALS model and ALS from a DSGD model",
          "[cli][dsgd][warm-start]") {
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    const std::string als_model = dir.file("als.h5");
    const double als_rmse =
        test_rmse_curve(
            run_ok(2, dsgd_args(data, 6, {"--model.algorithm", "als", "--output.model", als_model}))
                .out)
            .back();
    const CommandResult cold = run_ok(2, dsgd_args(data, 1, {"--dsgd.step-size", "0.002"}));
    const CommandResult warm =
        run_ok(2, dsgd_args(data, 1,
                            {"--dsgd.step-size", "0.002", "--model.init", als_model,
                             "--output.model", dir.file("dsgd.h5")}));
    INFO(warm.out);
    CHECK(warm.out.find("starting from " + als_model +
                        ": 400 of 400 users and 300 of 300 items "
                        "found") != std::string::npos);
    const double warm_rmse = test_rmse_curve(warm.out).back();
    CHECK(warm_rmse < als_rmse + 0.01);                        // where ALS left off
    CHECK(test_rmse_curve(cold.out).back() > als_rmse + 0.2);  // a random start is far away

    const CommandResult back = run_ok(
        1, dsgd_args(data, 1, {"--model.algorithm", "als", "--model.init", dir.file("dsgd.h5")}));
    CHECK(back.out.find("starting from " + dir.file("dsgd.h5")) != std::string::npos);
}

TEST_CASE("train dsgd: bad options are agreed errors naming the option", "[cli][dsgd]") {
    const TempDir dir;
    const std::string data = generate_dsgd_data(dir);
    expect_agreed_error(dsgd_args(data, 1, {"--model.algorithm", "sgd"}),
                        {"--model.algorithm", "als|dsgd"});
    expect_agreed_error(dsgd_args(data, 1, {"--dsgd.step-size", "0"}), {"--dsgd.step-size"});
    // (The other [dsgd] ranges and --train.init-scale: tests/unit/config_test.cpp.)
    expect_agreed_error(dsgd_args(data, 1, {"--model.init", dir.file("missing.h5")}),
                        {"--model.init " + dir.file("missing.h5"), "missing"});
    const std::string k3 = dir.file("k3.h5");
    run_ok(1, dsgd_args(data, 1, {"--model.rank", "3", "--output.model", k3}));
    expect_agreed_error(dsgd_args(data, 1, {"--model.init", k3}),
                        {"--model.init " + k3, "the model has rank 3, this run --model.rank 4"});
}
