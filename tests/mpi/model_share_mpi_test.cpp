// Reading a share of a model file (issue 12): load_model_share gives each rank exactly its rows
// of the whole model, for the serving layouts (users in even shares, items replicated or in
// rotating blocks), on any number of ranks; a byte flipped inside one rank's share is the same
// InputError on every rank.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/error.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/model_io.hpp"
#include "distmf/sharded_serving.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::BlockPartition;
using distmf::Communicator;
using distmf::FactorTable;
using distmf::testing::catch_on_every_rank;
using distmf::testing::CaughtError;
using distmf::testing::TempDir;

namespace {

constexpr int k = 3;
constexpr std::int64_t n_users = 41;
constexpr std::int64_t n_items = 900;  // three score tiles: rotated blocks of unequal sizes

/// Rank `rank`'s rows of a side of `n_rows` rows (even shares), with values a function of
/// (row, column) alone.
FactorTable own_rows(const BlockPartition& blocks, int rank, float scale) {
    FactorTable table(blocks.first(rank), blocks.size(rank), k, true);
    for (std::int64_t r = 0; r < table.rows(); ++r) {
        for (Eigen::Index c = 0; c < table.width(); ++c) {
            table.values()(r, c) =
                scale * static_cast<float>((table.first_row() + r) * 7 + c) / 13.0F;
        }
    }
    return table;
}

BlockPartition even_blocks(const Communicator& comm, std::int64_t n_rows) {
    std::vector<std::int64_t> boundaries{0};
    for (int r = 0; r < comm.size(); ++r) {
        boundaries.push_back(distmf::even_share(n_rows, comm.size(), r).end());
    }
    return BlockPartition(boundaries);
}

/// Writes a model of n_users x n_items (no training lists) to `path`.
void write_model(const Communicator& comm, const std::string& path) {
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    for (std::int64_t u = 0; u < n_users; ++u) user_ids.push_back(1000 + 3 * u);
    for (std::int64_t i = 0; i < n_items; ++i) item_ids.push_back(5 * i);
    const BlockPartition user_blocks = even_blocks(comm, n_users);
    const BlockPartition item_blocks = even_blocks(comm, n_items);
    const FactorTable users = own_rows(user_blocks, comm.rank(), 1.0F);
    const FactorTable items = own_rows(item_blocks, comm.rank(), -0.5F);
    distmf::ModelInfo info;
    info.k = k;
    info.created = "2026-12-04T00:00:00Z";
    distmf::save_model(
        comm, path, info,
        distmf::ModelView{user_ids, item_ids, users, items, user_blocks, item_blocks});
}

/// Whether rows [first, first + count) of `part` are bitwise those of `whole`.
bool same_rows(const FactorTable& part, const FactorTable& whole) {
    const auto expected = whole.values().middleRows(part.first_row(), part.rows());
    return part.values() == expected;
}

}  // namespace

TEST_CASE("load_model_share reads this rank's rows of the serving layouts, bit for bit",
          "[model_io][sharded]") {
    distmf::silence_hdf5_errors();
    const Communicator comm;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(comm);
    const std::string path = dir.file("model.h5");
    write_model(comm, path);
    const distmf::Model whole = distmf::load_model(self, path);
    for (const bool rotated : {false, true}) {
        const distmf::Model share =
            distmf::load_model_share(comm, path, [&](const distmf::ModelInfo& info) {
                return distmf::serving_layout(info, comm.size(), comm.rank(), rotated);
            });
        const distmf::RowRange users = distmf::even_share(n_users, comm.size(), comm.rank());
        const distmf::RowRange items =
            rotated ? distmf::rotated_item_block(n_items, comm.size(), comm.rank())
                    : distmf::RowRange{0, n_items};
        CHECK(share.user_ids == whole.user_ids);
        CHECK(share.item_ids == whole.item_ids);
        CHECK(share.users.first_row() == users.first);
        CHECK(share.users.rows() == users.count);
        CHECK(share.items.first_row() == items.first);
        CHECK(share.items.rows() == items.count);
        CHECK(same_rows(share.users, whole.users));
        CHECK(same_rows(share.items, whole.items));
        CHECK_FALSE(share.has_training_data());
    }
}

TEST_CASE("a byte flipped in one rank's share is the same InputError on every rank",
          "[model_io][sharded]") {
    distmf::silence_hdf5_errors();
    const Communicator comm;
    const TempDir dir(comm);
    const std::string path = dir.file("model.h5");
    write_model(comm, path);
    if (comm.rank() == 0) {
        // The last row of users/factors: in the last rank's share only.
        const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t dataset = H5Dopen2(file, "users/factors", H5P_DEFAULT);
        const auto at =
            static_cast<std::streamoff>(H5Dget_offset(dataset) + H5Dget_storage_size(dataset) - 2);
        H5Dclose(dataset);
        H5Fclose(file);
        std::fstream bytes(path, std::ios::in | std::ios::out | std::ios::binary);
        bytes.seekg(at);
        const char original = static_cast<char>(bytes.get());
        bytes.seekp(at);
        bytes.put(static_cast<char>(~original));
    }
    comm.barrier();
    const CaughtError failure = catch_on_every_rank<distmf::InputError>(comm, [&] {
        distmf::load_model_share(comm, path, [&](const distmf::ModelInfo& info) {
            return distmf::serving_layout(info, comm.size(), comm.rank(), true);
        });
    });
    REQUIRE(failure.message);
    CHECK(failure.same_everywhere());
    CHECK_THAT(*failure.message, Contains(path));
    CHECK_THAT(*failure.message, Contains("checksum mismatch in dataset users/factors"));
}
