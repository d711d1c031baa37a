#pragma once
/// @file tune_results.hpp
/// What a `distmf tune` search has learned, and the files that hold it:
///
/// - the search state, <dir>/search-state.txt: what a rerun needs to continue (the results of
///   every candidate and rung so far; the candidates' own checkpoints hold their factors).
///   Text, so that a user can read it:
///       distmf-tune-state 1
///       fingerprint <16 hex digits>      of the search's settings, space and data
///       result <one line of serialize_result> ...
///       checksum <16 hex digits>         hash_bytes of every byte before this line
///   A file whose first line or checksum is wrong is damaged (or not a search state), one of
///   another search (fingerprint) is refused: neither is ever deleted or overwritten.
/// - results.jsonl and results.csv: one row per candidate and rung (the settings, iterations,
///   the validation value, its status and seconds; the JSON rows also the learning curve).

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distmf/config.hpp"

namespace distmf {

/// One evaluation of a candidate: its validation value after `iteration` iterations.
struct CurvePoint {
    std::int64_t iteration = 0;
    double value = 0.0;
};

/// One candidate's training in one rung of one bracket.
struct CandidateResult {
    std::int64_t candidate = 0;
    int bracket = 0;
    int rung = 0;                     ///< index into the ladder (tune_schedule.hpp)
    std::int64_t iterations = 0;      ///< iterations trained when the rung ended
    std::int64_t best_iteration = 0;  ///< the evaluated iteration with the best value
    double value = std::numeric_limits<double>::quiet_NaN();  ///< the best validation value
    bool hopeless = false;          ///< stopped early: diverged or worse than the baseline
    double seconds = 0.0;           ///< wall seconds of this rung's training
    std::vector<CurvePoint> curve;  ///< every evaluation from iteration 1 on
    /// "trained" until its rung is decided, then "promoted", "stopped" (not promoted) or
    /// "hopeless"; the best candidate's last row says "best".
    std::string status = "trained";
};

/// Local. One line (no newline) that parse_result reads back exactly (values as %.17g).
std::string serialize_result(const CandidateResult& result);

/// Local. The result written by serialize_result; throws InputError (naming `where`) for a line
/// it cannot read.
CandidateResult parse_result(std::string_view line, const std::string& where);

/// Local. The text of a search-state file.
std::string search_state_text(std::uint64_t fingerprint, std::span<const CandidateResult> results);

/// Local. The results of a search-state file's text (read from `path`). Throws InputError naming
/// the path when it is not a search state or is damaged, and ConfigError when it belongs to a
/// search with another fingerprint (other settings, space or data).
std::vector<CandidateResult> parse_search_state(const std::string& text, const std::string& path,
                                                std::uint64_t fingerprint);

/// Local. results.jsonl: one JSON object a line, in the order of `results`. `settings` holds
/// every candidate's settings (indexed by candidate number); `metric` names the value.
std::string results_jsonl(std::span<const CandidateResult> results,
                          const std::vector<std::vector<Setting>>& settings,
                          const std::string& metric);

/// Local. results.csv: a header, then the rows of results_jsonl without the curve, one column
/// per option of the space (`options`, in its order).
std::string results_csv(std::span<const CandidateResult> results,
                        const std::vector<std::vector<Setting>>& settings,
                        const std::vector<std::string>& options, const std::string& metric);

}  // namespace distmf
