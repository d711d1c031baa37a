// The plan of `distmf data --plan` against what training does: on P ranks, the plan for
// P' = P must give every rank the blocks load_dataset gave it, the views FactorViews builds,
// and the bytes the communicator counts in one publish_users + publish_items, in both layouts;
// and a plan must not depend on how many ranks compute it.
#include <catch2/catch.hpp>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factor_views.hpp"
#include "distmf/shard_plan.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::DataConfig;
using distmf::Dataset;
using distmf::FactorLayout;
using distmf::FactorTable;
using distmf::FactorViews;
using distmf::LayoutBytes;
using distmf::PlannedRank;
using distmf::ShardPlan;
using distmf::testing::TempDir;

// Every rank runs the same collectives in the same order; the checks of per-rank figures are
// CHECKs, so a failing rank still takes part in the collectives that follow (REQUIRE only on
// what is the same on every rank).

namespace {

constexpr int k = 3;
constexpr int row_width = k + 1;  // with biases

/// 70 users x 45 items, about 900 ratings, then 120 of them again with other values (for
/// --data.duplicates last|mean): TSV text.
std::string ratings_with_duplicates() {
    std::ostringstream text;
    for (int i = 0; i < 900; ++i) {
        const int user = (i * 7 + i / 70) % 70;
        const int item = (i * 13 + i / 45) % 45;
        text << 100 + user << '\t' << 5000 + item * 3 << '\t' << 1 + i % 5 << '\n';
    }
    for (int i = 0; i < 900; i += 7) {
        const int user = (i * 7 + i / 70) % 70;
        const int item = (i * 13 + i / 45) % 45;
        text << 100 + user << '\t' << 5000 + item * 3 << '\t' << 1 + (i + 2) % 5 << '\n';
    }
    return text.str();
}

/// The data sets of the tests: the training tests' set with a hash split, and a set with
/// duplicates merged and a per-user hold-out (where the blocks are balanced on other counts
/// than the training ratings kept).
std::vector<DataConfig> data_sets(const Communicator& comm, const TempDir& dir) {
    distmf::testing::generate_small_ratings(comm, dir.file("small.tsv"));
    distmf::testing::write_on_rank0(comm, dir.file("duplicates.tsv"), ratings_with_duplicates());
    DataConfig hashed;
    hashed.train = dir.file("small.tsv");
    hashed.test_fraction = 0.2;
    DataConfig per_user;
    per_user.train = dir.file("duplicates.tsv");
    per_user.test_fraction = 0.25;
    per_user.split = distmf::SplitMethod::per_user;
    per_user.duplicates = distmf::DuplicatePolicy::last;
    return {hashed, per_user};
}

/// What one publish_users + publish_items moved into and out of this rank, and the bytes of
/// the own tables and the views (on more than one rank, where the views are tables of their
/// own).
LayoutBytes measured_exchange(const Communicator& comm, FactorViews& views,
                              const FactorTable& users, const FactorTable& items) {
    const distmf::TrafficCount before = comm.traffic();
    views.publish_users(comm, users);
    views.publish_items(comm, items);
    const distmf::TrafficCount after = comm.traffic();
    const std::int64_t view_rows = views.users().rows() + views.items().rows();
    return {(users.rows() + items.rows() + view_rows) * row_width * 4,
            after.received_bytes - before.received_bytes, after.sent_bytes - before.sent_bytes};
}

bool same_ranks(const PlannedRank& a, const PlannedRank& b) {
    return a.train_by_user == b.train_by_user && a.train_by_item == b.train_by_item &&
           a.test_by_user == b.test_by_user && a.own_users == b.own_users &&
           a.own_items == b.own_items && a.item_ghosts == b.item_ghosts &&
           a.user_ghosts == b.user_ghosts && a.item_rows_received == b.item_rows_received &&
           a.user_rows_received == b.user_rows_received && a.item_rows_sent == b.item_rows_sent &&
           a.user_rows_sent == b.user_rows_sent;
}

}  // namespace

