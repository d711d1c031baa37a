#include <catch2/catch.hpp>

#include "distmf/comm.hpp"

using distmf::Communicator;

TEST_CASE("all_gather_v concatenates uneven contributions in rank order", "[comm]") {
    const Communicator comm;
    std::vector<int> mine(static_cast<std::size_t>(comm.rank()) + 1, comm.rank());
    const auto all = comm.all_gather_v(std::span<const int>(mine));
    std::vector<int> expected;
    for (int r = 0; r < comm.size(); ++r) expected.insert(expected.end(), static_cast<std::size_t>(r) + 1, r);
    CHECK(all == expected);
}
