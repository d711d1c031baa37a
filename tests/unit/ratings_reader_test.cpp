#include "distmf/ratings_reader.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "distmf/error.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::ByteRange;
using distmf::InputError;
using distmf::RatingShard;
using distmf::SplitRule;
using distmf::TextLayout;
using distmf::testing::TempDir;
using distmf::testing::write_text;

namespace {

/// A rating by external IDs, and whether it went to the test set.
struct ExternalRating {
    std::int64_t user = 0;
    std::int64_t item = 0;
    float value = 0.0F;
    bool test = false;

    friend bool operator==(const ExternalRating&, const ExternalRating&) = default;
    friend bool operator<(const ExternalRating& a, const ExternalRating& b) {
        return std::tie(a.user, a.item, a.value, a.test) <
               std::tie(b.user, b.item, b.value, b.test);
    }
};

/// What reading a file as P simulated ranks produced.
struct SimulatedRead {
    std::vector<ExternalRating> ratings;  ///< sorted
    std::int64_t lines = 0;               ///< sum over ranks
    std::int64_t first_error_line = 0;    ///< global 1-based line of the first error, or 0
    std::string first_error_reason;
};

void append_external(const RatingShard& shard, SimulatedRead& read) {
    const auto users = shard.users.ids();
    const auto items = shard.items.ids();
    for (const bool test : {false, true}) {
        for (const auto& r : test ? shard.test : shard.train) {
            read.ratings.push_back({users[static_cast<std::size_t>(r.user)],
                                    items[static_cast<std::size_t>(r.item)], r.value, test});
        }
    }
}

/// Reads `path` as `n_ranks` ranks would (each its nominal byte range, into its own shard)
/// and numbers the first error globally, as load_dataset does.
SimulatedRead read_as_ranks(const std::string& path, const TextLayout& layout, int n_ranks,
                            const SplitRule& rule = {}) {
    const std::int64_t bytes = distmf::file_size_bytes(path);
    SimulatedRead read;
    for (int rank = 0; rank < n_ranks; ++rank) {
        RatingShard shard;
        const auto result = distmf::read_rating_range(
            path, layout, distmf::nominal_byte_range(bytes, rank, n_ranks), rule, shard);
        if (result.error && read.first_error_line == 0) {
            read.first_error_line = read.lines + result.error->line_in_range + 1;
            read.first_error_reason = result.error->reason;
        }
        read.lines += result.lines;
        append_external(shard, read);
    }
    std::sort(read.ratings.begin(), read.ratings.end());
    return read;
}

/// Number of lines of a text: line breaks, plus one if the last line has none.
std::int64_t count_lines(const std::string& text) {
    auto lines = static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n') ++lines;
    return lines;
}

/// A ratings.csv-like file: header, CRLF, sparse large IDs, some blank (and whitespace-only)
/// lines, and no line break after the last line. Also returns the expected ratings.
std::string csv_fixture(std::vector<ExternalRating>& expected) {
    std::string text = "userId,movieId,rating,timestamp\r\n";
    for (int i = 0; i < 240; ++i) {
        if (i % 37 == 5) text += "\r\n";
        if (i % 53 == 11) text += "  \r\n";
        if (i % 61 == 3) text += "\n";
        const std::int64_t user = 1'000'000'007LL * (i % 23) + 3;
        const std::int64_t item = 4'000'000'000'000LL + 7919LL * ((i * 31) % 101);
        const float value = 0.5F * static_cast<float>(1 + i % 10);
        expected.push_back({user, item, value, false});
        text += std::to_string(user) + "," + std::to_string(item) + "," + std::to_string(value) +
                "," + std::to_string(1'260'000'000 + i) + "\r\n";
    }
    text.resize(text.size() - 2);  // the last line has no line break
    std::sort(expected.begin(), expected.end());
    return text;
}

TextLayout csv_layout(const std::string& header_line) {
    TextLayout layout;
    layout.format = distmf::DataFormat::csv;
    layout.delimiter = ",";
    layout.header = true;
    layout.header_line = header_line;
    layout.fields = 4;
    return layout;
}

TextLayout tsv_layout() {
    TextLayout layout;
    layout.fields = 3;
    return layout;
}

}  // namespace

TEST_CASE("nominal_byte_range covers a file exactly, in nearly equal parts", "[ratings_reader]") {
    for (const std::int64_t bytes :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{5}, std::int64_t{100}, std::int64_t{12345},
          (std::int64_t{1} << 40) + 3, std::int64_t{1} << 62}) {
        for (int n_ranks = 1; n_ranks <= 9; ++n_ranks) {
            INFO("bytes " << bytes << ", ranks " << n_ranks);
            std::int64_t expected_begin = 0;
            std::int64_t smallest = bytes;
            std::int64_t largest = 0;
            for (int rank = 0; rank < n_ranks; ++rank) {
                const ByteRange range = distmf::nominal_byte_range(bytes, rank, n_ranks);
                CHECK(range.begin == expected_begin);
                CHECK(range.begin <= range.end);
                smallest = std::min(smallest, range.end - range.begin);
                largest = std::max(largest, range.end - range.begin);
                expected_begin = range.end;
            }
            CHECK(expected_begin == bytes);
            CHECK(largest - smallest <= 1);
        }
    }
}

