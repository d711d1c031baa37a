#include "distmf/ratings_format.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "distmf/error.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using distmf::DataConfig;
using distmf::DataFormat;
using distmf::HeaderMode;
using distmf::InputError;
using distmf::TextLayout;
using distmf::TextRating;

namespace {

const std::string path = "data/ratings.txt";

/// The message of the InputError detect_layout throws ("" if it does not throw).
std::string layout_error(const std::string& head, const DataConfig& options = {}) {
    try {
        distmf::detect_layout(head, options, path);
    } catch (const InputError& error) {
        return error.what();
    }
    return "";
}

/// The message of the InputError parse_rating_line throws ("" if it does not throw).
std::string line_error(const std::string& line, const TextLayout& layout) {
    TextRating rating;
    try {
        distmf::parse_rating_line(line, layout, rating);
    } catch (const InputError& error) {
        return error.what();
    }
    return "";
}

TextLayout tsv_layout(int fields) {
    TextLayout layout;
    layout.format = DataFormat::tsv;
    layout.delimiter = "\t";
    layout.fields = fields;
    return layout;
}

}  // namespace

TEST_CASE("detect_layout: MovieLens u.data (tab-separated, 4 fields, no header)",
          "[ratings_format]") {
    const auto layout =
        distmf::detect_layout("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", {}, path);
    CHECK(layout.format == DataFormat::tsv);
    CHECK(layout.delimiter == "\t");
    CHECK_FALSE(layout.header);
    CHECK(layout.header_line.empty());
    CHECK(layout.fields == 4);
    CHECK(distmf::describe_layout(layout) == "tab-separated, 4 fields");
}

TEST_CASE("detect_layout: ratings.csv with a header and CRLF line endings", "[ratings_format]") {
    const auto layout = distmf::detect_layout(
        "userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n1,1029,3.0,1260759179\r\n", {},
        path);
    CHECK(layout.format == DataFormat::csv);
    CHECK(layout.delimiter == ",");
    CHECK(layout.header);
    CHECK(layout.header_line == "userId,movieId,rating,timestamp");  // no '\r'
    CHECK(layout.header_offset == 0);
    CHECK(layout.fields == 4);
    CHECK(distmf::describe_layout(layout) == "comma-separated, 4 fields");
}

TEST_CASE("detect_layout: MovieLens ratings.dat with '::'", "[ratings_format]") {
    const auto layout =
        distmf::detect_layout("1::1193::5::978300760\n1::661::3::978302109\n", {}, path);
    CHECK(layout.format == DataFormat::movielens_dat);
    CHECK(layout.delimiter == "::");
    CHECK_FALSE(layout.header);
    CHECK(layout.fields == 4);
}

TEST_CASE("detect_layout: three fields, a truncated head and leading blank lines",
          "[ratings_format]") {
    CHECK(distmf::detect_layout("1,2,3.5\n4,5,1", {}, path).fields == 3);
    CHECK(distmf::detect_layout("1\t2\t3.5", {}, path).fields == 3);  // one line, no newline
    const auto layout = distmf::detect_layout("\n  \r\n7\t8\t4\n", {}, path);
    CHECK_FALSE(layout.header);
    CHECK(layout.fields == 3);
    const auto with_header = distmf::detect_layout("\n  \r\nu\ti\tr\r\n\n7\t8\t4\n", {}, path);
    CHECK(with_header.header);
    CHECK(with_header.header_line == "u\ti\tr");
    CHECK(with_header.header_offset == 5);  // after "\n" and "  \r\n"
    CHECK(with_header.fields == 3);
}

