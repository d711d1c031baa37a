// The parsed-data cache (data_cache.hpp) under MPI: a cache hit gives bitwise the Dataset a
// fresh parse gives on the same number of ranks, whatever number of ranks wrote the cache.
#include <mpi.h>

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "distmf/data_cache.hpp"
#include "distmf/dataset.hpp"
#include "distmf/partition.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::DataConfig;
using distmf::Dataset;
using distmf::RatingMatrix;
using distmf::testing::TempDir;
using distmf::testing::write_on_rank0;

// Every rank calls the same collectives in the same order and asserts only at the end (see
// dataset_mpi_test.cpp).

namespace {

/// 40 users (some with IDs beyond IdIndex's direct table), 30 items, duplicates, decimals.
std::string fixture_text() {
    std::ostringstream text;
    text << "user,item,rating\n";
    for (int n = 0; n < 600; ++n) {
        const std::int64_t user = (n * 7) % 40 + (n % 3 == 0 ? 1000000000000LL : 0);
        const std::int64_t item = (n * 13) % 30;
        text << user << "," << item << "," << (n % 9) * 0.5 + 0.25 << (n % 5 == 0 ? "\r\n" : "\n");
    }
    return text.str();
}

bool same_matrix(const RatingMatrix& a, const RatingMatrix& b) {
    return a.first_row == b.first_row && a.row_start == b.row_start && a.columns == b.columns &&
           a.values.size() == b.values.size() &&
           std::equal(a.values.begin(), a.values.end(), b.values.begin(), [](float x, float y) {
               return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
           });
}

bool same_bits(double a, double b) {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

/// The fields of Dataset that differ between two data sets (timings aside); "" when none.
std::string dataset_differences(const Dataset& a, const Dataset& b) {
    std::string differences;
    const auto check = [&](bool same, const char* what) {
        if (!same) differences += std::string(what) + " ";
    };
    check(a.rank == b.rank, "rank");
    check(a.user_ids == b.user_ids, "user_ids");
    check(a.item_ids == b.item_ids, "item_ids");
    check(a.user_blocks.sizes() == b.user_blocks.sizes(), "user_blocks");
    check(a.item_blocks.sizes() == b.item_blocks.sizes(), "item_blocks");
    check(same_matrix(a.user_ratings, b.user_ratings), "user_ratings");
    check(same_matrix(a.item_ratings, b.item_ratings), "item_ratings");
    check(same_matrix(a.test_ratings, b.test_ratings), "test_ratings");
    check(a.user_train_counts == b.user_train_counts, "user_train_counts");
    check(a.item_train_counts == b.item_train_counts, "item_train_counts");
    check(a.user_balance_counts == b.user_balance_counts, "user_balance_counts");
    check(a.item_balance_counts == b.item_balance_counts, "item_balance_counts");
    const distmf::DatasetSummary& s = a.summary;
    const distmf::DatasetSummary& t = b.summary;
    check(s.n_users == t.n_users && s.n_items == t.n_items && s.n_train == t.n_train &&
              s.n_test == t.n_test && s.duplicates_merged == t.duplicates_merged &&
              s.cold_users == t.cold_users && s.cold_items == t.cold_items,
          "summary counts");
    check(same_bits(s.min_rating, t.min_rating) && same_bits(s.max_rating, t.max_rating) &&
              same_bits(s.mean_rating, t.mean_rating),
          "summary ratings");
    check(s.train_by_user_block == t.train_by_user_block &&
              s.train_by_item_block == t.train_by_item_block,
          "summary blocks");
    check(s.train_layout == t.train_layout && s.test_layout == t.test_layout, "summary layouts");
    return differences;
}

/// The options of each case: hash split, per-user hold-out with merged duplicates, and a
/// separate test file.
std::vector<DataConfig> option_cases(const TempDir& dir) {
    DataConfig hash;
    hash.train = dir.file("ratings.csv");
    hash.duplicates = distmf::DuplicatePolicy::last;
    hash.test_fraction = 0.2;
    hash.seed = 5;
    hash.cache = dir.file("cache");
    DataConfig per_user = hash;
    per_user.split = distmf::SplitMethod::per_user;
    per_user.duplicates = distmf::DuplicatePolicy::mean;
    per_user.test_fraction = 0.3;
    DataConfig test_file = hash;
    test_file.test_fraction = 0.0;
    test_file.test = dir.file("test.csv");
    return {hash, per_user, test_file};
}

/// True on every rank when every rank's `ok` is true. Collective.
bool on_every_rank(const Communicator& comm, bool ok) {
    return comm.all_reduce_min(ok ? 1 : 0) == 1;
}

}  // namespace

TEST_CASE("data cache: a hit gives bitwise the Dataset a fresh parse gives", "[data_cache]") {
    const Communicator comm;
    const TempDir dir(comm);
    const bool written = write_on_rank0(comm, dir.file("ratings.csv"), fixture_text()) &&
                         write_on_rank0(comm, dir.file("test.csv"), "1,2,3\n7,8,4.5\n");
    std::string differences;
    for (const DataConfig& options : option_cases(dir)) {
        DataConfig uncached = options;
        uncached.cache.clear();
        const Dataset fresh = distmf::load_dataset(comm, uncached);
        const Dataset first = distmf::load_dataset(comm, options);   // parses, writes
        const Dataset second = distmf::load_dataset(comm, options);  // a hit
        const bool hit = second.timings.map_seconds == 0.0 && second.timings.shuffle_seconds == 0.0;
        differences += dataset_differences(fresh, first) + dataset_differences(fresh, second) +
                       (hit ? "" : "(no hit) ");
        comm.barrier();
        if (comm.rank() == 0) std::filesystem::remove_all(options.cache);  // the next case
        comm.barrier();
    }
    const bool same = on_every_rank(comm, differences.empty());
    REQUIRE(written);
    INFO("rank " << comm.rank() << ": " << differences);
    CHECK(same);
}

TEST_CASE("data cache: written by two ranks (or one), read by every rank count", "[data_cache]") {
    const Communicator comm;
    const TempDir dir(comm);
    const bool written = write_on_rank0(comm, dir.file("ratings.csv"), fixture_text()) &&
                         write_on_rank0(comm, dir.file("test.csv"), "1,2,3\n7,8,4.5\n");
    // The writers: ranks 0 and 1 (rank 0 alone on one rank).
    MPI_Comm writers_handle = MPI_COMM_NULL;
    MPI_Comm_split(comm.get(), comm.rank() < 2 ? 0 : 1, comm.rank(), &writers_handle);
    std::string differences;
    for (const DataConfig& options : option_cases(dir)) {
        if (comm.rank() < 2) {
            const Communicator writers(writers_handle);
            distmf::load_dataset(writers, options);  // parses, writes the cache
        }
        comm.barrier();
        DataConfig uncached = options;
        uncached.cache.clear();
        const Dataset fresh = distmf::load_dataset(comm, uncached);
        const Dataset cached = distmf::load_dataset(comm, options);
        const bool hit = cached.timings.map_seconds == 0.0 && cached.timings.shuffle_seconds == 0.0;
        differences += dataset_differences(fresh, cached) + (hit ? "" : "(no hit) ");
        comm.barrier();
        if (comm.rank() == 0) std::filesystem::remove_all(options.cache);
        comm.barrier();
    }
    MPI_Comm_free(&writers_handle);
    const bool same = on_every_rank(comm, differences.empty());
    REQUIRE(written);
    INFO("rank " << comm.rank() << ": " << differences);
    CHECK(same);
}