TEST_CASE("file_size_bytes and read_file_head", "[ratings_reader]") {
    const TempDir dir;
    const std::string path = dir.file("r.tsv");
    write_text(path, "1\t2\t3\n4\t5\t6\n");
    CHECK(distmf::file_size_bytes(path) == 12);
    CHECK(distmf::read_file_head(path, 5) == "1\t2\t3");
    CHECK(distmf::read_file_head(path, 1000) == "1\t2\t3\n4\t5\t6\n");

    const std::string missing = dir.file("missing.tsv");
    CHECK_THROWS_WITH(distmf::file_size_bytes(missing), Contains(missing));
    CHECK_THROWS_AS(distmf::read_file_head(missing, 10), InputError);
    CHECK_THROWS_WITH(distmf::file_size_bytes(dir.path()), Contains(dir.path()));
    RatingShard shard;
    CHECK_THROWS_WITH(distmf::read_rating_range(missing, tsv_layout(), {0, 10}, {}, shard),
                      Contains(missing));
}

TEST_CASE("reading P byte ranges gives the same ratings and line count for every P",
          "[ratings_reader]") {
    const TempDir dir;
    const std::string path = dir.file("ratings.csv");
    std::vector<ExternalRating> expected;
    const std::string text = csv_fixture(expected);
    write_text(path, text);
    const TextLayout layout = csv_layout("userId,movieId,rating,timestamp");

    const SimulatedRead serial = read_as_ranks(path, layout, 1);
    CHECK(serial.first_error_line == 0);
    CHECK(serial.lines == count_lines(text));
    CHECK(serial.ratings == expected);
    for (int n_ranks = 2; n_ranks <= 7; ++n_ranks) {
        INFO(n_ranks << " ranks");
        const SimulatedRead parallel = read_as_ranks(path, layout, n_ranks);
        CHECK(parallel.first_error_line == 0);
        CHECK(parallel.lines == serial.lines);
        CHECK(parallel.ratings == serial.ratings);
    }

    SECTION("with a hash split, every rating goes to the same side for every P") {
        const SplitRule rule{false, 0.3, 77};
        const SimulatedRead split = read_as_ranks(path, layout, 1, rule);
        const auto n_test = std::count_if(split.ratings.begin(), split.ratings.end(),
                                          [](const ExternalRating& r) { return r.test; });
        CHECK(n_test > 0);
        CHECK(n_test < static_cast<std::ptrdiff_t>(split.ratings.size()));
        for (const auto& r : split.ratings) {
            CHECK(r.test == distmf::is_test_pair(rule, r.user, r.item));
        }
        for (int n_ranks = 2; n_ranks <= 7; ++n_ranks) {
            INFO(n_ranks << " ranks");
            CHECK(read_as_ranks(path, layout, n_ranks, rule).ratings == split.ratings);
        }
    }
    SECTION("all_to_test sends everything to test") {
        const SimulatedRead all_test = read_as_ranks(path, layout, 3, SplitRule{true, 0.0, 1});
        CHECK(all_test.ratings.size() == expected.size());
        CHECK(std::all_of(all_test.ratings.begin(), all_test.ratings.end(),
                          [](const ExternalRating& r) { return r.test; }));
    }
}

TEST_CASE("a tiny file read by more ranks than it has bytes", "[ratings_reader]") {
    const TempDir dir;
    const std::string path = dir.file("tiny.tsv");
    SECTION("with a trailing line break") { write_text(path, "1\t2\t3\n\n4\t5\t6\n"); }
    SECTION("without a trailing line break") { write_text(path, "1\t2\t3\n\n4\t5\t6"); }
    SECTION("with CRLF") { write_text(path, "1\t2\t3\r\n\r\n4\t5\t6\r\n"); }
    const SimulatedRead serial = read_as_ranks(path, tsv_layout(), 1);
    REQUIRE(serial.ratings.size() == 2);
    CHECK(serial.lines == 3);
    const auto bytes = static_cast<int>(distmf::file_size_bytes(path));
    for (int n_ranks = 2; n_ranks <= bytes + 3; ++n_ranks) {
        INFO(n_ranks << " ranks");
        const SimulatedRead parallel = read_as_ranks(path, tsv_layout(), n_ranks);
        CHECK(parallel.lines == 3);
        CHECK(parallel.ratings == serial.ratings);
    }
}