TEST_CASE("detect_layout: explicit options override detection", "[ratings_format]") {
    DataConfig options;
    SECTION("--data.format") {
        options.format = DataFormat::tsv;
        const auto layout = distmf::detect_layout("1\t2\t3\n", options, path);
        CHECK(layout.format == DataFormat::tsv);
        CHECK(layout.delimiter == "\t");
        options.format = DataFormat::csv;  // the format decides the separator, not the text
        options.header = HeaderMode::absent;
        CHECK_THAT(layout_error("1\t2\t3\n", options), Contains("found 1"));
    }
    SECTION("--data.delimiter by name and literally") {
        options.delimiter = "semicolon";
        const auto named = distmf::detect_layout("1;2;3.5;99\n", options, path);
        CHECK(named.delimiter == ";");
        CHECK(named.fields == 4);
        options.delimiter = "|";
        CHECK(distmf::detect_layout("1|2|3.5\n", options, path).delimiter == "|");
        options.delimiter = "space";
        CHECK(distmf::detect_layout("1 2 3.5\n", options, path).fields == 3);
        options.delimiter = "tab";
        CHECK(distmf::detect_layout("1\t2\t3.5\n", options, path).delimiter == "\t");
        options.delimiter = "comma";
        CHECK(distmf::detect_layout("1,2,3.5\n", options, path).delimiter == ",");
        options.delimiter = "pipe";
        CHECK(distmf::detect_layout("1|2|3.5\n", options, path).delimiter == "|");
    }
    SECTION("--data.header true takes a numeric first line as the header") {
        options.header = HeaderMode::present;
        const auto layout = distmf::detect_layout("1\t2\t3\n4\t5\t6\t7\n", options, path);
        CHECK(layout.header);
        CHECK(layout.header_line == "1\t2\t3");
        CHECK(layout.fields == 4);  // counted on the first data line
    }
    SECTION("--data.header false takes a non-numeric first line as data") {
        options.header = HeaderMode::absent;
        const auto layout = distmf::detect_layout("user\titem\trating\n1\t2\t3\n", options, path);
        CHECK_FALSE(layout.header);
        TextRating rating;
        CHECK_THROWS_AS(distmf::parse_rating_line("user\titem\trating", layout, rating),
                        InputError);
    }
    CHECK(distmf::delimiter_from_option("") == "");
    CHECK(distmf::delimiter_from_option("::") == "::");
}

TEST_CASE("detect_layout: empty and header-only files", "[ratings_format]") {
    const std::string empty = layout_error("");
    CHECK_THAT(empty, StartsWith(path + ": "));
    CHECK_THAT(empty, Contains("empty"));
    CHECK_THAT(layout_error("\n\r\n  \n"), Contains("empty"));  // blank lines only

    const std::string header_only = layout_error("user,item,rating\r\n");
    CHECK_THAT(header_only, StartsWith(path + ": "));
    CHECK_THAT(header_only, Contains("header but no ratings"));
}

TEST_CASE("detect_layout: the wrong number of fields names the file and line", "[ratings_format]") {
    const std::string two = layout_error("1\t2\n3\t4\n");
    CHECK_THAT(two, StartsWith(path + ":1: "));
    CHECK_THAT(two, Contains("found 2"));
    CHECK_THAT(two, Contains("tab"));
    const std::string five = layout_error("user,item,rating\n\n1,2,3,4,5\n");
    CHECK_THAT(five, StartsWith(path + ":3: "));  // header on line 1, blank line 2
    CHECK_THAT(five, Contains("more than 4"));
}

TEST_CASE("parse_rating_line: good lines", "[ratings_format]") {
    const TextLayout layout = tsv_layout(4);
    TextRating rating;
    REQUIRE(distmf::parse_rating_line("196\t242\t3\t881250949", layout, rating));
    CHECK(rating.user == 196);
    CHECK(rating.item == 242);
    CHECK(rating.rating == 3.0);

    REQUIRE(distmf::parse_rating_line("0\t9223372036854775807\t-1.5\t0\r", layout, rating));
    CHECK(rating.user == 0);
    CHECK(rating.item == 9223372036854775807LL);
    CHECK(rating.rating == -1.5);

    TextLayout csv;
    csv.format = DataFormat::csv;
    csv.delimiter = ",";
    csv.fields = 3;
    REQUIRE(distmf::parse_rating_line(" 12 , 34 ,4.5 \r", csv, rating));  // spaces around fields
    CHECK(rating.user == 12);
    CHECK(rating.item == 34);
    CHECK(rating.rating == 4.5);
    REQUIRE(distmf::parse_rating_line("1,2,1e-3", csv, rating));
    CHECK(rating.rating == 1e-3);

    TextLayout dat;
    dat.format = DataFormat::movielens_dat;
    dat.delimiter = "::";
    dat.fields = 4;
    REQUIRE(distmf::parse_rating_line("6040::1097::4::956715569\r", dat, rating));
    CHECK(rating.user == 6040);
    CHECK(rating.item == 1097);
    CHECK(rating.rating == 4.0);
}

TEST_CASE("parse_rating_line: blank lines are skipped", "[ratings_format]") {
    const TextLayout layout = tsv_layout(3);
    TextRating rating{1, 2, 3.0};
    CHECK_FALSE(distmf::parse_rating_line("", layout, rating));
    CHECK_FALSE(distmf::parse_rating_line("\r", layout, rating));
    CHECK_FALSE(distmf::parse_rating_line("  \t \r", layout, rating));
    CHECK(rating.user == 1);  // untouched
}

