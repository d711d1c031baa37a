// Checkpoint options end to end, with the real binary under mpiexec: corrupt, truncated and
// foreign checkpoints are moved aside and skipped (or refused when named), incompatible resumes are
// refused with a message naming the difference, and the schedule, retention and resume options do
// what they say; a resumed run ends with the model of an uninterrupted one.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

using distmf::testing::check_same_metrics;
using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::contains_line;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::fast_iterations;
using distmf::testing::fast_k;
using distmf::testing::flip_bit_in_dataset;
using distmf::testing::generate_data;
using distmf::testing::lines_of;
using distmf::testing::lines_starting;
using distmf::testing::read_text;
using distmf::testing::resumed_from;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::train_reference;
using distmf::testing::write_text;

/// Copies the first half of `from` to `to`.
void copy_first_half(const std::string& from, const std::string& to) {
    const std::string content = read_text(from);
    write_text(to, content.substr(0, content.size() / 2));
}

}  // namespace

// ---- unusable checkpoints -------------------------------------------------------------------

TEST_CASE(
    "checkpoint: corrupt, truncated and foreign checkpoints are skipped with a warning each, and "
    "refused when named",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    train_reference(dir, data, fast_iterations, fast_k);
    const std::string folder = dir.file("checkpoints");
    const std::vector<std::string> args = train_args(data, fast_iterations, fast_k);
    std::vector<std::string> first_half = train_args(data, 4, fast_k);
    first_half.insert(first_half.end(), {"--checkpoint.dir", folder, "--checkpoint.keep", "10"});
    run_ok(2, first_half);
    const std::string valid = folder + "/checkpoint-000004.h5";
    const std::string flipped = folder + "/checkpoint-000005.h5";
    const std::string truncated = folder + "/checkpoint-000006.h5";
    const std::string foreign = folder + "/checkpoint-000099.h5";
    fs::copy_file(valid, flipped);
    flip_bit_in_dataset(flipped, "users/factors");
    copy_first_half(valid, truncated);
    write_text(foreign, "not a checkpoint, just a text file with a checkpoint's name\n");

    // inspect sees the flipped bit.
    const CommandResult inspected = run_distmf(0, {"inspect", flipped});
    INFO("inspect:\n" << inspected.out << inspected.err);
    CHECK(inspected.exit_code == 2);
    const std::vector<std::string> status = lines_starting(inspected.out, "checksums     ");
    REQUIRE(status.size() == 1);
    CHECK(status.front().rfind("checksums     FAILED: ", 0) == 0);
    CHECK(status.front().find("users/factors") != std::string::npos);

    // Named with --checkpoint.resume: an agreed error, for any rank count.
    const std::vector<std::pair<std::string, int>> refused{
        {flipped, 1}, {truncated, 2}, {foreign, 4}};
    for (const auto& [path, ranks] : refused) {
        std::vector<std::string> explicit_args = args;
        explicit_args.insert(explicit_args.end(), {"--checkpoint.resume", path});
        const CommandResult result = run_distmf(ranks, explicit_args);
        INFO(ranks << " ranks, --checkpoint.resume " << path << "\n" << result.out << result.err);
        CHECK(result.exit_code == 2);
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        CHECK(messages.front().rfind("distmf: error: cannot resume: ", 0) == 0);
        CHECK(messages.front().find(path) != std::string::npos);
        CHECK(lines_starting(result.out, "iter ").empty());
    }
    CHECK(entries(folder).size() == 7);  // nothing was touched

    // resume auto: each unusable file, newest first, is moved aside with one warning, then the
    // newest valid one is resumed.
    std::vector<std::string> auto_args = args;
    auto_args.insert(auto_args.end(),
                     {"--checkpoint.dir", folder, "--output.model", dir.file("resumed.h5"),
                      "--output.metrics", dir.file("resumed.jsonl")});
    const CommandResult resumed = run_ok(4, auto_args);
    INFO("resumed:\n" << resumed.out << resumed.err);
    const std::vector<std::string> warnings = distmf_messages(resumed.err);
    REQUIRE(warnings.size() == 3);
    const std::vector<std::string> skipped{foreign, truncated, flipped};
    for (std::size_t i = 0; i < skipped.size(); ++i) {
        INFO(warnings[i]);
        CHECK(warnings[i].rfind("distmf: warning: unusable checkpoint " + skipped[i] +
                                    " moved aside as " + skipped[i] + ".unusable: ",
                                0) == 0);
    }
    CHECK(warnings[2].find("checksum mismatch in dataset users/factors") != std::string::npos);
    CHECK(resumed_from(resumed) == valid);
    check_same_model(dir.file("resumed.h5"), dir.file("reference.h5"));
    check_same_metrics(dir.file("resumed.jsonl"), dir.file("reference.jsonl"), fast_iterations);
    // The unusable files are kept aside; the older ones went once newer ones were written.
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000005.h5.unusable", "checkpoint-000006.h5.unusable",
                                   "checkpoint-000007.h5", "checkpoint-000008.h5",
                                   "checkpoint-000099.h5.unusable"});
}

