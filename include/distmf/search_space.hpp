#pragma once
/// @file search_space.hpp
/// The search space of `distmf tune`: which hyper-parameters vary and over what values, read
/// from a space file, and the candidates drawn from it (random or grid).
///
/// A space file is INI text; `#` or `;` starts a comment anywhere in a line:
///
///     [model]
///     rank = 16, 32, 64                 # a list: candidates take one of these values
///     lambda = log-range(0.005, 0.5)    # log-uniform between the bounds (grid: log-spaced)
///     bias-lambda = range(0, 0.2)       # uniform (grid: evenly spaced)
///     algorithm = als                   # one value: fixed for every candidate
///     [bpmf]
///     alpha = range(1, 4)
///
/// Sections: [model] [train] [als] [ials] [dsgd] [bpmf], keys as in a config file. Not
/// searchable: [train] iterations (the search sets it: --tune.max-iterations and the halving
/// rungs), and [train] threads, factors, exchange-chunks and [model] init (they are not
/// hyper-parameters: set them in the base configuration). A range on an integer option
/// (such as rank) gives integers; ranges need a numeric option (lists serve enums and bools).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "distmf/config.hpp"

namespace distmf {

/// One searched option of a space file and the values it may take.
struct SearchDimension {
    /// How a dimension's values are chosen.
    enum class Kind {
        list,      ///< one of `values` (a single value: fixed for every candidate)
        range,     ///< uniform in [low, high]
        log_range  ///< log-uniform in [low, high], 0 < low
    };
    std::string option;               ///< as on the command line without dashes: "model.lambda"
    Kind kind = Kind::list;           ///< list, range or log-range
    std::vector<std::string> values;  ///< list: the values as written (no blanks around them)
    double low = 0;                   ///< range, log_range: the low bound, < high
    double high = 0;                  ///< range, log_range: the high bound
    bool integer = false;             ///< the option holds an integer: range values are rounded
    int line = 0;                     ///< 1-based line of the space file, for messages
};

/// A parsed space file.
struct SearchSpace {
    std::string path;                         ///< the space file, for messages
    std::vector<SearchDimension> dimensions;  ///< in file order
    /// The space normalized, one dimension a line in file order ("model.rank = 16, 32" or
    /// "model.lambda = log-range(0.005, 0.5)", bounds in their shortest exact text): the same
    /// for files that differ only in comments, blanks and how bounds are written; for
    /// fingerprints of a search's state.
    std::string canonical_text;
};

/// Local. Reads the space file `path` against `base` (a validated train Config); see
/// parse_search_space. Throws ConfigError naming the space file for a missing or unreadable
/// file ("cannot open space file 'PATH'"), a folder, and a file larger than 1 MiB.
SearchSpace read_search_space(const std::string& path, const Config& base);

/// Local. Parses space-file text (`path` names it in messages). Throws ConfigError
/// "space file 'PATH', line N: ..." (text from the file quoted with printable_text) for: a
/// line that is neither `[section]` nor `key = value`, a key before any [section], a section
/// other than the searchable ones, an unknown key (suggesting the searchable options with the
/// same key in another section or within two edits of it), an option that is not searchable
/// (above), a key given twice, an empty value or list element, a list value given twice, malformed
/// range syntax (any value with parentheses must be `range(LOW, HIGH)` or `log-range(LOW, HIGH)`,
/// finite numbers), low >= high, a log-range with low <= 0, a range on an option that is not
/// numeric, and a list value or range bound that the option cannot take. That last check reads
/// each value as the command line would (config_with_settings) and validates the train
/// configuration (config_validation.hpp) made of `base`, the file's fixed (one-value)
/// settings and that value; a conflict among the fixed settings themselves (unless about an
/// option searched over several values) is reported on the fixed line without which the
/// others are valid (or the first fixed line). Options not in the file keep base's values: for
/// BPMF, base's --train.iterations must exceed every --bpmf.burn-in. Combinations of two
/// multi-value dimensions are not checked: validate each candidate's configuration. A file
/// with no dimension at all is an error too.
SearchSpace parse_search_space(std::string_view text, const std::string& path, const Config& base);

/// Local. Candidate `candidate` (0-based) of a random search of `space` with `seed`: one
/// setting per dimension, in file order. Dimension d draws u in [0, 1) from its own stream,
/// u = unit_interval(hash_keys(seed, candidate, d)), so a candidate does not depend on how
/// many are drawn, nor on the other dimensions. With n values, a list takes value
/// floor(u n); a range low + u (high - low); a log-range exp(log low + u (log high - log low)).
/// Integer options round to the nearest integer (so the bounds come half as often as the
/// integers between them); floating values are written with "%.6g", clamped to the bounds
/// (the text is what training parses, so a candidate's run uses exactly that value).
std::vector<Setting> random_candidate(const SearchSpace& space, std::uint64_t seed,
                                      std::int64_t candidate);

/// Local. The grid of `space`: the Cartesian product of the dimensions' values, in file order
/// with the last dimension varying fastest. A list contributes its values; a range
/// `grid_points` values low + i (high - low) / (grid_points - 1), i = 0 .. grid_points - 1,
/// a log-range exp(log low + i (log high - log low) / (grid_points - 1)) (both bounds
/// included), written as random_candidate writes them; integer options round, and a value
/// equal to the one before it is dropped. Throws ConfigError naming the count when the grid
/// has more than `max_candidates` candidates, and when grid_points < 2.
std::vector<std::vector<Setting>> grid_candidates(const SearchSpace& space, int grid_points,
                                                  std::int64_t max_candidates);

/// Local. "model.rank=32 model.lambda=0.05" (for logs and the results table).
std::string describe_settings(const std::vector<Setting>& settings);

}  // namespace distmf
