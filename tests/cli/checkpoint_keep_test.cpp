// No checkpoint is ever lost, with the real binary under mpiexec: a checkpoint that cannot be
// read is moved aside (never deleted, never overwritten), a folder whose checkpoints are all
// unusable is refused instead of silently starting afresh, and `--checkpoint.resume never`
// starts over while keeping every earlier file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::fast_k;
using distmf::testing::flip_bit_in_dataset;
using distmf::testing::generate_data;
using distmf::testing::lines_starting;
using distmf::testing::read_text;
using distmf::testing::resumed_from;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::train_reference;
using distmf::testing::write_text;

/// `distmf train` for `iterations` iterations with checkpoints in `folder`, then `extra`.
std::vector<std::string> folder_args(const std::string& data, int iterations,
                                     const std::string& folder,
                                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = train_args(data, iterations, fast_k, extra);
    args.insert(args.end(), {"--checkpoint.dir", folder});
    return args;
}

/// The lines distmf wrote to stderr that start with `prefix`.
std::vector<std::string> messages_starting(const CommandResult& result, const std::string& prefix) {
    std::vector<std::string> found;
    for (const std::string& line : distmf_messages(result.err)) {
        if (line.rfind(prefix, 0) == 0) found.push_back(line);
    }
    return found;
}

}  // namespace

TEST_CASE(
    "checkpoint: a folder whose only checkpoint is unusable is refused, not trained afresh - the "
    "file is moved aside, and --checkpoint.resume never starts over keeping it",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    run_ok(2, folder_args(data, 2, folder, {"--checkpoint.keep", "1"}));
    const std::string damaged = folder + "/checkpoint-000002.h5";
    flip_bit_in_dataset(damaged, "users/factors");
    const std::string damaged_bytes = read_text(damaged);
    const std::string aside = damaged + ".unusable";

    // The first run moves the file aside (one warning) and refuses to start afresh.
    const CommandResult refused = run_distmf(2, folder_args(data, 4, folder));
    INFO("refused run:\n" << refused.out << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK(lines_starting(refused.out, "iter ").empty());
    const std::vector<std::string> moved =
        messages_starting(refused, "distmf: warning: unusable checkpoint ");
    REQUIRE(moved.size() == 1);
    CHECK(moved.front().rfind("distmf: warning: unusable checkpoint " + damaged +
                                  " moved aside as " + aside + ": " + damaged +
                                  ": checksum mismatch in dataset users/factors",
                              0) == 0);
    const std::vector<std::string> errors = messages_starting(refused, "distmf: error: ");
    REQUIRE(errors.size() == 1);
    CHECK(errors.front().find("no usable checkpoint in " + folder) != std::string::npos);
    CHECK(errors.front().find("checkpoint-000002.h5.unusable") != std::string::npos);
    CHECK(errors.front().find("--checkpoint.resume never") != std::string::npos);
    CHECK(entries(folder) == std::vector<std::string>{"checkpoint-000002.h5.unusable"});
    CHECK(read_text(aside) == damaged_bytes);

    // Again, on another number of ranks: the folder holds only a file set aside; still refused.
    const CommandResult again = run_distmf(4, folder_args(data, 4, folder));
    INFO("second run:\n" << again.out << again.err);
    CHECK(again.exit_code == 2);
    CHECK(lines_starting(again.out, "iter ").empty());
    CHECK(messages_starting(again, "distmf: warning: ").empty());
    const std::vector<std::string> second = messages_starting(again, "distmf: error: ");
    REQUIRE(second.size() == 1);
    CHECK(second.front() == errors.front());
    CHECK(entries(folder) == std::vector<std::string>{"checkpoint-000002.h5.unusable"});

    // --checkpoint.resume never trains from the start and leaves the file aside untouched.
    const CommandResult fresh =
        run_ok(1, folder_args(data, 3, folder, {"--checkpoint.resume", "never"}));
    CHECK(resumed_from(fresh).empty());
    CHECK(lines_starting(fresh.out, "iter ").size() == 3);
    CHECK(entries(folder) == std::vector<std::string>{"checkpoint-000002.h5",
                                                      "checkpoint-000002.h5.unusable",
                                                      "checkpoint-000003.h5"});
    CHECK(read_text(aside) == damaged_bytes);
    // ... and a later auto run continues the new run's checkpoints.
    const CommandResult continued = run_ok(2, folder_args(data, 4, folder));
    CHECK(resumed_from(continued) == folder + "/checkpoint-000003.h5");
    CHECK(read_text(aside) == damaged_bytes);
}

TEST_CASE(
    "checkpoint: a damaged newest checkpoint is moved aside (never over an earlier file set "
    "aside) and kept, and the run resumes from the older one",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    train_reference(dir, data, 6, fast_k);
    const std::string folder = dir.file("checkpoints");
    run_ok(2, folder_args(data, 4, folder));  // keeps 3 and 4
    const std::string damaged = folder + "/checkpoint-000004.h5";
    flip_bit_in_dataset(damaged, "items/factors");
    const std::string damaged_bytes = read_text(damaged);
    const std::string earlier_aside = damaged + ".unusable";
    write_text(earlier_aside, "set aside by an earlier run\n");

    const CommandResult resumed =
        run_ok(4, folder_args(data, 6, folder, {"--output.model", dir.file("resumed.h5")}));
    INFO("resumed run:\n" << resumed.out << resumed.err);
    CHECK(resumed_from(resumed) == folder + "/checkpoint-000003.h5");
    const std::string aside = damaged + ".2.unusable";
    const std::vector<std::string> moved =
        messages_starting(resumed, "distmf: warning: unusable checkpoint ");
    REQUIRE(moved.size() == 1);
    CHECK(moved.front().rfind(
              "distmf: warning: unusable checkpoint " + damaged + " moved aside as " + aside + ": ",
              0) == 0);
    CHECK(lines_starting(resumed.out, "iter ").size() == 3);
    check_same_model(dir.file("resumed.h5"), dir.file("reference.h5"));
    // The damaged file is still on disk, under its new name; the earlier one is untouched.
    CHECK(entries(folder) == std::vector<std::string>{
                                 "checkpoint-000004.h5.2.unusable", "checkpoint-000004.h5.unusable",
                                 "checkpoint-000005.h5", "checkpoint-000006.h5"});
    CHECK(read_text(aside) == damaged_bytes);
    CHECK(read_text(earlier_aside) == "set aside by an earlier run\n");
}

TEST_CASE(
    "checkpoint: --checkpoint.resume never moves the folder's checkpoints aside instead of "
    "deleting them",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    run_ok(2, folder_args(data, 4, folder));  // keeps 3 and 4
    // A file no rank can read, of a later iteration than the new run will reach.
    const std::string unreadable = folder + "/checkpoint-000009.h5";
    write_text(unreadable, "not a checkpoint\n");
    const std::string three = read_text(folder + "/checkpoint-000003.h5");

    const CommandResult fresh =
        run_ok(2, folder_args(data, 5, folder, {"--checkpoint.resume", "never"}));
    INFO("fresh run:\n" << fresh.out << fresh.err);
    CHECK(lines_starting(fresh.out, "iter ").size() == 5);
    CHECK(lines_starting(fresh.out, "--checkpoint.resume never: moved ").size() == 3);
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000003.h5.old", "checkpoint-000004.h5",
                                   "checkpoint-000004.h5.old", "checkpoint-000005.h5",
                                   "checkpoint-000009.h5.old"});
    CHECK(read_text(folder + "/checkpoint-000003.h5.old") == three);
    CHECK(read_text(folder + "/checkpoint-000009.h5.old") == "not a checkpoint\n");

    // Resuming from a named file moves the folder's later checkpoints aside the same way.
    const std::string four = folder + "/checkpoint-000004.h5";
    const std::string five = read_text(folder + "/checkpoint-000005.h5");
    const CommandResult named =
        run_ok(2, folder_args(data, 6, folder, {"--checkpoint.resume", four}));
    INFO("named run:\n" << named.out << named.err);
    CHECK(resumed_from(named) == four);
    CHECK(lines_starting(named.out, "moved " + folder + "/checkpoint-000005.h5 aside as " + folder +
                                        "/checkpoint-000005.h5.old: ")
              .size() == 1);
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000003.h5.old", "checkpoint-000004.h5.old",
                                   "checkpoint-000005.h5", "checkpoint-000005.h5.old",
                                   "checkpoint-000006.h5", "checkpoint-000009.h5.old"});
    CHECK(read_text(folder + "/checkpoint-000005.h5.old") == five);
}

