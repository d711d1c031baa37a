#pragma once
/// @file checkpoint_folder.hpp
/// What is in a checkpoint folder, and moving files out of the way without ever deleting them.
/// Rank 0 does the file system work; every rank learns the same result, so every rank takes
/// the same decisions. A checkpoint that cannot be read, or that belongs to an earlier run a
/// new run must not overwrite, is renamed next to itself (checkpoint_name.hpp's set-aside
/// names): "<name>.unusable" or "<name>.old", never over an existing file. distmf never
/// deletes a file set aside.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "distmf/checkpoint_name.hpp"
#include "distmf/comm.hpp"
#include "distmf/log.hpp"

namespace distmf {

/// The suffix of checkpoints set aside because they could not be read.
inline constexpr const char* unusable_suffix = "unusable";
/// The suffix of checkpoints of an earlier run set aside by a run that starts elsewhere.
inline constexpr const char* old_suffix = "old";

/// What rank 0 found in a checkpoint folder.
struct CheckpointListing {
    /// The checkpoint files, newest first: their place and their path.
    std::vector<std::pair<CheckpointName, std::string>> checkpoints;
    /// The names (no folder) of the files set aside as unusable, sorted.
    std::vector<std::string> unusable;
};

/// Collective: every rank of comm must call. Lists `dir` on rank 0; every rank gets the same.
CheckpointListing list_checkpoint_folder(const Communicator& comm, const std::string& dir);

/// Collective: every rank of comm must call. Rank 0 renames checkpoint file `path` to the
/// first free name set_aside_file_name(file, suffix, 1, 2, ...) in the same folder. Returns
/// the new path; every rank throws the same InputError if the rename failed.
std::string move_checkpoint_aside(const Communicator& comm, const std::string& path,
                                  const std::string& suffix);

/// Collective: every rank of comm must call. Moves aside as "<name>.old", with one line each
/// on rank 0, every checkpoint in `dir` later than `start`, or every one without a start
/// (--checkpoint.resume never): an earlier run's, which this run must neither overwrite nor
/// delete, nor leave for a later resume to pick.
void set_aside_later_checkpoints(const Communicator& comm, const std::string& dir,
                                 const std::optional<CheckpointName>& start, const Logger& log);

/// Local. The agreed error of a resume that finds no usable checkpoint in `dir` but files set
/// aside as `unusable` (names): it suggests the two ways on.
std::string no_usable_checkpoint_message(const std::string& dir,
                                         const std::vector<std::string>& unusable);

}  // namespace distmf
