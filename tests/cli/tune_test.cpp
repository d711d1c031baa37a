// `distmf tune` end to end through the binary, MPI and HDF5: the same choice on 1, 2 and 4
// ranks, a search stopped by SIGTERM and rerun (on another number of ranks) ends as one never
// stopped, the test file is never read by the search, the refit model is an ordinary model that
// best.ini reproduces, hopeless candidates, implicit ALS measured by NDCG, and bad input.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "background_run.hpp"
#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

namespace fs = std::filesystem;
using distmf::testing::BackgroundRun;
using distmf::testing::check_same_model;
using distmf::testing::CommandResult;
using distmf::testing::contains_line;
using distmf::testing::entries;
using distmf::testing::expect_agreed_error;
using distmf::testing::final_test_rmse;
using distmf::testing::generate_main;
using distmf::testing::lines_of;
using distmf::testing::lines_starting;
using distmf::testing::number_after;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::with;
using distmf::testing::write_text;

constexpr double job_timeout_seconds = 120.0;

/// An ALS search space: six candidates over rank and lambda.
const char* const als_space =
    "# a small ALS space\n"
    "[model]\n"
    "rank = 2, 4, 8\n"
    "lambda = log-range(0.01, 1)\n";

/// `distmf tune` on the main fixture with `space` (written to dir/space.ini), results in
/// dir/<folder>: 9 candidates, rungs of 2, 6 and 18 iterations (eta 3).
std::vector<std::string> tune_args(const TempDir& dir, const SplitData& data,
                                   const std::string& space, const std::string& folder) {
    write_text(dir.file("space.ini"), space);
    return {"tune",
            "--data.train=" + data.train,
            "--data.test=" + data.test,
            "--train.threads=1",
            "--tune.space=" + dir.file("space.ini"),
            "--tune.dir=" + dir.file(folder),
            "--tune.candidates=9",
            "--tune.max-iterations=18",
            "--tune.min-iterations=2",
            "--tune.seed=5"};
}

/// `args` with the value of `option` ("--tune.dir") replaced by `value`, or added.
std::vector<std::string> replaced(std::vector<std::string> args, const std::string& option,
                                  const std::string& value) {
    for (std::string& arg : args) {
        if (arg.rfind(option + "=", 0) == 0) {
            arg = option + "=" + value;
            return args;
        }
    }
    args.push_back(option + "=" + value);
    return args;
}

/// results.csv without its seconds column (the one figure that may differ between runs).
std::string results_without_seconds(const std::string& path) {
    std::string kept;
    for (const std::string& line : lines_of(read_text(path))) {
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (std::size_t comma = line.find(','); comma != std::string::npos;
             comma = line.find(',', start)) {
            fields.push_back(line.substr(start, comma - start));
            start = comma + 1;
        }
        fields.push_back(line.substr(start));
        REQUIRE(fields.size() > 8);
        fields.erase(fields.begin() + 8);  // seconds
        for (const std::string& field : fields) kept += field + ",";
        kept += "\n";
    }
    return kept;
}

/// best.ini without its comment lines.
std::string best_settings(const std::string& path) {
    std::string kept;
    for (const std::string& line : lines_of(read_text(path))) {
        if (!line.empty() && line.front() != '#') kept += line + "\n";
    }
    return kept;
}

}  // namespace

TEST_CASE(
    "tune chooses the same settings with the same results on 1, 2 and 4 ranks, and in "
    "groups of 2 ranks",
    "[cli][tune]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    std::string reference_results;
    std::string reference_best;
    for (const int ranks : {1, 2, 4}) {
        const std::string folder = "search-" + std::to_string(ranks);
        const CommandResult run = run_ok(ranks, tune_args(dir, data, als_space, folder));
        INFO(run.out);
        // 9 + 3 + 1 candidate runs, one line each, then the best
        CHECK(lines_starting(run.out, "tune: bracket 0 rung ").size() == 13);
        CHECK(lines_starting(run.out, "tune: best candidate ").size() == 1);
        CHECK(lines_starting(run.out, "tune: finished in ").size() == 1);
        const std::string results = results_without_seconds(dir.file(folder + "/results.csv"));
        const std::string best = best_settings(dir.file(folder + "/best.ini"));
        CHECK(lines_of(results).size() == 14);
        CHECK(best.find("iterations = ") != std::string::npos);
        if (ranks == 1) {
            reference_results = results;
            reference_best = best;
        } else {
            CHECK(results == reference_results);
            CHECK(best == reference_best);
        }
        // the candidates' checkpoints are removed, but the best one's
        CHECK(entries(dir.file(folder + "/candidates")).size() == 1);
    }
    // Groups of two ranks (ALS trains bitwise the same on any number of ranks): the same.
    const CommandResult pairs =
        run_ok(4, with(tune_args(dir, data, als_space, "pairs"), {"--tune.group-size=2"}));
    CHECK(lines_starting(pairs.out, "tune: ").at(0).find("2 groups of 2 ranks") !=
          std::string::npos);
    CHECK(results_without_seconds(dir.file("pairs/results.csv")) == reference_results);
    CHECK(best_settings(dir.file("pairs/best.ini")) == reference_best);
}

