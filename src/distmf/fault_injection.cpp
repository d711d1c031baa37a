#include "distmf/fault_injection.hpp"

#include <mpi.h>

#include <cstdlib>
#include <stdexcept>

namespace distmf {

std::optional<std::string> requested_fault(std::string_view kind) {
    const char* fault = std::getenv("DISTMF_FAULT");
    if (fault == nullptr) return std::nullopt;
    const std::string_view request = fault;
    if (request.substr(0, kind.size()) != kind) return std::nullopt;
    if (request.size() == kind.size()) return std::string();
    if (request[kind.size()] != ':') return std::nullopt;
    return std::string(request.substr(kind.size() + 1));
}

bool fault_requested_on_rank(std::string_view kind, std::string_view point) {
    const std::optional<std::string> argument = requested_fault(kind);
    if (!argument) return false;
    int rank = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::string expected = std::to_string(rank);
    if (!point.empty()) expected.append(":").append(point);
    return *argument == expected;
}

void inject_io_error_if_requested(std::string_view point) {
    if (!fault_requested_on_rank("io-error-on-rank", point)) return;
    throw std::runtime_error("DISTMF_FAULT: injected I/O error at " + std::string(point));
}

}  // namespace distmf
