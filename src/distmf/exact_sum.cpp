#include "distmf/exact_sum.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "distmf/error.hpp"

namespace distmf {
namespace {
constexpr int fraction_bits = 40;
constexpr double fraction_scale = 0x1.0p40;  // 2^fraction_bits
}  // namespace

void ExactSum::add(double x) noexcept {
    if (!(std::fabs(x) < 0x1.0p80)) {
        invalid_ = true;
        return;
    }
    // Exact (a power of two; |x| < 2^80 cannot overflow), and unlike std::ldexp no libm call:
    // this runs for every rating of every metrics pass.
    const double scaled = x * fraction_scale;
    // Most terms fit in 64 bits: one cvtsd2si instead of the library's double -> __int128.
    // Both round to nearest, ties to even, so the sum is the same either way.
    if (std::fabs(scaled) < 0x1.0p62) {
        add_fixed(static_cast<Int128>(std::llrint(scaled)));
    } else {
        add_fixed(static_cast<Int128>(std::nearbyint(scaled)));
    }
}

double ExactSum::value() const noexcept {
    if (invalid_) return std::numeric_limits<double>::quiet_NaN();
    // |exact sum| >= 2^127 units exactly when fixed_ has wrapped a net nonzero number of times.
    if (wraps_ != 0) {
        return wraps_ > 0 ? std::numeric_limits<double>::infinity()
                          : -std::numeric_limits<double>::infinity();
    }
    // GCC converts a 128-bit integer to the nearest double in one rounding; scaling by a power
    // of two is then exact. (Converting the two 64-bit halves separately rounds twice and, for
    // a negative sum, cancels the rounded low half against the high one.)
    return std::ldexp(static_cast<double>(fixed_), -fraction_bits);
}

ExactSum ExactSum::all_reduce(const Communicator& comm, const ExactSum& mine) {
    ExactSum total = mine;
    all_reduce_in_place(comm, std::span<ExactSum>(&total, 1));
    return total;
}

void ExactSum::all_reduce_in_place(const Communicator& comm, std::span<ExactSum> sums) {
    struct Words {
        std::uint64_t low;
        std::int64_t high;
        std::int64_t wraps;
        std::int64_t invalid;
    };
    std::vector<Words> mine;
    mine.reserve(sums.size());
    for (const ExactSum& sum : sums) {
        mine.push_back(Words{static_cast<std::uint64_t>(sum.fixed_),
                             static_cast<std::int64_t>(sum.fixed_ >> 64), sum.wraps_,
                             sum.invalid_ ? 1 : 0});
    }
    const std::vector<Words> every_rank = comm.all_gather_v(std::span<const Words>(mine));
    if (every_rank.size() != sums.size() * static_cast<std::size_t>(comm.size())) {
        throw Error("ExactSum::all_reduce_in_place: ranks passed different numbers of sums");
    }
    for (ExactSum& sum : sums) sum = ExactSum{};
    for (std::size_t i = 0; i < every_rank.size(); ++i) {
        const Words& w = every_rank[i];
        ExactSum part;
        part.fixed_ = (static_cast<Int128>(w.high) << 64) + static_cast<Int128>(w.low);
        part.wraps_ = w.wraps;
        part.invalid_ = w.invalid != 0;
        sums[i % sums.size()].add(part);
    }
}

}  // namespace distmf
