#pragma once
// Helpers shared by the CLI tests (tests/cli/*_test.cpp): telling what distmf printed from what
// mpiexec adds, picking statistics out of `distmf data`'s report, checking that a command is an
// agreed error for every rank count, and comparing model files bit for bit.

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "distmf/hdf5_file.hpp"
#include "distmf/model_io.hpp"
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

/// The test RMSE of the "final:" line of `distmf train`, or -1.
inline double final_test_rmse(const std::string& out) {
    for (const std::string& line : lines_of(out)) {
        const auto at = line.find("test RMSE ");
        if (line.rfind("final:", 0) == 0 && at != std::string::npos) {
            return std::strtod(line.c_str() + at + 10, nullptr);
        }
    }
    return -1.0;
}

/// `distmf train` on `data` (10 % held out for testing) for `iterations` iterations with
/// --model.rank k, then `extra`.
inline std::vector<std::string> train_args(const std::string& data, int iterations, int k,
                                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"train",
                                  "--data.train",
                                  data,
                                  "--data.test-fraction",
                                  "0.1",
                                  "--train.iterations",
                                  std::to_string(iterations),
                                  "--model.rank",
                                  std::to_string(k)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

/// Runs distmf and requires exit code 0.
inline CommandResult run_ok(int ranks, const std::vector<std::string>& args,
                            const std::vector<std::string>& environment = {}) {
    CommandResult result = run_distmf(ranks, args, environment);
    INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
    REQUIRE(result.exit_code == 0);
    return result;
}

/// The arrays of a model or checkpoint file, read with the HDF5 C API (checksums verified).
struct ModelArrays {
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    std::vector<float> user_factors;
    std::vector<float> item_factors;
    std::vector<float> user_bias;
    std::vector<float> item_bias;
    std::vector<double> global_mean;
};

inline ModelArrays read_arrays(const std::string& path) {
    const distmf::H5Handle file = distmf::open_serial_file(path);
    const auto k = distmf::read_attribute<std::int64_t>(file, "k");
    ModelArrays model;
    model.user_ids = distmf::read_checked_rows<std::int64_t>(file, "users/ids", 0, false);
    model.item_ids = distmf::read_checked_rows<std::int64_t>(file, "items/ids", 0, false);
    model.user_factors = distmf::read_checked_rows<float>(file, "users/factors", k, false);
    model.item_factors = distmf::read_checked_rows<float>(file, "items/factors", k, false);
    if (distmf::has_object(file, "users/bias")) {
        model.user_bias = distmf::read_checked_rows<float>(file, "users/bias", 0, false);
        model.item_bias = distmf::read_checked_rows<float>(file, "items/bias", 0, false);
    }
    model.global_mean = distmf::read_checked_rows<double>(file, "global_mean", 0, false);
    return model;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// Checks that the model in `path` is bitwise the one in `reference`.
inline void check_same_model(const std::string& path, const std::string& reference) {
    INFO("model " << path << " against " << reference);
    REQUIRE(exists(path));
    const ModelArrays a = read_arrays(path);
    const ModelArrays b = read_arrays(reference);
    REQUIRE(!b.user_factors.empty());
    REQUIRE(!b.user_bias.empty());
    CHECK(same_bits(a.user_ids, b.user_ids));
    CHECK(same_bits(a.item_ids, b.item_ids));
    CHECK(same_bits(a.user_factors, b.user_factors));
    CHECK(same_bits(a.item_factors, b.item_factors));
    CHECK(same_bits(a.user_bias, b.user_bias));
    CHECK(same_bits(a.item_bias, b.item_bias));
    CHECK(same_bits(a.global_mean, b.global_mean));
}

}  // namespace distmf::testing
