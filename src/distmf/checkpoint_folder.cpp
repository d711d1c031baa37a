#include "distmf/checkpoint_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "distmf/error.hpp"

namespace distmf {
namespace {

namespace fs = std::filesystem;

}  // namespace

CheckpointListing list_checkpoint_folder(const Communicator& comm, const std::string& dir) {
    std::string listing;
    if (comm.rank() == 0) {
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir, error)) {
            const std::string file = entry.path().filename().string();
            if (parse_checkpoint_file_name(file)) listing += "c" + file + "\n";
            if (is_set_aside_file_name(file, unusable_suffix)) listing += "u" + file + "\n";
        }
    }
    comm.broadcast(listing);
    CheckpointListing found;
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
        const std::string file = line.substr(1);
        if (line.front() == 'u') {
            found.unusable.push_back(file);
        } else {
            found.checkpoints.emplace_back(*parse_checkpoint_file_name(file),
                                           (fs::path(dir) / file).string());
        }
    }
    std::sort(found.checkpoints.begin(), found.checkpoints.end(),
              [](const auto& a, const auto& b) { return is_later(a.first, b.first); });
    std::sort(found.unusable.begin(), found.unusable.end());
    return found;
}

std::string move_checkpoint_aside(const Communicator& comm, const std::string& path,
                                  const std::string& suffix) {
    std::string moved;
    std::optional<std::string> error;
    if (comm.rank() == 0) {
        const fs::path from(path);
        const std::string file = from.filename().string();
        std::error_code code;
        for (int copy = 1; moved.empty(); ++copy) {
            const fs::path to = from.parent_path() / set_aside_file_name(file, suffix, copy);
            if (!fs::exists(fs::symlink_status(to, code))) moved = to.string();
        }
        fs::rename(from, moved, code);
        if (code) error = "cannot move " + path + " aside as " + moved + ": " + code.message();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    comm.broadcast(moved);
    return moved;
}

void set_aside_later_checkpoints(const Communicator& comm, const std::string& dir,
                                 const std::optional<CheckpointName>& start, const Logger& log) {
    for (const auto& [name, path] : list_checkpoint_folder(comm, dir).checkpoints) {
        if (start && !is_later(name, *start)) continue;
        const std::string aside = move_checkpoint_aside(comm, path, old_suffix);
        log.info(start ? "moved " + path + " aside as " + aside +
                             ": it is later than the checkpoint this run resumes from"
                       : "--checkpoint.resume never: moved " + path + " aside as " + aside);
    }
}

std::string no_usable_checkpoint_message(const std::string& dir,
                                         const std::vector<std::string>& unusable) {
    constexpr std::size_t listed = 3;
    std::string names;
    for (std::size_t i = 0; i < std::min(listed, unusable.size()); ++i) {
        names += (i > 0 ? ", " : "") + unusable[i];
    }
    if (unusable.size() > listed) {
        names += " and " + std::to_string(unusable.size() - listed) + " more";
    }
    return "no usable checkpoint in " + dir + ": the checkpoints set aside as unusable (" + names +
           ") may hold a run's history, so it does not start afresh; --checkpoint.resume never "
           "starts over and keeps them, --checkpoint.resume FILE resumes from a file you name";
}

}  // namespace distmf
