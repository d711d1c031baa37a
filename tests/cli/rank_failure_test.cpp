// One rank's failure must never hang the job: a configuration that only one rank finds invalid,
// and an error of one rank in the middle of a collective write or read (DISTMF_FAULT, test
// only), end every run within seconds with a line naming the rank, and leave no half-written
// file behind. With 2 and 4 ranks, the failing rank being the last one.
#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "background_run.hpp"
#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

using distmf::testing::BackgroundRun;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::exists;
using distmf::testing::generate_data;
using distmf::testing::run_ok;
using distmf::testing::TempDir;
using distmf::testing::train_args;

/// Generous: a failing run ends in a few seconds; a hang is killed after this long.
constexpr double no_hang_seconds = 30.0;
constexpr int fast_k = 4;
constexpr std::array<int, 2> rank_counts{2, 4};

/// Runs `distmf <args...>` with `ranks` ranks and DISTMF_FAULT=`fault`; kills it (exit code -1)
/// if it has not ended after no_hang_seconds.
CommandResult run_with_fault(int ranks, const std::vector<std::string>& args,
                             const std::string& fault) {
    BackgroundRun run(ranks, args, {"DISTMF_FAULT=" + fault});
    return run.wait(no_hang_seconds);
}

/// The one line distmf printed (REQUIREs that there is exactly one).
std::string only_message(const CommandResult& result) {
    const std::vector<std::string> messages = distmf_messages(result.err);
    REQUIRE(messages.size() == 1);
    return messages.front();
}

/// "io-error-on-rank:<rank>:<point>".
std::string io_error(int rank, const std::string& point) {
    return "io-error-on-rank:" + std::to_string(rank) + ":" + point;
}

/// Checks that a run with an I/O error on rank `rank` at `point` ended (not killed as hung)
/// with an abort and one line "[rank r] distmf: error: <operation>: ... <point>".
void check_aborted(const CommandResult& result, int rank, const std::string& operation,
                   const std::string& point) {
    INFO("exit code " << result.exit_code << "\nstdout:\n"
                      << result.out << "\nstderr:\n"
                      << result.err);
    REQUIRE(result.exit_code != -1);  // -1: still running after no_hang_seconds
    CHECK(result.exit_code == 1);     // MPI_Abort(comm, 1)
    const std::string message = only_message(result);
    CHECK(message.rfind("[rank " + std::to_string(rank) + "] distmf: error: " + operation + ": ",
                        0) == 0);
    CHECK(message.find("injected I/O error at " + point) != std::string::npos);
}

/// The names in `folder` that end with ".tmp".
std::vector<std::string> temporary_files(const std::string& folder) {
    std::vector<std::string> found;
    for (const std::string& name : entries(folder)) {
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") found.push_back(name);
    }
    return found;
}

/// Checks that a run ended (not killed as hung) with an agreed error (exit code 2); returns
/// the one line distmf printed.
std::string agreed_error(const CommandResult& result) {
    INFO("exit code " << result.exit_code << "\nstdout:\n"
                      << result.out << "\nstderr:\n"
                      << result.err);
    REQUIRE(result.exit_code != -1);  // -1: still running after no_hang_seconds
    CHECK(result.exit_code == 2);
    return only_message(result);
}

/// Trains a model on `data` with 2 ranks; returns its path (dir/model.h5).
std::string train_model(const TempDir& dir, const std::string& data) {
    const std::string model = dir.file("model.h5");
    run_ok(2, train_args(data, 2, fast_k, {"--output.model", model}));
    return model;
}

/// Trains on `data` with checkpoints every iteration into `folder`, up to `iterations`.
void train_with_checkpoints(const std::string& data, const std::string& folder, int iterations) {
    run_ok(2, train_args(data, iterations, fast_k,
                         {"--checkpoint.dir", folder, "--checkpoint.every", "1"}));
}

}  // namespace

TEST_CASE("a configuration invalid on one rank only is an agreed error, not a hang",
          "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    for (const int ranks : rank_counts) {
        const int failing = ranks - 1;
        for (const bool print_config : {false, true}) {
            std::vector<std::string> args = train_args(data, 2, fast_k);
            if (print_config) args.push_back("--print-config");
            const CommandResult result =
                run_with_fault(ranks, args, "invalid-config-on-rank:" + std::to_string(failing));
            INFO("ranks " << ranks << (print_config ? " --print-config" : ""));
            CHECK(agreed_error(result) ==
                  "distmf: error: rank " + std::to_string(failing) +
                      ": DISTMF_FAULT: the configuration is invalid on this rank");
            CHECK(result.out.empty());
        }
    }
}

