#include "distmf/log.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <system_error>

namespace distmf {
namespace {

void print_line(std::FILE* stream, std::string_view prefix, std::string_view line) {
    std::fprintf(stream, "%.*s%.*s\n", static_cast<int>(prefix.size()), prefix.data(),
                 static_cast<int>(line.size()), line.data());
    std::fflush(stream);
}

/// The shortest text that reads back to `value` (std::to_chars without a format does that).
template <class Float>
std::string shortest_text(Float value) {
    std::array<char, 64> buffer{};
    const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    if (error != std::errc()) return "?";  // cannot happen: 64 bytes hold any double
    return std::string(buffer.data(), end);
}

bool is_continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

/// The length of the well-formed, printable UTF-8 sequence at the start of `text` (whose
/// first byte is >= 0x80), or 0 if there is none: C1 controls (U+0080..U+009F) and U+FEFF
/// (a byte order mark, invisible) do not count as printable.
std::size_t printable_utf8_length(std::string_view text) {
    const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        if (lead == 0xC2) second_min = 0xA0;  // U+0080..U+009F: C1 controls
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) second_min = 0xA0;  // no overlong forms
        if (lead == 0xED) second_max = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) second_min = 0x90;
        if (lead == 0xF4) second_max = 0x8F;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (text.size() < length) return 0;
    if (byte(1) < second_min || byte(1) > second_max) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (!is_continuation(byte(i))) return 0;
    }
    if (text.substr(0, length) == "\xEF\xBB\xBF") return 0;
    return length;
}

}  // namespace

std::string value_text(double value) { return shortest_text(value); }

std::string value_text(float value) { return shortest_text(value); }

std::string printable_text(std::string_view text) {
    static constexpr char hex_digits[] = "0123456789ABCDEF";
    std::string printable;
    printable.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte >= 0x20 && byte < 0x7F) {
            printable += text[i++];
            continue;
        }
        if (byte >= 0x80) {
            if (const std::size_t length = printable_utf8_length(text.substr(i))) {
                printable.append(text.substr(i, length));
                i += length;
                continue;
            }
        }
        if (byte == '\t') {
            printable += "\\t";
        } else if (byte == '\n') {
            printable += "\\n";
        } else if (byte == '\r') {
            printable += "\\r";
        } else {
            printable += "\\x";
            printable += hex_digits[byte >> 4U];
            printable += hex_digits[byte & 0x0FU];
        }
        ++i;
    }
    return printable;
}

std::string format_text(const char* pattern, ...) {
    std::va_list arguments;
    va_start(arguments, pattern);
    std::va_list copy;
    va_copy(copy, arguments);
    const int length = std::vsnprintf(nullptr, 0, pattern, copy);
    va_end(copy);
    std::string text(static_cast<std::size_t>(std::max(length, 0)) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), pattern, arguments);
    va_end(arguments);
    text.pop_back();
    return text;
}

void Logger::info(std::string_view line) const {
    if (rank_ == 0 && !quiet_) print_line(stdout, "", line);
}

void Logger::warn(std::string_view line) const {
    if (rank_ == 0) print_line(stderr, "distmf: warning: ", line);
}

void Logger::warn_any_rank(std::string_view line) const {
    const std::string prefix = "[rank " + std::to_string(rank_) + "] distmf: warning: ";
    print_line(stderr, prefix, line);
}

}  // namespace distmf