// ---- what a resume must match ---------------------------------------------------------------

TEST_CASE(
    "checkpoint: DSGD refuses a resume with another --train.seed, grid, DSGD schedule or "
    "number of ranks, naming it - --checkpoint.force accepts each with a warning",
    "[cli][checkpoint][dsgd]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    const std::vector<std::string> dsgd{"--model.algorithm", "dsgd", "--train.threads", "1"};
    std::vector<std::string> first = dsgd;
    first.insert(first.end(), {"--dsgd.grid", "2"});
    run_ok(2, folder_args(data, 2, folder, first));
    // The same with the automatic grid (--dsgd.grid 0: from the thread count; 1 here).
    const std::string auto_folder = dir.file("checkpoints-auto-grid");
    run_ok(2, folder_args(data, 2, auto_folder, dsgd));
    const CommandResult inspected = run_ok(0, {"inspect", folder + "/checkpoint-000002.h5"});
    CHECK(inspected.out.find("DSGD grid 2, schedule bold-driver, step-size 0.01, grow 1.05, "
                             "shrink 0.5, decay 0.1, --train.seed 1") != std::string::npos);
    const std::string hint = " (--checkpoint.force resumes anyway)";
    struct Refusal {
        std::vector<std::string> extra;
        std::string reason;
        int ranks;
        std::string folder;
    };
    const auto with = [&first](std::vector<std::string> options) {
        options.insert(options.begin(), first.begin(), first.end());
        return options;
    };
    const std::vector<Refusal> refusals{
        {with({"--train.seed", "7"}), "it has --train.seed 1, this run 7", 2, folder},
        {{"--model.algorithm", "dsgd", "--train.threads", "1", "--dsgd.grid", "3"},
         "it ran DSGD with --dsgd.grid 2, this run 3",
         2,
         folder},
        {with({"--dsgd.step-size", "0.02"}), "it has --dsgd.step-size 0.01, this run 0.02", 2,
         folder},
        {with({"--dsgd.schedule", "fixed"}), "it has --dsgd.schedule bold-driver, this run fixed",
         2, folder},
        {with({"--dsgd.grow", "1.1"}), "it has --dsgd.grow 1.05, this run 1.1", 2, folder},
        {with({"--dsgd.shrink", "0.25"}), "it has --dsgd.shrink 0.5, this run 0.25", 2, folder},
        {with({}),
         "it was written by DSGD on 2 ranks, this run has 4 (DSGD's strata depend on the "
         "number of ranks: resume on 2 ranks)",
         4, folder},
        {{"--model.algorithm", "dsgd", "--train.threads", "2"},
         "it ran DSGD with --dsgd.grid 1, this run 4 (--dsgd.grid 0 chooses it from the "
         "threads and the block size; --dsgd.grid 1 resumes bitwise)",
         2,
         auto_folder},
    };
    // Runs of 2 threads get a core each, so that distmf's warning about threads sharing a CPU
    // (Open MPI binds a rank to one core by default) is not among the messages counted below.
    const std::vector<std::string> unbound = {"OMPI_MCA_hwloc_base_binding_policy=none"};
    for (const Refusal& refusal : refusals) {
        const std::string path = refusal.folder + "/checkpoint-000002.h5";
        const std::vector<std::string> before = entries(refusal.folder);
        const CommandResult result =
            run_distmf(refusal.ranks, folder_args(data, 3, refusal.folder, refusal.extra), unbound);
        INFO(refusal.reason << "\n" << result.out << result.err);
        CHECK(result.exit_code == 2);
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        CHECK(messages.front() ==
              "distmf: error: cannot resume from " + path + ": " + refusal.reason + hint);
        CHECK(lines_starting(result.out, "iter ").empty());
        CHECK(entries(refusal.folder) == before);

        // --checkpoint.force resumes anyway, from a copy, and says what that costs.
        const std::string copy = refusal.folder + "-forced";
        fs::remove_all(copy);
        fs::copy(refusal.folder, copy);
        std::vector<std::string> forced = refusal.extra;
        forced.insert(forced.end(), {"--checkpoint.force", "true"});
        const CommandResult accepted =
            run_distmf(refusal.ranks, folder_args(data, 3, copy, forced), unbound);
        INFO("forced:\n" << accepted.out << accepted.err);
        CHECK(accepted.exit_code == 0);
        CHECK(resumed_from(accepted) == copy + "/checkpoint-000002.h5");
        const std::vector<std::string> warnings = distmf_messages(accepted.err);
        REQUIRE(warnings.size() == 1);
        CHECK(warnings.front() == "distmf: warning: resuming from " + copy +
                                      "/checkpoint-000002.h5 although " + refusal.reason +
                                      " (--checkpoint.force): the result is not that of an "
                                      "uninterrupted run of either setting");
    }
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000001.h5", "checkpoint-000002.h5"});
}

