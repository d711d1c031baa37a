#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/ratings_reader.hpp"

using Catch::Matchers::Contains;
using distmf::Communicator;

// Every rank calls the same collectives in the same order; assertions come after the
// collectives, so a failed REQUIRE on one rank cannot leave the others waiting.

TEST_CASE("all_gather_v concatenates uneven contributions in rank order", "[comm]") {
    const Communicator comm;
    std::vector<int> mine(static_cast<std::size_t>(comm.rank()) + 1, comm.rank());
    const auto all = comm.all_gather_v(std::span<const int>(mine));
    std::vector<int> expected;
    for (int r = 0; r < comm.size(); ++r) {
        expected.insert(expected.end(), static_cast<std::size_t>(r) + 1, r);
    }
    CHECK(all == expected);
}

TEST_CASE("all_gather and the reductions", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    const auto ranks = comm.all_gather(static_cast<std::int64_t>(comm.rank()) * 3);
    const auto sum = comm.all_reduce_sum(comm.rank() + 1);
    const auto largest = comm.all_reduce_max(static_cast<double>(comm.rank()) - 0.5);
    const auto smallest = comm.all_reduce_min(static_cast<float>(comm.rank()) + 0.25F);
    std::vector<std::int64_t> counts{comm.rank(), 1, -2};
    comm.all_reduce_sum_in_place(std::span<std::int64_t>(counts));

    REQUIRE(ranks.size() == static_cast<std::size_t>(n_ranks));
    for (int r = 0; r < n_ranks; ++r) CHECK(ranks[static_cast<std::size_t>(r)] == 3 * r);
    CHECK(sum == n_ranks * (n_ranks + 1) / 2);
    CHECK(largest == n_ranks - 1.5);
    CHECK(smallest == 0.25F);
    CHECK(counts == std::vector<std::int64_t>{n_ranks * (n_ranks - 1) / 2, n_ranks, -2 * n_ranks});
}

TEST_CASE("all_to_all_v sends rank-dependent counts and receives in source order", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    const int me = comm.rank();
    // Rank s sends (s + 2 d) % 4 values to rank d (zero for some pairs, including to itself).
    const auto count = [](int source, int destination) {
        return static_cast<std::int64_t>((source + 2 * destination) % 4);
    };
    const auto value = [](int source, int destination, std::int64_t k) {
        return static_cast<std::int64_t>(source) * 10000 + destination * 100 + k;
    };
    std::vector<std::int64_t> send_counts(static_cast<std::size_t>(n_ranks));
    std::vector<std::int64_t> send;
    std::vector<distmf::LocalRating> send_records;
    for (int d = 0; d < n_ranks; ++d) {
        send_counts[static_cast<std::size_t>(d)] = count(me, d);
        for (std::int64_t k = 0; k < count(me, d); ++k) {
            send.push_back(value(me, d, k));
            send_records.push_back({me, d, static_cast<float>(k)});
        }
    }
    const auto received = comm.all_to_all_v(std::span<const std::int64_t>(send),
                                            std::span<const std::int64_t>(send_counts));
    const auto received_records =
        comm.all_to_all_v(std::span<const distmf::LocalRating>(send_records),
                          std::span<const std::int64_t>(send_counts));
    const std::vector<std::int64_t> zeros(static_cast<std::size_t>(n_ranks), 0);
    const auto nothing =
        comm.all_to_all_v(std::span<const double>(), std::span<const std::int64_t>(zeros));

    std::vector<std::int64_t> expected;
    std::size_t record = 0;
    for (int s = 0; s < n_ranks; ++s) {
        for (std::int64_t k = 0; k < count(s, me); ++k) {
            expected.push_back(value(s, me, k));
            REQUIRE(record < received_records.size());
            const auto& r = received_records[record++];
            CHECK(r.user == s);
            CHECK(r.item == me);
            CHECK(r.value == static_cast<float>(k));
        }
    }
    CHECK(received == expected);
    CHECK(record == received_records.size());
    CHECK(nothing.empty());
    // Wrong arguments are caught locally, before any communication.
    CHECK_THROWS_AS(comm.all_to_all_v(std::span<const std::int64_t>(send),
                                      std::span<const std::int64_t>(send_counts).first(0)),
                    distmf::Error);
}

