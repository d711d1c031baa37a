// --data.cache end to end: a cache written by some number of ranks is hit by every rank count
// and gives the same `distmf data` report and the same trained model as a fresh parse; a changed
// source file or [data] option makes it stale (rebuilt, with the reason logged); a damaged cache
// is rebuilt; a folder or a foreign file in its place is an agreed error, never overwritten.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "model_files.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using Catch::Matchers::Contains;
using distmf::testing::check_same_model;
using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::expect_agreed_error;
using distmf::testing::generate_main;
using distmf::testing::invariant_labels;
using distmf::testing::lines_starting;
using distmf::testing::read_text;
using distmf::testing::report_lines;
using distmf::testing::run_distmf;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::train_args;
using distmf::testing::with;
using distmf::testing::write_text;

/// `distmf data` for the fixture, with the cache in `cache` ("": none).
std::vector<std::string> data_args(const SplitData& data, const std::string& cache) {
    std::vector<std::string> args{"data", "--data.train", data.train, "--data.test", data.test};
    if (!cache.empty()) args.insert(args.end(), {"--data.cache", cache});
    return args;
}

/// The report lines that describe the data (not the timings), partition table included.
std::string data_report(const std::string& out) {
    std::string text = report_lines(out, invariant_labels());
    bool in_table = false;
    for (const std::string& line : distmf::testing::lines_of(out)) {
        if (line.rfind("partition ", 0) == 0) in_table = true;
        if (line.rfind("imbalance ", 0) == 0) in_table = false;
        if (in_table) text += line + "\n";
    }
    return text;
}

/// The one "cache ..." line of `out` ("" if none, all of them if several).
std::string cache_line(const std::string& out) {
    std::string found;
    for (const std::string& line : distmf::testing::lines_of(out)) {
        if (line.rfind("cache ", 0) == 0) found += (found.empty() ? "" : " | ") + line;
    }
    return found;
}

void flip_byte(const std::string& path, std::uintmax_t offset) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    const char byte = static_cast<char>(file.get());
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(static_cast<char>(byte ^ 0x10));
}

}  // namespace

TEST_CASE("CLI data cache: written by 2 ranks, hit by 1, 2 and 4 with the same data report",
          "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string cache = dir.file("cache");
    const CommandResult written = run_ok(2, data_args(data, cache));
    CHECK_THAT(cache_line(written.out), Contains("cache written: " + cache));
    CHECK(distmf::testing::entries(cache) == std::vector<std::string>{"distmf-data-cache.h5"});
    for (const int ranks : cli_rank_counts) {
        INFO("ranks " << ranks);
        const CommandResult fresh = run_ok(ranks, data_args(data, ""));
        const CommandResult hit = run_ok(ranks, data_args(data, cache));
        CHECK_THAT(cache_line(hit.out), Contains("cache hit: " + cache));
        CHECK(data_report(hit.out) == data_report(fresh.out));
        CHECK_FALSE(data_report(fresh.out).empty());
    }
}

TEST_CASE("CLI data cache: train from a cache hit writes bitwise the model of a fresh parse",
          "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string cache = dir.file("cache");
    run_ok(2, with(train_args(data, 2),
                   {"--data.cache", cache, "--output.model", dir.file("written.h5")}));
    for (const int ranks : {1, 4}) {
        INFO("ranks " << ranks);
        const std::string fresh = dir.file("fresh" + std::to_string(ranks) + ".h5");
        const std::string cached = dir.file("cached" + std::to_string(ranks) + ".h5");
        run_ok(ranks, with(train_args(data, 2), {"--output.model", fresh}));
        const CommandResult hit = run_ok(
            ranks, with(train_args(data, 2), {"--data.cache", cache, "--output.model", cached}));
        CHECK_THAT(cache_line(hit.out), Contains("cache hit"));
        check_same_model(cached, fresh);
    }
    // evaluate with a held-out fraction reproduces training's split through the cache too,
    // with the same figures as from the text.
    const std::string split_cache = dir.file("split-cache");
    const std::vector<std::string> evaluate{"evaluate",     "--model",  dir.file("written.h5"),
                                            "--data.train", data.train, "--data.test-fraction=0.2"};
    run_ok(2, with(evaluate, {"--data.cache", split_cache}));
    const CommandResult evaluated = run_ok(1, with(evaluate, {"--data.cache", split_cache}));
    CHECK_THAT(cache_line(evaluated.out), Contains("cache hit"));
    const auto metrics = [](const std::string& out) {
        std::string text;
        for (const std::string& line : distmf::testing::lines_of(out)) {
            if (line.rfind("cache ", 0) != 0) text += line + "\n";
        }
        return text;
    };
    CHECK(metrics(evaluated.out) == metrics(run_ok(1, evaluate).out));
}

