#include "distmf/log.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <limits>
#include <string>

using distmf::printable_text;
using distmf::value_text;

TEST_CASE("value_text prints a double in the shortest form that reads back exactly", "[log]") {
    CHECK(value_text(0.1) == "0.1");
    CHECK(value_text(0.05) == "0.05");
    CHECK(value_text(0.1 + 0.2) == "0.30000000000000004");
    CHECK(value_text(2.0) == "2");
    CHECK(value_text(-2.5) == "-2.5");
    CHECK(value_text(1e-7) == "1e-07");
    CHECK(value_text(0.0) == "0");
    CHECK(value_text(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(value_text(0.1F) == "0.1");  // a float's own shortest form, not the double's
    for (const double value :
         {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 123456.789,
          std::numeric_limits<double>::epsilon(), 0.1 + 0.2}) {
        const std::string text = value_text(value);
        INFO(text);
        CHECK(std::strtod(text.c_str(), nullptr) == value);
        CHECK(text.size() <= 24);
    }
    CHECK(value_text(7) == "7");  // other types print as << writes them
    CHECK(value_text(std::string("a b")) == "a b");
}

TEST_CASE("printable_text escapes what would not print as itself", "[log]") {
    CHECK(printable_text("plain text, [data] = 1.5 \\path") == "plain text, [data] = 1.5 \\path");
    CHECK(printable_text(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(printable_text("tab\there\nnew\rline") == "tab\\there\\nnew\\rline");
    CHECK(printable_text("\x1B[31m\x7F") == "\\x1B[31m\\x7F");
    CHECK(printable_text("données ✓ 🎉") == "données ✓ 🎉");         // well-formed UTF-8 stays
    CHECK(printable_text("\xFF\xFE") == "\\xFF\\xFE");             // malformed UTF-8
    CHECK(printable_text("\xC3") == "\\xC3");                      // a cut sequence
    CHECK(printable_text("\xC0\xAF") == "\\xC0\\xAF");             // an overlong '/'
    CHECK(printable_text("\xC2\x85") == "\\xC2\\x85");             // a C1 control (NEL)
    CHECK(printable_text("\xEF\xBB\xBFx") == "\\xEF\\xBB\\xBFx");  // an invisible BOM
    CHECK(printable_text("") == "");
}
