// Checkpoint-restart end to end, with the real binary under mpiexec. The property under test:
// however a run is interrupted (kill -9 of the whole job, a rank dying while it writes a
// checkpoint, a stop signal) and with however many ranks it is resumed, the final model is
// bitwise the model of an uninterrupted run, and the metrics file holds each iteration once.
// Around it: corrupt, truncated and foreign checkpoints are skipped (or refused when named),
// incompatible resumes are refused with a message naming the difference, and the schedule
// and retention options do what they say.
#include "distmf/checkpoint.hpp"

#include <hdf5.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "background_run.hpp"
#include "cli_support.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/model_io.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

using distmf::testing::BackgroundRun;
using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::exists;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::write_text;

// ---- data, runs and models ------------------------------------------------------------------

/// Writes the data set every case trains on (300 users, 200 items, 15000 ratings of a rank-4
/// model with noise 0.3) to dir/name; returns its path.
std::string generate_data(const TempDir& dir, const std::string& name = "ratings.tsv") {
    const std::string path = dir.file(name);
    const CommandResult result =
        run_distmf(0, {"generate", "--users", "300", "--items", "200", "--ratings", "15000",
                       "--rank", "4", "--noise", "0.3", "--out", path});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return path;
}

/// The lines of a metrics file without the wall-time fields (all others are
/// rank-count invariant and identical for an interrupted run).
std::vector<std::string> metrics_without_times(const std::string& path) {
    std::vector<std::string> records;
    for (const std::string& line : lines_of(read_text(path))) {
        records.push_back(line.substr(0, line.find(",\"seconds\":")));
    }
    return records;
}

/// The "iteration" numbers of a metrics file, in file order.
std::vector<int> metrics_iterations(const std::string& path) {
    std::vector<int> iterations;
    const std::string key = "{\"iteration\":";
    for (const std::string& line : lines_of(read_text(path))) {
        if (line.rfind(key, 0) == 0) iterations.push_back(std::stoi(line.substr(key.size())));
    }
    return iterations;
}

std::vector<int> one_to(int last) {
    std::vector<int> numbers;
    for (int i = 1; i <= last; ++i) numbers.push_back(i);
    return numbers;
}

/// Checks the metrics file of a resumed run against the uninterrupted run's: iterations
/// 1..T, each once, in order, with the same figures.
void check_same_metrics(const std::string& path, const std::string& reference, int iterations) {
    INFO("metrics " << path << " against " << reference);
    CHECK(metrics_iterations(path) == one_to(iterations));
    CHECK(metrics_without_times(path) == metrics_without_times(reference));
}

// ---- checkpoint folders and output ----------------------------------------------------------

/// The names in `folder`, sorted.
std::vector<std::string> entries(const std::string& folder) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

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

/// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> found;
    for (const std::string& line : lines_of(text)) {
        if (line.rfind(prefix, 0) == 0) found.push_back(line);
    }
    return found;
}

/// The text between `before` and the next `after` on the first line starting with `before`.
std::string field_after(const std::string& text, const std::string& before,
                        const std::string& after) {
    const std::vector<std::string> lines = lines_starting(text, before);
    if (lines.empty()) return "";
    const std::string rest = lines.front().substr(before.size());
    return rest.substr(0, rest.find(after));
}

/// The checkpoint path a run resumed from ("" if it did not).
std::string resumed_from(const CommandResult& result) {
    return field_after(result.out, "resuming from ", ": ");
}

/// The checkpoint a stopped run wrote, from its "stopped by signal N: checkpoint P holds ..."
/// line ("" if there is none).
std::string stop_checkpoint(const CommandResult& result, int signal_number) {
    return field_after(result.out,
                       "stopped by signal " + std::to_string(signal_number) + ": checkpoint ",
                       " holds ");
}

/// The "removing ..." line a run prints for a temporary file a killed run left.
std::string removal_line(const std::string& temporary) {
    return "removing " + temporary + ", left by an interrupted checkpoint";
}

