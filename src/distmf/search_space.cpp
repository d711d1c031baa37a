#include "distmf/search_space.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/log.hpp"

namespace distmf {
namespace {

constexpr std::array<std::string_view, 6> searchable_sections{"model", "train", "als",
                                                              "ials",  "dsgd",  "bpmf"};

/// An option of a searchable section that a space file may not set, and why.
struct UnsearchableOption {
    std::string_view option;
    std::string_view reason;
};

constexpr std::string_view not_a_hyper_parameter =
    "is not a hyper-parameter (it changes the speed, not the model): set it in the base "
    "configuration";

constexpr std::array<UnsearchableOption, 5> unsearchable_options{{
    {"train.iterations",
     "is set by the search (--tune.max-iterations and the halving rungs), not by the space"},
    {"train.threads", not_a_hyper_parameter},
    {"train.factors", not_a_hyper_parameter},
    {"train.exchange-chunks", not_a_hyper_parameter},
    {"model.init",
     "is not a hyper-parameter (a model file to start from): set it in the base "
     "configuration"},
}};

/// "space file 'PATH'" or "space file 'PATH', line N", for messages.
std::string space_location(const std::string& path, int line = 0) {
    std::string location = "space file '" + printable_text(path) + "'";
    if (line > 0) location += ", line " + std::to_string(line);
    return location;
}

/// `text` in quotes for a message: escaped, and cut after 80 bytes (a binary file has long
/// lines).
std::string quoted_text(std::string_view text) {
    constexpr std::size_t quoted_bytes = 80;
    if (text.size() <= quoted_bytes) return "'" + printable_text(text) + "'";
    return "'" + printable_text(text.substr(0, quoted_bytes)) + "'...";
}

/// "[section] key" for messages.
std::string spelling(std::string_view option) {
    const std::size_t dot = option.find('.');
    return "[" + std::string(option.substr(0, dot)) + "] " + std::string(option.substr(dot + 1));
}

/// `text` without blanks at either end.
std::string_view trim_blanks(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

/// The number of single-byte insertions, deletions and substitutions from `a` to `b`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j < row.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
        }
    }
    return row.back();
}

/// Whether a space file may set `option` (an option of `distmf train`, such as "model.rank").
bool is_searchable(const std::string& option) {
    const std::string section = option.substr(0, option.find('.'));
    return std::find(searchable_sections.begin(), searchable_sections.end(), section) !=
               searchable_sections.end() &&
           std::none_of(unsearchable_options.begin(), unsearchable_options.end(),
                        [&](const UnsearchableOption& unsearchable) {
                            return unsearchable.option == option;
                        });
}

/// What to say after "unknown option": the searchable options with the same key in another
/// section or within two edits of `option` ("; did you mean [model] lambda?").
std::string suggestion(const std::string& option) {
    const std::string key = option.substr(option.find('.') + 1);
    std::string text;
    for (const std::string& name : option_names(Command::train)) {
        if (!is_searchable(name)) continue;
        if (name.substr(name.find('.') + 1) == key ||
            (option.size() < 100 && edit_distance(option, name) <= 2)) {
            text += (text.empty() ? "" : " or ") + spelling(name);
        }
    }
    return text.empty() ? text : "; did you mean " + text + "?";
}

/// Throws ConfigError (at `where`) unless `option` is an option a space file may set.
void check_searchable(const std::string& option, const std::string& where) {
    if (option_kind(option, Command::train) == OptionKind::unknown) {
        throw ConfigError(where + ": unknown option " + quoted_text(spelling(option)) +
                          printable_text(suggestion(option)));
    }
    for (const UnsearchableOption& unsearchable : unsearchable_options) {
        if (unsearchable.option == option) {
            throw ConfigError(where + ": " + spelling(option) + " " +
                              std::string(unsearchable.reason));
        }
    }
}

/// Throws ConfigError (at `where`) unless `section` is a searchable section.
void check_section(std::string_view section, const std::string& where) {
    if (std::find(searchable_sections.begin(), searchable_sections.end(), section) !=
        searchable_sections.end()) {
        return;
    }
    throw ConfigError(where + ": section " + quoted_text("[" + std::string(section) + "]") +
                      " cannot be searched; a space file has [model] [train] [als] [ials] "
                      "[dsgd] [bpmf]");
}

/// The finite number that is all of `text`, if it is one.
std::optional<double> parse_number(std::string_view text) {
    double number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(number)) {
        return std::nullopt;
    }
    return number;
}

