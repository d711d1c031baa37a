#pragma once
/// @file exact_sum.hpp
/// Order-independent summation. Floating-point addition is not associative, so a sum reduced
/// over P ranks differs in its last bits from the same sum over P' ranks. distmf's results
/// must not depend on P, so sums that feed the model (the global mean, for instance) are
/// accumulated exactly in 128-bit fixed point: each term is rounded once to a multiple of
/// 2^-40, after which integer addition is exact and associative.

#include <cstdint>
#include <span>

#include "distmf/comm.hpp"
#include "distmf/int128.hpp"

namespace distmf {

/// An exact, order-independent sum of doubles (each rounded to a multiple of 2^-40 first).
/// A term that is not finite or has |x| >= 2^80 makes the sum NaN; a sum whose magnitude
/// reaches 2^87 (beyond the 128-bit accumulator) is +infinity or -infinity by its sign, so a
/// diverging objective is never mistaken for a finite one. Whether the sum overflows depends
/// only on the exact sum, not on the order of the terms or how they were split into partial
/// sums: overflows of the accumulator are counted, so the pair (count, accumulator) is exact.
/// It never throws, so it is safe inside OpenMP regions.
class ExactSum {
  public:
    /// Local. Adds one term.
    void add(double x) noexcept;
    /// Local. Adds another partial sum.
    void add(const ExactSum& other) noexcept {
        add_fixed(other.fixed_);
        wraps_ += other.wraps_;
        invalid_ = invalid_ || other.invalid_;
    }
    /// Local. The sum, rounded to the nearest double (NaN after an invalid term, +-infinity
    /// when it overflows the accumulator).
    double value() const noexcept;

    /// Collective: every rank of comm must call, in the same order. The sum over all ranks'
    /// partial sums; bitwise the same for any number of ranks and any split of the terms.
    static ExactSum all_reduce(const Communicator& comm, const ExactSum& mine);

    /// Collective: every rank of comm must call, in the same order, with as many sums. Replaces
    /// each of `sums` by its sum over all ranks, entry by entry; bitwise the same for any
    /// number of ranks and any split of the terms.
    static void all_reduce_in_place(const Communicator& comm, std::span<ExactSum> sums);

  private:
    /// Adds `units` (a multiple of 2^-40) to fixed_, counting a wrap-around in wraps_.
    void add_fixed(Int128 units) noexcept {
        // Signed overflow needs two operands of the same sign: the exact result is the
        // wrapped one plus (units > 0) or minus 2^128.
        if (__builtin_add_overflow(fixed_, units, &fixed_)) wraps_ += units > 0 ? 1 : -1;
    }

    Int128 fixed_ = 0;        // the sum in units of 2^-40, modulo 2^128
    std::int64_t wraps_ = 0;  // the exact sum is fixed_ + wraps_ * 2^128 units
    bool invalid_ = false;
};

}  // namespace distmf
