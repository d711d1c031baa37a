// Checkpoint-restart end to end, with the real binary under mpiexec. The property under test:
// however a run is interrupted (kill -9 of the whole job, a rank dying while it writes a
// checkpoint, a stop signal) and with however many ranks it is resumed, the final model is
// bitwise the model of an uninterrupted run, and the metrics file holds each iteration once.
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "background_run.hpp"
#include "checkpoint_runs.hpp"
#include "cli_support.hpp"
#include "distmf/checkpoint.hpp"
#include "model_files.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

using distmf::testing::BackgroundRun;
using distmf::testing::check_same_metrics;
using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::contains_line;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::exists;
using distmf::testing::fast_iterations;
using distmf::testing::fast_k;
using distmf::testing::generate_data;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::resumed_from;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::stop_checkpoint;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::train_reference;

// An interrupted run is asked for more iterations than it could ever reach, so that it is
// certainly still running when the test kills or signals it, however fast the machine; the
// test then reads which checkpoint it left and trains the reference, and resumes, to a few
// iterations beyond that (--train.iterations is not part of what must match on resume).
constexpr int endless_iterations = 1000000;
constexpr int iterations_after_interruption = 3;
constexpr double job_timeout_seconds = 60.0;

// ---- checkpoint folders ---------------------------------------------------------------------

/// The path of the newest checkpoint in `folder` by its name (what resume auto tries first).
std::string newest_checkpoint(const std::string& folder) {
    std::optional<distmf::CheckpointName> newest;
    std::string newest_name;
    for (const std::string& name : entries(folder)) {
        const auto parsed = distmf::parse_checkpoint_file_name(name);
        if (!parsed) continue;
        if (!newest || parsed->iteration > newest->iteration ||
            (parsed->iteration == newest->iteration && parsed->users_half_done)) {
            newest = parsed;
            newest_name = name;
        }
    }
    return newest ? (fs::path(folder) / newest_name).string() : std::string();
}

/// The iterations a run resumed from the checkpoints in `folder` will train to: a few beyond
/// the newest checkpoint (which may be a +u one).
int final_iteration(const std::string& folder) {
    const std::string newest = newest_checkpoint(folder);
    REQUIRE(!newest.empty());
    const auto name = distmf::parse_checkpoint_file_name(fs::path(newest).filename().string());
    REQUIRE(name.has_value());
    return static_cast<int>(name->iteration) + iterations_after_interruption;
}

/// The "removing ..." line a run prints for a temporary file a killed run left.
std::string removal_line(const std::string& temporary) {
    return "removing " + temporary + ", left by an interrupted checkpoint";
}

// ---- resuming -------------------------------------------------------------------------------

/// Resumes the run whose checkpoints are in `folder` with `ranks` ranks (resume auto), writing
/// `model` and `metrics`, and checks it: it resumed from the newest checkpoint there (after
/// removing any temporary file) and its model and metrics are those of dir/reference.*.
void resume_and_check(const TempDir& dir, int ranks, const std::vector<std::string>& args,
                      const std::string& folder, const std::string& model,
                      const std::string& metrics, int iterations) {
    INFO("resume with " << ranks << " ranks from " << folder);
    std::vector<std::string> temporaries;
    for (const std::string& name : entries(folder)) {
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
            temporaries.push_back((fs::path(folder) / name).string());
        }
    }
    const std::string expected_start = newest_checkpoint(folder);
    REQUIRE(!expected_start.empty());
    std::vector<std::string> resume_args = args;
    resume_args.insert(resume_args.end(), {"--checkpoint.dir", folder, "--output.model", model,
                                           "--output.metrics", metrics});
    const CommandResult resumed = run_ok(ranks, resume_args);
    INFO(resumed.out);
    CHECK(resumed_from(resumed) == expected_start);
    for (const std::string& temporary : temporaries) {
        CHECK(contains_line(resumed.out, removal_line(temporary)));
    }
    CHECK(distmf_messages(resumed.err).empty());
    check_same_model(model, dir.file("reference.h5"));
    check_same_metrics(metrics, dir.file("reference.jsonl"), iterations);
}

