#include "distmf/resources.hpp"

#include <sched.h>

#include <fstream>
#include <string>
#include <vector>

namespace distmf {

std::int64_t peak_resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // kB
    }
    return 0;
}

MemoryReport peak_memory(const Communicator& comm) {
    const std::int64_t mine = peak_resident_bytes();
    return {comm.all_reduce_max(mine), comm.all_reduce_sum(mine)};
}

int allowed_cpu_count() {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (::sched_getaffinity(0, sizeof(mask), &mask) != 0) return 0;
    return CPU_COUNT(&mask);
}

std::string thread_binding_warning(int rank, int threads, int allowed_cpus) {
    if (allowed_cpus <= 0 || threads <= allowed_cpus) return {};
    return format_text(
        "%d threads per rank, but rank %d may run on only %d CPU%s (its affinity mask): the "
        "threads share %s instead of running side by side. Give each thread a core: "
        "`mpirun --bind-to none ...`, or `mpirun --map-by slot:PE=%d ...` (Slurm: "
        "--cpus-per-task=%d, as slurm/train.sbatch does)",
        threads, rank, allowed_cpus, allowed_cpus == 1 ? "" : "s",
        allowed_cpus == 1 ? "it" : "them", threads, threads);
}

void warn_if_threads_share_cpus(const Communicator& comm, const Logger& log, int threads) {
    const std::vector<int> allowed = comm.all_gather(allowed_cpu_count());
    for (int rank = 0; rank < comm.size(); ++rank) {
        const std::string warning =
            thread_binding_warning(rank, threads, allowed[static_cast<std::size_t>(rank)]);
        if (!warning.empty()) {
            log.warn(warning);
            return;
        }
    }
}

}  // namespace distmf
