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

/// Local. A value as text, numbers with up to 17 significant digits (enough for a double to
/// read back to the same bits); what option values and messages about them print.
template <class T>
std::string value_text(const T& value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}

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
