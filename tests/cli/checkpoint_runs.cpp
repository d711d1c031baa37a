#include "checkpoint_runs.hpp"

#include <hdf5.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "cli_support.hpp"
#include "distmf/hdf5_file.hpp"

namespace distmf::testing {
namespace {

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

/// The text between `before` and the next `after` on the first line starting with `before`.
std::string field_after(const std::string& text, const std::string& before,
                        const std::string& after) {
    const std::vector<std::string> lines = lines_starting(text, before);
    if (lines.empty()) return "";
    const std::string rest = lines.front().substr(before.size());
    return rest.substr(0, rest.find(after));
}

}  // namespace

std::string generate_data(const TempDir& dir, const std::string& name) {
    const std::string path = dir.file(name);
    const CommandResult result =
        run_distmf(0, {"generate", "--users", "300", "--items", "200", "--ratings", "15000",
                       "--rank", "4", "--noise", "0.3", "--out", path});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return path;
}

std::vector<std::string> train_args(const std::string& data, int iterations, int k,
                                    const std::vector<std::string>& extra) {
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

void train_reference(const TempDir& dir, const std::string& data, int iterations, int k,
                     const std::vector<std::string>& extra) {
    std::vector<std::string> outputs{"--output.model", dir.file("reference.h5"), "--output.metrics",
                                     dir.file("reference.jsonl")};
    outputs.insert(outputs.end(), extra.begin(), extra.end());
    run_ok(2, train_args(data, iterations, k, outputs));
}

void check_same_metrics(const std::string& path, const std::string& reference, int iterations) {
    INFO("metrics " << path << " against " << reference);
    CHECK(metrics_iterations(path) == one_to(iterations));
    CHECK(metrics_without_times(path) == metrics_without_times(reference));
}

void flip_bit_in_dataset(const std::string& path, const std::string& name) {
    haddr_t offset = HADDR_UNDEF;
    hsize_t bytes = 0;
    {
        const H5Handle file = open_serial_file(path);
        const H5Handle dataset = open_dataset(file, name);
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

std::string resumed_from(const CommandResult& result) {
    return field_after(result.out, "resuming from ", ": ");
}

std::string stop_checkpoint(const CommandResult& result, int signal_number) {
    return field_after(result.out,
                       "stopped by signal " + std::to_string(signal_number) + ": checkpoint ",
                       " holds ");
}

}  // namespace distmf::testing
