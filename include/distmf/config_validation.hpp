#pragma once
/// @file config_validation.hpp
/// The rules a configuration must satisfy before a command runs: value ranges and the
/// combinations of options that contradict each other, per section ([data], [model], [ials],
/// [bpmf], [train], [dsgd], [checkpoint], serving). Every failure names the option.

#include <string>
#include <vector>

#include "distmf/config.hpp"

namespace distmf {

/// Local. Throws ConfigError, naming the option, if any value is out of range or the values
/// contradict each other (for the options `command` uses).
void validate(const Config& config, Command command);

/// The largest rank count `distmf data --plan` plans for (its cost grows as P (m + n) / 64).
inline constexpr int max_plan_ranks = 16384;

/// Local. The rank counts of `distmf data --plan` ("1,2,4"): integers in [1, max_plan_ranks]
/// separated by commas (no blanks, no repeats), in the order given. Throws ConfigError naming
/// --plan for any other text.
std::vector<int> plan_rank_counts(const std::string& list);

}  // namespace distmf
