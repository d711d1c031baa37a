// --train.factors sharded | replicated end to end through the real binary: for every algorithm
// the two layouts of the factor tables write the same model file and the same metrics, bit for
// bit, on 1, 2 and 4 ranks (and, but for DSGD, whose epochs depend on the rank count, the same
// as on one rank); a checkpoint written in one layout resumes in the other on another number of
// ranks and ends where an uninterrupted run ends.
#include <catch2/catch.hpp>
#include <map>
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
using distmf::testing::metrics_without_seconds;
using distmf::testing::ModelFile;
using distmf::testing::read_model_file;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::with;

/// `distmf train` options of `algorithm` on the main fixture (k = 4), `iterations` iterations.
std::vector<std::string> algorithm_args(const SplitData& data, const std::string& algorithm,
                                        int iterations) {
    std::vector<std::string> args =
        with(train_args(data, iterations), {"--model.algorithm", algorithm});
    if (algorithm == "als") args = with(args, {"--als.solver", "cg"});
    if (algorithm == "als-cholesky") {
        args = with(train_args(data, iterations), {"--als.solver", "cholesky"});
    }
    if (algorithm == "ials") {
        args = with(args, {"--model.biases", "false", "--model.regularization", "plain",
                           "--ials.alpha", "3"});
    }
    if (algorithm == "bpmf") args = with(args, {"--model.biases", "false", "--bpmf.burn-in", "1"});
    return args;
}

/// What one run wrote.
struct Written {
    ModelFile model;
    std::vector<std::string> metrics;
};

Written train_in_layout(const TempDir& dir, const std::vector<std::string>& args, int ranks,
                        const std::string& layout) {
    const std::string name = layout + std::to_string(ranks);
    const std::string model = dir.file(name + ".h5");
    const std::string metrics = dir.file(name + ".jsonl");
    run_ok(ranks, with(args, {"--train.factors", layout, "--output.model", model,
                              "--output.metrics", metrics}));
    return Written{read_model_file(model), metrics_without_seconds(metrics)};
}

void check_layouts_agree(const std::string& algorithm) {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    const std::vector<std::string> args = algorithm_args(data, algorithm, 4);
    const Written alone = train_in_layout(dir, args, 1, "replicated");
    REQUIRE(alone.metrics.size() == 4);
    for (const int ranks : cli_rank_counts) {
        const Written replicated =
            ranks == 1 ? alone : train_in_layout(dir, args, ranks, "replicated");
        const Written sharded = train_in_layout(dir, args, ranks, "sharded");
        INFO(algorithm << " on " << ranks << " ranks");
        check_same_model(sharded.model, replicated.model);
        CHECK(sharded.metrics == replicated.metrics);
        if (algorithm != "dsgd") {  // DSGD's epochs depend on the number of ranks
            check_same_model(sharded.model, alone.model);
            CHECK(sharded.metrics == alone.metrics);
        }
    }
}

/// Training with the exchange overlapped in chunks (--train.exchange-chunks) writes the model
/// and metrics of training without (one rank, one chunk): 3 chunks, and 500 (more than any
/// rank's rows: empty chunks), in both layouts.
void check_chunks_agree(const std::string& algorithm) {
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    const std::vector<std::string> args = algorithm_args(data, algorithm, 3);
    const Written alone =
        train_in_layout(dir, with(args, {"--train.exchange-chunks", "1"}), 1, "sharded");
    struct Run {
        int ranks;
        const char* layout;
        const char* chunks;
    };
    for (const Run run :
         {Run{2, "sharded", "3"}, Run{4, "replicated", "500"}, Run{4, "sharded", "500"}}) {
        INFO(algorithm << " on " << run.ranks << " ranks, " << run.layout << ", " << run.chunks
                       << " chunks");
        const Written chunked = train_in_layout(
            dir, with(args, {"--train.exchange-chunks", run.chunks}), run.ranks, run.layout);
        check_same_model(chunked.model, alone.model);
        CHECK(chunked.metrics == alone.metrics);
    }
}

}  // namespace

