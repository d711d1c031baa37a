#pragma once
/// @file commands.hpp
/// The subcommands of the distmf binary, each a function from a validated Config to an exit
/// code. main() parses and validates; these run.

#include "distmf/comm.hpp"
#include "distmf/config.hpp"

namespace distmf {

/// Collective: every rank of comm must call. `distmf data`: loads the data set across all
/// ranks and prints (rank 0) its statistics, the partition and the load imbalance; with
/// --plan, also what training would hold and move on those numbers of ranks (shard_plan.hpp),
/// alone with --plan-format csv.
int run_data_command(const Communicator& comm, const Config& config);

/// Collective: every rank of comm must call. `distmf generate`: rank 0 writes the synthetic
/// ratings file; the others wait and share its outcome.
int run_generate_command(const Communicator& comm, const Config& config);

}  // namespace distmf
