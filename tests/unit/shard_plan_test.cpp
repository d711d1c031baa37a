// The local parts of shard_plan: the byte formulas of both layouts, the summaries over ranks,
// the output layouts, and the --plan list.
#include "distmf/shard_plan.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"

using Catch::Matchers::Contains;
using distmf::LayoutBytes;
using distmf::PlannedRank;
using distmf::ShardPlan;

namespace {

/// Two ranks of 10 users and 6 items (6 + 4 users, 2 + 4 items), rows of 3 floats.
ShardPlan two_rank_plan() {
    ShardPlan plan;
    plan.n_ranks = 2;
    plan.row_width = 3;
    plan.n_users = 10;
    plan.n_items = 6;
    // train by user/item, test, own users/items, ghosts (items, users), received, sent
    plan.ranks.push_back({30, 12, 3, 6, 2, 5, 7, 3, 4, 1, 2});
    plan.ranks.push_back({20, 38, 2, 4, 4, 3, 9, 1, 2, 3, 4});
    return plan;
}

}  // namespace

TEST_CASE("shard plan bytes follow the replicated and sharded formulas", "[shard_plan]") {
    const ShardPlan plan = two_rank_plan();
    constexpr std::int64_t row = 12;  // 3 floats
    const LayoutBytes replicated = distmf::replicated_bytes(plan, 0);
    CHECK(replicated.factors == (16 + 8) * row);  // all rows and own rows
    CHECK(replicated.received == 8 * row);        // everyone else's
    CHECK(replicated.sent == 8 * row);            // own rows to the one other rank
    const LayoutBytes sharded = distmf::sharded_bytes(plan, 1);
    CHECK(sharded.factors == (4 + 4 + 3 + 9) * row);
    CHECK(sharded.received == (1 + 2) * row);
    CHECK(sharded.sent == (3 + 4) * row);
}

TEST_CASE("on one rank the views are the own tables: every row once, nothing moved",
          "[shard_plan]") {
    ShardPlan plan;
    plan.row_width = 3;
    plan.n_users = 10;
    plan.n_items = 6;
    plan.ranks.push_back({50, 50, 5, 10, 6, 6, 9, 0, 0, 0, 0});
    for (const LayoutBytes& bytes :
         {distmf::replicated_bytes(plan, 0), distmf::sharded_bytes(plan, 0)}) {
        CHECK(bytes.factors == 16 * 12);
        CHECK(bytes.received == 0);
        CHECK(bytes.sent == 0);
    }
}

TEST_CASE("summarize_ranks gives max, mean, max/mean and total", "[shard_plan]") {
    const std::vector<std::int64_t> values{4, 2, 6, 0};
    const distmf::PlanSummary s = distmf::summarize_ranks(values);
    CHECK(s.max == 6);
    CHECK(s.mean == 3.0);
    CHECK(s.imbalance == 2.0);
    CHECK(s.total == 12);
    CHECK(distmf::summarize_ranks(std::vector<std::int64_t>{0, 0}).imbalance == 1.0);
}

TEST_CASE("plan_csv has one row per rank and the summaries, and plan_table one line per figure",
          "[shard_plan]") {
    const std::vector<ShardPlan> plans{two_rank_plan()};
    const std::string csv = distmf::plan_csv(plans);
    CHECK(csv.rfind("ranks,rank,train_by_user,train_by_item,test_by_user,own_users,own_items,"
                    "item_ghosts,user_ghosts,factor_bytes_replicated,factor_bytes_sharded,"
                    "received_bytes_replicated,received_bytes_sharded,sent_bytes_replicated,"
                    "sent_bytes_sharded\n2,0,30,12,3,6,2,5,7,288,240,96,84,96,36\n"
                    "2,1,20,38,2,4,4,3,9,288,240,96,36,96,84\n2,max,30,38,",
                    0) == 0);
    CHECK_THAT(csv, Contains("\n2,mean,25.000,25.000,2.500,"));
    CHECK_THAT(csv, Contains("\n2,imbalance,1.200000,1.520000,1.200000,"));
    CHECK_THAT(csv, Contains("\n2,total,50,50,5,10,6,8,16,576,480,192,120,192,120\n"));
    const std::string table = distmf::plan_table(plans);
    CHECK(table.rfind("plan          P = 2: 10 users, 6 items, factor rows of 3 floats (12 bytes)",
                      0) == 0);
    CHECK_THAT(table, Contains("\n  received MB, sharded "));
}

TEST_CASE("plan_rank_counts reads 1,2,4 and names --plan for anything else", "[shard_plan]") {
    CHECK(distmf::plan_rank_counts("1,2,4,64") == std::vector<int>{1, 2, 4, 64});
    CHECK(distmf::plan_rank_counts("16384") == std::vector<int>{16384});
    for (const char* bad : {"", "2,", ",2", "2;4", " 2", "2 ", "+2", "-1", "0", "16385",
                            "99999999999", "2,x", "4,2,4"}) {
        INFO("--plan '" << bad << "'");
        CHECK_THROWS_WITH(distmf::plan_rank_counts(bad), Contains("--plan: "));
    }
}
