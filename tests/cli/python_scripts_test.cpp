// The Python scripts a user runs next to distmf (scripts/plot_*.py, examples/predict.py;
// predict.py's numbers are checked in train_test.cpp): they run with the interpreter that has
// their packages, and with one that lacks them they say so in one line instead of a traceback.
#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::lines_of;
using distmf::testing::python_with_packages;
using distmf::testing::run_command;
using distmf::testing::shell_quote;
using distmf::testing::TempDir;

std::string script(const std::string& relative) {
    return distmf::testing::source_dir() + "/" + relative;
}

/// The Python with the scripts' packages, or "" after saying the test is skipped.
std::string python_or_skip() {
    const std::string python = python_with_packages();
    if (python.empty()) {
        std::cout << "SKIPPED: no Python with h5py, numpy and matplotlib (apt-get install "
                     "python3-h5py python3-numpy python3-matplotlib)"
                  << std::endl;
    }
    return python;
}

}  // namespace

TEST_CASE("plot_metrics.py draws a metrics file as a PNG", "[cli][python]") {
    const std::string python = python_or_skip();
    if (python.empty()) return;
    const TempDir dir;
    distmf::testing::write_text(dir.file("metrics.jsonl"),
                                "{\"iteration\": 1, \"train_rmse\": 1.2, \"test_rmse\": 1.3}\n"
                                "{\"iteration\": 2, \"train_rmse\": 0.9, \"test_rmse\": null}\n");
    const CommandResult plotted =
        run_command(shell_quote(python) + " " + shell_quote(script("scripts/plot_metrics.py")) +
                    " " + shell_quote(dir.file("metrics.jsonl")));
    INFO(plotted.out << plotted.err);
    CHECK(plotted.exit_code == 0);
    CHECK(plotted.out == "wrote " + dir.file("metrics.png") + "\n");
    CHECK(distmf::testing::read_text(dir.file("metrics.png")).rfind("\x89PNG", 0) == 0);
}

TEST_CASE("plot_convergence.py draws several runs' test RMSE against wall seconds",
          "[cli][python]") {
    const std::string python = python_or_skip();
    if (python.empty()) return;
    const TempDir dir;
    distmf::testing::write_text(
        dir.file("als.jsonl"),
        "{\"iteration\": 1, \"test_rmse\": 1.3, \"elapsed_seconds\": 2.0}\n"
        "{\"iteration\": 2, \"test_rmse\": null, \"elapsed_seconds\": 3.0}\n"
        "{\"iteration\": 3, \"test_rmse\": 1.1, \"elapsed_seconds\": 4.0}\n");
    distmf::testing::write_text(
        dir.file("sgd.jsonl"),
        "{\"iteration\": 1, \"test_rmse\": 1.2, \"elapsed_seconds\": 1.5}\n");
    const std::string command = shell_quote(python) + " " +
                                shell_quote(script("scripts/plot_convergence.py")) + " " +
                                shell_quote(dir.file("runs.png"));
    const CommandResult plotted =
        run_command(command + " " + shell_quote("ALS=" + dir.file("als.jsonl")) + " " +
                    shell_quote("SGD=" + dir.file("sgd.jsonl")) + " --ymax 1.25");
    INFO(plotted.out << plotted.err);
    CHECK(plotted.exit_code == 0);
    CHECK(plotted.out == "wrote " + dir.file("runs.png") + "\n");
    CHECK(distmf::testing::read_text(dir.file("runs.png")).rfind("\x89PNG", 0) == 0);

    // A file that is not a metrics file, and a run without a label, are one-line errors.
    distmf::testing::write_text(dir.file("other.jsonl"), "{\"x\": 1}\n");
    const CommandResult foreign =
        run_command(command + " " + shell_quote("X=" + dir.file("other.jsonl")));
    CHECK(foreign.exit_code == 1);
    CHECK(foreign.err ==
          dir.file("other.jsonl") + ":1: not a distmf metrics record (no elapsed_seconds)\n");
    const CommandResult unlabelled =
        run_command(command + " " + shell_quote(dir.file("als.jsonl")));
    CHECK(unlabelled.exit_code == 1);
    const std::string unlabelled_path = dir.file("als.jsonl");
    CHECK(unlabelled.err ==
          std::string(1, '\'') + unlabelled_path + "': expected LABEL=METRICS.jsonl\n");
}