TEST_CASE("an I/O error of one rank while the model is written aborts the job, no model left",
          "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    for (const int ranks : rank_counts) {
        const std::string model = dir.file("model-" + std::to_string(ranks) + ".h5");
        const CommandResult result =
            run_with_fault(ranks, train_args(data, 2, fast_k, {"--output.model", model}),
                           io_error(ranks - 1, "model-write"));
        check_aborted(result, ranks - 1, "writing model '" + model + "'", "model-write");
        CHECK_FALSE(exists(model));
        CHECK(temporary_files(dir.path()).empty());
    }
}

TEST_CASE(
    "an I/O error of one rank while a checkpoint is written aborts the job, the previous "
    "checkpoint intact",
    "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    for (const int ranks : rank_counts) {
        const std::string folder = dir.file("checkpoints-" + std::to_string(ranks));
        train_with_checkpoints(data, folder, 2);
        const std::vector<std::string> before = entries(folder);
        const std::string previous = (fs::path(folder) / "checkpoint-000002.h5").string();
        const distmf::testing::ModelFile previous_model =
            distmf::testing::read_model_file(previous);
        const CommandResult result = run_with_fault(
            ranks,
            train_args(data, 4, fast_k, {"--checkpoint.dir", folder, "--checkpoint.every", "1"}),
            io_error(ranks - 1, "checkpoint-write"));
        const std::string written = (fs::path(folder) / "checkpoint-000003.h5").string();
        check_aborted(result, ranks - 1, "writing checkpoint '" + written + "'",
                      "checkpoint-write");
        CHECK(entries(folder) == before);  // no checkpoint-000003.h5, no .tmp
        distmf::testing::check_same_model(distmf::testing::read_model_file(previous),
                                          previous_model);
    }
}

TEST_CASE(
    "an I/O error of one rank while a checkpoint is read aborts the job, the checkpoints "
    "intact",
    "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    train_with_checkpoints(data, folder, 2);
    const std::vector<std::string> before = entries(folder);
    const std::string newest = (fs::path(folder) / "checkpoint-000002.h5").string();
    for (const int ranks : rank_counts) {
        const CommandResult result = run_with_fault(
            ranks,
            train_args(data, 4, fast_k, {"--checkpoint.dir", folder, "--checkpoint.every", "1"}),
            io_error(ranks - 1, "checkpoint-read"));
        check_aborted(result, ranks - 1, "reading checkpoint '" + newest + "'", "checkpoint-read");
        CHECK(entries(folder) == before);
    }
}

TEST_CASE("an I/O error of one rank while recommend --all-users --out writes is an agreed error",
          "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string model = train_model(dir, data);
    for (const int ranks : rank_counts) {
        const std::string out = dir.file("all-" + std::to_string(ranks) + ".csv");
        const CommandResult result = run_with_fault(
            ranks, {"recommend", "--model", model, "--all-users", "--top", "3", "--out", out},
            io_error(ranks - 1, "output-write"));
        INFO("ranks " << ranks);
        CHECK(agreed_error(result).rfind("distmf: error: cannot write output file '" + out +
                                             ".tmp' (rank " + std::to_string(ranks - 1) +
                                             "): MPI_File_write_at_all failed",
                                         0) == 0);
        CHECK_FALSE(exists(out));
        CHECK_FALSE(exists(out + ".tmp"));
    }
}

TEST_CASE(
    "one rank failing while a model is read: an abort, or an agreed error when its share's "
    "read fails",
    "[cli][rank-failure]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string model = train_model(dir, data);
    const std::vector<std::string> evaluate{"evaluate", "--model", model, "--data.test", data};
    for (const int ranks : rank_counts) {
        INFO("ranks " << ranks);
        const int failing = ranks - 1;
        // An exception between two collective calls (as bad_alloc): the job is aborted.
        check_aborted(run_with_fault(ranks, evaluate, io_error(failing, "model-read")), failing,
                      "reading model '" + model + "'", "model-read");
        // The read of one rank's share that fails there (an I/O error seen by that rank):
        // every rank learns it at once and leaves the file together.
        CHECK(agreed_error(run_with_fault(ranks, evaluate, io_error(failing, "share-read"))) ==
              "distmf: error: H5Dread failed for '" + model + "' (on rank " +
                  std::to_string(failing) + ")");
        // `recommend --user` reads the whole model with collective H5Dreads: one of them
        // failing on one rank is learnt by every rank at once, too.
        CHECK(agreed_error(run_with_fault(ranks, {"recommend", "--model", model, "--user", "1"},
                                          io_error(failing, "data-read"))) ==
              "distmf: error: H5Dread failed for '" + model + "' (on rank " +
                  std::to_string(failing) + ")");
    }
}