bool contains_line(const std::string& text, const std::string& line) {
    const std::vector<std::string> lines = lines_of(text);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

/// Resumes the run whose checkpoints are in `folder` with `ranks` ranks (resume auto) and
/// checks it: it resumed from the newest checkpoint there (after removing any temporary
/// file) and its model and metrics are the reference's.
void resume_and_check(int ranks, const std::vector<std::string>& args, const std::string& folder,
                      const std::string& model, const std::string& metrics,
                      const std::string& reference_model, const std::string& reference_metrics,
                      int iterations) {
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
    check_same_model(model, reference_model);
    check_same_metrics(metrics, reference_metrics, iterations);
}

// ---- corrupting files -----------------------------------------------------------------------

/// Flips one bit in the middle of the stored values of dataset `name` of HDF5 file `path`
/// (contiguous layout: its bytes are one range of the file).
void flip_bit_in_dataset(const std::string& path, const std::string& name) {
    haddr_t offset = HADDR_UNDEF;
    hsize_t bytes = 0;
    {
        const distmf::H5Handle file = distmf::open_serial_file(path);
        const distmf::H5Handle dataset = distmf::open_dataset(file, name);
        offset = H5Dget_offset(dataset.get());
        bytes = H5Dget_storage_size(dataset.get());
    }
    REQUIRE(offset != HADDR_UNDEF);
    REQUIRE(bytes > 0);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    const auto position = static_cast<std::streamoff>(offset + bytes / 2);
    file.seekg(position);
    char byte = 0;
    file.get(byte);
    file.seekp(position);
    file.put(static_cast<char>(byte ^ 0x10));
    REQUIRE(file.good());
}

/// Copies the first half of `from` to `to`.
void copy_first_half(const std::string& from, const std::string& to) {
    const std::string content = read_text(from);
    write_text(to, content.substr(0, content.size() / 2));
}

// ---- the runs most cases train or interrupt ------------------------------------------------

// k = 10 (the default) and 8 iterations: ~0.3 s per run.
constexpr int fast_k = 10;
constexpr int fast_iterations = 8;
// An interrupted run is asked for more iterations than it could ever reach, so that it is
// certainly still running when the test kills or signals it, however fast the machine; the
// test then reads which checkpoint it left and trains the reference, and resumes, to a few
// iterations beyond that (--train.iterations is not part of what must match on resume).
constexpr int endless_iterations = 1000000;
constexpr int iterations_after_interruption = 3;
constexpr double job_timeout_seconds = 60.0;

/// The reference: an uninterrupted run with 2 ranks; writes dir/reference.h5 and .jsonl.
void train_reference(const TempDir& dir, const std::string& data, int iterations, int k) {
    run_ok(2, train_args(data, iterations, k,
                         {"--output.model", dir.file("reference.h5"), "--output.metrics",
                          dir.file("reference.jsonl")}));
}

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

/// Waits for checkpoint `iteration` of `job` to appear in `folder` (failing if the job ends
/// first or it takes a minute).
void wait_for_checkpoint(BackgroundRun& job, const std::string& folder, int iteration) {
    const std::string path =
        (fs::path(folder) / distmf::checkpoint_file_name({iteration, false})).string();
    const bool appeared = job.wait_for_file(path, job_timeout_seconds);
    INFO("waiting for " << path);
    REQUIRE(appeared);
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

}  // namespace

// ---- interrupted runs -----------------------------------------------------------------------

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
        job.kill_all();
        const CommandResult killed = job.wait(job_timeout_seconds);
        INFO("killed run:\n" << killed.out << killed.err);
        CHECK(killed.exit_code == 128 + SIGKILL);
        CHECK(job.wait_until_gone(10.0));  // no rank survives its mpiexec
    }
    INFO("left by the killed run: " << Catch::Detail::stringify(entries(folder)));
    const int iterations = final_iteration(folder);
    train_reference(dir, data, iterations, fast_k);
    const std::vector<std::string> args = train_args(data, iterations, fast_k);
    const std::string copy = dir.file("checkpoints-copy");
    fs::copy(folder, copy, fs::copy_options::recursive);
    // The metrics file may hold iterations beyond the checkpoint: it is rewritten from the
    // checkpoint's history.
    resume_and_check(4, args, folder, dir.file("resumed-4.h5"), dir.file("resumed-4.jsonl"),
                     dir.file("reference.h5"), dir.file("reference.jsonl"), iterations);
    resume_and_check(1, args, copy, dir.file("resumed-1.h5"), dir.file("resumed-1.jsonl"),
                     dir.file("reference.h5"), dir.file("reference.jsonl"), iterations);
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
        job.kill_all();
        const CommandResult killed = job.wait(job_timeout_seconds);
        INFO("killed run:\n" << killed.out << killed.err);
        CHECK(killed.exit_code == 128 + SIGKILL);
        CHECK(job.wait_until_gone(10.0));
    }
    REQUIRE(caught_writing);
    INFO("left by the killed run: " << Catch::Detail::stringify(entries(folder)));
    const int iterations = final_iteration(folder);
    train_reference(dir, data, iterations, fast_k);
    resume_and_check(4, train_args(data, iterations, fast_k), folder, dir.file("resumed.h5"),
                     dir.file("resumed.jsonl"), dir.file("reference.h5"),
                     dir.file("reference.jsonl"), iterations);
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
        resume_and_check(pair.resume_ranks, args, folder, model, metrics, dir.file("reference.h5"),
                         dir.file("reference.jsonl"), fast_iterations);
        CHECK(entries(folder) ==
              std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});
    }
}

