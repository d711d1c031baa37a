// --model.init's row mapping: rows are copied by external ID, unknown IDs keep their values.
#include "distmf/warm_start.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "distmf/error.hpp"
#include "distmf/id_index.hpp"

using distmf::FactorTable;

TEST_CASE("positions_of_ids finds every ID's row, -1 for unknown IDs", "[warm-start]") {
    const std::vector<std::int64_t> table{40, 7, 1000000000000, 3};
    const std::vector<std::int64_t> ids{3, 5, 40, 1000000000000, 8};
    CHECK(distmf::positions_of_ids(ids, table) == std::vector<std::int64_t>{3, -1, 0, 2, -1});
    CHECK(distmf::positions_of_ids({}, table).empty());
}

TEST_CASE("copy_rows_at copies the matched rows and leaves the others", "[warm-start]") {
    FactorTable source(3, 2, true);
    source.values() << 1, 2, 3,  //
        4, 5, 6,                 //
        7, 8, 9;
    FactorTable target(4, 2, true);
    target.values().setConstant(-1.0F);
    const std::vector<std::int64_t> positions{2, -1, 0, -1};
    CHECK(distmf::copy_rows_at(source, positions, target) == 2);
    CHECK(target.row(0) == source.row(2));
    CHECK(target.row(2) == source.row(0));
    CHECK(target.row(1).isConstant(-1.0F));
    CHECK(target.row(3).isConstant(-1.0F));
    FactorTable narrower(4, 1, true);
    CHECK_THROWS_AS(distmf::copy_rows_at(source, positions, narrower), distmf::Error);
}
