#include "distmf/exact_sum.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using distmf::ExactSum;

namespace {

ExactSum sum_of(const std::vector<double>& terms) {
    ExactSum sum;
    for (const double x : terms) sum.add(x);
    return sum;
}

std::uint64_t bits_of(double x) { return std::bit_cast<std::uint64_t>(x); }

/// x rounded to the 2^-40 grid ExactSum works on.
double on_grid(double x) { return std::ldexp(std::nearbyint(std::ldexp(x, 40)), -40); }

/// Terms of both signs spanning 10^-15 .. 10^18 in magnitude.
std::vector<double> mixed_terms(std::size_t count, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> exponent(-15.0, 18.0);
    std::vector<double> terms(count);
    for (double& x : terms) {
        x = std::pow(10.0, exponent(random));
        if (random() % 2 == 0) x = -x;
    }
    return terms;
}

}  // namespace

TEST_CASE("ExactSum: small sums are exact", "[exact_sum]") {
    ExactSum sum;
    CHECK(sum.value() == 0.0);
    sum.add(1.5);
    sum.add(2.25);
    sum.add(-0.75);
    CHECK(sum.value() == 3.0);
    ExactSum other;
    other.add(0.5);
    sum.add(other);
    CHECK(sum.value() == 3.5);
}

TEST_CASE("ExactSum: bitwise independent of order and of how terms are split", "[exact_sum]") {
    std::vector<double> terms = mixed_terms(20000, 11);
    const ExactSum reference = sum_of(terms);
    const std::uint64_t expected = bits_of(reference.value());

    std::vector<double> reversed(terms.rbegin(), terms.rend());
    CHECK(bits_of(sum_of(reversed).value()) == expected);
    std::mt19937_64 random(3);
    for (int shuffle = 0; shuffle < 5; ++shuffle) {
        std::shuffle(terms.begin(), terms.end(), random);
        CHECK(bits_of(sum_of(terms).value()) == expected);
    }
    std::sort(terms.begin(), terms.end());
    CHECK(bits_of(sum_of(terms).value()) == expected);

    // Partial sums over 1..7 "ranks", merged in either direction.
    for (std::size_t parts = 1; parts <= 7; ++parts) {
        std::vector<ExactSum> partial(parts);
        for (std::size_t i = 0; i < terms.size(); ++i) partial[i % parts].add(terms[i]);
        ExactSum forward;
        ExactSum backward;
        for (std::size_t p = 0; p < parts; ++p) {
            forward.add(partial[p]);
            backward.add(partial[parts - 1 - p]);
        }
        CHECK(bits_of(forward.value()) == expected);
        CHECK(bits_of(backward.value()) == expected);
    }

    // Plain double summation of the same terms is order-dependent; the exact sum is close to
    // a long double reference.
    long double wide = 0.0L;
    for (const double x : terms) wide += static_cast<long double>(x);
    CHECK(reference.value() == Approx(static_cast<double>(wide)).epsilon(1e-12));
}

TEST_CASE("ExactSum: negative values", "[exact_sum]") {
    for (const double x : {-0.25, -1.0, -3.75, -1e-3, -1e-10, -3e-12, -1e6, -1e15, -1e20}) {
        INFO(x);
        ExactSum sum;
        sum.add(x);
        CHECK(sum.value() == on_grid(x));
        ExactSum cancel;
        cancel.add(x);
        cancel.add(-x);
        CHECK(bits_of(cancel.value()) == bits_of(0.0));
    }
    ExactSum sum;
    sum.add(1.0);
    sum.add(-1.0 - 0x1.0p-40);
    CHECK(sum.value() == -0x1.0p-40);  // the smallest negative sum
    ExactSum negative_total;
    for (int i = 1; i <= 100; ++i) negative_total.add(-0.5 * i);
    CHECK(negative_total.value() == -2525.0);
}