TEST_CASE("CLI data cache: a changed source file or [data] option makes the cache stale",
          "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string cache = dir.file("cache");
    run_ok(1, data_args(data, cache));
    SECTION("the train file's modification time") {
        const auto when = std::filesystem::last_write_time(data.train);
        std::filesystem::last_write_time(data.train, when + std::chrono::seconds(1));
        const CommandResult stale = run_ok(2, data_args(data, cache));
        CHECK_THAT(cache_line(stale.out), Contains("cache stale: data.train.mtime_ns changed") &&
                                              Contains("cache written"));
        CHECK_THAT(cache_line(run_ok(1, data_args(data, cache)).out), Contains("cache hit"));
    }
    SECTION("the test file's size (and content)") {
        std::string text = read_text(data.test);
        write_text(data.test, text.substr(0, text.rfind('\n', text.size() - 2) + 1));
        const CommandResult stale = run_ok(2, data_args(data, cache));
        CHECK_THAT(cache_line(stale.out), Contains("cache stale: data.test.size changed"));
        CHECK(data_report(stale.out) == data_report(run_ok(2, data_args(data, "")).out));
    }
    SECTION("a [data] option") {
        const CommandResult stale =
            run_ok(1, with(data_args(data, cache), {"--data.duplicates", "mean"}));
        CHECK_THAT(cache_line(stale.out),
                   Contains("cache stale: data.duplicates changed (was error, now mean)"));
    }
}

TEST_CASE("CLI data cache: a damaged cache is rebuilt, never used", "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string cache = dir.file("cache");
    const std::string file = cache + "/distmf-data-cache.h5";
    const std::string fresh = data_report(run_ok(1, data_args(data, "")).out);
    run_ok(1, data_args(data, cache));
    const std::string pristine = read_text(file);
    SECTION("one byte flipped, at offsets spread over the file") {
        int damaged = 0;
        for (int part = 1; part < 6; ++part) {
            const std::uintmax_t offset = pristine.size() * static_cast<std::uintmax_t>(part) / 6;
            INFO("flipped byte at " << offset << " of " << pristine.size());
            write_text(file, pristine);
            flip_byte(file, offset);
            const CommandResult run = run_ok(1, data_args(data, cache));
            // A flip in HDF5's free space or padding changes nothing that is read; anywhere
            // else, a checksum finds it. Either way the data is the fresh parse's.
            const std::string line = cache_line(run.out);
            if (line.find("cache stale: damaged") != std::string::npos) {
                ++damaged;
                CHECK_THAT(line, Contains("cache written"));
            } else {
                CHECK_THAT(line, Contains("cache hit"));
            }
            CHECK(data_report(run.out) == fresh);
        }
        CHECK(damaged >= 3);
    }
    SECTION("truncated") {
        write_text(file, pristine.substr(0, pristine.size() / 2));
        const CommandResult run = run_ok(1, data_args(data, cache));
        CHECK_THAT(cache_line(run.out),
                   Contains("cache stale: damaged") && Contains("cache written"));
        CHECK(data_report(run.out) == fresh);
        CHECK_THAT(cache_line(run_ok(1, data_args(data, cache)).out), Contains("cache hit"));
    }
}

TEST_CASE("CLI data cache: a folder or a foreign file in the cache's place is an agreed error",
          "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string cache = dir.file("cache");
    const std::string file = cache + "/distmf-data-cache.h5";
    std::filesystem::create_directories(cache);
    SECTION("a folder") {
        std::filesystem::create_directories(file);
        expect_agreed_error(data_args(data, cache), {file, "is a folder"});
    }
    SECTION("a text file") {
        write_text(file, "my notes\n");
        expect_agreed_error(data_args(data, cache), {file, "not a distmf data cache"});
        CHECK(read_text(file) == "my notes\n");  // untouched
    }
    SECTION("an HDF5 file of another kind (a model)") {
        run_ok(1, with(train_args(data, 1), {"--output.model", file}));
        const std::string model = read_text(file);
        expect_agreed_error(data_args(data, cache), {file, "not a distmf data cache"});
        CHECK(read_text(file) == model);  // untouched
    }
}

TEST_CASE("CLI data cache: a folder that cannot be created is a warning, the run goes on",
          "[cli][data_cache]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    write_text(dir.file("plain-file"), "x\n");
    const CommandResult run = run_ok(2, data_args(data, dir.file("plain-file") + "/cache"));
    CHECK_THAT(run.err, Contains("cache not written"));
    CHECK(data_report(run.out) == data_report(run_ok(2, data_args(data, "")).out));
}
