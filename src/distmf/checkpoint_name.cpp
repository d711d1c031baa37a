#include "distmf/checkpoint_name.hpp"

#include <cstdio>

namespace distmf {
namespace {

constexpr const char* name_prefix = "checkpoint-";
constexpr const char* name_suffix = ".h5";
constexpr std::size_t max_number_digits = 15;

/// Steps into the next iteration (only one of the two kinds is ever set).
std::int64_t progress(const CheckpointName& name) {
    return (name.users_half_done ? 1 : 0) + name.sub_epochs_done;
}

/// `text` as a decimal number of at most max_number_digits digits, or nullopt.
std::optional<std::int64_t> parse_number(const std::string& text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > max_number_digits) {
        return std::nullopt;
    }
    return std::stoll(text);
}

}  // namespace

CheckpointName checkpoint_name_of(const TrainState& state) {
    return {state.iteration, state.users_half_done, state.sub_epochs_done};
}

bool is_later(const CheckpointName& a, const CheckpointName& b) {
    return a.iteration != b.iteration ? a.iteration > b.iteration : progress(a) > progress(b);
}

bool same_place(const CheckpointName& a, const CheckpointName& b) {
    return a.iteration == b.iteration && a.users_half_done == b.users_half_done &&
           a.sub_epochs_done == b.sub_epochs_done;
}

std::string checkpoint_file_name(const CheckpointName& name) {
    std::string marker;
    if (name.users_half_done) marker = "+u";
    if (name.sub_epochs_done > 0) marker = "+s" + std::to_string(name.sub_epochs_done);
    char text[64];
    std::snprintf(text, sizeof text, "%s%06lld%s%s", name_prefix,
                  static_cast<long long>(name.iteration), marker.c_str(), name_suffix);
    return text;
}

std::optional<CheckpointName> parse_checkpoint_file_name(const std::string& file_name) {
    const std::string prefix = name_prefix;
    const std::string suffix = name_suffix;
    if (file_name.size() <= prefix.size() + suffix.size() || file_name.rfind(prefix, 0) != 0 ||
        file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    std::string middle =
        file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
    CheckpointName name;
    if (middle.size() > 2 && middle.compare(middle.size() - 2, 2, "+u") == 0) {
        name.users_half_done = true;
        middle.resize(middle.size() - 2);
    } else if (const auto marker = middle.find("+s"); marker != std::string::npos) {
        const auto sub_epochs = parse_number(middle.substr(marker + 2));
        if (!sub_epochs) return std::nullopt;
        name.sub_epochs_done = *sub_epochs;
        middle.resize(marker);
    }
    const auto iteration = parse_number(middle);
    if (!iteration) return std::nullopt;
    name.iteration = *iteration;
    if (checkpoint_file_name(name) != file_name) return std::nullopt;  // canonical names only
    return name;
}

std::string set_aside_file_name(const std::string& file_name, const std::string& suffix, int copy) {
    std::string name = file_name;
    if (copy > 1) name.append(".").append(std::to_string(copy));
    return name.append(".").append(suffix);
}

bool is_set_aside_file_name(const std::string& file_name, const std::string& suffix) {
    const std::string ending = "." + suffix;
    if (file_name.size() <= ending.size() ||
        file_name.compare(file_name.size() - ending.size(), ending.size(), ending) != 0) {
        return false;
    }
    const std::string original = file_name.substr(0, file_name.size() - ending.size());
    if (parse_checkpoint_file_name(original)) return true;
    const auto dot = original.rfind('.');  // "<name>.<copy>"
    if (dot == std::string::npos) return false;
    const auto copy = parse_number(original.substr(dot + 1));
    return copy && *copy > 1 && parse_checkpoint_file_name(original.substr(0, dot));
}

}  // namespace distmf
