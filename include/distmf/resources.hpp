#pragma once
/// @file resources.hpp
/// What a process has used: peak resident memory, for logs and benchmarks.

#include <cstdint>

#include "distmf/comm.hpp"

namespace distmf {

/// Local. This process's peak resident set size in bytes (VmHWM from /proc/self/status; 0
/// where that is not available).
std::int64_t peak_resident_bytes();

/// Peak resident memory over the ranks of a job.
struct MemoryReport {
    std::int64_t max_bytes = 0;    ///< the largest rank's peak
    std::int64_t total_bytes = 0;  ///< sum of every rank's peak
};

/// Collective: every rank of comm must call. Gathers every rank's peak resident memory.
MemoryReport peak_memory(const Communicator& comm);

}  // namespace distmf
