#pragma once
/// @file config_validation.hpp
/// The rules a configuration must satisfy before a command runs: value ranges and the
/// combinations of options that contradict each other, per section ([data], [model], [ials],
/// [bpmf], [train], [dsgd], [checkpoint], serving). Every failure names the option.

#include "distmf/config.hpp"

namespace distmf {

/// Local. Throws ConfigError, naming the option, if any value is out of range or the values
/// contradict each other (for the options `command` uses).
void validate(const Config& config, Command command);

}  // namespace distmf
