// Checkpoints under mpiexec: the data fingerprint does not depend on the rank count; a
// TrainState saved by P ranks comes back bit for bit, on P ranks and on one; a checkpoint
// taken between the two half-sweeps of an iteration resumes to the uninterrupted model.
//
// Every rank calls the same collectives in the same order and asserts only afterwards (a
// failed REQUIRE must not leave the other ranks waiting).
#include <mpi.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "distmf/als.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factor_views.hpp"
#include "distmf/generate.hpp"
#include "distmf/log.hpp"
#include "distmf/train.hpp"
#include "distmf/train_state.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::Config;
using distmf::Dataset;
using distmf::IterationRecord;
using distmf::TrainState;
using distmf::testing::TempDir;

namespace {

namespace fs = std::filesystem;
using distmf::testing::same_bits;  // with the overload for IterationRecord below

/// Rank 0 writes a synthetic data set (80 users, 50 items, 1600 ratings) to `path`; every rank
/// returns once it is complete.
void generate_data(const Communicator& comm, const std::string& path) {
    distmf::testing::generate_on_rank0(comm, {.users = 80,
                                              .items = 50,
                                              .ratings = 1600,
                                              .rank = 3,
                                              .noise = 0.3,
                                              .seed = 5,
                                              .out = path});
}

/// Rank 0 copies `from` to `to` with the rating of line `line` (0-based) raised by 0.5 (or
/// lowered, at the top of the scale); every rank learns whether that worked. Collective.
bool copy_with_one_rating_changed(const Communicator& comm, const std::string& from,
                                  const std::string& to, int line) {
    std::ostringstream out;
    if (comm.rank() == 0) {
        std::ifstream in(from);
        int number = 0;
        for (std::string text; std::getline(in, text); ++number) {
            if (number == line) {
                const std::size_t tab = text.rfind('\t');
                const double value = std::stod(text.substr(tab + 1));
                std::ostringstream changed;
                changed << text.substr(0, tab + 1) << (value > 4.0 ? value - 0.5 : value + 0.5);
                text = changed.str();
            }
            out << text << '\n';
        }
    }
    return distmf::testing::write_on_rank0(comm, to, out.str());
}

/// The configuration of these tests: rank 3 with biases, 20 % test ratings.
Config small_config(const std::string& data, const std::string& checkpoint_dir) {
    Config config;
    config.data.train = data;
    config.data.test_fraction = 0.2;
    config.model.rank = 3;
    config.train.threads = 1;
    config.checkpoint.dir = checkpoint_dir;
    config.checkpoint.keep = 10;
    return config;
}

using distmf::testing::same_bits;  // of factor tables; this file adds the one of records

bool same_bits(const IterationRecord& a, const IterationRecord& b) {
    const auto bits = [](double value) { return std::bit_cast<std::uint64_t>(value); };
    return a.iteration == b.iteration && bits(a.train_rmse) == bits(b.train_rmse) &&
           bits(a.test_rmse) == bits(b.test_rmse) && bits(a.test_mae) == bits(b.test_mae) &&
           bits(a.objective) == bits(b.objective) && bits(a.seconds) == bits(b.seconds) &&
           bits(a.elapsed_seconds) == bits(b.elapsed_seconds) &&
           bits(a.test_precision) == bits(b.test_precision) &&
           bits(a.test_recall) == bits(b.test_recall) && bits(a.test_ndcg) == bits(b.test_ndcg) &&
           bits(a.test_map) == bits(b.test_map) && bits(a.test_auc) == bits(b.test_auc);
}

/// Checks that `restored` is `saved`, bit for bit, in everything a resume needs.
void check_same_state(const TrainState& restored, const TrainState& saved) {
    CHECK(restored.iteration == saved.iteration);
    CHECK(restored.users_half_done == saved.users_half_done);
    CHECK(restored.best_iteration == saved.best_iteration);
    CHECK(restored.stopped_early == saved.stopped_early);
    CHECK(same_bits(restored.users, saved.users));
    CHECK(same_bits(restored.items, saved.items));
    if (saved.best_iteration > 0) {
        CHECK(same_bits(restored.best_users, saved.best_users));
        CHECK(same_bits(restored.best_items, saved.best_items));
    }
    REQUIRE(restored.history.size() == saved.history.size());
    for (std::size_t i = 0; i < saved.history.size(); ++i) {
        INFO("history record " << i);
        CHECK(same_bits(restored.history[i], saved.history[i]));
    }
}

}  // namespace