TEST_CASE("the plan for the running rank count is what training holds and moves", "[shard_plan]") {
    const Communicator comm;
    const TempDir dir(comm);
    for (const DataConfig& data : data_sets(comm, dir)) {
        INFO("data " << data.train << ", rank " << comm.rank() << " of " << comm.size());
        const Dataset dataset = distmf::load_dataset(comm, data);
        const ShardPlan plan = distmf::plan_shards(comm, dataset, comm.size(), row_width);
        REQUIRE(plan.ranks.size() == static_cast<std::size_t>(comm.size()));
        const PlannedRank& mine = plan.ranks[static_cast<std::size_t>(comm.rank())];
        // The blocks and ratings of load_dataset.
        CHECK(mine.own_users == dataset.user_blocks.size(comm.rank()));
        CHECK(mine.own_items == dataset.item_blocks.size(comm.rank()));
        CHECK(mine.train_by_user == dataset.user_ratings.nnz());
        CHECK(mine.train_by_item == dataset.item_ratings.nnz());
        CHECK(mine.test_by_user == dataset.test_ratings.nnz());
        CHECK(plan.n_users == dataset.summary.n_users);
        CHECK(plan.n_items == dataset.summary.n_items);

        const FactorTable users = distmf::own_rows_table(dataset.user_blocks, comm.rank(), k, true);
        const FactorTable items = distmf::own_rows_table(dataset.item_blocks, comm.rank(), k, true);
        FactorViews sharded(comm, dataset, FactorLayout::sharded, users, items, true);
        const LayoutBytes sharded_moved = measured_exchange(comm, sharded, users, items);
        FactorViews replicated(comm, dataset, FactorLayout::replicated, users, items, true);
        const LayoutBytes replicated_moved = measured_exchange(comm, replicated, users, items);
        CHECK(distmf::sharded_bytes(plan, comm.rank()).received == sharded_moved.received);
        CHECK(distmf::sharded_bytes(plan, comm.rank()).sent == sharded_moved.sent);
        CHECK(distmf::replicated_bytes(plan, comm.rank()).received == replicated_moved.received);
        CHECK(distmf::replicated_bytes(plan, comm.rank()).sent == replicated_moved.sent);
        if (comm.size() == 1) {
            // One rank reads its own tables, which hold every row, in either layout.
            const std::int64_t every_row = (plan.n_users + plan.n_items) * row_width * 4;
            CHECK(distmf::sharded_bytes(plan, 0).factors == every_row);
            CHECK(distmf::replicated_bytes(plan, 0).factors == every_row);
            continue;
        }
        // The views and routed rows of FactorRouting, and the tables held.
        CHECK(mine.item_ghosts == sharded.item_routing().view_rows());
        CHECK(mine.user_ghosts == sharded.user_routing().view_rows());
        CHECK(mine.item_rows_received == sharded.item_routing().routed_rows().received);
        CHECK(mine.user_rows_received == sharded.user_routing().routed_rows().received);
        CHECK(mine.item_rows_sent == sharded.item_routing().routed_rows().sent);
        CHECK(mine.user_rows_sent == sharded.user_routing().routed_rows().sent);
        CHECK(distmf::sharded_bytes(plan, comm.rank()).factors == sharded_moved.factors);
        CHECK(distmf::replicated_bytes(plan, comm.rank()).factors == replicated_moved.factors);
    }
}

TEST_CASE("a plan is the same whichever number of ranks computes it", "[shard_plan]") {
    const Communicator comm;
    const Communicator alone(MPI_COMM_SELF);
    const TempDir dir(comm);
    for (const DataConfig& data : data_sets(comm, dir)) {
        INFO("data " << data.train << ", rank " << comm.rank() << " of " << comm.size());
        const Dataset shared = distmf::load_dataset(comm, data);
        const Dataset whole = distmf::load_dataset(alone, data);
        for (const int n_ranks : {1, 3, 5, 8}) {
            const ShardPlan planned = distmf::plan_shards(comm, shared, n_ranks, row_width);
            const ShardPlan reference = distmf::plan_shards(alone, whole, n_ranks, row_width);
            INFO("P' = " << n_ranks);
            CHECK(planned.n_users == reference.n_users);
            CHECK(planned.n_items == reference.n_items);
            REQUIRE(planned.ranks.size() == reference.ranks.size());
            std::int64_t received = 0;
            std::int64_t sent = 0;
            for (std::size_t q = 0; q < planned.ranks.size(); ++q) {
                CHECK(same_ranks(planned.ranks[q], reference.ranks[q]));
                const LayoutBytes bytes = distmf::sharded_bytes(planned, static_cast<int>(q));
                received += bytes.received;
                sent += bytes.sent;
            }
            CHECK(received == sent);  // every row sent is received once
        }
    }
}
