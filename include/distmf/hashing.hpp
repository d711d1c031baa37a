#pragma once
/// @file hashing.hpp
/// Counter-based randomness: every random decision in distmf (train/test split, partition
/// order, factor initialization, synthetic data) is a pure function of a seed and the global
/// identity of what it decides about, never of the rank or the time. That is what makes
/// results independent of the number of ranks and threads.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace distmf {

/// Local. SplitMix64's finalizer: a bijective mix of 64 bits (Steele, Lea, Flood 2014).
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31U);
}

/// Local. A hash of a seed and up to three 64-bit keys; distinct inputs give independent bits.
constexpr std::uint64_t hash_keys(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0,
                                  std::uint64_t c = 0) noexcept {
    return mix64(mix64(mix64(mix64(seed) ^ a) ^ b) ^ c);
}

/// Local. A 64-bit hash of `bytes` bytes at `data` (word-wise mix64; for checksums, not
/// for security). Inline: with a constant `seed` and `bytes` (a checksum of 4-byte rows) most
/// of it folds away.
inline std::uint64_t hash_bytes(std::uint64_t seed, const void* data, std::size_t bytes) noexcept {
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

/// Local. Maps 64 random bits to a double uniform in [0, 1) (53-bit resolution).
constexpr double unit_interval(std::uint64_t bits) noexcept {
    return static_cast<double>(bits >> 11U) * 0x1.0p-53;
}

/// A small, fast, seedable generator (SplitMix64) for sequential streams, such as one user's
/// ratings in `distmf generate`. Seed it from hash_keys() so each stream is independent.
class SplitMix64 {
  public:
    /// Starts the stream at `seed`.
    explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
    /// Next 64 random bits.
    constexpr std::uint64_t next() noexcept {
        const std::uint64_t current = state_;
        state_ += 0x9E3779B97F4A7C15ULL;
        return mix64(current);  // mix64 adds the same increment before mixing
    }
    /// Uniform double in [0, 1).
    constexpr double uniform() noexcept { return unit_interval(next()); }
    /// Standard normal deviate (Box-Muller; one of the pair is discarded for simplicity).
    double normal() noexcept;

  private:
    std::uint64_t state_;
};

}  // namespace distmf