TEST_CASE("parse_rating_line: each kind of malformed line", "[ratings_format]") {
    TextLayout layout = tsv_layout(3);
    SECTION("wrong column count") {
        CHECK_THAT(line_error("1\t2", layout), Contains("expected 3 fields"));
        CHECK_THAT(line_error("1\t2", layout), Contains("found 2"));
        CHECK_THAT(line_error("1\t2\t3\t4", layout), Contains("found 4"));
        CHECK_THAT(line_error("1\t2\t3\t4\t5\t6", layout), Contains("more than 4"));
        layout.fields = 4;
        CHECK_THAT(line_error("1\t2\t3", layout), Contains("expected 4 fields"));
    }
    SECTION("non-numeric id") {
        CHECK_THAT(line_error("u1\t2\t3", layout), Contains("user id 'u1' is not an integer"));
        CHECK_THAT(line_error("1\t2.5\t3", layout), Contains("item id '2.5' is not an integer"));
        CHECK_THAT(line_error("\t2\t3", layout), Contains("user id '' is not an integer"));
        CHECK_THAT(line_error("+1\t2\t3", layout), Contains("user id"));
    }
    SECTION("a field's control bytes are quoted escaped, a NUL does not cut the message") {
        CHECK_THAT(line_error("1\x1B[2J\t2\t3", layout),
                   Contains("user id '1\\x1B[2J' is not an integer"));
        CHECK_THAT(line_error(std::string("1\t2\t4\0\x01", 7), layout),
                   Contains("rating '4\\x00\\x01' is not a number"));
    }
    SECTION("negative id") {
        CHECK_THAT(line_error("-1\t2\t3", layout), Contains("user id '-1' is negative"));
        CHECK_THAT(line_error("1\t-2\t3", layout), Contains("item id '-2' is negative"));
    }
    SECTION("id out of the 64-bit range") {
        CHECK_THAT(line_error("9223372036854775808\t2\t3", layout), Contains("out of range"));
        CHECK_THAT(line_error("1\t99999999999999999999\t3", layout),
                   Contains("item id '99999999999999999999' is out of range"));
    }
    SECTION("non-numeric rating") {
        CHECK_THAT(line_error("1\t2\tgood", layout), Contains("rating 'good' is not a number"));
        CHECK_THAT(line_error("1\t2\t3.5x", layout), Contains("is not a number"));
        CHECK_THAT(line_error("1\t2\t", layout), Contains("rating '' is not a number"));
    }
    SECTION("NaN and infinite ratings") {
        for (const char* value : {"nan", "NaN", "inf", "-inf", "infinity"}) {
            INFO(value);
            CHECK_THAT(line_error(std::string("1\t2\t") + value, layout), Contains("not finite"));
        }
        CHECK_THAT(line_error("1\t2\t1e999", layout), Contains("rating '1e999'"));
    }
    SECTION("a header line in the middle of the file") {
        layout.header = true;
        layout.header_line = "user\titem\trating";
        CHECK_THAT(line_error("user\titem\trating", layout), Contains("header"));
        CHECK_THAT(line_error("user\titem\trating\r", layout), Contains("header"));
    }
}

namespace {

/// What a parser made of one line: a rating, a blank line, or the error message.
struct LineOutcome {
    bool rating = false;
    TextRating value;
    std::string error;
};

template <class Parse>
LineOutcome outcome_of(Parse parse, const std::string& line, const TextLayout& layout) {
    LineOutcome outcome;
    try {
        outcome.rating = parse(line, layout, outcome.value);
    } catch (const InputError& error) {
        outcome.error = error.what();
    }
    return outcome;
}

}  // namespace

