#include "distmf/ratings_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "distmf/error.hpp"
#include "distmf/log.hpp"

namespace distmf {
namespace {

constexpr int max_fields = 4;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

std::string_view without_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

/// Splits `line` at `delimiter` into at most max_fields + 1 fields; returns the count
/// (max_fields + 1 means "too many").
int split_fields(std::string_view line, std::string_view delimiter,
                 std::array<std::string_view, max_fields + 1>& fields) {
    int count = 0;
    while (true) {
        const std::size_t at =
            delimiter.size() == 1 ? line.find(delimiter.front()) : line.find(delimiter);
        if (count == max_fields || at == std::string_view::npos) {
            fields[static_cast<std::size_t>(count++)] = line;
            return count;
        }
        fields[static_cast<std::size_t>(count++)] = line.substr(0, at);
        line.remove_prefix(at + delimiter.size());
    }
}

std::int64_t parse_id(std::string_view field, const char* what) {
    field = trim(field);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error == std::errc::result_out_of_range) {
        throw InputError(std::string(what) + " id '" + printable_text(field) +
                         "' is out of range (64-bit integers)");
    }
    if (error != std::errc() || end != field.data() + field.size() || field.empty()) {
        throw InputError(std::string(what) + " id '" + printable_text(field) +
                         "' is not an integer");
    }
    if (value < 0) {
        throw InputError(std::string(what) + " id '" + printable_text(field) + "' is negative");
    }
    return value;
}

double parse_rating(std::string_view field) {
    field = trim(field);
    double value = 0.0;
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error != std::errc() || end != field.data() + field.size() || field.empty()) {
        throw InputError("rating '" + printable_text(field) + "' is not a number");
    }
    if (!std::isfinite(value)) {
        throw InputError("rating '" + printable_text(field) + "' is not finite");
    }
    return value;
}

/// True when the plain parser may handle lines with this separator: one or two printable
/// bytes (or a tab), none of which can be part of a number or an ID (digits, letters, signs,
/// the decimal point). Then the first separator after a run of digits or a number is
/// split_fields' first separator too.
bool is_plain_delimiter(std::string_view delimiter) {
    if (delimiter.empty() || delimiter.size() > 2) return false;
    return std::all_of(delimiter.begin(), delimiter.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        const bool printable_or_tab = (byte >= 0x20 && byte < 0x7F) || c == '\t';
        return printable_or_tab && std::isalnum(byte) == 0 && c != '+' && c != '-' && c != '.';
    });
}

/// The 1 to 18 decimal digits of an ID at `position` (18 digits cannot overflow 64 bits);
/// the position after them, or nullptr (also for a nullptr `position`) when there are none,
/// more than 18 or a sign: the general parser decides those.
const char* scan_plain_id(const char* position, const char* end, std::int64_t& out) {
    if (position == nullptr) return nullptr;
    const char* const start = position;
    // Unsigned: a longer run of digits wraps (defined) instead of overflowing, and is refused.
    std::uint64_t value = 0;
    while (position != end && static_cast<unsigned char>(*position - '0') < 10U) {
        value = value * 10U + static_cast<unsigned char>(*position - '0');
        ++position;
    }
    if (position == start || position - start > 18) return nullptr;
    out = static_cast<std::int64_t>(value);
    return position;
}

/// The position after `delimiter` (one or two bytes) at `position`, or nullptr (also for a
/// nullptr `position`).
const char* skip_delimiter(const char* position, const char* end, std::string_view delimiter) {
    if (position == nullptr || static_cast<std::size_t>(end - position) < delimiter.size() ||
        position[0] != delimiter[0] || (delimiter.size() == 2 && position[1] != delimiter[1])) {
        return nullptr;
    }
    return position + delimiter.size();
}