namespace {

/// A hand-written results.jsonl of a finished search: candidate 0 not promoted, 2 hopeless,
/// 3 promoted once, 1 promoted and best (its curve extends its first rung's).
std::string tune_results() {
    const auto row = [](int candidate, int rung, const std::string& settings, double value,
                        const std::string& status, const std::string& curve) {
        return "{\"candidate\": " + std::to_string(candidate) +
               ", \"bracket\": 0, \"rung\": " + std::to_string(rung) + ", \"settings\": {" +
               settings + "}, \"iterations\": " + (rung == 0 ? "3" : "9") +
               ", \"metric\": \"rmse\", \"value\": " + std::to_string(value) + ", \"status\": \"" +
               status + "\", \"seconds\": 0.5, \"curve\": [" + curve + "]}\n";
    };
    const std::string rank16 = "\"model.rank\": \"16\", \"model.lambda\": \"0.05\"";
    const std::string rank32 = "\"model.rank\": \"32\", \"model.lambda\": \"0.05\"";
    return row(0, 0, "\"model.rank\": \"16\", \"model.lambda\": \"0.5\"", 1.02, "stopped",
               "[1, 1.3], [2, 1.1], [3, 1.02]") +
           row(1, 0, rank32, 0.95, "promoted", "[1, 1.2], [2, 1.0], [3, 0.95]") +
           row(2, 0, "\"model.rank\": \"64\", \"model.lambda\": \"0.005\"", 1.4, "hopeless",
               "[1, 1.4], [2, null]") +
           row(3, 0, rank16, 0.97, "promoted", "[1, 1.25], [2, 1.05], [3, 0.97]") +
           row(3, 1, rank16, 0.93, "stopped", "[1, 1.25], [2, 1.05], [3, 0.97], [9, 0.93]") +
           row(1, 1, rank32, 0.9123, "best", "[1, 1.2], [2, 1.0], [3, 0.95], [9, 0.9123]");
}

std::string plot_tune_command(const std::string& python, const std::string& results,
                              const std::string& png) {
    return shell_quote(python) + " " + shell_quote(script("scripts/plot_tune.py")) + " " +
           shell_quote(results) + " " + shell_quote(png);
}

}  // namespace

TEST_CASE("plot_tune.py draws the learning curves of a tune search as a PNG", "[cli][python]") {
    const std::string python = python_or_skip();
    if (python.empty()) return;
    const TempDir dir;
    distmf::testing::write_text(dir.file("results.jsonl"), tune_results());
    for (const std::string options : {"", " --log-x --ymax 1.3 --title 'a search'"}) {
        const CommandResult plotted = run_command(
            plot_tune_command(python, dir.file("results.jsonl"), dir.file("curves.png")) + options);
        INFO(options << "\n" << plotted.out << plotted.err);
        CHECK(plotted.exit_code == 0);
        CHECK(plotted.out == "wrote " + dir.file("curves.png") + "\n");
        CHECK(distmf::testing::read_text(dir.file("curves.png")).rfind("\x89PNG", 0) == 0);
        CHECK(distmf::testing::entries(dir.path()) ==
              std::vector<std::string>{"curves.png", "results.jsonl"});
    }
}