/// Fills `dimension`'s kind and bounds from `range(LOW, HIGH)` or `log-range(LOW, HIGH)`.
void parse_range(std::string_view value, SearchDimension& dimension, const std::string& where) {
    const auto malformed = [&](const std::string& why) {
        return ConfigError(where + ": " + why + " in " + quoted_text(value) +
                           "; expected range(LOW, HIGH) or log-range(LOW, HIGH)");
    };
    const std::size_t open = value.find('(');
    const std::string_view name = trim_blanks(value.substr(0, open));
    if (name != "range" && name != "log-range") {
        throw malformed(quoted_text(name) + " is not range or log-range");
    }
    if (open == std::string_view::npos || value.back() != ')') throw malformed("malformed range");
    if (!dimension.integer &&
        option_kind(dimension.option, Command::train) != OptionKind::floating) {
        throw ConfigError(where + ": " + spelling(dimension.option) +
                          " is not a number: list its values instead of a range");
    }
    const std::string_view inside = value.substr(open + 1, value.size() - open - 2);
    const std::size_t comma = inside.find(',');
    const std::optional<double> low = parse_number(trim_blanks(inside.substr(0, comma)));
    const std::optional<double> high = comma == std::string_view::npos
                                           ? std::nullopt
                                           : parse_number(trim_blanks(inside.substr(comma + 1)));
    if (!low || !high) throw malformed("the bounds must be two finite numbers");
    dimension.kind =
        name == "range" ? SearchDimension::Kind::range : SearchDimension::Kind::log_range;
    dimension.low = *low;
    dimension.high = *high;
    if (!(dimension.low < dimension.high)) {
        throw ConfigError(where + ": the low bound must be below the high bound in " +
                          quoted_text(value));
    }
    if (dimension.kind == SearchDimension::Kind::log_range && !(dimension.low > 0)) {
        throw ConfigError(where + ": a log-range needs bounds > 0 in " + quoted_text(value));
    }
    if (dimension.integer && (std::floor(dimension.low) != dimension.low ||
                              std::floor(dimension.high) != dimension.high)) {
        throw ConfigError(where + ": " + spelling(dimension.option) +
                          " holds integers: the bounds must be integers in " + quoted_text(value));
    }
}

/// Fills `dimension`'s values from a comma-separated list.
void parse_list(std::string_view value, SearchDimension& dimension, const std::string& where) {
    dimension.kind = SearchDimension::Kind::list;
    while (true) {
        const std::size_t comma = value.find(',');
        const std::string element(trim_blanks(value.substr(0, comma)));
        if (element.empty()) throw ConfigError(where + ": empty value in the list");
        if (std::find(dimension.values.begin(), dimension.values.end(), element) !=
            dimension.values.end()) {
            throw ConfigError(where + ": " + quoted_text(element) + " is listed twice");
        }
        dimension.values.push_back(element);
        if (comma == std::string_view::npos) return;
        value.remove_prefix(comma + 1);
    }
}

/// One `key = value` line of a space file as a dimension.
SearchDimension parse_line(std::string_view line, const std::string& section, int line_number,
                           const std::string& where) {
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
        throw ConfigError(where + ": expected '[section]' or 'key = value', got " +
                          quoted_text(line));
    }
    const std::string_view key = trim_blanks(line.substr(0, equals));
    if (key.empty()) throw ConfigError(where + ": no key before '=' in " + quoted_text(line));
    if (section.empty()) {
        throw ConfigError(where + ": key " + quoted_text(key) +
                          " before any [section]; a space file has [model] [train] [als] "
                          "[ials] [dsgd] [bpmf]");
    }
    SearchDimension dimension;
    dimension.option = section + "." + std::string(key);
    dimension.line = line_number;
    check_searchable(dimension.option, where);
    dimension.integer = option_kind(dimension.option, Command::train) == OptionKind::integer;
    const std::string_view value = trim_blanks(line.substr(equals + 1));
    if (value.empty()) throw ConfigError(where + ": " + spelling(dimension.option) + " is empty");
    if (value.find_first_of("()") != std::string_view::npos) {
        parse_range(value, dimension, where);
    } else {
        parse_list(value, dimension, where);
    }
    return dimension;
}

/// The texts a dimension's values are checked as: its list values, or its range's bounds.
std::vector<std::string> value_texts(const SearchDimension& dimension) {
    if (dimension.kind == SearchDimension::Kind::list) return dimension.values;
    if (dimension.integer) {
        return {format_text("%.0f", dimension.low), format_text("%.0f", dimension.high)};
    }
    return {value_text(dimension.low), value_text(dimension.high)};
}

/// Whether every candidate takes the same value of `dimension` (a list of one value).
bool is_fixed(const SearchDimension& dimension) {
    return dimension.kind == SearchDimension::Kind::list && dimension.values.size() == 1;
}

/// The message of the ConfigError that reading or validating base + settings throws, if any.
std::optional<std::string> settings_error(const Config& base,
                                          const std::vector<Setting>& settings) {
    try {
        validate(config_with_settings(base, settings, Command::train), Command::train);
    } catch (const ConfigError& error) {
        return std::string(error.what());
    }
    return std::nullopt;
}

