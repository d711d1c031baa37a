// The Python scripts a user runs next to distmf (scripts/plot_metrics.py, examples/predict.py;
// predict.py's numbers are checked in train_test.cpp): they run with the interpreter that has
// their packages, and with one that lacks them they say so in one line instead of a traceback.
#include <catch2/catch.hpp>
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
                 {"scripts/plot_convergence.py", "matplotlib", "out.png a=metrics.jsonl"}};
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
