#include "distmf/hashing.hpp"

#include <cmath>
#include <cstring>
#include <numbers>

namespace distmf {

std::uint64_t hash_bytes(std::uint64_t seed, const void* data, std::size_t bytes) noexcept {
    const auto* byte = static_cast<const unsigned char*>(data);
    std::uint64_t hash = mix64(seed ^ bytes);
    std::size_t offset = 0;
    for (; offset + 8 <= bytes; offset += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, byte + offset, 8);
        hash = mix64(hash ^ word);
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, byte + offset, bytes - offset);
    return mix64(hash ^ tail);
}

double SplitMix64::normal() noexcept {
    // Box-Muller: r = sqrt(-2 ln u1), z = r cos(2 pi u2), with u1 in (0, 1].
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace distmf
