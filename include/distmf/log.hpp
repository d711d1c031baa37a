#pragma once
/// @file log.hpp
/// Rank-aware logging: progress goes to stdout from rank 0 only; warnings go to stderr, from
/// rank 0 by default or from every rank when a message is rank-specific.

#include <sstream>
#include <string>
#include <string_view>

namespace distmf {

/// Local. printf-style formatting into a std::string (for log lines and messages).
std::string format_text(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

/// Local. A value as text: what option values and messages about them print. Integers,
/// strings and enums as `<<` writes them; floating-point numbers by the overloads below.
template <class T>
std::string value_text(const T& value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

/// Local. The shortest text that reads back (strtod, `--config`) to exactly `value`:
/// 0.1 as "0.1" (not "0.10000000000000001"), 1e-07 as "1e-07", "inf", "nan".
std::string value_text(double value);
/// Local. As for double, the shortest text that reads back to the same float.
std::string value_text(float value);

/// Local. `text` as one printable line, for a message that quotes a value or file content:
/// printable ASCII and well-formed UTF-8 stay as they are (a backslash too); a tab, a line
/// feed and a carriage return become \t, \n and \r; every other byte that would not print
/// as itself (NUL, control characters, DEL, C1 controls, malformed UTF-8) becomes \xHH.
std::string printable_text(std::string_view text);

/// Prints messages on behalf of one MPI rank. Cheap to copy; holds no communicator.
class Logger {
  public:
    /// @param rank this process's rank, @param quiet suppress info() lines.
    explicit Logger(int rank, bool quiet = false) : rank_(rank), quiet_(quiet) {}

    /// Local. Prints one line to stdout on rank 0 (and flushes, so progress shows under mpirun).
    void info(std::string_view line) const;
    /// Local. Prints "distmf: warning: <line>" to stderr on rank 0.
    void warn(std::string_view line) const;
    /// Local. Prints "[rank r] distmf: warning: <line>" to stderr on whichever rank calls it.
    void warn_any_rank(std::string_view line) const;
    /// This logger's rank.
    int rank() const noexcept { return rank_; }

  private:
    int rank_;
    bool quiet_;
};

}  // namespace distmf
