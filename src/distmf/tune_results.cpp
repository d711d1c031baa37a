#include "distmf/tune_results.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"

namespace distmf {
namespace {

constexpr std::string_view state_header = "distmf-tune-state 1";

std::string number_text(double value) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

std::string hex_text(std::uint64_t value) {
    char text[20];
    std::snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

/// The checksum of a state file's text.
std::uint64_t checksum_of(std::string_view text) {
    return hash_bytes(0x7475'6e65'7374'6174ULL, text.data(), text.size());  // "tunestat"
}

/// Wall seconds, to the millisecond.
std::string seconds_text(double seconds) {
    char text[40];
    std::snprintf(text, sizeof text, "%.3f", seconds);
    return text;
}

/// `value` as JSON: a number, or null when it is not finite.
std::string json_number(double value) {
    return std::isfinite(value) ? number_text(value) : std::string("null");
}

std::string json_string(std::string_view text) {
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + "\"";
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

const std::vector<Setting>& settings_of(const std::vector<std::vector<Setting>>& settings,
                                        std::int64_t candidate) {
    static const std::vector<Setting> none;
    const auto index = static_cast<std::size_t>(candidate);
    return index < settings.size() ? settings[index] : none;
}

}  // namespace

std::string serialize_result(const CandidateResult& r) {
    std::ostringstream line;
    line << r.candidate << ' ' << r.bracket << ' ' << r.rung << ' ' << r.iterations << ' '
         << r.best_iteration << ' ' << number_text(r.value) << ' ' << (r.hopeless ? 1 : 0) << ' '
         << number_text(r.seconds) << ' ' << r.status << ' ' << r.curve.size();
    for (const CurvePoint& point : r.curve) {
        line << ' ' << point.iteration << ' ' << number_text(point.value);
    }
    return line.str();
}

CandidateResult parse_result(std::string_view line, const std::string& where) {
    std::istringstream in{std::string(line)};
    in.imbue(std::locale::classic());
    CandidateResult r;
    int hopeless = 0;
    std::size_t points = 0;
    std::string value_text;
    std::string seconds_text;
    in >> r.candidate >> r.bracket >> r.rung >> r.iterations >> r.best_iteration >> value_text >>
        hopeless >> seconds_text >> r.status >> points;
    const auto parse_double = [&](const std::string& text, double& value) {
        char* end = nullptr;
        value = std::strtod(text.c_str(), &end);
        return !text.empty() && end == text.c_str() + text.size();
    };
    bool ok = static_cast<bool>(in) && parse_double(value_text, r.value) &&
              parse_double(seconds_text, r.seconds) && (hopeless == 0 || hopeless == 1) &&
              points < 1000000;
    for (std::size_t i = 0; ok && i < points; ++i) {
        CurvePoint point;
        std::string text;
        in >> point.iteration >> text;
        ok = static_cast<bool>(in) && parse_double(text, point.value);
        r.curve.push_back(point);
    }
    std::string rest;
    if (!ok || (in >> rest)) throw InputError(where + ": a result line cannot be read");
    r.hopeless = hopeless == 1;
    return r;
}

std::string search_state_text(std::uint64_t fingerprint, std::span<const CandidateResult> results) {
    std::string text = std::string(state_header) + "\nfingerprint " + hex_text(fingerprint) + "\n";
    for (const CandidateResult& result : results)
        text += "result " + serialize_result(result) + "\n";
    return text + "checksum " + hex_text(checksum_of(text)) + "\n";
}

std::vector<CandidateResult> parse_search_state(const std::string& text, const std::string& path,
                                                std::uint64_t fingerprint) {
    const std::string where = "search state '" + path + "'";
    if (text.compare(0, state_header.size() + 1, std::string(state_header) + "\n") != 0) {
        throw InputError(where + ": not a distmf tune search state (its first line is wrong)");
    }
    const std::size_t checksum_at = text.rfind("checksum ");
    if (checksum_at == std::string::npos || checksum_at == 0 || text[checksum_at - 1] != '\n' ||
        text.size() != checksum_at + 9 + 16 + 1 || text.back() != '\n' ||
        text.substr(checksum_at + 9, 16) != hex_text(checksum_of(text.substr(0, checksum_at)))) {
        throw InputError(where +
                         ": damaged (its checksum does not match); it is left as it is: move it "
                         "away to start the search afresh");
    }
    std::istringstream lines(text.substr(0, checksum_at));
    std::string line;
    std::getline(lines, line);  // the header
    std::getline(lines, line);
    if (line != "fingerprint " + hex_text(fingerprint)) {
        throw ConfigError(where +
                          " belongs to another search (the [tune] settings, the space, the base "
                          "configuration or the data differ); use another --tune.dir, or move it "
                          "away to start afresh");
    }
    std::vector<CandidateResult> results;
    while (std::getline(lines, line)) {
        if (line.rfind("result ", 0) != 0) throw InputError(where + ": an unknown line");
        results.push_back(parse_result(std::string_view(line).substr(7), where));
    }
    return results;
}

std::string results_jsonl(std::span<const CandidateResult> results,
                          const std::vector<std::vector<Setting>>& settings,
                          const std::string& metric) {
    std::ostringstream text;
    for (const CandidateResult& r : results) {
        text << "{\"candidate\": " << r.candidate << ", \"bracket\": " << r.bracket
             << ", \"rung\": " << r.rung << ", \"settings\": {";
        const char* separator = "";
        for (const Setting& setting : settings_of(settings, r.candidate)) {
            text << separator << json_string(setting.option) << ": " << json_string(setting.value);
            separator = ", ";
        }
        text << "}, \"iterations\": " << r.iterations
             << ", \"best_iteration\": " << r.best_iteration
             << ", \"metric\": " << json_string(metric) << ", \"value\": " << json_number(r.value)
             << ", \"status\": " << json_string(r.status)
             << ", \"seconds\": " << seconds_text(r.seconds) << ", \"curve\": [";
        separator = "";
        for (const CurvePoint& point : r.curve) {
            text << separator << "[" << point.iteration << ", " << json_number(point.value) << "]";
            separator = ", ";
        }
        text << "]}\n";
    }
    return text.str();
}

std::string results_csv(std::span<const CandidateResult> results,
                        const std::vector<std::vector<Setting>>& settings,
                        const std::vector<std::string>& options, const std::string& metric) {
    std::ostringstream text;
    text << "candidate,bracket,rung,iterations,best_iteration,metric,value,status,seconds";
    for (const std::string& option : options) text << ',' << csv_field(option);
    text << '\n';
    for (const CandidateResult& r : results) {
        text << r.candidate << ',' << r.bracket << ',' << r.rung << ',' << r.iterations << ','
             << r.best_iteration << ',' << metric << ','
             << (std::isfinite(r.value) ? number_text(r.value) : std::string()) << ',' << r.status
             << ',' << seconds_text(r.seconds);
        for (const std::string& option : options) {
            std::string value;
            for (const Setting& setting : settings_of(settings, r.candidate)) {
                if (setting.option == option) value = setting.value;
            }
            text << ',' << csv_field(value);
        }
        text << '\n';
    }
    return text.str();
}

}  // namespace distmf