TEST_CASE("parse_rating_line (plain path first) agrees with the general parser on tricky lines",
          "[ratings_format]") {
    const std::vector<std::string> lines{"1\t2\t3",
                                         "1\t2\t3\r",
                                         "1\t2\t3 ",
                                         "1\t2\t3\t",
                                         " 1\t2\t3",
                                         "1 \t2\t3",
                                         "1\t 2\t3",
                                         "1\t2\t 3",
                                         "1\t2\t3.5\r\r",
                                         "1\t2\t-1.5",
                                         "1\t2\t-0",
                                         "1\t2\t+1",
                                         "1\t2\t.5",
                                         "1\t2\t5.",
                                         "1\t2\t-.5",
                                         "1\t2\t1e3",
                                         "1\t2\t1E-3",
                                         "1\t2\t0x10",
                                         "1\t2\t3.5x",
                                         "1\t2\t-",
                                         "1\t2\t",
                                         "1\t2\tinf",
                                         "1\t2\tnan",
                                         "1\t2\t1e999",
                                         "1\t2\t1e-999",
                                         "1\t2\t0.1",
                                         "1\t2\t0.3",
                                         "1\t2\t4.35",
                                         "1\t2\t123456789012345",
                                         "1\t2\t1234567890123456",
                                         "1\t2\t0.123456789012345",
                                         "1\t2\t0.1234567890123456",
                                         "1\t2\t000000000000001.5",
                                         "1\t2\t9007199254740993",
                                         "123456789012345678\t2\t3",
                                         "1234567890123456789\t2\t3",
                                         "9223372036854775807\t2\t3",
                                         "9223372036854775808\t2\t3",
                                         "00012\t0\t3",
                                         "-1\t2\t3",
                                         "1\t-2\t3",
                                         "+1\t2\t3",
                                         "",
                                         "\r",
                                         " \t ",
                                         "\t2\t3",
                                         "1\t\t3",
                                         "1\t2",
                                         "1\t2\t3\t4",
                                         "1\t2\t3\t4\t5",
                                         "1\t2\t3\t\t",
                                         "u\ti\tr",
                                         "user\titem\trating",
                                         "1,2,3",
                                         "1\t2\t3\x01",
                                         std::string("1\t2\t3\0", 6)};
    std::vector<TextLayout> layouts;
    for (const char* delimiter : {"\t", ",", "::", " ", "x"}) {  // "x": left to the general one
        for (const int fields : {2, 3, 4}) {
            layouts.emplace_back();
            layouts.back().delimiter = delimiter;
            layouts.back().fields = fields;
        }
    }
    layouts.emplace_back();
    layouts.back().header = true;
    layouts.back().header_line = "1\t2\t3";  // --data.header true on a numeric first line
    for (const TextLayout& layout : layouts) {
        for (std::string line : lines) {
            // The same line in this layout's separator, too.
            for (int pass = 0; pass < 2; ++pass) {
                if (pass == 1) {
                    std::string converted;
                    for (const char c : line) {
                        if (c == '\t') {
                            converted += layout.delimiter;
                        } else {
                            converted += c;
                        }
                    }
                    line = converted;
                }
                INFO("delimiter '" << layout.delimiter << "', " << layout.fields
                                   << " fields, line '" << line << "'");
                const LineOutcome fast = outcome_of(distmf::parse_rating_line, line, layout);
                const LineOutcome general =
                    outcome_of(distmf::parse_rating_line_general, line, layout);
                CHECK(fast.rating == general.rating);
                CHECK(fast.error == general.error);
                if (fast.rating && general.rating) {
                    CHECK(fast.value.user == general.value.user);
                    CHECK(fast.value.item == general.value.item);
                    // Bitwise: the same double (and so the same float) as from_chars gives.
                    CHECK(std::bit_cast<std::uint64_t>(fast.value.rating) ==
                          std::bit_cast<std::uint64_t>(general.value.rating));
                }
            }
        }
    }
}

TEST_CASE("parse_plain_rating_line: short decimals are exactly from_chars' values",
          "[ratings_format]") {
    // Every rating with up to 4 decimals in [-10, 10], and random 15-digit ones.
    const TextLayout layout = tsv_layout(3);
    std::mt19937_64 random(3);
    for (int n = -100000; n <= 100000; ++n) {
        char text[64];
        const int decimals = n % 5 < 0 ? -(n % 5) : n % 5;
        std::snprintf(text, sizeof text, "7\t8\t%.*f", decimals, static_cast<double>(n) * 1e-4);
        TextRating plain;
        TextRating general;
        REQUIRE(distmf::parse_plain_rating_line(text, layout, plain));
        REQUIRE(distmf::parse_rating_line_general(text, layout, general));
        if (std::bit_cast<std::uint64_t>(plain.rating) !=
            std::bit_cast<std::uint64_t>(general.rating)) {
            FAIL("line '" << text << "'");
        }
    }
    for (int n = 0; n < 100000; ++n) {
        const auto digits = static_cast<long long>(random() % 1000000000000000ULL);
        const int point = static_cast<int>(random() % 15);  // digits after the decimal point
        long long scale = 1;
        for (int p = 0; p < point; ++p) scale *= 10;
        char number[64];
        if (point == 0) {
            std::snprintf(number, sizeof number, "%lld", digits);
        } else {
            std::snprintf(number, sizeof number, "%lld.%0*lld", digits / scale, point,
                          digits % scale);
        }
        const std::string line = std::string("7\t8\t") + number;
        TextRating plain;
        TextRating general;
        REQUIRE(distmf::parse_rating_line(line, layout, plain));
        REQUIRE(distmf::parse_rating_line_general(line, layout, general));
        if (std::bit_cast<std::uint64_t>(plain.rating) !=
            std::bit_cast<std::uint64_t>(general.rating)) {
            FAIL("line '" << line << "'");
        }
    }
}