/// Trains the reference (--model.rank k) to a few iterations beyond the newest checkpoint in
/// `folder`, then resumes there with `ranks` ranks to as many, writing dir/resumed.h5 and
/// continuing dir/resumed.jsonl, and checks the result against the reference.
void resume_past_newest(const TempDir& dir, const std::string& data, const std::string& folder,
                        int ranks, int k, const std::vector<std::string>& extra = {}) {
    const int iterations = final_iteration(folder);
    train_reference(dir, data, iterations, k, extra);
    resume_and_check(dir, ranks, train_args(data, iterations, k, extra), folder,
                     dir.file("resumed.h5"), dir.file("resumed.jsonl"), iterations);
}

// ---- the interrupted runs -------------------------------------------------------------------

/// The endless run with --model.rank k, checkpoints (every iteration unless `extra` says
/// otherwise) in `folder` and the metrics in `metrics`.
std::vector<std::string> endless_args(const std::string& data, const std::string& folder,
                                      const std::string& metrics,
                                      const std::vector<std::string>& extra = {}, int k = fast_k) {
    std::vector<std::string> args = train_args(
        data, endless_iterations, k, {"--checkpoint.dir", folder, "--output.metrics", metrics});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

/// The endless run (with --model.rank k) writing checkpoints (to dir/checkpoints) only when
/// it is stopped, and its metrics to dir/resumed.jsonl.
std::vector<std::string> stoppable_args(const TempDir& dir, const std::string& data, int k = fast_k,
                                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> options{"--checkpoint.every", "0"};
    options.insert(options.end(), extra.begin(), extra.end());
    return endless_args(data, dir.file("checkpoints"), dir.file("resumed.jsonl"), options, k);
}

/// Waits for checkpoint `iteration` of `job` to appear in `folder` (failing if the job ends
/// first or it takes a minute).
void wait_for_checkpoint(BackgroundRun& job, const std::string& folder, int iteration) {
    const std::string path =
        (fs::path(folder) / distmf::checkpoint_file_name({iteration, false})).string();
    const bool appeared = job.wait_for_file(path, job_timeout_seconds);
    INFO("waiting for " << path);
    REQUIRE(appeared);
}

/// Waits until the metrics file of `job` holds `iterations` lines (failing if the job ends
/// first or it takes a minute).
void wait_for_iterations(BackgroundRun& job, const std::string& metrics, std::size_t iterations) {
    const bool reached = job.wait_until(
        [&] { return lines_of(read_text(metrics)).size() >= iterations; }, job_timeout_seconds);
    INFO("waiting for " << iterations << " iterations in " << metrics);
    REQUIRE(reached);
}

/// kill -9 of the whole job: checks that it died of SIGKILL and that no rank survives its
/// mpiexec.
void kill_job(BackgroundRun& job) {
    job.kill_all();
    const CommandResult killed = job.wait(job_timeout_seconds);
    INFO("killed run:\n" << killed.out << killed.err);
    CHECK(killed.exit_code == 128 + SIGKILL);
    CHECK(job.wait_until_gone(10.0));
}

/// A stop signal reached the job: it wrote a checkpoint, the only one in dir/checkpoints
/// (--checkpoint.every 0; possibly a +u one), and said so. Resumes with `resume_ranks` ranks
/// to a few iterations beyond it and checks the model and metrics against an uninterrupted
/// run's.
void check_stopped_and_resume(const TempDir& dir, const std::string& data,
                              const CommandResult& stopped, int signal_number, int resume_ranks,
                              int k = fast_k, const std::vector<std::string>& extra = {}) {
    INFO("stopped run:\n" << stopped.out << stopped.err);
    const std::string folder = dir.file("checkpoints");
    const std::string written = stop_checkpoint(stopped, signal_number);
    REQUIRE(!written.empty());
    CHECK(entries(folder) == std::vector<std::string>{fs::path(written).filename().string()});
    resume_past_newest(dir, data, folder, resume_ranks, k, extra);
}

}  // namespace

// ---- killed runs ----------------------------------------------------------------------------

