#include "distmf/id_index.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <unordered_map>
#include <vector>

using distmf::IdIndex;

TEST_CASE("IdIndex numbers IDs densely in first-seen order", "[id_index]") {
    IdIndex index;
    CHECK(index.size() == 0);
    CHECK(index.find(0) == IdIndex::absent);
    CHECK(index.insert(42) == 0);
    CHECK(index.insert(7) == 1);
    CHECK(index.insert(42) == 0);  // seen before: same index, nothing added
    CHECK(index.insert(0) == 2);
    CHECK(index.insert(std::numeric_limits<std::int64_t>::max()) == 3);
    CHECK(index.size() == 4);
    CHECK(index.find(7) == 1);
    CHECK(index.find(0) == 2);
    CHECK(index.find(std::numeric_limits<std::int64_t>::max()) == 3);
    CHECK(index.find(8) == IdIndex::absent);
    const std::vector<std::int64_t> ids(index.ids().begin(), index.ids().end());
    CHECK(ids == std::vector<std::int64_t>{42, 7, 0, std::numeric_limits<std::int64_t>::max()});
}

TEST_CASE("IdIndex keeps every ID through many growths", "[id_index]") {
    // Sparse, large IDs plus IDs that collide in their low bits.
    std::mt19937_64 random(5);
    std::vector<std::int64_t> inserted;
    std::unordered_map<std::int64_t, std::int32_t> reference;
    IdIndex index;
    for (int n = 0; n < 50000; ++n) {
        std::int64_t id = 0;
        if (n % 3 == 0) {
            id = static_cast<std::int64_t>(random() >> 1U);
        } else if (n % 3 == 1) {
            id = static_cast<std::int64_t>(n) << 20;  // same low bits
        } else {
            id = static_cast<std::int64_t>(random() % 1000);  // many repeats
        }
        const std::int32_t got = index.insert(id);
        const auto [found, added] =
            reference.try_emplace(id, static_cast<std::int32_t>(reference.size()));
        if (added) inserted.push_back(id);
        if (got != found->second) FAIL("insert(" << id << ") gave " << got);
    }
    REQUIRE(index.size() == static_cast<std::int32_t>(reference.size()));
    const std::vector<std::int64_t> ids(index.ids().begin(), index.ids().end());
    CHECK(ids == inserted);
    for (const auto& [id, expected] : reference) {
        if (index.find(id) != expected) FAIL("find(" << id << ") != " << expected);
    }
    int absent_found = 0;
    for (std::int64_t probe = 1; probe < 2000; probe += 2) {
        const std::int64_t id = (probe << 20) + 1;  // never inserted
        if (index.find(id) != IdIndex::absent) ++absent_found;
    }
    CHECK(absent_found == 0);
}