/// Waits until the metrics file of `job` holds `iterations` lines (failing if the job ends
/// first or it takes a minute).
void wait_for_iterations(BackgroundRun& job, const std::string& metrics, std::size_t iterations) {
    const bool reached = job.wait_until(
        [&] { return lines_of(read_text(metrics)).size() >= iterations; }, job_timeout_seconds);
    INFO("waiting for " << iterations << " iterations in " << metrics);
    REQUIRE(reached);
}

/// The endless run (with --model.rank k) writing checkpoints (to dir/checkpoints) only when
/// it is stopped, and its metrics to dir/resumed.jsonl.
std::vector<std::string> stoppable_args(const TempDir& dir, const std::string& data,
                                        int k = fast_k) {
    return endless_args(data, dir.file("checkpoints"), dir.file("resumed.jsonl"),
                        {"--checkpoint.every", "0"}, k);
}

/// A stop signal reached the job: it wrote a checkpoint, the only one in dir/checkpoints
/// (--checkpoint.every 0; possibly a +u one), and said so. Resumes with `resume_ranks` ranks
/// to a few iterations beyond it and checks the model and metrics against an uninterrupted
/// run's.
void check_stopped_and_resume(const TempDir& dir, const std::string& data,
                              const CommandResult& stopped, int signal_number, int resume_ranks,
                              int k = fast_k) {
    INFO("stopped run:\n" << stopped.out << stopped.err);
    const std::string folder = dir.file("checkpoints");
    const std::string written = stop_checkpoint(stopped, signal_number);
    REQUIRE(!written.empty());
    CHECK(entries(folder) == std::vector<std::string>{fs::path(written).filename().string()});
    const int iterations = final_iteration(folder);
    train_reference(dir, data, iterations, k);
    resume_and_check(resume_ranks, train_args(data, iterations, k), folder, dir.file("resumed.h5"),
                     dir.file("resumed.jsonl"), dir.file("reference.h5"),
                     dir.file("reference.jsonl"), iterations);
}

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
    // k = 200 makes that half-sweep take ~0.1-0.4 s; the signal goes to the ranks directly the
    // moment rank 0 reports the data loaded (the handlers are installed before loading).
    constexpr int k = 200;
    const TempDir dir;
    const std::string data = generate_data(dir);
    BackgroundRun job(2, stoppable_args(dir, data, k));
    const bool loaded =
        job.wait_until([&job] { return job.output().find("\ningest ") != std::string::npos; },
                       job_timeout_seconds);
    REQUIRE(loaded);
    CHECK(job.signal_ranks(SIGUSR1) == 2);
    const CommandResult stopped = job.wait(job_timeout_seconds);
    CHECK(stopped.exit_code == 75);
    CHECK(stop_checkpoint(stopped, SIGUSR1) == dir.file("checkpoints") + "/checkpoint-000000+u.h5");
    check_stopped_and_resume(dir, data, stopped, SIGUSR1, 1, k);
}

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

    // resume auto: one warning per unusable file, newest first, then the newest valid one.
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
        CHECK(warnings[i].rfind("distmf: warning: skipping unusable checkpoint: ", 0) == 0);
        CHECK(warnings[i].find(skipped[i]) != std::string::npos);
    }
    CHECK(warnings[2].find("checksum mismatch in dataset users/factors") != std::string::npos);
    CHECK(resumed_from(resumed) == valid);
    check_same_model(dir.file("resumed.h5"), dir.file("reference.h5"));
    check_same_metrics(dir.file("resumed.jsonl"), dir.file("reference.jsonl"), fast_iterations);
    // The newer files were not this run's: gone once it wrote checkpoints of its own.
    CHECK(entries(folder) ==
          std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});
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
    // --checkpoint.force accepts a changed lambda (and nothing else).
    std::vector<std::string> forced =
        train_args(data, 4, fast_k, {"--model.lambda", "0.1", "--checkpoint.force", "true"});
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

    // resume never ignores the checkpoints of 4 iterations and trains all 8 from the start.
    std::vector<std::string> fresh = args;
    fresh.insert(fresh.end(), {"--checkpoint.dir", copy, "--checkpoint.resume", "never",
                               "--output.model", dir.file("fresh.h5")});
    const CommandResult afresh = run_ok(2, fresh);
    INFO(afresh.out);
    CHECK(resumed_from(afresh).empty());
    CHECK(lines_starting(afresh.out, "iter ").size() == 8);
    check_same_model(dir.file("fresh.h5"), dir.file("reference.h5"));
    CHECK(entries(copy) ==
          std::vector<std::string>{"checkpoint-000007.h5", "checkpoint-000008.h5"});

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