TEST_CASE(
    "checkpoint: a resume that does not fit the checkpoint is refused, naming the "
    "difference",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    run_ok(2, train_args(data, 2, fast_k, {"--checkpoint.dir", folder}));
    const std::string checkpoint = folder + "/checkpoint-000002.h5";
    const std::vector<std::string> before = entries(folder);
    // The same ratings with one value changed.
    const std::string other_data = dir.file("other.tsv");
    {
        std::vector<std::string> lines = lines_of(read_text(data));
        REQUIRE(lines.size() > 100);
        std::string& line = lines[100];
        const std::size_t tab = line.rfind('\t');
        line = line.substr(0, tab + 1) + (line.substr(tab + 1) == "1" ? "2" : "1");
        std::string text;
        for (const std::string& l : lines) text += l + "\n";
        write_text(other_data, text);
    }
    const std::string prefix = "distmf: error: cannot resume from " + checkpoint + ": ";
    const std::string force_hint = " (--checkpoint.force resumes anyway)";
    struct Refusal {
        std::vector<std::string> args;
        std::string reason;
        int ranks;
    };
    const std::vector<Refusal> refusals{
        {train_args(data, 4, 12), "it has --model.rank 10, this run 12", 1},
        {train_args(data, 4, 12), "it has --model.rank 10, this run 12", 2},
        {train_args(data, 4, 12), "it has --model.rank 10, this run 12", 4},
        {train_args(data, 4, fast_k, {"--model.biases", "false"}),
         "it has --model.biases true, this run false", 2},
        {train_args(data, 4, fast_k, {"--data.seed", "7"}), "it has --data.seed 42, this run 7", 4},
        {train_args(other_data, 4, fast_k),
         "the training data differs (another file, split or test set)", 1},
        {{"train", "--data.train", data, "--data.test-fraction", "0.2", "--train.iterations", "4"},
         "the training data differs (another file, split or test set)",
         2},
        {train_args(data, 4, fast_k, {"--model.lambda", "0.1"}),
         "it has --model.lambda 0.05, this run 0.1" + force_hint, 4},
        {train_args(data, 4, fast_k, {"--model.bias-lambda", "0.2"}),
         "it has --model.bias-lambda 0.05, this run 0.2" + force_hint, 1},
        {train_args(data, 4, fast_k, {"--model.regularization", "plain"}),
         "it has --model.regularization weighted, this run plain" + force_hint, 2},
        {train_args(data, 4, fast_k, {"--als.solver", "cholesky"}),
         "it has the [als] settings 'solver cg, cg-steps 3', this run 'solver cholesky'" +
             force_hint,
         2},
        {train_args(data, 4, fast_k, {"--als.cg-steps", "5"}),
         "it has the [als] settings 'solver cg, cg-steps 3', this run 'solver cg, cg-steps 5'" +
             force_hint,
         1},
    };
    for (const Refusal& refusal : refusals) {
        std::vector<std::string> args = refusal.args;
        args.insert(args.end(), {"--checkpoint.dir", folder});
        const CommandResult result = run_distmf(refusal.ranks, args);
        INFO(refusal.ranks << " ranks: " << refusal.reason << "\n" << result.out << result.err);
        CHECK(result.exit_code == 2);
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        CHECK(messages.front() == prefix + refusal.reason);
        CHECK(lines_starting(result.out, "iter ").empty());
        CHECK(entries(folder) == before);  // a refused resume changes nothing
    }
    // --checkpoint.force accepts a changed lambda and row solver (and nothing else).
    std::vector<std::string> forced = train_args(
        data, 4, fast_k,
        {"--model.lambda", "0.1", "--als.solver", "cholesky", "--checkpoint.force", "true"});
    forced.insert(forced.end(), {"--checkpoint.dir", folder});
    const CommandResult accepted = run_ok(2, forced);
    CHECK(resumed_from(accepted) == checkpoint);
    CHECK(lines_starting(accepted.out, "iter   3/4").size() == 1);
    std::vector<std::string> forced_rank = train_args(data, 6, 12, {"--checkpoint.force", "true"});
    forced_rank.insert(forced_rank.end(), {"--checkpoint.dir", folder});
    const CommandResult still_refused = run_distmf(2, forced_rank);
    CHECK(still_refused.exit_code == 2);
    CHECK(still_refused.err.find("it has --model.rank 10, this run 12") != std::string::npos);
}

// ---- schedule and retention -----------------------------------------------------------------