TEST_CASE("a header is skipped only at the start of the file", "[ratings_reader]") {
    const TempDir dir;
    const std::string path = dir.file("h.tsv");
    std::string text;
    std::int64_t lines = 3;
    SECTION("on the first line") { text = "u\ti\tr\n1\t2\t3\n4\t5\t6\n"; }
    SECTION("after blank lines (as detect_layout finds it)") {
        text = "\n \r\nu\ti\tr\r\n1\t2\t3\r\n4\t5\t6\r\n";
        lines = 5;
    }
    write_text(path, text);
    const TextLayout layout = distmf::detect_layout(text, {}, path);
    REQUIRE(layout.header);
    REQUIRE(layout.header_line == "u\ti\tr");
    const auto bytes = static_cast<int>(text.size());
    for (int n_ranks = 1; n_ranks <= bytes + 2; ++n_ranks) {
        INFO(n_ranks << " ranks");
        const SimulatedRead read = read_as_ranks(path, layout, n_ranks);
        CHECK(read.first_error_reason == "");
        CHECK(read.lines == lines);
        CHECK(read.ratings.size() == 2);
    }
}

TEST_CASE("a malformed line is reported with its global line number for every P",
          "[ratings_reader]") {
    const TempDir dir;
    const std::string path = dir.file("bad.tsv");
    std::string text = "user\titem\trating\n";  // line 1
    for (int line = 2; line <= 60; ++line) {
        if (line == 20) {
            text += "\n";  // blank lines count
        } else if (line == 41) {
            text += "7\tseven\t3\n";  // the first malformed line
        } else if (line == 50) {
            text += "8\t8\n";  // a later one is not reported
        } else {
            text += std::to_string(line) + "\t" + std::to_string(line * 3) + "\t4.5\r\n";
        }
    }
    write_text(path, text);
    TextLayout layout = tsv_layout();
    layout.header = true;
    layout.header_line = "user\titem\trating";
    for (int n_ranks = 1; n_ranks <= 7; ++n_ranks) {
        INFO(n_ranks << " ranks");
        const SimulatedRead read = read_as_ranks(path, layout, n_ranks);
        CHECK(read.first_error_line == 41);
        CHECK_THAT(read.first_error_reason, Contains("item id 'seven' is not an integer"));
        CHECK(read.lines == 60);  // lines are counted to the end even after an error
    }

    RatingShard shard;
    const auto result =
        distmf::read_rating_range(path, layout, {0, distmf::file_size_bytes(path)}, {}, shard);
    REQUIRE(result.error);
    CHECK(result.error->line_in_range == 40);  // 0-based, the header is line 0
    CHECK(result.lines == 60);
    CHECK(shard.train.size() == 38);  // parsing stops at the error: lines 2..40 but blank 20
}

TEST_CASE("is_test_pair: the requested fraction, independent of order", "[ratings_reader]") {
    std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
    for (std::int64_t user = 0; user < 200; ++user) {
        for (std::int64_t item = 0; item < 500; ++item) {
            pairs.emplace_back(user * 1'000'003LL, item * 7 + 1'000'000'000'000LL);
        }
    }
    for (const double fraction : {0.05, 0.2, 0.5, 0.9}) {
        INFO("fraction " << fraction);
        const SplitRule rule{false, fraction, 2024};
        std::set<std::pair<std::int64_t, std::int64_t>> chosen;
        for (const auto& [user, item] : pairs) {
            if (distmf::is_test_pair(rule, user, item)) chosen.insert({user, item});
        }
        const double observed =
            static_cast<double>(chosen.size()) / static_cast<double>(pairs.size());
        CHECK(observed == Approx(fraction).margin(0.01));

        auto shuffled = pairs;
        std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(7));
        std::set<std::pair<std::int64_t, std::int64_t>> chosen_again;
        for (const auto& [user, item] : shuffled) {
            if (distmf::is_test_pair(rule, user, item)) chosen_again.insert({user, item});
        }
        CHECK(chosen_again == chosen);

        // another seed chooses another set of about the same size
        std::size_t overlap = 0;
        std::size_t other_size = 0;
        for (const auto& [user, item] : pairs) {
            if (distmf::is_test_pair({false, fraction, 2025}, user, item)) {
                ++other_size;
                overlap += chosen.count({user, item});
            }
        }
        CHECK(other_size != 0);
        CHECK(overlap < other_size);
    }
    CHECK_FALSE(distmf::is_test_pair({false, 0.0, 1}, 3, 4));
    CHECK_FALSE(distmf::is_test_pair({false, -1.0, 1}, 3, 4));
}
