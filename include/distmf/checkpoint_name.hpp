#pragma once
/// @file checkpoint_name.hpp
/// Checkpoint file names: the only record of a checkpoint's place in a run that resuming reads
/// before opening a file. checkpoint-<iteration, 6 digits or more>.h5 after a whole iteration;
/// checkpoint-000012+u.h5 when the ALS user half-sweep of iteration 13 was done as well, and
/// checkpoint-000012+s3.h5 when 3 DSGD sub-epochs of epoch 13 were (a stop inside an
/// iteration).

#include <cstdint>
#include <optional>
#include <string>

#include "distmf/train_state.hpp"

namespace distmf {

/// A checkpoint file's place in a run.
struct CheckpointName {
    std::int64_t iteration = 0;
    bool users_half_done = false;      ///< ALS: the next iteration's user half-sweep is done
    std::int64_t sub_epochs_done = 0;  ///< DSGD: sub-epochs of the next epoch done
};

/// Local. The place of `state` in its run.
CheckpointName checkpoint_name_of(const TrainState& state);

/// Local. Whether `a` is later in a run than `b`.
bool is_later(const CheckpointName& a, const CheckpointName& b);

/// Local. Whether two names are the same place.
bool same_place(const CheckpointName& a, const CheckpointName& b);

/// Local. The file name of a checkpoint ("checkpoint-000012.h5", "checkpoint-000012+u.h5",
/// "checkpoint-000012+s3.h5").
std::string checkpoint_file_name(const CheckpointName& name);
/// Local. Parses a file name made by checkpoint_file_name (no folder); nullopt otherwise.
std::optional<CheckpointName> parse_checkpoint_file_name(const std::string& file_name);

/// Local. The name of checkpoint file `file_name` moved aside with `suffix` ("unusable",
/// "old"): "<file_name>.<suffix>" for copy 1, "<file_name>.<copy>.<suffix>" for copy 2, 3, ...
/// (copy > 1 when the folder already holds the earlier names).
std::string set_aside_file_name(const std::string& file_name, const std::string& suffix, int copy);
/// Local. Whether `file_name` (no folder) is a name made by set_aside_file_name for `suffix`.
bool is_set_aside_file_name(const std::string& file_name, const std::string& suffix);

}  // namespace distmf