/// A rating written as `[-]digits[.digits]` with at most 15 digits in all: then the digits
/// as an integer m < 10^15 < 2^53 and 10^f (f <= 15 < 22) are exact doubles, and m / 10^f is
/// one correctly rounded division -- the value std::from_chars gives (Clinger's fast path).
/// Returns the position after the number, or nullptr when the text is not of this form (the
/// caller then asks std::from_chars).
const char* scan_short_decimal(const char* position, const char* end, double& out) {
    static constexpr std::array<double, 16> powers_of_ten{
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const bool negative = position != end && *position == '-';
    if (negative) ++position;
    std::uint64_t digits = 0;  // unsigned: more than 19 digits wrap (defined), then refused
    int count = 0;
    int fraction = 0;
    const char* const integer_start = position;
    while (position != end && static_cast<unsigned char>(*position - '0') < 10U) {
        digits = digits * 10U + static_cast<unsigned char>(*position++ - '0');
        ++count;
    }
    if (position == integer_start) return nullptr;  // ".5" and "-.5": from_chars decides
    if (position != end && *position == '.') {
        ++position;
        const char* const fraction_start = position;
        while (position != end && static_cast<unsigned char>(*position - '0') < 10U) {
            digits = digits * 10U + static_cast<unsigned char>(*position++ - '0');
            ++count;
        }
        fraction = static_cast<int>(position - fraction_start);
        if (fraction == 0) return nullptr;  // "5.": from_chars decides
    }
    if (count > 15) return nullptr;
    if (position != end && (*position == 'e' || *position == 'E')) return nullptr;
    const double value =
        static_cast<double>(digits) / powers_of_ten[static_cast<std::size_t>(fraction)];
    out = negative ? -value : value;
    return position;
}

/// The number at `position` as std::from_chars reads it (general format, no locale): the short
/// decimal path when it applies, else from_chars itself. nullptr when there is no finite
/// number there.
const char* scan_plain_rating(const char* position, const char* end, double& out) {
    if (position == nullptr) return nullptr;
    if (const char* after = scan_short_decimal(position, end, out)) return after;
    const auto [after, error] = std::from_chars(position, end, out);
    if (error != std::errc() || !std::isfinite(out)) return nullptr;
    return after;
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

bool starts_with_integer(std::string_view line, std::string_view delimiter) {
    std::array<std::string_view, max_fields + 1> fields;
    split_fields(line, delimiter, fields);
    const std::string_view first = trim(fields[0]);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), value);
    return error == std::errc() && end == first.data() + first.size() && !first.empty();
}

/// The format whose separator appears in `line`: "::" first, then tab, comma, space.
DataFormat guess_format(std::string_view line) {
    if (line.find("::") != std::string_view::npos) return DataFormat::movielens_dat;
    if (line.find('\t') != std::string_view::npos) return DataFormat::tsv;
    return DataFormat::csv;
}

std::string delimiter_of(DataFormat format) {
    switch (format) {
        case DataFormat::movielens_dat:
            return "::";
        case DataFormat::csv:
            return ",";
        case DataFormat::tsv:
        case DataFormat::automatic:
            break;
    }
    return "\t";
}

std::string delimiter_name(const std::string& delimiter) {
    if (delimiter == "\t") return "tab";
    if (delimiter == ",") return "comma";
    if (delimiter == " ") return "space";
    return "'" + delimiter + "'";
}

}  // namespace

std::string delimiter_from_option(const std::string& option) {
    if (option == "tab") return "\t";
    if (option == "comma") return ",";
    if (option == "space") return " ";
    if (option == "semicolon") return ";";
    if (option == "pipe") return "|";
    return option;
}

