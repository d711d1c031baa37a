#include "distmf/exact_sum.hpp"

#include <cmath>
#include <limits>

namespace distmf {
namespace {
constexpr int fraction_bits = 40;
}

void ExactSum::add(double x) noexcept {
    if (!(std::fabs(x) < 0x1.0p80)) {
        invalid_ = true;
        return;
    }
    fixed_ += static_cast<Int128>(std::nearbyint(std::ldexp(x, fraction_bits)));
}

double ExactSum::value() const noexcept {
    if (invalid_) return std::numeric_limits<double>::quiet_NaN();
    // Split into two exactly representable halves before converting.
    const auto high = static_cast<std::int64_t>(fixed_ >> 64);
    const auto low = static_cast<std::uint64_t>(fixed_);
    const double combined = std::ldexp(static_cast<double>(high), 64) + static_cast<double>(low);
    return std::ldexp(combined, -fraction_bits);
}

ExactSum ExactSum::all_reduce(const Communicator& comm, const ExactSum& mine) {
    struct Words {
        std::uint64_t low;
        std::int64_t high;
        std::int64_t invalid;
    };
    const Words words{static_cast<std::uint64_t>(mine.fixed_),
                      static_cast<std::int64_t>(mine.fixed_ >> 64), mine.invalid_ ? 1 : 0};
    ExactSum total;
    for (const Words& w : comm.all_gather(words)) {
        total.fixed_ += (static_cast<Int128>(w.high) << 64) + static_cast<Int128>(w.low);
        total.invalid_ = total.invalid_ || w.invalid != 0;
    }
    return total;
}

}  // namespace distmf
