#pragma once
/// @file ratings_reader.hpp
/// Reading one rank's share of a ratings file: the lines whose first byte lies in the rank's
/// byte range, parsed into ratings with locally numbered users and items. Nobody reads the
/// whole file; ranks agree on line numbers afterwards (see dataset.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distmf/id_index.hpp"
#include "distmf/ratings_format.hpp"

namespace distmf {

/// A rating with users and items numbered by the reading rank's IdIndex (or, after mapping,
/// by the global dense index). 12 bytes; what travels between ranks during ingest.
struct LocalRating {
    std::int32_t user = 0;
    std::int32_t item = 0;
    float value = 0.0F;
};

/// Half-open byte range [begin, end) of a file.
struct ByteRange {
    std::int64_t begin = 0;
    std::int64_t end = 0;
};

/// Local. Rank `rank` of `n_ranks`'s nominal share of a file of `file_bytes` bytes:
/// [floor(bytes * rank / n), floor(bytes * (rank + 1) / n)), sizes within one byte of each
/// other, covering the file exactly.
ByteRange nominal_byte_range(std::int64_t file_bytes, int rank, int n_ranks);

/// Local. The size of a file in bytes; throws InputError "cannot open ..." naming the path.
std::int64_t file_size_bytes(const std::string& path);

/// Local. Up to `max_bytes` from the start of a file (for layout detection); throws InputError.
std::string read_file_head(const std::string& path, std::int64_t max_bytes);

/// What one rank parsed: its ratings with local user/item numbers (shared by the train and the
/// test file, so one mapping serves both) and where each rating goes.
struct RatingShard {
    IdIndex users;
    IdIndex items;
    std::vector<LocalRating> train;
    std::vector<LocalRating> test;
};

/// Where the ratings of a file go: all to test (a --data.test file), or to train except those
/// the hash split sends to test.
struct SplitRule {
    bool all_to_test = false;
    double test_fraction = 0.0;
    std::uint64_t seed = 0;
};

/// Local. True when the hash split sends (user, item) to the test set:
/// unit_interval(hash(seed, user, item)) < test_fraction. Identical for every rank count.
bool is_test_pair(const SplitRule& rule, std::int64_t user, std::int64_t item);

/// The first malformed line found in a rank's range, numbered from 0 within the range.
struct LineError {
    std::int64_t line_in_range = 0;
    std::string reason;
};

/// What reading a range produced besides the ratings.
struct RangeReadResult {
    std::int64_t lines = 0;          ///< lines that start in the range (all of them, even
                                     ///< after an error, so later ranks can number theirs)
    std::optional<LineError> error;  ///< first malformed line, if any
};

/// Local. Parses the lines of `path` that start in `range` (the header, when the layout has
/// one, is the line at layout.header_offset and is skipped) and appends their ratings to `shard`.
/// Stops parsing at the first malformed line but keeps counting lines. Throws InputError for
/// an I/O failure.
RangeReadResult read_rating_range(const std::string& path, const TextLayout& layout,
                                  ByteRange range, const SplitRule& rule, RatingShard& shard);

}  // namespace distmf
