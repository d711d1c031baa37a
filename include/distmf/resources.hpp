#pragma once
/// @file resources.hpp
/// What a process has used and may use: peak resident memory, for logs and benchmarks; the
/// CPUs it may run on, to warn when its threads would share them.

#include <cstdint>
#include <string>

#include "distmf/comm.hpp"
#include "distmf/log.hpp"

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

/// Local. The number of CPUs this process may run on (its affinity mask, sched_getaffinity);
/// 0 where that is not available.
int allowed_cpu_count();

/// Local. The one-line warning for a rank (`rank`) that runs `threads` threads on
/// `allowed_cpus` CPUs, naming the launcher options that give each thread a CPU; empty when
/// every thread has one (or the count is unknown, 0).
std::string thread_binding_warning(int rank, int threads, int allowed_cpus);

/// Collective: every rank of comm must call. Warns once, on rank 0, when some rank's affinity
/// mask holds fewer CPUs than the `threads` it will run (as under `mpirun -np 2`, which binds
/// each rank to one core): the threads would time-share, not run side by side. Names the
/// first such rank.
void warn_if_threads_share_cpus(const Communicator& comm, const Logger& log, int threads);

}  // namespace distmf
