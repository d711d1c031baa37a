#pragma once
/// @file ratings_format.hpp
/// The text layout of ratings files (separator, header, number of fields), its detection from
/// the first lines of a file, and the parsing of one line. Lines are
/// `user <sep> item <sep> rating [<sep> timestamp]` with LF or CRLF endings; users and items
/// are non-negative 64-bit integers, ratings finite numbers; timestamps are not used.

#include <cstdint>
#include <string>
#include <string_view>

#include "distmf/config.hpp"

namespace distmf {

/// How the lines of one ratings file are laid out.
struct TextLayout {
    DataFormat format = DataFormat::tsv;  ///< never `automatic` once resolved
    std::string delimiter = "\t";         ///< field separator
    bool header = false;                  ///< the first non-blank line is a header
    std::string header_line;              ///< the header's text (without line ending)
    std::int64_t header_offset = 0;       ///< byte offset of the header line in the file
    int fields = 3;                       ///< 3 (user item rating) or 4 (+ timestamp)
};

/// One rating as written in the file: external IDs and the value.
struct TextRating {
    std::int64_t user = 0;
    std::int64_t item = 0;
    double rating = 0.0;
};

/// Local. The separator named by --data.delimiter ("tab", "comma", "space", "semicolon",
/// "pipe", or a literal string), or "" when it is empty.
std::string delimiter_from_option(const std::string& option);

/// Local. Resolves the layout of a file from its first bytes (`head`, at least its first two
/// lines when the file has them) and the [data] options. Throws InputError "<path>:<line>: ..."
/// when the first data line does not fit any layout, or "<path>: ..." when the file is empty.
/// With min_fields = 2 (files of pairs: `distmf predict --pairs`, `recommend --fold-in`),
/// `user item` lines are accepted too; their value is 1 (one interaction).
TextLayout detect_layout(std::string_view head, const DataConfig& options, const std::string& path,
                         int min_fields = 3);

/// Local. A short description of a layout for messages, e.g. "tab-separated, 4 fields".
std::string describe_layout(const TextLayout& layout);

/// Local. Parses one line (without its line ending; a trailing '\r' is ignored). Returns false
/// for a blank line, true with `out` filled for a rating. Throws InputError with the reason
/// (no file or line prefix: the caller adds them) for a malformed line. Tries
/// parse_plain_rating_line first and falls back to parse_rating_line_general, so it accepts
/// exactly what the general parser accepts, with the same values and the same errors.
bool parse_rating_line(std::string_view line, const TextLayout& layout, TextRating& out);

/// Local. The fast path of parse_rating_line, for the lines almost every file consists of:
/// `digits <sep> digits <sep> number [<sep> timestamp]` with no padding, IDs of at most 18
/// digits, a finite number (std::from_chars, no locale) and an optional '\r'. Returns true
/// with `out` filled for such a line; false (leaving `out` alone) for anything else -- a
/// blank line, padding, a sign, a long ID, a header, an error, a separator it does not
/// handle -- which parse_rating_line_general then decides. It never accepts a line the
/// general parser rejects, and where both accept they give the same rating.
bool parse_plain_rating_line(std::string_view line, const TextLayout& layout, TextRating& out);

/// Local. The general parser: splits the line at the separator, trims spaces and tabs around
/// every field and checks each one, naming the reason of a malformed line (see
/// parse_rating_line).
bool parse_rating_line_general(std::string_view line, const TextLayout& layout, TextRating& out);

}  // namespace distmf