TEST_CASE("checkpoint: --checkpoint.keep and --checkpoint.every decide which files remain",
          "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string keep_two = dir.file("keep-2");
    const CommandResult first =
        run_ok(2, train_args(data, fast_iterations, fast_k, {"--checkpoint.dir", keep_two}));
    CHECK(lines_starting(first.out, "checkpoint ").size() == 8);  // default: every iteration
    CHECK(entries(keep_two) ==
          std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});

    const std::string every_three = dir.file("every-3");
    const CommandResult second =
        run_ok(4, train_args(data, fast_iterations, fast_k,
                             {"--checkpoint.dir", every_three, "--checkpoint.every", "3",
                              "--checkpoint.keep", "10"}));
    CHECK(lines_starting(second.out, "checkpoint ").size() == 3);
    CHECK(entries(every_three) == std::vector<std::string>{"checkpoint-000003.h5",
                                                           "checkpoint-000006.h5",
                                                           "checkpoint-000008.h5"});

    const std::string keep_one = dir.file("keep-1");
    run_ok(1, train_args(data, fast_iterations, fast_k,
                         {"--checkpoint.dir", keep_one, "--checkpoint.every", "3",
                          "--checkpoint.keep", "1"}));
    CHECK(entries(keep_one) == std::vector<std::string>{"checkpoint-000008.h5"});
}

TEST_CASE(
    "checkpoint: resume never starts afresh, and a finished run continues to more iterations or, "
    "with the same iterations, only writes the model",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    train_reference(dir, data, fast_iterations, fast_k);
    const std::string folder = dir.file("checkpoints");
    const std::string copy = dir.file("checkpoints-copy");
    const std::vector<std::string> args = train_args(data, fast_iterations, fast_k);
    run_ok(2, train_args(data, 4, fast_k, {"--checkpoint.dir", folder}));
    fs::copy(folder, copy, fs::copy_options::recursive);

    // A finished run of 4 iterations, continued to 8 with 4 ranks.
    std::vector<std::string> continued = args;
    continued.insert(continued.end(),
                     {"--checkpoint.dir", folder, "--output.model", dir.file("continued.h5"),
                      "--output.metrics", dir.file("continued.jsonl")});
    const CommandResult more = run_ok(4, continued);
    INFO(more.out);
    CHECK(resumed_from(more) == folder + "/checkpoint-000004.h5");
    CHECK(contains_line(more.out,
                        "resuming from " + folder + "/checkpoint-000004.h5: 4 iterations done"));
    const std::vector<std::string> progress = lines_starting(more.out, "iter ");
    REQUIRE(progress.size() == 4);
    CHECK(progress.front().rfind("iter   5/8", 0) == 0);
    check_same_model(dir.file("continued.h5"), dir.file("reference.h5"));
    check_same_metrics(dir.file("continued.jsonl"), dir.file("reference.jsonl"), 8);

    // Again with the same 8 iterations (1 rank): no training, the same model written again.
    std::vector<std::string> again = args;
    again.insert(again.end(), {"--checkpoint.dir", folder, "--output.model", dir.file("again.h5"),
                               "--output.metrics", dir.file("again.jsonl")});
    const CommandResult same = run_ok(1, again);
    INFO(same.out);
    CHECK(resumed_from(same) == folder + "/checkpoint-000008.h5");
    CHECK(lines_starting(same.out, "iter ").empty());
    check_same_model(dir.file("again.h5"), dir.file("reference.h5"));
    check_same_metrics(dir.file("again.jsonl"), dir.file("reference.jsonl"), 8);
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});

    // resume never moves the checkpoints of 4 iterations aside and trains all 8 from the start.
    std::vector<std::string> fresh = args;
    fresh.insert(fresh.end(), {"--checkpoint.dir", copy, "--checkpoint.resume", "never",
                               "--output.model", dir.file("fresh.h5")});
    const CommandResult afresh = run_ok(2, fresh);
    INFO(afresh.out);
    CHECK(resumed_from(afresh).empty());
    CHECK(lines_starting(afresh.out, "iter ").size() == 8);
    check_same_model(dir.file("fresh.h5"), dir.file("reference.h5"));
    CHECK(entries(copy) ==
          std::vector<std::string>{"checkpoint-000003.h5.old", "checkpoint-000004.h5.old",
                                   "checkpoint-000007.h5", "checkpoint-000008.h5"});

    // An explicit older checkpoint file, from another folder.
    const std::string older = dir.file("older.h5");
    fs::copy_file(folder + "/checkpoint-000007.h5", older);
    std::vector<std::string> from_file = args;
    from_file.insert(from_file.end(),
                     {"--checkpoint.resume", older, "--output.model", dir.file("from-file.h5")});
    const CommandResult explicit_file = run_ok(4, from_file);
    CHECK(resumed_from(explicit_file) == older);
    CHECK(lines_starting(explicit_file.out, "iter ").size() == 1);
    check_same_model(dir.file("from-file.h5"), dir.file("reference.h5"));
}
