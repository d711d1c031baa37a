#include "distmf/log.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace distmf {
namespace {

void print_line(std::FILE* stream, std::string_view prefix, std::string_view line) {
    std::fprintf(stream, "%.*s%.*s\n", static_cast<int>(prefix.size()), prefix.data(),
                 static_cast<int>(line.size()), line.data());
    std::fflush(stream);
}

}  // namespace

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