TEST_CASE(
    "tune stopped by SIGTERM and rerun (on another number of ranks) ends as a search "
    "never stopped",
    "[cli][tune][checkpoint]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    run_ok(2, tune_args(dir, data, als_space, "uninterrupted"));
    const std::vector<std::string> args = tune_args(dir, data, als_space, "stopped");
    {
        BackgroundRun job(2, args);
        REQUIRE(job.wait_for_file(dir.file("stopped/candidates/c000001"), job_timeout_seconds));
        CHECK(job.signal_ranks(SIGTERM) == 2);  // as srun does; mpiexec would abort the job
        const CommandResult stopped = job.wait(job_timeout_seconds);
        INFO(stopped.out << stopped.err);
        REQUIRE(stopped.exit_code == 75);
        CHECK(lines_starting(stopped.out, "tune: stopped by signal 15: the search state is saved")
                  .size() == 1);
    }
    const CommandResult rerun = run_ok(1, args);
    INFO(rerun.out);
    CHECK(lines_starting(rerun.out, "tune: continuing the search in ").size() == 1);
    CHECK(results_without_seconds(dir.file("stopped/results.csv")) ==
          results_without_seconds(dir.file("uninterrupted/results.csv")));
    CHECK(best_settings(dir.file("stopped/best.ini")) ==
          best_settings(dir.file("uninterrupted/best.ini")));
    // A rerun of a finished search trains nothing and says the same.
    const CommandResult again = run_ok(2, args);
    CHECK(lines_starting(again.out, "tune: bracket ").empty());
    CHECK(best_settings(dir.file("stopped/best.ini")) ==
          best_settings(dir.file("uninterrupted/best.ini")));
}

TEST_CASE(
    "tune never reads the test file, and the refit model is an ordinary model that best.ini "
    "trains again",
    "[cli][tune]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    // Without --tune.refit the test file is not opened: a missing one is no error.
    run_ok(2, replaced(tune_args(dir, data, als_space, "search"), "--data.test",
                       dir.file("missing.tsv")));
    // With it, the best settings train on all the training data, tested once.
    const CommandResult refit =
        run_ok(2, with(tune_args(dir, data, als_space, "refit"),
                       {"--tune.refit=true", "--output.metrics=" + dir.file("refit.jsonl")}));
    INFO(refit.out);
    CHECK(lines_of(read_text(dir.file("refit.jsonl"))).size() == 1);  // one evaluation
    const double refit_rmse = final_test_rmse(refit.out);
    REQUIRE(refit_rmse > 0.0);
    const std::string model = dir.file("refit/model.h5");
    const CommandResult evaluated =
        run_ok(1, {"evaluate", "--model=" + model, "--data.test=" + data.test});
    CHECK(number_after(evaluated.out, "RMSE ", "RMSE ") == Approx(refit_rmse).margin(1e-4));
    CHECK(run_ok(1, {"inspect", model}).out.find("model") != std::string::npos);
    // best.ini is an ordinary configuration: training it gives the refit's model bit for bit.
    run_ok(2, {"train", "--config=" + dir.file("refit/best.ini"),
               "--output.model=" + dir.file("again.h5")});
    check_same_model(dir.file("again.h5"), model);
}