TEST_CASE(
    "checkpoint: after kill -9 of the whole job, resuming with 4 or 1 ranks gives the "
    "uninterrupted model",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    {
        // The killed run writes the metrics file the 4-rank resume continues.
        BackgroundRun job(2, endless_args(data, folder, dir.file("resumed-4.jsonl")));
        wait_for_checkpoint(job, folder, 3);
        kill_job(job);
    }
    INFO("left by the killed run: " << Catch::Detail::stringify(entries(folder)));
    const int iterations = final_iteration(folder);
    train_reference(dir, data, iterations, fast_k);
    const std::vector<std::string> args = train_args(data, iterations, fast_k);
    const std::string copy = dir.file("checkpoints-copy");
    fs::copy(folder, copy, fs::copy_options::recursive);
    // The metrics file may hold iterations beyond the checkpoint: it is rewritten from the
    // checkpoint's history.
    resume_and_check(dir, 4, args, folder, dir.file("resumed-4.h5"), dir.file("resumed-4.jsonl"),
                     iterations);
    resume_and_check(dir, 1, args, copy, dir.file("resumed-1.h5"), dir.file("resumed-1.jsonl"),
                     iterations);
}

TEST_CASE(
    "checkpoint: after kill -9 of the whole job while it writes a checkpoint, the resume "
    "removes the .tmp and gives the uninterrupted model",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    const std::string folder = dir.file("checkpoints");
    bool caught_writing = false;
    {
        BackgroundRun job(2, endless_args(data, folder, dir.file("resumed.jsonl")));
        wait_for_checkpoint(job, folder, 2);
        // A checkpoint takes a few milliseconds to write; the poll sees most of them.
        caught_writing = job.wait_until(
            [&folder] {
                std::error_code ignored;
                for (const auto& entry : fs::directory_iterator(folder, ignored)) {
                    if (entry.path().extension() == ".tmp") return true;
                }
                return false;
            },
            job_timeout_seconds);
        kill_job(job);
    }
    REQUIRE(caught_writing);
    INFO("left by the killed run: " << Catch::Detail::stringify(entries(folder)));
    resume_past_newest(dir, data, folder, 4, fast_k);
}

TEST_CASE(
    "checkpoint: every rank killed while writing checkpoint 3 leaves a .tmp, which the "
    "resume removes before it continues from checkpoint 2",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    train_reference(dir, data, fast_iterations, fast_k);
    const std::vector<std::string> args = train_args(data, fast_iterations, fast_k);
    struct Pair {
        int faulty_ranks;
        int resume_ranks;
    };
    for (const Pair pair : {Pair{2, 1}, Pair{4, 2}}) {
        INFO("killed with " << pair.faulty_ranks << " ranks, resumed with " << pair.resume_ranks);
        const std::string folder = dir.file("checkpoints-" + std::to_string(pair.faulty_ranks));
        std::vector<std::string> faulty_args = args;
        faulty_args.insert(faulty_args.end(), {"--checkpoint.dir", folder, "--checkpoint.every",
                                               "1", "--output.model", dir.file("faulty.h5")});
        const CommandResult faulty =
            run_distmf(pair.faulty_ranks, faulty_args, {"DISTMF_FAULT=abort-during-checkpoint:3"});
        INFO("faulty run:\n" << faulty.out << faulty.err);
        CHECK(faulty.exit_code != 0);
        // The variable reached the ranks through mpiexec, and they killed themselves. (Not
        // necessarily every one: mpiexec SIGKILLs the rest of the job as soon as one rank
        // dies, and a rank that has not yet reached the fault dies without saying so.)
        std::size_t announced = 0;
        for (const std::string& line : lines_of(faulty.err)) {
            if (line.find("DISTMF_FAULT: killing this rank while checkpoint 3 is being written") !=
                std::string::npos) {
                ++announced;
            }
        }
        CHECK(announced >= 1);
        CHECK(announced <= static_cast<std::size_t>(pair.faulty_ranks));
        CHECK(entries(folder) == std::vector<std::string>{"checkpoint-000001.h5",
                                                          "checkpoint-000002.h5",
                                                          "checkpoint-000003.h5.tmp"});
        CHECK_FALSE(exists(dir.file("faulty.h5")));
        const CommandResult inspected = run_ok(0, {"inspect", folder + "/checkpoint-000002.h5"});
        CHECK(contains_line(inspected.out, "checksums     ok (every dataset verified)"));

        const std::string model = dir.file("resumed-" + std::to_string(pair.faulty_ranks) + ".h5");
        const std::string metrics = model + ".jsonl";
        resume_and_check(dir, pair.resume_ranks, args, folder, model, metrics, fast_iterations);
        CHECK(entries(folder) ==
              std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});
    }
}