TEST_CASE(
    "checkpoint: BPMF refuses a resume with another --train.seed - ALS, whose seed only draws "
    "the start, accepts it",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("bpmf");
    const std::vector<std::string> bpmf{"--model.algorithm", "bpmf", "--model.biases", "false",
                                        "--bpmf.burn-in",    "1"};
    run_ok(2, folder_args(data, 2, folder, bpmf));
    std::vector<std::string> other_seed = bpmf;
    other_seed.insert(other_seed.end(), {"--train.seed", "5"});
    const CommandResult refused = run_distmf(1, folder_args(data, 3, folder, other_seed));
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 2);
    const std::vector<std::string> messages = distmf_messages(refused.err);
    REQUIRE(messages.size() == 1);
    CHECK(messages.front() == "distmf: error: cannot resume from " + folder +
                                  "/checkpoint-000002.h5: it has --train.seed 1, this run 5 "
                                  "(--checkpoint.force resumes anyway)");
    other_seed.insert(other_seed.end(), {"--checkpoint.force", "true"});
    const CommandResult forced = run_ok(2, folder_args(data, 3, folder, other_seed));
    CHECK(resumed_from(forced) == folder + "/checkpoint-000002.h5");

    const std::string als_folder = dir.file("als");
    run_ok(2, folder_args(data, 2, als_folder));
    const CommandResult als = run_ok(2, folder_args(data, 3, als_folder, {"--train.seed", "5"}));
    CHECK(resumed_from(als) == als_folder + "/checkpoint-000002.h5");
    CHECK(distmf_messages(als.err).empty());
}