TEST_CASE("train als: the exchange overlapped in chunks writes the same model", "[cli][layout]") {
    check_chunks_agree("als");
}

TEST_CASE("train ials: the exchange overlapped in chunks writes the same model", "[cli][layout]") {
    check_chunks_agree("ials");
}

TEST_CASE("train bpmf: the exchange overlapped in chunks writes the same model", "[cli][layout]") {
    check_chunks_agree("bpmf");
}

TEST_CASE("train als: sharded and replicated factor tables write the same model on 1, 2, 4 ranks",
          "[cli][layout]") {
    check_layouts_agree("als");
}

TEST_CASE(
    "train als --als.solver cholesky: sharded and replicated factor tables write the same model "
    "on 1, 2, 4 ranks",
    "[cli][layout]") {
    check_layouts_agree("als-cholesky");
}

TEST_CASE("train ials: sharded and replicated factor tables write the same model on 1, 2, 4 ranks",
          "[cli][layout]") {
    check_layouts_agree("ials");
}

TEST_CASE("train bpmf: sharded and replicated factor tables write the same model on 1, 2, 4 ranks",
          "[cli][layout]") {
    check_layouts_agree("bpmf");
}

TEST_CASE("train dsgd: sharded and replicated factor tables write the same model on 1, 2, 4 ranks",
          "[cli][layout]") {
    check_layouts_agree("dsgd");
}

TEST_CASE("train: a checkpoint written in one layout resumes in the other, on other rank counts",
          "[cli][layout][checkpoint]") {
    const std::string algorithm = GENERATE(as<std::string>{}, "als", "bpmf", "ials");
    INFO(algorithm);
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    run_ok(1,
           with(algorithm_args(data, algorithm, 6), {"--output.model", dir.file("straight.h5")}));
    // 2 iterations on 2 ranks, sharded; 2 more on 4 ranks, replicated; the last 2 on 1 rank,
    // sharded.
    const std::vector<std::string> checkpointed{"--checkpoint.dir", dir.file("ckpt"),
                                                "--output.model", dir.file("continued.h5")};
    run_ok(2, with(algorithm_args(data, algorithm, 2),
                   with(checkpointed, {"--train.factors", "sharded"})));
    const CommandResult second =
        run_ok(4, with(algorithm_args(data, algorithm, 4),
                       with(checkpointed, {"--train.factors", "replicated"})));
    CHECK(second.out.find("resuming from ") != std::string::npos);
    CHECK(second.out.find("iter   3/4") != std::string::npos);
    const CommandResult third = run_ok(1, with(algorithm_args(data, algorithm, 6),
                                               with(checkpointed, {"--train.factors", "sharded"})));
    CHECK(third.out.find("iter   5/6") != std::string::npos);
    CHECK(third.out.find("iter   4/6") == std::string::npos);
    check_same_model(read_model_file(dir.file("continued.h5")),
                     read_model_file(dir.file("straight.h5")));
}

TEST_CASE("train dsgd: a checkpoint written in one layout resumes in the other",
          "[cli][layout][checkpoint]") {
    // DSGD's epochs depend on the number of ranks: all three runs on 2 ranks.
    const TempDir dir;
    const SplitData data = distmf::testing::generate_main(dir);
    run_ok(2, with(algorithm_args(data, "dsgd", 6), {"--output.model", dir.file("straight.h5")}));
    const std::vector<std::string> checkpointed{"--checkpoint.dir", dir.file("ckpt"),
                                                "--output.model", dir.file("continued.h5")};
    run_ok(2, with(algorithm_args(data, "dsgd", 3),
                   with(checkpointed, {"--train.factors", "replicated"})));
    const CommandResult resumed = run_ok(
        2,
        with(algorithm_args(data, "dsgd", 6), with(checkpointed, {"--train.factors", "sharded"})));
    CHECK(resumed.out.find("iter   4/6") != std::string::npos);
    check_same_model(read_model_file(dir.file("continued.h5")),
                     read_model_file(dir.file("straight.h5")));
}
