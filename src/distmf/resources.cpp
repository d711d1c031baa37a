#include "distmf/resources.hpp"

#include <fstream>
#include <string>

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

}  // namespace distmf
