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
/// A term that is not finite or has |x| >= 2^80 makes the sum NaN (it never throws, so it is
/// safe inside OpenMP regions).
class ExactSum {
  public:
    /// Local. Adds one term.
    void add(double x) noexcept;
    /// Local. Adds another partial sum.
    void add(const ExactSum& other) noexcept {
        fixed_ += other.fixed_;
        invalid_ = invalid_ || other.invalid_;
    }
    /// Local. The sum, rounded to the nearest double (NaN after an invalid term).
    double value() const noexcept;

    /// Collective: every rank of comm must call, in the same order. The sum over all ranks'
    /// partial sums; bitwise the same for any number of ranks and any split of the terms.
    static ExactSum all_reduce(const Communicator& comm, const ExactSum& mine);

  private:
    Int128 fixed_ = 0;  // the sum in units of 2^-40
    bool invalid_ = false;
};

}  // namespace distmf