TEST_CASE("plot_tune.py: each bad input is a one-line error naming the file and line, and no PNG",
          "[cli][python]") {
    const std::string python = python_or_skip();
    if (python.empty()) return;
    const TempDir dir;
    const std::string first_row = lines_of(tune_results()).front() + "\n";
    std::string no_curve = first_row;
    no_curve.replace(no_curve.find(", \"curve\""), std::string::npos, "}\n");
    distmf::testing::write_text(dir.file("empty.jsonl"), "\n");
    distmf::testing::write_text(dir.file("broken.jsonl"), first_row + "{\"candidate\": 1,\n");
    distmf::testing::write_text(dir.file("no-curve.jsonl"), first_row + "\n" + no_curve);
    distmf::testing::write_text(
        dir.file("bad-curve.jsonl"),
        std::string(first_row).replace(first_row.find("[1, 1.3]"), 8, "[1]"));
    std::filesystem::create_directory(dir.file("folder"));
    const struct {
        std::string input;
        std::string error;
    } cases[] = {
        {"missing.jsonl", ": cannot read (No such file or directory)"},
        {"folder", ": cannot read (Is a directory)"},
        {"empty.jsonl", ": no results (an empty file)"},
        {"broken.jsonl",
         ":2: not JSON (Expecting property name enclosed in double quotes at column 17)"},
        {"no-curve.jsonl", ":3: not a distmf tune result (no curve)"},
        {"bad-curve.jsonl", ":1: curve is not a list of [iteration, value] pairs"},
    };
    for (const auto& tried : cases) {
        const CommandResult result =
            run_command(plot_tune_command(python, dir.file(tried.input), dir.file("out.png")));
        INFO(tried.input << "\n" << result.out << result.err);
        CHECK(result.exit_code == 1);
        CHECK(result.out.empty());
        CHECK(result.err == dir.file(tried.input) + tried.error + "\n");
        CHECK(!distmf::testing::exists(dir.file("out.png")));
        CHECK(!distmf::testing::exists(dir.file("out.png.tmp")));
    }
    // An OUT that cannot be written leaves neither it nor its temporary file behind.
    distmf::testing::write_text(dir.file("results.jsonl"), tune_results());
    const std::string unwritable = dir.file("no-such-folder/out.png");
    const CommandResult result =
        run_command(plot_tune_command(python, dir.file("results.jsonl"), unwritable));
    CHECK(result.exit_code == 1);
    CHECK(result.err == unwritable + ": cannot write (No such file or directory)\n");
}

TEST_CASE(
    "the Python scripts, run by a Python without their packages, say in one line what is "
    "missing and how to run them",
    "[cli][python]") {
    // `-S` leaves out site-packages (where pip, conda and Debian's python3-* put h5py and
    // matplotlib): the interpreter then lacks them as pyenv's or conda's python3 may.
    const std::string python = python_with_packages().empty() ? "python3" : python_with_packages();
    const struct {
        std::string path;
        std::string module;
        std::string args;
    } cases[] = {{"examples/predict.py", "h5py", "model.h5 1 2"},
                 {"scripts/plot_metrics.py", "matplotlib", "metrics.jsonl"},
                 {"scripts/plot_convergence.py", "matplotlib", "out.png a=metrics.jsonl"},
                 {"scripts/plot_tune.py", "matplotlib", "results.jsonl out.png"}};
    for (const auto& tried : cases) {
        const CommandResult result = run_command(
            shell_quote(python) + " -S " + shell_quote(script(tried.path)) + " " + tried.args);
        INFO(tried.path << "\n" << result.out << result.err);
        CHECK(result.exit_code == 1);
        CHECK(result.out.empty());
        const std::vector<std::string> lines = lines_of(result.err);
        REQUIRE(lines.size() == 1);
        CHECK(lines.front().find(tried.path + ": " + tried.module + " is missing for ") !=
              std::string::npos);
        // Debian's own interpreter is told the package; any other which interpreter to use.
        CHECK((lines.front().find("apt-get install python3-") != std::string::npos ||
               lines.front().find(": run it with Debian's Python: /usr/bin/python3 ") !=
                   std::string::npos));
    }
}