/// Whether the validation error `message` ("--bpmf.burn-in: must be ...") is about an option
/// that the space searches over several values (each of which is checked on its own).
bool names_searched_option(const std::string& message, const SearchSpace& space) {
    return std::any_of(
        space.dimensions.begin(), space.dimensions.end(), [&](const auto& dimension) {
            return !is_fixed(dimension) && message.rfind("--" + dimension.option + ":", 0) == 0;
        });
}

/// The line to blame for a conflict among the fixed settings: the first one without which the
/// others are valid, or else the first.
int conflicting_fixed_line(const Config& base, const std::vector<Setting>& fixed,
                           const std::vector<int>& lines) {
    for (std::size_t i = 0; i < fixed.size(); ++i) {
        std::vector<Setting> others = fixed;
        others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));
        if (!settings_error(base, others)) return lines[i];
    }
    return lines.front();
}

/// Throws ConfigError (at the line concerned) unless every value of every dimension reads and
/// validates on top of `base` and the fixed settings (see parse_search_space).
void check_values(const SearchSpace& space, const Config& base) {
    for (const SearchDimension& dimension : space.dimensions) {  // each value reads alone
        for (const std::string& value : value_texts(dimension)) {
            try {
                config_with_settings(base, {{dimension.option, value}}, Command::train);
            } catch (const ConfigError& error) {
                throw ConfigError(space_location(space.path, dimension.line) + ": " + error.what());
            }
        }
    }
    std::vector<Setting> fixed;
    std::vector<int> fixed_lines;
    for (const SearchDimension& dimension : space.dimensions) {
        if (!is_fixed(dimension)) continue;
        fixed.push_back({dimension.option, dimension.values.front()});
        fixed_lines.push_back(dimension.line);
    }
    if (const auto error = settings_error(base, fixed);
        error && !names_searched_option(*error, space)) {
        const int line = conflicting_fixed_line(base, fixed, fixed_lines);
        throw ConfigError(space_location(space.path, line) + ": " + *error);
    }
    for (const SearchDimension& dimension : space.dimensions) {
        if (is_fixed(dimension)) continue;
        for (const std::string& value : value_texts(dimension)) {
            std::vector<Setting> settings = fixed;
            settings.push_back({dimension.option, value});
            if (const auto error = settings_error(base, settings)) {
                throw ConfigError(space_location(space.path, dimension.line) + ": " + *error);
            }
        }
    }
}

/// "model.rank = 16, 32" or "model.lambda = log-range(0.005, 0.5)".
std::string canonical_line(const SearchDimension& dimension) {
    std::string text = dimension.option + " = ";
    if (dimension.kind == SearchDimension::Kind::list) {
        for (std::size_t i = 0; i < dimension.values.size(); ++i) {
            text += (i == 0 ? "" : ", ") + dimension.values[i];
        }
        return text + "\n";
    }
    text += dimension.kind == SearchDimension::Kind::range ? "range(" : "log-range(";
    return text + value_text(dimension.low) + ", " + value_text(dimension.high) + ")\n";
}

/// The text of a range dimension's value at u in [0, 1]: low + u (high - low), or
/// exp(log low + u (log high - log low)) for a log-range; rounded to the nearest integer for
/// an integer option, else written with "%.6g", and kept within [low, high].
std::string range_value_text(const SearchDimension& dimension, double u) {
    const double value = dimension.kind == SearchDimension::Kind::range
                             ? dimension.low + u * (dimension.high - dimension.low)
                             : std::exp(std::log(dimension.low) +
                                        u * (std::log(dimension.high) - std::log(dimension.low)));
    const double clamped = std::clamp(value, dimension.low, dimension.high);
    if (dimension.integer) return format_text("%.0f", std::round(clamped) + 0.0);  // no "-0"
    const std::string text = format_text("%.6g", clamped);
    const double written = std::strtod(text.c_str(), nullptr);
    if (written < dimension.low) return value_text(dimension.low);
    if (written > dimension.high) return value_text(dimension.high);
    return text;
}

/// The values a dimension contributes to the grid (see grid_candidates).
std::vector<std::string> grid_values(const SearchDimension& dimension, int grid_points) {
    if (dimension.kind == SearchDimension::Kind::list) return dimension.values;
    std::vector<std::string> values;
    for (int i = 0; i < grid_points; ++i) {
        const double u = static_cast<double>(i) / static_cast<double>(grid_points - 1);
        std::string value = range_value_text(dimension, u);
        if (values.empty() || values.back() != value) values.push_back(std::move(value));
    }
    return values;
}

}  // namespace

