#include "mpi_checks.hpp"

#include <cstddef>
#include <cstring>
#include <utility>

namespace distmf::testing {

bool CaughtError::same_everywhere() const {
    for (const std::uint64_t hash : hashes) {
        if (hash != hashes.front()) return false;
    }
    return true;
}

CaughtError gather_error(const Communicator& comm, std::optional<std::string> message) {
    const std::uint64_t hash = message ? std::hash<std::string>{}(*message) | 1U : 0U;
    return CaughtError{std::move(message), comm.all_gather(hash)};
}

bool same_bits(const FactorTable& a, const FactorTable& b) {
    if (a.rows() != b.rows() || a.k() != b.k() || a.has_bias() != b.has_bias()) return false;
    const auto bytes = static_cast<std::size_t>(a.values().size()) * sizeof(float);
    return bytes == 0 || std::memcmp(a.values().data(), b.values().data(), bytes) == 0;
}

}  // namespace distmf::testing