TEST_CASE("data_fingerprint: the same on any number of ranks, different for other data",
          "[checkpoint][mpi]") {
    const Communicator world;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(world);
    const std::string data = dir.file("ratings.tsv");
    const std::string changed = dir.file("changed.tsv");
    generate_data(world, data);
    const bool copied = copy_with_one_rating_changed(world, data, changed, 700);

    const Config config = small_config(data, "");
    const std::uint64_t seed = config.data.seed;
    const std::uint64_t on_world =
        distmf::data_fingerprint(world, distmf::load_dataset(world, config.data), seed);
    // Every rank alone, on the whole file: what a run with one rank computes.
    const std::uint64_t on_self =
        distmf::data_fingerprint(self, distmf::load_dataset(self, config.data), seed);
    const std::vector<std::uint64_t> every_rank = world.all_gather(on_world);

    distmf::DataConfig other = config.data;
    other.train = changed;
    const std::uint64_t one_rating_changed =
        distmf::data_fingerprint(world, distmf::load_dataset(world, other), seed);
    other = config.data;
    other.seed = seed + 1;  // another split and row order
    const std::uint64_t other_seed =
        distmf::data_fingerprint(world, distmf::load_dataset(world, other), other.seed);
    other = config.data;
    other.test_fraction = 0.3;
    const std::uint64_t other_split =
        distmf::data_fingerprint(world, distmf::load_dataset(world, other), seed);
    world.barrier();

    REQUIRE(copied);
    CHECK(on_world == on_self);
    for (const std::uint64_t value : every_rank) CHECK(value == on_world);
    CHECK(one_rating_changed != on_world);
    CHECK(other_seed != on_world);
    CHECK(other_split != on_world);
}

TEST_CASE("save_checkpoint then resume_from_checkpoint restores the TrainState bit for bit",
          "[checkpoint][mpi]") {
    const Communicator world;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(world);
    const std::string data = dir.file("ratings.tsv");
    generate_data(world, data);
    Config config = small_config(data, dir.file("checkpoints"));
    config.train.iterations = 3;
    config.train.patience = 5;  // keeps best_users / best_items
    const distmf::Logger quiet(world.rank(), true);

    const Dataset dataset = distmf::load_dataset(world, config.data);
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
    TrainState state = distmf::initial_state(config, dataset);
    distmf::train_model(world, config, dataset, state, quiet, MPI_Wtime());
    // Make the current and the best tables differ, and set every flag a checkpoint stores.
    state.users.values()(0, 1) += 1.0F;
    state.items.values()(1, 2) -= 1.0F;
    state.best_iteration = 2;
    state.users_half_done = true;
    state.stopped_early = true;

    const std::string path = distmf::save_checkpoint(world, config, dataset, state, fingerprint);
    const auto on_world =
        distmf::resume_from_checkpoint(world, config, dataset, fingerprint, quiet);
    // One rank alone reads what all of them wrote.
    Config single = config;
    single.checkpoint.resume = path;
    const Dataset whole = distmf::load_dataset(self, single.data);
    const std::uint64_t whole_fingerprint = distmf::data_fingerprint(self, whole, single.data.seed);
    const auto on_self =
        distmf::resume_from_checkpoint(self, single, whole, whole_fingerprint, quiet);
    const std::string verified = distmf::verify_checkpoint(world, path);
    const TrainState whole_state = distmf::testing::whole_state(world, dataset, state);
    world.barrier();

    CHECK(path == (fs::path(config.checkpoint.dir) / "checkpoint-000003+u.h5").string());
    CHECK(verified == "ok");
    CHECK(state.history.size() == 3);
    REQUIRE(on_world.has_value());
    CHECK(on_world->path == path);
    check_same_state(on_world->state, state);
    REQUIRE(on_self.has_value());
    CHECK(on_self->path == path);
    check_same_state(on_self->state, whole_state);
}

