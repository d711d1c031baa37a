// DSGD under mpiexec: the training objective falls; a run is bitwise reproducible for the same
// seed, ranks and grid (whatever the thread count); a run stopped inside an epoch and resumed
// from its checkpoint on the same ranks ends bitwise where an uninterrupted run ends; such a
// checkpoint is refused on another number of ranks. All of it with the bold driver and with
// adaptive steps (whose per-row accumulators travel through the ring and the checkpoint).
//
// Every rank calls the same collectives in the same order and asserts only afterwards (a
// failed REQUIRE must not leave the other ranks waiting).
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "distmf/checkpoint.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/log.hpp"
#include "distmf/train.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::Config;
using distmf::Dataset;
using distmf::TrainState;
using distmf::testing::same_bits;
using distmf::testing::same_history;
using distmf::testing::TempDir;

namespace {

/// What every case starts from: 150 users x 90 items, 4000 ratings of a rank-3 model with
/// noise 0.3 (written by rank 0, 20 % held out), loaded on every rank, and a DSGD
/// configuration for it (k = 4, 6 epochs). Collective.
struct Fixture {
    explicit Fixture(const Communicator& comm) : dir(comm) {
        distmf::testing::generate_small_ratings(comm, dir.file("ratings.tsv"));
        config.data.train = dir.file("ratings.tsv");
        config.data.test_fraction = 0.2;
        config.model.rank = 4;
        config.model.lambda = 0.02;
        config.model.algorithm = distmf::Algorithm::dsgd;
        config.dsgd.step_size = 0.02;
        config.train.iterations = 6;
        config.train.seed = 3;
        config.train.threads = 1;
        dataset = distmf::load_dataset(comm, config.data);
    }
    TempDir dir;
    Config config;
    Dataset dataset;
};

/// Trains from the initial state. Collective.
TrainState train(const Communicator& comm, const Config& config, const Dataset& dataset,
                 const distmf::StopCheck& stop = {}) {
    TrainState state = distmf::initial_state(config, dataset);
    distmf::train_model(comm, config, dataset, state, distmf::Logger(comm.rank(), true),
                        MPI_Wtime(), {}, stop);
    return state;
}

/// The message of the ConfigError with which resume_from_checkpoint refuses the folder's
/// checkpoint ("" if it resumes). Collective.
std::string resume_refusal(const Communicator& comm, const Config& config, const Dataset& dataset,
                           std::uint64_t fingerprint) {
    try {
        distmf::resume_from_checkpoint(comm, config, dataset, fingerprint,
                                       distmf::Logger(comm.rank(), true));
    } catch (const distmf::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("DSGD: the training objective falls and the test RMSE approaches the noise",
          "[dsgd][mpi]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    config.train.iterations = 25;
    const TrainState state = train(world, config, fixture.dataset);
    world.barrier();

    REQUIRE(state.history.size() == 25);
    CHECK(state.history.back().objective < 0.5 * state.history.front().objective);
    CHECK(state.history.back().train_rmse < state.history.front().train_rmse);
    // Noise 0.3; biases alone predict about 0.9 on this data.
    CHECK(state.history.back().test_rmse < 0.6);
    CHECK(state.step_size > 0.0);
}

TEST_CASE("DSGD: the factor tables sharded or replicated give the same bits", "[dsgd][mpi]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    config.train.iterations = 4;
    config.train.factors = distmf::FactorLayout::sharded;
    const TrainState sharded = train(world, config, fixture.dataset);
    config.train.factors = distmf::FactorLayout::replicated;
    const TrainState replicated = train(world, config, fixture.dataset);
    world.barrier();

    CHECK(same_bits(sharded.users, replicated.users));
    CHECK(same_bits(sharded.items, replicated.items));
    CHECK(same_history(sharded, replicated));
}

TEST_CASE("DSGD: the same seed, ranks and grid give the same bits, for 1 or 2 threads",
          "[dsgd][mpi]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    const Dataset& dataset = fixture.dataset;
    config.dsgd.schedule =
        GENERATE(distmf::StepSchedule::bold_driver, distmf::StepSchedule::adaptive);
    config.dsgd.grid = 3;
    const TrainState first = train(world, config, dataset);
    const TrainState again = train(world, config, dataset);
    config.train.threads = 2;
    const TrainState threaded = train(world, config, dataset);
    config.train.seed = 4;
    const TrainState other_seed = train(world, config, dataset);
    world.barrier();

    CHECK(same_bits(again.users, first.users));
    CHECK(same_bits(again.items, first.items));
    CHECK(same_history(again, first));
    CHECK(same_bits(threaded.users, first.users));
    CHECK(same_bits(threaded.items, first.items));
    CHECK(same_history(threaded, first));
    CHECK(again.step_size == first.step_size);
    CHECK(same_bits(threaded.user_step_sums, first.user_step_sums));
    CHECK(same_bits(threaded.item_step_sums, first.item_step_sums));
    CHECK(first.user_step_sums.rows() ==
          (config.dsgd.schedule == distmf::StepSchedule::adaptive ? first.users.rows() : 0));
    CHECK_FALSE(same_bits(other_seed.users, first.users));
}

TEST_CASE("DSGD: stopped inside an epoch, checkpointed and resumed, ends bitwise the same",
          "[dsgd][mpi][checkpoint]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    const Dataset& dataset = fixture.dataset;
    config.dsgd.schedule =
        GENERATE(distmf::StepSchedule::bold_driver, distmf::StepSchedule::adaptive);
    config.dsgd.step_size = config.dsgd.schedule == distmf::StepSchedule::adaptive ? 0.1 : 0.02;
    config.train.patience = 10;  // the best model travels through the checkpoint too
    config.checkpoint.dir = fixture.dir.file("checkpoints");
    const distmf::Logger quiet(world.rank(), true);
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
    const TrainState uninterrupted = train(world, config, dataset);

    // The stop check runs after every sub-epoch but an epoch's last, and after every epoch:
    // the third time is inside epoch 2 on 2 ranks, after sub-epoch 3 of epoch 1 on 4, and
    // after epoch 3 on one rank.
    int checks = 0;
    TrainState stopped = train(world, config, dataset, [&checks] { return ++checks == 3; });
    const std::string path = distmf::save_checkpoint(world, config, dataset, stopped, fingerprint);
    auto resumed = distmf::resume_from_checkpoint(world, config, dataset, fingerprint, quiet);
    TrainState continued;
    const bool found = resumed.has_value();
    if (found) {
        continued = std::move(resumed->state);
        distmf::train_model(world, config, dataset, continued, quiet, MPI_Wtime());
    }
    // Another number of ranks cannot finish the epoch: refused with a message (one rank alone
    // stands for "another number" when the world has more).
    std::string refusal;
    if (world.size() > 1 && stopped.sub_epochs_done > 0) {
        const Communicator self(MPI_COMM_SELF);
        Config single = config;
        single.checkpoint.resume = path;
        const Dataset whole = distmf::load_dataset(self, single.data);
        try {
            distmf::resume_from_checkpoint(self, single, whole,
                                           distmf::data_fingerprint(self, whole, single.data.seed),
                                           quiet);
        } catch (const distmf::ConfigError& e) {
            refusal = e.what();
        }
    }
    world.barrier();

    const std::int64_t expected_sub_epochs = world.size() == 1 ? 0 : world.size() == 2 ? 1 : 3;
    CHECK(stopped.sub_epochs_done == expected_sub_epochs);
    CHECK(path.find(distmf::checkpoint_file_name(distmf::checkpoint_name_of(stopped))) !=
          std::string::npos);
    REQUIRE(found);
    CHECK(continued.iteration == uninterrupted.iteration);
    CHECK(continued.sub_epochs_done == 0);
    CHECK(same_bits(continued.users, uninterrupted.users));
    CHECK(same_bits(continued.items, uninterrupted.items));
    CHECK(same_bits(continued.best_users, uninterrupted.best_users));
    CHECK(continued.best_iteration == uninterrupted.best_iteration);
    CHECK(same_history(continued, uninterrupted));
    CHECK(continued.step_size == uninterrupted.step_size);
    CHECK(same_bits(continued.user_step_sums, uninterrupted.user_step_sums));
    CHECK(same_bits(continued.item_step_sums, uninterrupted.item_step_sums));
    if (world.size() > 1) {
        INFO(refusal);
        CHECK(refusal.find("inside a DSGD epoch on " + std::to_string(world.size()) + " ranks") !=
              std::string::npos);
    }
}

TEST_CASE("DSGD: an ALS checkpoint is not resumed by DSGD", "[dsgd][mpi][checkpoint]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    const Dataset& dataset = fixture.dataset;
    config.checkpoint.dir = fixture.dir.file("checkpoints");
    config.model.algorithm = distmf::Algorithm::als;
    config.train.iterations = 1;
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
    const TrainState als = train(world, config, dataset);
    distmf::save_checkpoint(world, config, dataset, als, fingerprint);
    config.model.algorithm = distmf::Algorithm::dsgd;
    const std::string refusal = resume_refusal(world, config, dataset, fingerprint);
    world.barrier();
    INFO(refusal);
    CHECK(refusal.find("written by --model.algorithm als, this run dsgd") != std::string::npos);
    CHECK(refusal.find("--model.init") != std::string::npos);
}

TEST_CASE("DSGD adaptive: any number of ranks reads a checkpoint's accumulators between epochs",
          "[dsgd][mpi][checkpoint]") {
    const Communicator world;
    Fixture fixture(world);
    Config& config = fixture.config;
    const Dataset& dataset = fixture.dataset;
    config.dsgd.schedule = distmf::StepSchedule::adaptive;
    config.dsgd.step_size = 0.1;
    config.train.iterations = 2;
    config.checkpoint.dir = fixture.dir.file("checkpoints");
    const distmf::Logger quiet(world.rank(), true);
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
    const TrainState trained = train(world, config, dataset);
    const std::string path = distmf::save_checkpoint(world, config, dataset, trained, fingerprint);

    // One rank alone (another number when the world has more; --checkpoint.force, as DSGD's
    // strata differ) reads every row's accumulators: each rank compares its own rows.
    const Communicator self(MPI_COMM_SELF);
    Config single = config;
    single.checkpoint.resume = path;
    single.checkpoint.force = true;
    single.checkpoint.dir.clear();
    const Dataset whole = distmf::load_dataset(self, single.data);
    auto resumed = distmf::resume_from_checkpoint(
        self, single, whole, distmf::data_fingerprint(self, whole, single.data.seed), quiet);
    // A bold-driver checkpoint is refused by an adaptive run, naming what is missing.
    config.dsgd.schedule = distmf::StepSchedule::bold_driver;
    const TrainState bold = train(world, config, dataset);
    distmf::save_checkpoint(world, config, dataset, bold, fingerprint);
    config.dsgd.schedule = distmf::StepSchedule::adaptive;
    const std::string refusal = resume_refusal(world, config, dataset, fingerprint);
    world.barrier();

    REQUIRE(resumed.has_value());
    const TrainState& all = resumed->state;
    REQUIRE(all.user_step_sums.rows() == dataset.user_blocks.n_rows());
    REQUIRE(all.item_step_sums.rows() == dataset.item_blocks.n_rows());
    REQUIRE(trained.user_step_sums.rows() == trained.users.rows());
    for (std::int64_t row = trained.users.first_row(); row < trained.users.end_row(); ++row) {
        CHECK(all.user_step_sums.row(row)(0) == trained.user_step_sums.row(row)(0));
    }
    for (std::int64_t row = trained.items.first_row(); row < trained.items.end_row(); ++row) {
        CHECK(all.item_step_sums.row(row)(0) == trained.item_step_sums.row(row)(0));
    }
    INFO(refusal);
    CHECK(refusal.find("--dsgd.schedule bold-driver, this run adaptive") != std::string::npos);
    CHECK(refusal.find("start afresh") != std::string::npos);
}