TEST_CASE("ExactSum: large and tiny values", "[exact_sum]") {
    SECTION("catastrophic cancellation is exact") {
        ExactSum sum;
        sum.add(1e20);
        sum.add(1.0);
        sum.add(-1e20);
        CHECK(sum.value() == 1.0);  // plain double addition gives 0
        ExactSum tiny;
        tiny.add(1e18);
        tiny.add(1e-6);
        tiny.add(-1e18);
        CHECK(tiny.value() == on_grid(1e-6));
    }
    SECTION("terms are rounded to multiples of 2^-40") {
        ExactSum sum;
        sum.add(0x1.0p-40);
        CHECK(sum.value() == 0x1.0p-40);
        ExactSum below;
        below.add(1e-13);  // < 2^-41: rounds to 0
        CHECK(below.value() == 0.0);
        ExactSum many;
        for (int i = 0; i < 1000; ++i) many.add(0x1.0p-40);
        CHECK(many.value() == 1000 * 0x1.0p-40);
    }
    SECTION("near the 2^80 limit") {
        ExactSum sum;
        sum.add(0x1.0p79);
        sum.add(0x1.0p79);
        sum.add(0x1.8p79);
        CHECK(sum.value() == 0x1.c0p80);
        sum.add(-0x1.0p79);
        sum.add(1.0);
        CHECK(sum.value() == 0x1.4p80);  // 2.5 * 2^79; the 1 is lost only in the final rounding
        ExactSum many;
        for (int i = 0; i < 64; ++i) many.add(-0x1.fffffffffffffp79);
        CHECK(many.value() == -64 * 0x1.fffffffffffffp79);
    }
    SECTION("the result is the exact sum rounded once") {
        ExactSum sum;
        sum.add(0x1.0p60);
        sum.add(1.0);  // 2^60 + 1 is not a double: rounds to 2^60
        CHECK(sum.value() == 0x1.0p60);
        sum.add(-0x1.0p60);
        CHECK(sum.value() == 1.0);
    }
    SECTION("non-finite and too large terms make the sum NaN") {
        for (const double bad :
             {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
              std::numeric_limits<double>::quiet_NaN(), 0x1.0p80, -0x1.0p80}) {
            ExactSum sum;
            sum.add(1.0);
            sum.add(bad);
            CHECK(std::isnan(sum.value()));
            ExactSum other;
            other.add(sum);  // invalid partial sums stay invalid when combined
            CHECK(std::isnan(other.value()));
        }
    }
}

TEST_CASE("ExactSum: a sum beyond the 128-bit accumulator is infinite, never wrapped",
          "[exact_sum]") {
    // Each term is below 2^80, but the accumulator holds sums below 2^87 ~ 1.5e26 only: a
    // diverging epoch's squared errors (1e24 on a few hundred rows) must not wrap to a finite,
    // possibly negative objective.
    const double inf = std::numeric_limits<double>::infinity();
    SECTION("many huge terms of either sign") {
        ExactSum positive;
        ExactSum negative;
        for (int i = 0; i < 300; ++i) {
            positive.add(1e24);
            negative.add(-1e24);
        }
        CHECK(positive.value() == inf);
        CHECK(negative.value() == -inf);
    }
    SECTION("the boundary: 255 * 2^79 fits, 256 * 2^79 = 2^87 does not") {
        ExactSum sum;
        for (int i = 0; i < 255; ++i) sum.add(0x1.0p79);
        CHECK(sum.value() == 255 * 0x1.0p79);
        sum.add(0x1.0p79);
        CHECK(sum.value() == inf);
        sum.add(-0x1.0p79);  // back in range: the overflow was counted, not lost
        CHECK(sum.value() == 255 * 0x1.0p79);
    }
    SECTION("whether it overflows depends only on the exact sum, not the order") {
        // 200 * 1e24 - 100 * 1e24 = 1e26 fits, though the running sum passes 2e26 when the
        // positive terms come first.
        std::vector<double> terms(200, 1e24);
        terms.insert(terms.end(), 100, -1e24);
        const double expected = sum_of(terms).value();
        CHECK(expected == 1e26);
        std::vector<double> reversed(terms.rbegin(), terms.rend());
        CHECK(bits_of(sum_of(reversed).value()) == bits_of(expected));
        std::mt19937_64 random(8);
        std::shuffle(terms.begin(), terms.end(), random);
        CHECK(bits_of(sum_of(terms).value()) == bits_of(expected));
    }
    SECTION("merging partial sums detects the overflow too") {
        ExactSum first;
        ExactSum second;
        for (int i = 0; i < 150; ++i) {
            first.add(1e24);
            second.add(1e24);
        }
        CHECK(first.value() == 1.5e26);  // each partial sum fits
        ExactSum merged;
        merged.add(first);
        merged.add(second);
        CHECK(merged.value() == inf);  // 3e26 does not
        // Partial sums that each overflowed, merged to a total that fits.
        ExactSum up;
        ExactSum down;
        for (int i = 0; i < 200; ++i) {
            up.add(1e24);
            down.add(-1e24);
        }
        up.add(-1e24);
        REQUIRE(up.value() == inf);
        REQUIRE(down.value() == -inf);
        ExactSum total;
        total.add(up);
        total.add(down);
        CHECK(total.value() == -1e24);
    }
    SECTION("an invalid term still makes the sum NaN") {
        ExactSum sum;
        for (int i = 0; i < 300; ++i) sum.add(1e24);
        sum.add(std::numeric_limits<double>::quiet_NaN());
        CHECK(std::isnan(sum.value()));
    }
}