TEST_CASE("all_gather_rows_in_place with uneven rows and a rank with none", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    constexpr std::int64_t width = 3;
    // Rank r owns r % 3 rows: rank 0 owns none.
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n_ranks));
    std::int64_t total_rows = 0;
    std::int64_t my_first = 0;
    for (int r = 0; r < n_ranks; ++r) {
        rows[static_cast<std::size_t>(r)] = r % 3;
        if (r == comm.rank()) my_first = total_rows;
        total_rows += r % 3;
    }
    const auto cell = [](std::int64_t row, std::int64_t column) {
        return static_cast<float>(row * 10 + column) + 0.5F;
    };
    std::vector<float> all(static_cast<std::size_t>(total_rows * width), -1.0F);
    for (std::int64_t row = my_first; row < my_first + rows[static_cast<std::size_t>(comm.rank())];
         ++row) {
        for (std::int64_t c = 0; c < width; ++c) {
            all[static_cast<std::size_t>(row * width + c)] = cell(row, c);
        }
    }
    comm.all_gather_rows_in_place(std::span<float>(all), std::span<const std::int64_t>(rows),
                                  width);
    // No rows anywhere, and rows of width 0, are no-ops.
    const std::vector<std::int64_t> no_rows(static_cast<std::size_t>(n_ranks), 0);
    std::vector<double> empty;
    comm.all_gather_rows_in_place(std::span<double>(empty), std::span<const std::int64_t>(no_rows),
                                  4);
    comm.all_gather_rows_in_place(std::span<double>(empty), std::span<const std::int64_t>(rows), 0);

    std::vector<float> expected(all.size());
    for (std::int64_t row = 0; row < total_rows; ++row) {
        for (std::int64_t c = 0; c < width; ++c) {
            expected[static_cast<std::size_t>(row * width + c)] = cell(row, c);
        }
    }
    CHECK(all == expected);
    std::vector<float> too_small(all.size() + 1);
    CHECK_THROWS_AS(comm.all_gather_rows_in_place(std::span<float>(too_small),
                                                  std::span<const std::int64_t>(rows), width),
                    distmf::Error);
}

TEST_CASE("exclusive_scan_sum sums the ranks before this one", "[comm]") {
    const Communicator comm;
    const auto r = static_cast<std::int64_t>(comm.rank());
    const std::int64_t before = comm.exclusive_scan_sum(r + 1);
    const double before_halves = comm.exclusive_scan_sum(0.5);
    const std::int64_t zero = comm.exclusive_scan_sum(std::int64_t{0});
    CHECK(before == r * (r + 1) / 2);  // 1 + 2 + ... + r
    CHECK(before_halves == 0.5 * static_cast<double>(r));
    CHECK(zero == 0);
}

TEST_CASE("broadcast of values and strings from any root", "[comm]") {
    const Communicator comm;
    const int root = comm.size() - 1;
    std::int64_t number = comm.rank() == root ? 4242 : -1;
    comm.broadcast(number, root);
    std::string text = comm.rank() == root ? std::string("from the last rank") : std::string("x");
    comm.broadcast(text, root);
    std::string empty = comm.rank() == 0 ? std::string() : std::string("not empty");
    comm.broadcast(empty);
    CHECK(number == 4242);
    CHECK(text == "from the last rank");
    CHECK(empty.empty());
}

