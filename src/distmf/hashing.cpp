#include "distmf/hashing.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace distmf {

std::uint64_t hash_bytes(std::uint64_t seed, const void* data, std::size_t bytes) noexcept {
    // Four independent lanes over 32-byte blocks (instruction-level parallelism), each step
    // h = (h ^ word) * odd: a bijection of h, so a change in any one word always changes its
    // lane, and the final mix64 chain is a bijection of each lane in turn.
    constexpr std::uint64_t odd = 0x9E3779B97F4A7C15ULL;
    const auto* byte = static_cast<const unsigned char*>(data);
    std::uint64_t lanes[4] = {mix64(seed ^ bytes), mix64(seed + 1), mix64(seed + 2),
                              mix64(seed + 3)};
    std::size_t offset = 0;
    for (; offset + 32 <= bytes; offset += 32) {
        for (std::size_t lane = 0; lane < 4; ++lane) {
            std::uint64_t word = 0;
            std::memcpy(&word, byte + offset + 8 * lane, 8);
            lanes[lane] = (lanes[lane] ^ word) * odd;
        }
    }
    for (std::size_t lane = 0; offset < bytes; offset += 8, ++lane) {
        std::uint64_t word = 0;
        std::memcpy(&word, byte + offset, std::min<std::size_t>(8, bytes - offset));
        lanes[lane] = (lanes[lane] ^ word) * odd;
    }
    return mix64(lanes[0] ^ mix64(lanes[1] ^ mix64(lanes[2] ^ mix64(lanes[3]))));
}

double SplitMix64::normal() noexcept {
    // Box-Muller: r = sqrt(-2 ln u1), z = r cos(2 pi u2), with u1 in (0, 1].
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace distmf
