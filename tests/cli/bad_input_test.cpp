// Bad input through the real binary under mpiexec: every class of malformed ratings file or
// option is an agreed error (exit 2, one "distmf: error:" line from rank 0 naming the file and
// line, or the option), and the message is the same for 1, 2 and 4 ranks.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::expect_agreed_error;
using distmf::testing::invariant_labels;
using distmf::testing::report_lines;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;
using distmf::testing::write_text;

constexpr int fixture_users = 100;
constexpr int fixture_items = 40;
constexpr int fixture_lines = fixture_users * fixture_items;
/// 1-based number of the line the tests break: it starts in the last quarter of the file's
/// bytes, which the last of 4 ranks reads (write_late_fixture checks this).
constexpr int late_line = 3901;

/// The fixture's rating on line `line` (1-based) of valid_lines().
int fixture_rating(int line) { return (line - 1) % 5 + 1; }

/// Valid ratings "user<d>item<d>rating": every (user, item) of 100 users x 40 items once, in
/// user order; line n (1-based) is user (n - 1) / 40 + 1, item (n - 1) % 40 + 1.
std::vector<std::string> valid_lines(const std::string& delimiter = "\t") {
    std::vector<std::string> lines;
    for (int line = 1; line <= fixture_lines; ++line) {
        lines.push_back(std::to_string((line - 1) / fixture_items + 1) + delimiter +
                        std::to_string((line - 1) % fixture_items + 1) + delimiter +
                        std::to_string(fixture_rating(line)));
    }
    return lines;
}

/// `lines`, each ended by `eol`.
std::string joined(const std::vector<std::string>& lines, const std::string& eol = "\n") {
    std::string text;
    for (const std::string& line : lines) text += line + eol;
    return text;
}

/// Writes `lines`, each ended by `eol`, to `path`. Checks that line `line_number` (1-based)
/// starts in the byte range of the last of 4 ranks, so that rank must number it from the
/// other ranks' line counts. Returns the location prefix the message must carry,
/// "<path>:<line_number>: ".
std::string write_late_fixture(const std::string& path, const std::vector<std::string>& lines,
                               int line_number, const std::string& eol = "\n") {
    REQUIRE(line_number >= 1);
    REQUIRE(static_cast<std::size_t>(line_number) <= lines.size());
    const std::vector<std::string> before(lines.begin(), lines.begin() + (line_number - 1));
    const std::string text = joined(lines, eol);
    REQUIRE(joined(before, eol).size() >= text.size() * 3 / 4);  // nominal_byte_range(., 3, 4)
    write_text(path, text);
    return path + ":" + std::to_string(line_number) + ": ";
}

/// The valid fixture with line `line_number` replaced by `bad_line`, written to `path`;
/// returns "<path>:<line_number>: ".
std::string write_with_bad_line(const std::string& path, const std::string& bad_line,
                                int line_number = late_line) {
    std::vector<std::string> lines = valid_lines();
    lines[static_cast<std::size_t>(line_number - 1)] = bad_line;
    return write_late_fixture(path, lines, line_number);
}

/// Expects `distmf data --data.train <file with bad_line late>` to fail with a message
/// starting with "<file>:3901: " and containing `reason`.
void expect_bad_line(const std::string& bad_line, const std::string& reason) {
    const TempDir dir;
    const std::string path = dir.file("ratings.tsv");
    const std::string where = write_with_bad_line(path, bad_line);
    const std::string message =
        expect_agreed_error({"data", "--data.train", path}, {where + reason});
    CHECK(message.rfind("distmf: error: " + where, 0) == 0);
}

}  // namespace

// ---- the file itself ---------------------------------------------------------------------

TEST_CASE("data: a missing train file is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    const std::string path = dir.file("no-such-file.tsv");
    expect_agreed_error({"data", "--data.train", path},
                        {"cannot open ratings file '" + path + "'", "No such file or directory"});
}

TEST_CASE("data: a directory as train file is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    expect_agreed_error({"data", "--data.train", dir.path()},
                        {"cannot read ratings file '" + dir.path() + "'", "Is a directory"});
}

TEST_CASE("data: an empty train file is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    const std::string path = dir.file("empty.tsv");
    write_text(path, "");
    expect_agreed_error({"data", "--data.train", path},
                        {path + ": the file is empty (no ratings)"});
}

TEST_CASE("data: a train file with only a header is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    const std::string path = dir.file("header-only.csv");
    write_text(path, "userId,movieId,rating,timestamp\r\n");
    expect_agreed_error({"data", "--data.train", path},
                        {path + ": the file has a header but no ratings"});
}

// ---- one malformed line, late in the file (read by the last rank) --------------------------