// ---- stopped runs ---------------------------------------------------------------------------

TEST_CASE(
    "checkpoint: SIGUSR1 to mpiexec writes a checkpoint and exits 75, and the resume "
    "finishes the uninterrupted model",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    BackgroundRun job(2, stoppable_args(dir, data));
    wait_for_iterations(job, dir.file("resumed.jsonl"), 2);
    job.signal_launcher(SIGUSR1);  // mpiexec forwards it to every rank
    const CommandResult stopped = job.wait(job_timeout_seconds);
    CHECK(stopped.exit_code == 75);
    CHECK(job.wait_until_gone(10.0));
    check_stopped_and_resume(dir, data, stopped, SIGUSR1, 4);
}

TEST_CASE(
    "checkpoint: SIGTERM to every rank writes a checkpoint and exits 75, and the resume "
    "finishes the uninterrupted model",
    "[cli][checkpoint]") {
    const TempDir dir;
    const std::string data = generate_data(dir);
    BackgroundRun job(4, stoppable_args(dir, data));
    wait_for_iterations(job, dir.file("resumed.jsonl"), 2);
    CHECK(job.signal_ranks(SIGTERM) == 4);
    const CommandResult stopped = job.wait(job_timeout_seconds);
    CHECK(stopped.exit_code == 75);
    check_stopped_and_resume(dir, data, stopped, SIGTERM, 1);
}

TEST_CASE(
    "checkpoint: SIGTERM to mpiexec and every rank at once (a batch system's time limit) "
    "writes a checkpoint, and the resume finishes the uninterrupted model",
    "[cli][checkpoint]") {
    // Open MPI 4's mpiexec does not forward SIGTERM: it aborts the job, stops relaying the
    // ranks' output, sends them SIGTERM after odls_base_sigkill_timeout seconds and SIGKILL as
    // many seconds later, and exits 1. So a SIGTERM to mpiexec alone stops the job without a
    // checkpoint (rank 0 blocks writing progress to a terminal nobody reads); a batch system
    // signals every process of the job, and then the ranks have until the SIGKILL. With the
    // timeout 0 that run_distmf sets, that is no time at all: give them Open MPI's default.
    const TempDir dir;
    const std::string data = generate_data(dir);
    BackgroundRun job(2, stoppable_args(dir, data), {"OMPI_MCA_odls_base_sigkill_timeout=1"});
    wait_for_iterations(job, dir.file("resumed.jsonl"), 2);
    CHECK(job.signal_all(SIGTERM) == 3);
    const CommandResult stopped = job.wait(job_timeout_seconds);
    CHECK(stopped.exit_code != 0);  // 1, from mpiexec, whatever the ranks returned
    check_stopped_and_resume(dir, data, stopped, SIGTERM, 4);
}

TEST_CASE(
    "checkpoint: a stop signal during the first iteration writes checkpoint-000000+u.h5 "
    "and exits 75, and the resume finishes the uninterrupted model",
    "[cli][checkpoint]") {
    // The checkpoint of a run stopped after its first user half-sweep has an empty history
    // (HDF5 1.10 used to fail the collective write of its zero rows, and the job aborted).
    // Every rank raises the signal on itself once the data is loaded
    // (DISTMF_FAULT=stop-signal-after-ingest): a signal sent from outside at the right moment
    // came after the whole first iteration now and then on a loaded machine, the user half-sweep
    // being short even at k = 200 with Cholesky. SIGUSR1 from outside: the tests above.
    constexpr int k = 200;
    const std::vector<std::string> cholesky{"--als.solver", "cholesky"};
    const TempDir dir;
    const std::string data = generate_data(dir);
    BackgroundRun job(2, stoppable_args(dir, data, k, cholesky),
                      {"DISTMF_FAULT=stop-signal-after-ingest"});
    const CommandResult stopped = job.wait(job_timeout_seconds);
    CHECK(stopped.exit_code == 75);
    CHECK(stop_checkpoint(stopped, SIGUSR1) == dir.file("checkpoints") + "/checkpoint-000000+u.h5");
    check_stopped_and_resume(dir, data, stopped, SIGUSR1, 1, k, cholesky);
}
