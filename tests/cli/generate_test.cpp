// `distmf generate` end to end: its output is a function of the options alone (not of the
// rank or thread count), feeds `distmf data`, and bad options fail without leaving files.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::entries;
using distmf::testing::expect_agreed_error;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::report_lines;
using distmf::testing::report_number;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;

/// Runs `distmf generate <options...> --out <path>` with `ranks` ranks and the extra
/// environment; requires success and returns the file's content.
std::string generate(int ranks, const std::vector<std::string>& options, const std::string& path,
                     const std::vector<std::string>& environment = {}) {
    std::vector<std::string> args{"generate"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--out", path});
    const CommandResult result = run_distmf(ranks, args, environment);
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(result.out.find("to " + path) != std::string::npos);
    const std::string content = read_text(path);
    REQUIRE(!content.empty());
    return content;
}

const std::vector<std::string> small_options{"--users", "300",       "--items",
                                             "200",     "--ratings", "6000"};

std::vector<std::string> with_seed(const std::string& seed) {
    std::vector<std::string> options = small_options;
    options.insert(options.end(), {"--seed", seed});
    return options;
}

}  // namespace

TEST_CASE("generate: the same seed gives byte-identical files, for any rank count",
          "[cli][generate]") {
    const TempDir dir;
    const std::string first = generate(1, with_seed("5"), dir.file("first.tsv"));
    const std::string second = generate(2, with_seed("5"), dir.file("second.tsv"));
    CHECK(first == second);
    CHECK(lines_of(first).size() == 6000);
}

TEST_CASE("generate: the thread count does not change the output", "[cli][generate]") {
    // 10000 users are 5 chunks of 2048: one thread writes them in two batches (4 chunks per
    // thread each), two threads in one batch, and the chunks are filled concurrently.
    const TempDir dir;
    const std::vector<std::string> options{"--users",   "10000", "--items", "50",
                                           "--ratings", "20000", "--seed",  "9"};
    const std::string one = generate(1, options, dir.file("one.tsv"), {"OMP_NUM_THREADS=1"});
    const std::string two = generate(1, options, dir.file("two.tsv"), {"OMP_NUM_THREADS=2"});
    CHECK(lines_of(one).size() == 20000);
    CHECK(one == two);
}

TEST_CASE("generate: a different seed gives a different file", "[cli][generate]") {
    const TempDir dir;
    const std::string five = generate(1, with_seed("5"), dir.file("five.tsv"));
    const std::string six = generate(1, with_seed("6"), dir.file("six.tsv"));
    CHECK(lines_of(six).size() == 6000);
    CHECK(five != six);
}

TEST_CASE("generate: its output is read back by distmf data", "[cli][generate]") {
    const TempDir dir;
    const std::string path = dir.file("ratings.tsv");
    const CommandResult made =
        run_distmf(1, {"generate", "--users", "400", "--items", "300", "--ratings", "5000",
                       "--min-rating", "0.5", "--max-rating", "10", "--seed", "3", "--out", path});
    INFO(made.out << made.err);
    REQUIRE(made.exit_code == 0);
    long long n_ratings = 0;
    long long users_with_ratings = 0;
    REQUIRE(std::sscanf(made.out.c_str(), "wrote %lld ratings (%lld users with ratings", &n_ratings,
                        &users_with_ratings) == 2);
    CHECK(n_ratings == 5000);

    const CommandResult read = run_distmf(2, {"data", "--data.train", path});
    INFO(read.out << read.err);
    REQUIRE(read.exit_code == 0);
    CHECK(report_number(read.out, "users") == users_with_ratings);
    CHECK(report_number(read.out, "items") <= 300);
    CHECK(report_lines(read.out, {"ratings"}) == "ratings       5000 (train 5000, test 0)\n");
    double low = 0.0;
    double high = 0.0;
    REQUIRE(std::sscanf(report_lines(read.out, {"train rating"}).c_str(),
                        "train rating min %lf, max %lf", &low, &high) == 2);
    CHECK(low >= 0.5);
    CHECK(high <= 10.0);
    CHECK(low < high);
}

TEST_CASE("generate: --ratings above users * items / 2 is an error naming the option",
          "[cli][generate]") {
    const TempDir dir;
    expect_agreed_error({"generate", "--users", "10", "--items", "10", "--ratings", "51", "--out",
                         dir.file("ratings.tsv")},
                        {"--ratings: must be at most users * items / 2 (50), got 51"});
    CHECK(entries(dir.path()).empty());
}

TEST_CASE("generate: --rank 0 is an error naming the option", "[cli][generate]") {
    const TempDir dir;
    expect_agreed_error({"generate", "--rank", "0", "--out", dir.file("ratings.tsv")},
                        {"--rank: must be >= 1, got 0"});
    CHECK(entries(dir.path()).empty());
}

TEST_CASE("generate: a missing --out is an error naming the option", "[cli][generate]") {
    expect_agreed_error({"generate", "--users", "10", "--items", "10", "--ratings", "20"},
                        {"--out: an output file is required"});
}

TEST_CASE("generate: an output file in a missing folder is an error naming the path",
          "[cli][generate]") {
    const TempDir dir;
    const std::string path = dir.file("missing/ratings.tsv");
    expect_agreed_error(
        {"generate", "--users", "10", "--items", "10", "--ratings", "20", "--out", path},
        {"cannot write '" + path + "'", "No such file or directory"});
    CHECK(entries(dir.path()).empty());
}

TEST_CASE("generate: an output path that is a folder is an error and leaves no .tmp file",
          "[cli][generate]") {
    // Checked before any work (it used to fail only when renaming the finished file).
    const TempDir dir;
    const std::string path = dir.file("taken");
    std::filesystem::create_directory(path);
    expect_agreed_error(
        {"generate", "--users", "10", "--items", "10", "--ratings", "20", "--out", path},
        {"cannot write '" + path + "': it is a folder"});
    CHECK(entries(dir.path()) == std::vector<std::string>{"taken"});
    CHECK(entries(path).empty());
}