TextLayout detect_layout(std::string_view head, const DataConfig& options, const std::string& path,
                         int min_fields) {
    // Collect the first two non-blank lines with their line numbers and byte offsets.
    std::array<std::string_view, 2> lines;
    std::array<std::int64_t, 2> line_numbers{};
    std::array<std::int64_t, 2> line_offsets{};
    int found = 0;
    std::int64_t line_number = 0;
    std::int64_t offset = 0;
    while (!head.empty() && found < 2) {
        const std::size_t end = head.find('\n');
        const std::string_view line = without_cr(head.substr(0, end));
        ++line_number;
        if (!is_blank(line)) {
            lines[static_cast<std::size_t>(found)] = line;
            line_numbers[static_cast<std::size_t>(found)] = line_number;
            line_offsets[static_cast<std::size_t>(found)] = offset;
            ++found;
        }
        if (end == std::string_view::npos) break;
        head.remove_prefix(end + 1);
        offset += static_cast<std::int64_t>(end) + 1;
    }
    if (found == 0) throw InputError(path + ": the file is empty (no ratings)");

    TextLayout layout;
    layout.format =
        options.format == DataFormat::automatic ? guess_format(lines[0]) : options.format;
    const std::string chosen = delimiter_from_option(options.delimiter);
    layout.delimiter = chosen.empty() ? delimiter_of(layout.format) : chosen;
    switch (options.header) {
        case HeaderMode::present:
            layout.header = true;
            break;
        case HeaderMode::absent:
            layout.header = false;
            break;
        case HeaderMode::automatic:
            layout.header = !starts_with_integer(lines[0], layout.delimiter);
            break;
    }
    if (layout.header) {
        layout.header_line = std::string(lines[0]);
        layout.header_offset = line_offsets[0];
    }
    const int data_line = layout.header ? 1 : 0;
    if (data_line >= found) throw InputError(path + ": the file has a header but no ratings");

    std::array<std::string_view, max_fields + 1> fields;
    layout.fields =
        split_fields(lines[static_cast<std::size_t>(data_line)], layout.delimiter, fields);
    if (layout.fields < min_fields || layout.fields > max_fields) {
        throw InputError(
            path + ":" + std::to_string(line_numbers[static_cast<std::size_t>(data_line)]) +
            (min_fields == 2 ? ": expected 2 to 4 fields (user, item[, value[, timestamp]]) "
                             : ": expected 3 or 4 fields (user, item, rating[, timestamp]) ") +
            "separated by " + delimiter_name(layout.delimiter) + ", found " +
            (layout.fields > max_fields ? "more than 4" : std::to_string(layout.fields)));
    }
    return layout;
}

std::string describe_layout(const TextLayout& layout) {
    return delimiter_name(layout.delimiter) + "-separated, " + std::to_string(layout.fields) +
           " fields";
}

bool parse_rating_line(std::string_view line, const TextLayout& layout, TextRating& out) {
    return parse_plain_rating_line(line, layout, out) ||
           parse_rating_line_general(line, layout, out);
}

bool parse_plain_rating_line(std::string_view line, const TextLayout& layout, TextRating& out) {
    const std::string_view delimiter = layout.delimiter;
    if (!is_plain_delimiter(delimiter)) return false;
    line = without_cr(line);
    if (layout.header && line.size() == layout.header_line.size() && line == layout.header_line) {
        return false;  // the general parser reports it
    }
    const char* position = line.data();
    const char* const end = position + line.size();
    TextRating parsed;
    position = scan_plain_id(position, end, parsed.user);
    position = skip_delimiter(position, end, delimiter);
    position = scan_plain_id(position, end, parsed.item);
    if (position == nullptr) return false;
    if (layout.fields == 2) {
        if (position != end) return false;
        parsed.rating = 1.0;
    } else {
        position = scan_plain_rating(skip_delimiter(position, end, delimiter), end, parsed.rating);
        if (position == nullptr) return false;
        if (layout.fields == 4) {
            // The timestamp is the rest of the line, never parsed; another separator in it
            // would make a fifth field.
            position = skip_delimiter(position, end, delimiter);
            if (position == nullptr ||
                std::string_view(position, static_cast<std::size_t>(end - position))
                        .find(delimiter) != std::string_view::npos) {
                return false;
            }
        } else if (position != end) {
            return false;
        }
    }
    out = parsed;
    return true;
}

bool parse_rating_line_general(std::string_view line, const TextLayout& layout, TextRating& out) {
    line = without_cr(line);
    if (is_blank(line)) return false;
    if (layout.header && line == layout.header_line) {
        throw InputError("a header line in the middle of the file");
    }
    std::array<std::string_view, max_fields + 1> fields;
    const int count = split_fields(line, layout.delimiter, fields);
    if (count != layout.fields) {
        throw InputError("expected " + std::to_string(layout.fields) + " fields separated by " +
                         delimiter_name(layout.delimiter) + ", found " +
                         (count > max_fields ? "more than 4" : std::to_string(count)));
    }
    out.user = parse_id(fields[0], "user");
    out.item = parse_id(fields[1], "item");
    out.rating = count == 2 ? 1.0 : parse_rating(fields[2]);
    return true;
}

}  // namespace distmf