TEST_CASE("tune searches DSGD (diverging candidates are hopeless), implicit ALS by NDCG and BPMF",
          "[cli][tune]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    SECTION("DSGD") {
        const CommandResult run =
            run_ok(2, tune_args(dir, data,
                                "[model]\nalgorithm = dsgd\n[dsgd]\nschedule = fixed\n"
                                "step-size = 0.01, 80\n",
                                "dsgd"));
        INFO(run.out);
        const std::string results = read_text(dir.file("dsgd/results.csv"));
        CHECK(results.find(",hopeless,") != std::string::npos);
        CHECK(results.find(",promoted,") != std::string::npos);
        CHECK(contains_line(read_text(dir.file("dsgd/best.ini")), "step-size = 0.01"));
    }
    SECTION("implicit ALS") {
        write_text(dir.file("implicit.tsv"),
                   distmf::testing::implicit_interactions(200, 150, 4, 20, 3));
        const std::vector<std::string> args{"tune",
                                            "--data.train=" + dir.file("implicit.tsv"),
                                            "--data.split=per-user",
                                            "--data.test-fraction=0.2",
                                            "--model.algorithm=ials",
                                            "--model.biases=false",
                                            "--train.threads=1",
                                            "--tune.space=" + dir.file("space.ini"),
                                            "--tune.dir=" + dir.file("ials"),
                                            "--tune.candidates=4",
                                            "--tune.max-iterations=4",
                                            "--tune.min-iterations=2",
                                            "--tune.eta=2"};
        write_text(dir.file("space.ini"), "[ials]\nalpha = 1, 20\n[model]\nrank = 2, 6\n");
        const CommandResult run = run_ok(2, args);
        INFO(run.out);
        CHECK(lines_starting(run.out, "tune: best candidate ").at(0).find("validation ndcg ") !=
              std::string::npos);
        CHECK(read_text(dir.file("ials/results.jsonl")).find("\"metric\": \"ndcg\"") !=
              std::string::npos);
    }
    SECTION("BPMF") {
        std::vector<std::string> args =
            tune_args(dir, data, "[bpmf]\nalpha = range(1, 4)\nburn-in = 1\n", "bpmf");
        args.push_back("--model.algorithm=bpmf");
        args.push_back("--model.biases=false");
        args.push_back("--bpmf.burn-in=1");
        const CommandResult run = run_ok(1, args);
        INFO(run.out);
        CHECK(lines_starting(run.out, "tune: bracket 0 rung 2 ").size() == 1);
        CHECK(contains_line(read_text(dir.file("bpmf/best.ini")), "algorithm = bpmf"));
    }
}

TEST_CASE("tune: bad space files and [tune] values are agreed errors naming the line or option",
          "[cli][tune]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> args = tune_args(dir, data, als_space, "search");
    write_text(dir.file("bad-space.ini"), "[model]\nrank = 2, 4\nlamda = range(0.1, 1)\n");
    expect_agreed_error(replaced(args, "--tune.space", dir.file("bad-space.ini")),
                        {"bad-space.ini", "line 3", "lamda"});
    write_text(dir.file("low-high.ini"), "[model]\nlambda = log-range(1, 0.1)\n");
    expect_agreed_error(replaced(args, "--tune.space", dir.file("low-high.ini")),
                        {"low-high.ini", "line 2"});
    expect_agreed_error(replaced(args, "--tune.space", dir.path()), {"space file"});
    expect_agreed_error(with(args, {"--tune.eta=1"}), {"--tune.eta"});
    expect_agreed_error(with(args, {"--tune.validation-fraction=1"}),
                        {"--tune.validation-fraction"});
    // BPMF's burn-in must end before the first rung does.
    expect_agreed_error(
        with(args, {"--model.algorithm=bpmf", "--model.biases=false", "--bpmf.burn-in=5"}),
        {"candidate 0", "--bpmf.burn-in"});
}

TEST_CASE(
    "tune: a damaged search state, another search's folder and a file for the folder are "
    "agreed errors that leave them as they are",
    "[cli][tune]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> args = tune_args(dir, data, als_space, "search");
    run_ok(2, args);
    const std::string state = dir.file("search/search-state.txt");
    std::string damaged = read_text(state);
    damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x01);
    write_text(state, damaged);
    expect_agreed_error(args, {"search-state.txt", "damaged"});
    CHECK(read_text(state) == damaged);
    const std::vector<std::string> other = replaced(args, "--tune.dir", dir.file("other"));
    run_ok(1, other);
    write_text(dir.file("space.ini"), "[model]\nrank = 2, 3\n");  // another search
    expect_agreed_error(other, {"other/search-state.txt", "belongs to another search"});
    write_text(dir.file("a-file"), "not a folder\n");
    expect_agreed_error(replaced(args, "--tune.dir", dir.file("a-file")), {"--tune.dir", "a-file"});
    CHECK(read_text(dir.file("a-file")) == "not a folder\n");
}

TEST_CASE(
    "tune: one rank's I/O error while its candidate checkpoints ends the whole job, not a "
    "hang",
    "[cli][tune][rank-failure]") {
    // Two groups of one rank: rank 1 fails in the middle of its candidate's checkpoint (a
    // collective section of its group's communicator) while rank 0 trains on or waits for the
    // rung's results; the job must end at once with rank 1's error.
    const TempDir dir;
    const SplitData data = generate_main(dir);
    BackgroundRun run(2, tune_args(dir, data, als_space, "search"),
                      {"DISTMF_FAULT=io-error-on-rank:1:checkpoint-write"});
    const CommandResult result = run.wait(job_timeout_seconds);
    INFO("exit code " << result.exit_code << "\nstdout:\n"
                      << result.out << "\nstderr:\n"
                      << result.err);
    REQUIRE(result.exit_code != -1);  // -1: still running: a hang
    CHECK(result.exit_code != 0);
    CHECK(result.err.find("[rank 1] distmf: error: writing checkpoint '") != std::string::npos);
    CHECK(result.err.find("DISTMF_FAULT: injected I/O error at checkpoint-write") !=
          std::string::npos);
}