TEST_CASE("a checkpoint between half-sweeps resumes to the uninterrupted model",
          "[checkpoint][mpi]") {
    const Communicator world;
    const TempDir dir(world);
    const std::string data = dir.file("ratings.tsv");
    generate_data(world, data);
    Config config = small_config(data, "");
    config.train.iterations = 4;
    const distmf::Logger quiet(world.rank(), true);
    const Dataset dataset = distmf::load_dataset(world, config.data);
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    TrainState uninterrupted = distmf::initial_state(config, dataset);
    distmf::train_model(world, config, dataset, uninterrupted, quiet, MPI_Wtime());

    // As train_model derives them from config (the [als] row solver included).
    const distmf::AlsSettings settings =
        distmf::als_settings(config, dataset.summary.mean_rating, 1);
    // 0: a stop during the very first half-sweep (a checkpoint with an empty history).
    for (const int done : {0, 2}) {
        INFO(done << " iterations and a user half-sweep done");
        config.checkpoint.dir = dir.file("checkpoints-" + std::to_string(done));
        distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
        // `done` iterations, then the user half-sweep of the next, as a stop signal leaves it.
        Config first_part = config;
        first_part.train.iterations = done;
        TrainState stopped = distmf::initial_state(config, dataset);
        distmf::train_model(world, first_part, dataset, stopped, quiet, MPI_Wtime());
        const distmf::FactorTable all_items =
            distmf::gather_all_rows(world, stopped.items, dataset.item_blocks);
        distmf::als_half_sweep(world, dataset.user_ratings, all_items, settings, stopped.users,
                               distmf::own_ids(dataset.user_ids, dataset.user_blocks, world.rank()),
                               "user");
        stopped.users_half_done = true;
        const std::string path =
            distmf::save_checkpoint(world, config, dataset, stopped, fingerprint);

        const std::optional<TrainState> resumed =
            distmf::testing::resume_and_train(world, config, dataset, fingerprint, quiet);
        world.barrier();

        const std::string name = distmf::checkpoint_file_name({done, true});
        CHECK(path == (fs::path(config.checkpoint.dir) / name).string());
        REQUIRE(resumed.has_value());
        const TrainState& continued = *resumed;
        CHECK(continued.iteration == 4);
        CHECK_FALSE(continued.users_half_done);
        CHECK(same_bits(continued.users, uninterrupted.users));
        CHECK(same_bits(continued.items, uninterrupted.items));
        CHECK(distmf::testing::same_history(continued, uninterrupted));
    }
}

TEST_CASE("prepare_checkpoint_dir removes only the temporaries of checkpoints",
          "[checkpoint][mpi]") {
    const Communicator world;
    const TempDir dir(world);
    const std::string folder = dir.file("checkpoints");
    const std::vector<std::string> names{"checkpoint-000005.h5.tmp",
                                         "checkpoint-000005+u.h5.tmp",
                                         "checkpoint-000004.h5",
                                         "checkpoint-5.h5.tmp",
                                         "model.h5.tmp",
                                         "notes.tmp"};
    if (world.rank() == 0) {
        fs::create_directories(folder);
        for (const std::string& name : names) distmf::testing::write_text(folder + "/" + name, "x");
    }
    world.barrier();
    distmf::prepare_checkpoint_dir(world, folder);
    std::vector<std::string> left;
    if (world.rank() == 0) {
        for (const std::string& name : names) {
            if (fs::exists(folder + "/" + name)) left.push_back(name);
        }
    }
    world.barrier();
    if (world.rank() == 0) {
        CHECK(left == std::vector<std::string>{"checkpoint-000004.h5", "checkpoint-5.h5.tmp",
                                               "model.h5.tmp", "notes.tmp"});
    }
}
