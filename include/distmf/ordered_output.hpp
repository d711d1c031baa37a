#pragma once
/// @file ordered_output.hpp
/// One text output made of every rank's part, in rank order: each rank formats the lines of
/// its share of the work, and the parts are written side by side into one file with MPI-IO
/// (each rank at the offset the exclusive scan of the part sizes gives it) under a temporary
/// name, then renamed into place, so the file appears complete or not at all. Nothing is
/// gathered on one rank. Without a file, rank 0 prints the parts to standard output.

#include <string>

#include "distmf/comm.hpp"

namespace distmf {

/// Collective: every rank of comm must call. Writes `header` (rank 0's, once) followed by
/// every rank's `part` in rank order to `path` ("<path>.tmp", then renamed by rank 0), or to
/// standard output when `path` is empty (the parts are sent to rank 0 one rank at a time).
/// The ranks agree on the outcome of every collective MPI-IO call, so an I/O failure, even on
/// one rank only, is an agreed InputError naming the file and the (lowest) failing rank; any
/// previous `path` is untouched and the temporary file is removed.
void write_in_rank_order(const Communicator& comm, const std::string& path,
                         const std::string& header, const std::string& part);

}  // namespace distmf
