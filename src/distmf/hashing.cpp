#include "distmf/hashing.hpp"

#include <cmath>
#include <numbers>

namespace distmf {

double SplitMix64::normal() noexcept {
    // Box-Muller: r = sqrt(-2 ln u1), z = r cos(2 pi u2), with u1 in (0, 1].
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace distmf