TEST_CASE("first_error agrees on the smallest key, then the lowest rank", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    const int me = comm.rank();
    const std::string mine = "error on rank " + std::to_string(me);

    const auto none = comm.first_error(std::nullopt, 0);
    // Even ranks fail with key 5, odd ranks with key 3: rank 1 wins when it exists.
    const auto by_key = comm.first_error(mine, me % 2 == 0 ? 5 : 3);
    // Every rank fails with the same key: the lowest rank wins.
    const auto tie = comm.first_error(mine, 7);
    // Only the last rank fails, with the largest possible key.
    const auto last_only = comm.first_error(
        me == n_ranks - 1 ? std::optional<std::string>(mine) : std::nullopt, UINT64_MAX);
    // Keys decrease with the rank: the last rank wins.
    const auto decreasing = comm.first_error(mine, static_cast<std::uint64_t>(n_ranks - me));
    // Ranks without an error pass a small key, which must not count.
    const auto ignored_keys = comm.first_error(
        me == 0 ? std::optional<std::string>(mine) : std::nullopt, me == 0 ? 100 : 1);

    CHECK_FALSE(none);
    REQUIRE(by_key);
    CHECK(*by_key == (n_ranks == 1 ? "error on rank 0" : "error on rank 1"));
    REQUIRE(tie);
    CHECK(*tie == "error on rank 0");
    REQUIRE(last_only);
    CHECK(*last_only == "error on rank " + std::to_string(n_ranks - 1));
    REQUIRE(decreasing);
    CHECK(*decreasing == "error on rank " + std::to_string(n_ranks - 1));
    REQUIRE(ignored_keys);
    CHECK(*ignored_keys == "error on rank 0");
}

TEST_CASE("check_same_on_all_ranks throws on every rank when values differ", "[comm]") {
    const Communicator comm;
    const auto outcome = [&](std::uint64_t value) -> std::optional<std::string> {
        try {
            comm.check_same_on_all_ranks(value, "config fingerprint");
        } catch (const distmf::ConfigError& error) {
            return std::string(error.what());
        }
        return std::nullopt;
    };
    const auto same = outcome(0xfeedULL);
    const auto differ = outcome(static_cast<std::uint64_t>(comm.rank()));
    const auto only_last_differs =
        outcome(comm.rank() == comm.size() - 1 ? UINT64_MAX : std::uint64_t{1});

    CHECK_FALSE(same);
    if (comm.size() == 1) {
        CHECK_FALSE(differ);
        CHECK_FALSE(only_last_differs);
    } else {
        REQUIRE(differ);
        CHECK_THAT(*differ, Contains("config fingerprint differs between ranks"));
        CHECK(only_last_differs);
    }
}

TEST_CASE("ExactSum::all_reduce is bitwise the serial sum for any rank count", "[comm]") {
    const Communicator comm;
    std::vector<double> terms;
    for (int i = 0; i < 3000; ++i) {
        const double magnitude = std::ldexp(1.0 + 0.001 * i, (i * 37) % 100 - 40);
        terms.push_back(i % 3 == 0 ? -magnitude : magnitude);
    }
    distmf::ExactSum serial;
    for (const double x : terms) serial.add(x);
    distmf::ExactSum mine;  // rank r adds every size-th term, starting at r
    for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < terms.size();
         i += static_cast<std::size_t>(comm.size())) {
        mine.add(terms[i]);
    }
    const distmf::ExactSum total = distmf::ExactSum::all_reduce(comm, mine);
    CHECK(std::bit_cast<std::uint64_t>(total.value()) ==
          std::bit_cast<std::uint64_t>(serial.value()));
}

TEST_CASE("ExactSum::all_reduce detects overflow from the exact total for any rank count",
          "[comm]") {
    const Communicator comm;
    // 200 terms of 1e24, then 150 of -1e24, in contiguous chunks per rank: with P = 2 rank 0's
    // partial sum (175e24) overflows the accumulator alone, yet the total 5e25 fits.
    std::vector<double> terms(200, 1e24);
    terms.insert(terms.end(), 150, -1e24);
    const std::size_t size = terms.size();
    const auto rank = static_cast<std::size_t>(comm.rank());
    const auto ranks = static_cast<std::size_t>(comm.size());
    distmf::ExactSum mine;
    for (std::size_t i = rank * size / ranks; i < (rank + 1) * size / ranks; ++i) {
        mine.add(terms[i]);
    }
    const double total = distmf::ExactSum::all_reduce(comm, mine).value();
    // Every term positive: 350e24 does not fit, whichever rank's part overflows first.
    distmf::ExactSum positive;
    for (std::size_t i = rank; i < size; i += ranks) positive.add(1e24);
    const double overflowed = distmf::ExactSum::all_reduce(comm, positive).value();
    CHECK(total == 5e25);
    CHECK(overflowed == std::numeric_limits<double>::infinity());
}