TEST_CASE("data: a line with the wrong number of fields is reported with its line number",
          "[cli][bad-input]") {
    expect_bad_line("98\t21", "expected 3 fields separated by tab, found 2");
}

TEST_CASE("data: the earliest malformed line is reported when several ranks find one",
          "[cli][bad-input]") {
    const TempDir dir;
    const std::string path = dir.file("ratings.tsv");
    std::vector<std::string> lines = valid_lines();
    lines[9] = "1\t10\t3\t0\t0";        // line 10, read by rank 0
    lines[late_line - 1] = "x\t21\t1";  // line 3901, read by the last rank
    write_late_fixture(path, lines, late_line);
    expect_agreed_error({"data", "--data.train", path},
                        {path + ":10: expected 3 fields separated by tab, found more than 4"});
}

TEST_CASE("data: a non-numeric user id is reported with its line number", "[cli][bad-input]") {
    expect_bad_line("user98\t21\t1", "user id 'user98' is not an integer");
}

TEST_CASE("data: a negative id is reported with its line number", "[cli][bad-input]") {
    expect_bad_line("98\t-21\t1", "item id '-21' is negative");
}

TEST_CASE("data: an id out of the 64-bit range is reported with its line number",
          "[cli][bad-input]") {
    // 2^63: one past the largest id, which is a signed 64-bit integer.
    expect_bad_line("9223372036854775808\t21\t1",
                    "user id '9223372036854775808' is out of range (64-bit integers)");
}

TEST_CASE("data: a NaN rating is reported with its line number", "[cli][bad-input]") {
    expect_bad_line("98\t21\tNaN", "rating 'NaN' is not finite");
}

TEST_CASE("data: an infinite rating is reported with its line number", "[cli][bad-input]") {
    expect_bad_line("98\t21\t-inf", "rating '-inf' is not finite");
}

TEST_CASE("data: a non-numeric rating is reported with its line number", "[cli][bad-input]") {
    expect_bad_line("98\t21\tfive", "rating 'five' is not a number");
}

TEST_CASE("data: a header line in the middle of the file is reported with its line number",
          "[cli][bad-input]") {
    // CSV with a header, CRLF line endings and two blank lines that still count as lines.
    const TempDir dir;
    const std::string path = dir.file("ratings.csv");
    const std::string header = "userId,movieId,rating";
    std::vector<std::string> lines = valid_lines(",");
    lines.insert(lines.begin(), {header, "", ""});  // lines 1-3; ratings from line 4 on
    lines[late_line - 1] = header;
    const std::string where = write_late_fixture(path, lines, late_line, "\r\n");
    expect_agreed_error({"data", "--data.train", path},
                        {where + "a header line in the middle of the file"});
}

// ---- files that disagree with each other ---------------------------------------------------

TEST_CASE("data: a test file whose format differs from the train file's is an error",
          "[cli][bad-input]") {
    const TempDir dir;
    const std::string train = dir.file("train.tsv");
    const std::string test = dir.file("test.csv");
    write_text(train, joined(valid_lines()));
    write_text(test, "1,1,4\n2,3,5\n");
    expect_agreed_error(
        {"data", "--data.train", train, "--data.test", test},
        {test + ": its format (comma-separated, 3 fields) differs from the train file's "
                "(tab-separated, 3 fields)"});
}

TEST_CASE("data: duplicate ratings are an error by default, and last or mean merge them",
          "[cli][bad-input]") {
    // Line 3901 (user 98, item 21, rating 1; read by the last of 4 ranks) becomes a second
    // rating of (user 1, item 5), first rated 5 on line 5 (read by rank 0).
    const TempDir dir;
    const std::string path = dir.file("ratings.tsv");
    write_with_bad_line(path, "1\t5\t2");
    REQUIRE(fixture_rating(5) == 5);
    REQUIRE(fixture_rating(late_line) == 1);
    expect_agreed_error({"data", "--data.train", path},
                        {path + ": user 1 rated item 5 more than once", "--data.duplicates"});

    // Every pair but (98, 21) once: the ratings sum to 800 * (1 + ... + 5) - 1 before merging.
    constexpr int n_ratings = fixture_lines - 1;
    constexpr double others = 800 * 15 - 1 - 5;
    const std::vector<std::pair<std::string, double>> policies{{"last", others + 2.0},
                                                               {"mean", others + 3.5}};
    for (const auto& [policy, sum] : policies) {
        char mean_line[64];
        std::snprintf(mean_line, sizeof mean_line, "train rating  min 1, max 5, mean %.6f",
                      sum / n_ratings);
        std::string first_report;
        for (const int ranks : cli_rank_counts) {
            const auto result =
                run_distmf(ranks, {"data", "--data.train", path, "--data.duplicates", policy});
            INFO(policy << " with " << ranks << " ranks\n" << result.out << result.err);
            REQUIRE(result.exit_code == 0);
            const std::string report = report_lines(result.out, invariant_labels());
            CHECK(report.find("ratings       3999 (train 3999, test 0)\n") != std::string::npos);
            CHECK(report.find(mean_line) != std::string::npos);
            CHECK(report.find("duplicates    1 ratings merged (--data.duplicates " + policy +
                              ")") != std::string::npos);
            if (first_report.empty()) first_report = report;
            CHECK(report == first_report);
        }
    }
}