SearchSpace parse_search_space(std::string_view text, const std::string& path, const Config& base) {
    constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
    if (text.substr(0, byte_order_mark.size()) == byte_order_mark) {
        text.remove_prefix(byte_order_mark.size());
    }
    SearchSpace space{path, {}, {}};
    std::string section;
    for (int line_number = 1; !text.empty(); ++line_number) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        const std::string_view raw_line = text.substr(0, end);
        const std::string_view line = trim_blanks(raw_line.substr(0, raw_line.find_first_of("#;")));
        text.remove_prefix(std::min(end + 1, text.size()));
        if (line.empty()) continue;
        const std::string where = space_location(path, line_number);
        if (line.front() == '[' && line.back() == ']') {
            section = trim_blanks(line.substr(1, line.size() - 2));
            check_section(section, where);
            continue;
        }
        SearchDimension dimension = parse_line(line, section, line_number, where);
        for (const SearchDimension& earlier : space.dimensions) {
            if (earlier.option == dimension.option) {
                throw ConfigError(where + ": " + spelling(dimension.option) +
                                  " is set a second time (first on line " +
                                  std::to_string(earlier.line) + ")");
            }
        }
        space.canonical_text += canonical_line(dimension);
        space.dimensions.push_back(std::move(dimension));
    }
    if (space.dimensions.empty()) {
        throw ConfigError(space_location(path) +
                          " has no option to search (expected [section] lines and "
                          "'key = values' lines such as 'rank = 16, 32, 64')");
    }
    check_values(space, base);
    return space;
}

SearchSpace read_search_space(const std::string& path, const Config& base) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        throw ConfigError(space_location(path) + " is a folder, not a file");
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ConfigError("cannot open " + space_location(path));
    constexpr std::size_t largest = std::size_t{1} << 20U;  // no space file is 1 MiB
    std::string text(largest + 1, '\0');
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (file.bad()) throw ConfigError("cannot read " + space_location(path));
    text.resize(static_cast<std::size_t>(file.gcount()));
    if (text.size() > largest) {
        throw ConfigError(space_location(path) + " is larger than 1 MiB: not a space file");
    }
    return parse_search_space(text, path, base);
}

std::vector<Setting> random_candidate(const SearchSpace& space, std::uint64_t seed,
                                      std::int64_t candidate) {
    std::vector<Setting> settings;
    for (std::size_t d = 0; d < space.dimensions.size(); ++d) {
        const SearchDimension& dimension = space.dimensions[d];
        const double u = unit_interval(hash_keys(seed, static_cast<std::uint64_t>(candidate), d));
        if (dimension.kind == SearchDimension::Kind::list) {
            const std::size_t n = dimension.values.size();
            const auto index = static_cast<std::size_t>(u * static_cast<double>(n));
            settings.push_back({dimension.option, dimension.values[std::min(index, n - 1)]});
        } else {
            settings.push_back({dimension.option, range_value_text(dimension, u)});
        }
    }
    return settings;
}

std::vector<std::vector<Setting>> grid_candidates(const SearchSpace& space, int grid_points,
                                                  std::int64_t max_candidates) {
    if (grid_points < 2) {
        throw ConfigError("the grid of " + space_location(space.path) +
                          " needs at least 2 points per range, got " + value_text(grid_points));
    }
    std::vector<std::vector<std::string>> axes;
    std::int64_t count = 1;
    bool overflow = false;
    for (const SearchDimension& dimension : space.dimensions) {
        axes.push_back(grid_values(dimension, grid_points));
        overflow = overflow || __builtin_mul_overflow(
                                   count, static_cast<std::int64_t>(axes.back().size()), &count);
    }
    if (overflow || count > max_candidates) {
        throw ConfigError("the grid of " + space_location(space.path) + " has " +
                          (overflow ? std::string("more than 2^63") : value_text(count)) +
                          " candidates, more than the " + value_text(max_candidates) + " allowed");
    }
    std::vector<std::vector<Setting>> candidates;
    candidates.reserve(static_cast<std::size_t>(count));
    std::vector<std::size_t> index(axes.size(), 0);  // mixed radix, the last digit fastest
    for (std::int64_t c = 0; c < count; ++c) {
        std::vector<Setting>& settings = candidates.emplace_back();
        for (std::size_t d = 0; d < axes.size(); ++d) {
            settings.push_back({space.dimensions[d].option, axes[d][index[d]]});
        }
        for (std::size_t d = axes.size(); d-- > 0;) {
            if (++index[d] < axes[d].size()) break;
            index[d] = 0;
        }
    }
    return candidates;
}

std::string describe_settings(const std::vector<Setting>& settings) {
    std::string text;
    for (const Setting& setting : settings) {
        if (!text.empty()) text += ' ';
        text += setting.option + "=" + setting.value;
    }
    return text;
}

}  // namespace distmf
