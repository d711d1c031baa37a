#pragma once
// Helpers shared by the CLI tests (tests/cli/*_test.cpp): running a command that must succeed,
// telling what distmf printed from what mpiexec adds, picking lines and statistics out of its
// output, listing a folder, and checking that a command is an agreed error for every rank count.

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace distmf::testing {

/// The rank counts every rank-count invariance check runs with.
inline constexpr std::array<int, 3> cli_rank_counts{1, 2, 4};

/// The lines of `text`, without their line endings.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// The lines of `text` that start with `prefix`.
inline std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> found;
    for (const std::string& line : lines_of(text)) {
        if (line.rfind(prefix, 0) == 0) found.push_back(line);
    }
    return found;
}

/// True if one of the lines of `text` is `line`.
inline bool contains_line(const std::string& text, const std::string& line) {
    const std::vector<std::string> lines = lines_of(text);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

/// The names of the entries of `folder`, sorted.
inline std::vector<std::string> entries(const std::string& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// Runs `distmf <args...>` as run_distmf does and requires exit code 0.
inline CommandResult run_ok(int ranks, const std::vector<std::string>& args,
                            const std::vector<std::string>& environment = {}) {
    CommandResult result = run_distmf(ranks, args, environment);
    INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
    REQUIRE(result.exit_code == 0);
    return result;
}

/// The first number after `label` in the line of `out` that starts with `line_start`.
inline double number_after(const std::string& out, const std::string& line_start,
                           const std::string& label) {
    const std::vector<std::string> lines = lines_starting(out, line_start);
    if (lines.empty()) return std::numeric_limits<double>::quiet_NaN();
    const auto at = lines.front().find(label);
    if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(lines.front().c_str() + at + label.size(), nullptr);
}

/// The test RMSE of the "final:" line of `distmf train` (NaN without one).
inline double final_test_rmse(const std::string& out) {
    return number_after(out, "final:", "test RMSE ");
}

/// The lines distmf itself wrote to stderr: "distmf: ..." (rank 0, agreed errors) and
/// "[rank r] ..." (local errors). Drops the banner mpiexec adds when a rank exits non-zero.
inline std::vector<std::string> distmf_messages(const std::string& err) {
    std::vector<std::string> messages;
    for (const std::string& line : lines_of(err)) {
        if (line.rfind("distmf:", 0) == 0 || line.rfind("[rank ", 0) == 0) {
            messages.push_back(line);
        }
    }
    return messages;
}

/// The lines of `out` that start with one of `labels` followed by a blank (the statistics
/// lines of `distmf data`, e.g. "users", "train rating"), in output order, one per line.
inline std::string report_lines(const std::string& out, const std::vector<std::string>& labels) {
    std::string selected;
    for (const std::string& line : lines_of(out)) {
        for (const std::string& label : labels) {
            if (line.rfind(label + " ", 0) == 0) {
                selected += line + "\n";
                break;
            }
        }
    }
    return selected;
}

/// The statistics of `distmf data` that must not depend on the rank count.
inline const std::vector<std::string>& invariant_labels() {
    static const std::vector<std::string> labels{"users",   "items", "ratings",   "train rating",
                                                 "density", "cold",  "duplicates"};
    return labels;
}

/// The first integer after `label` on the line of `out` starting with it; -1 if none.
inline std::int64_t report_number(const std::string& out, const std::string& label) {
    const std::string text = report_lines(out, {label});
    if (text.empty()) return -1;
    std::istringstream line(text.substr(label.size()));
    std::int64_t value = -1;
    line >> value;
    return value;
}

/// The number after "<key>": in a JSON line, NaN for null or a missing key.
inline double json_number(const std::string& line, const std::string& key) {
    const std::string quoted = "\"" + key + "\":";
    const auto at = line.find(quoted);
    if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
    const std::string rest = line.substr(at + quoted.size());
    if (rest.rfind("null", 0) == 0) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(rest.c_str(), nullptr);
}

/// The metrics file's lines without their wall times (the only figures that may differ).
inline std::vector<std::string> metrics_without_seconds(const std::string& path) {
    std::vector<std::string> lines = lines_of(read_text(path));
    for (std::string& line : lines) line = line.substr(0, line.find(",\"seconds\""));
    return lines;
}

/// Runs `distmf <args...>` with 1, 2 and 4 ranks and checks that each run is an agreed error:
/// exit code 2, nothing on stdout, exactly one line from distmf on stderr, "distmf: error: ..."
/// from rank 0 (no "[rank r]" line: that is the local-error path), containing each of
/// `expected`, and the same line for every rank count. Returns that line.
inline std::string expect_agreed_error(const std::vector<std::string>& args,
                                       const std::vector<std::string>& expected) {
    std::string first_message;
    for (const int ranks : cli_rank_counts) {
        const CommandResult result = run_distmf(ranks, args);
        INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
        CHECK(result.exit_code == 2);
        CHECK(result.out.empty());
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        const std::string& message = messages.front();
        CHECK(message.rfind("distmf: error: ", 0) == 0);
        for (const std::string& part : expected) {
            INFO("expected in the message: " << part);
            CHECK(message.find(part) != std::string::npos);
        }
        if (first_message.empty()) first_message = message;
        CHECK(message == first_message);
    }
    return first_message;
}

}  // namespace distmf::testing