// ---- options and config files --------------------------------------------------------------

TEST_CASE("data: an unknown option is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    const std::string path = dir.file("ratings.tsv");
    write_text(path, joined(valid_lines()));
    expect_agreed_error({"data", "--data.train", path, "--data.test-fracton", "0.1"},
                        {"unrecognised option '--data.test-fracton'"});
}

TEST_CASE("data: an unknown key in a config file is an error naming the file and key",
          "[cli][bad-input]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    const std::string config = dir.file("run.ini");
    write_text(ratings, joined(valid_lines()));
    write_text(config, "[data]\ntrain = " + ratings + "\nshuffle = true\n");
    expect_agreed_error({"data", "--config", config},
                        {"config file '" + config + "'", "unrecognised option 'data.shuffle'"});
}

TEST_CASE("data: a malformed option value is an error naming the option", "[cli][bad-input]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    const std::string config = dir.file("run.ini");
    write_text(ratings, joined(valid_lines()));
    expect_agreed_error({"data", "--data.train", ratings, "--data.test-fraction", "a fifth"},
                        {"the argument ('a fifth') for option '--data.test-fraction' is invalid"});
    expect_agreed_error(
        {"data", "--data.train", ratings, "--data.duplicates", "first"},
        {"option '--data.duplicates' is invalid", "expected one of error|last|mean"});
    write_text(config, "[data]\ntrain = " + ratings + "\nseed = forty-two\n");
    expect_agreed_error({"data", "--config", config},
                        {"config file '" + config + "'", "('forty-two')", "'data.seed'"});
}

TEST_CASE("data: impossible option values are errors naming the option", "[cli][bad-input]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, joined(valid_lines()));
    expect_agreed_error({"data", "--data.train", ratings, "--data.test-fraction", "1.5"},
                        {"--data.test-fraction: must be in [0, 1), got 1.5"});
    expect_agreed_error(
        {"data", "--data.train", ratings, "--data.test", ratings, "--data.test-fraction", "0.2"},
        {"--data.test-fraction: cannot be combined with --data.test"});
}

TEST_CASE("data: a missing config file is an error naming it", "[cli][bad-input]") {
    const TempDir dir;
    const std::string config = dir.file("missing.ini");
    expect_agreed_error({"data", "--config", config}, {"cannot open config file '" + config + "'"});
}

TEST_CASE("data: no --data.train is an error naming the option", "[cli][bad-input]") {
    expect_agreed_error({"data"}, {"--data.train: a ratings file is required"});
}

TEST_CASE("data: a config file of binary junk is one line with its bytes escaped",
          "[cli][bad-input]") {
    const TempDir dir;
    const std::string config = dir.file("junk.ini");
    std::string junk(
        "\x7F"
        "ELF\x02\x01\x01\0\0\0\x1B[2J\ttab\r\n\0\0\x05",
        23);
    for (int byte = 0; byte < 256; ++byte) junk += static_cast<char>(byte);
    write_text(config, junk);
    expect_agreed_error({"data", "--config", config},
                        {"config file '" + config + "', line 1",
                         "'\\x7FELF\\x02\\x01\\x01\\x00\\x00\\x00\\x1B[2J\\ttab\\r'"});
    // Without mpiexec, stderr is distmf's alone: one line, no byte that is not printable.
    const auto result = run_distmf(0, {"data", "--config", config});
    CHECK(result.exit_code == 2);
    INFO(result.err);
    REQUIRE(!result.err.empty());
    CHECK(result.err.find('\n') == result.err.size() - 1);
    CHECK(std::none_of(result.err.begin(), result.err.end() - 1, [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F;
    }));
}

TEST_CASE("train: a top-level key of another command is an error naming train",
          "[cli][bad-input]") {
    // `rank = 4` before any section is generate's --rank: train used to read it silently and
    // keep k = 10.
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    const std::string config = dir.file("run.ini");
    write_text(ratings, joined(valid_lines()));
    write_text(config, "rank = 4\n[data]\ntrain = " + ratings + "\n");
    expect_agreed_error({"train", "--config", config, "--train.iterations", "1"},
                        {"config file '" + config + "', line 1",
                         "'rank' before any [section] is not an option of distmf train",
                         "did you mean [model] rank?"});
}