TEST_CASE("send_recv shifts blocks of different sizes one step around the ring", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    const int me = comm.rank();
    // Block b has b + 1 values, all equal to 100 b + their position; rank r starts with block r.
    const auto block = [](int b) {
        std::vector<double> values(static_cast<std::size_t>(b) + 1);
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = 100.0 * b + static_cast<double>(i);
        return values;
    };
    std::vector<std::vector<double>> held;  // the block held after each shift
    int holding = me;
    std::vector<double> current = block(holding);
    for (int shift = 0; shift < n_ranks; ++shift) {
        const int next = (holding + 1) % n_ranks;
        std::vector<double> received(static_cast<std::size_t>(next) + 1);
        comm.send_recv(std::span<const double>(current), (me + n_ranks - 1) % n_ranks,
                       std::span<double>(received), (me + 1) % n_ranks);
        current = received;
        holding = next;
        held.push_back(current);
    }
    // A receive buffer of the wrong size is an MpiError, and the ring stays usable after it
    // (only on more than one rank: a singleton sends to itself).
    bool wrong_size_detected = false;
    if (n_ranks > 1) {
        std::vector<int> mine{1, 2, 3};
        std::vector<int> too_big(4);
        try {
            comm.send_recv(std::span<const int>(mine), (me + 1) % n_ranks, std::span<int>(too_big),
                           (me + n_ranks - 1) % n_ranks);
        } catch (const distmf::MpiError&) {
            wrong_size_detected = true;
        }
    }

    REQUIRE(held.size() == static_cast<std::size_t>(n_ranks));
    for (int shift = 0; shift < n_ranks; ++shift) {
        INFO("after shift " << shift + 1);
        CHECK(held[static_cast<std::size_t>(shift)] == block((me + shift + 1) % n_ranks));
    }
    CHECK(held.back() == block(me));  // P shifts bring every block home
    CHECK(wrong_size_detected == (n_ranks > 1));
}

TEST_CASE("all_gather_rows_in_place with every rank's rows at a place of its own", "[comm]") {
    const Communicator comm;
    const int n_ranks = comm.size();
    constexpr std::int64_t width = 2;
    // Row blocks b = 0..P-1 of b + 1 rows each; rank r contributes block (r + 1) mod P.
    std::vector<std::int64_t> block_first(static_cast<std::size_t>(n_ranks) + 1, 0);
    for (int b = 0; b < n_ranks; ++b) {
        block_first[static_cast<std::size_t>(b) + 1] =
            block_first[static_cast<std::size_t>(b)] + b + 1;
    }
    std::vector<std::int64_t> first(static_cast<std::size_t>(n_ranks));
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n_ranks));
    for (int r = 0; r < n_ranks; ++r) {
        const int b = (r + 1) % n_ranks;
        first[static_cast<std::size_t>(r)] = block_first[static_cast<std::size_t>(b)];
        rows[static_cast<std::size_t>(r)] = b + 1;
    }
    const std::int64_t total_rows = block_first.back();
    std::vector<float> all(static_cast<std::size_t>(total_rows * width), -1.0F);
    const auto me = static_cast<std::size_t>(comm.rank());
    for (std::int64_t row = first[me]; row < first[me] + rows[me]; ++row) {
        all[static_cast<std::size_t>(row * width)] = static_cast<float>(row);
        all[static_cast<std::size_t>(row * width + 1)] = static_cast<float>(-row);
    }
    comm.all_gather_rows_in_place(std::span<float>(all), std::span<const std::int64_t>(first),
                                  std::span<const std::int64_t>(rows), width);
    for (std::int64_t row = 0; row < total_rows; ++row) {
        CHECK(all[static_cast<std::size_t>(row * width)] == static_cast<float>(row));
        CHECK(all[static_cast<std::size_t>(row * width + 1)] == static_cast<float>(-row));
    }
    std::vector<std::int64_t> outside = first;
    outside[0] = total_rows;  // rank 0's rows would end past the buffer
    CHECK_THROWS_AS(
        comm.all_gather_rows_in_place(std::span<float>(all), std::span<const std::int64_t>(outside),
                                      std::span<const std::int64_t>(rows), width),
        distmf::Error);
}
