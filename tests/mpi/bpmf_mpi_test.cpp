// Bayesian PMF under mpiexec: a run stopped between the half-sweeps of a sweep (during the
// burn-in, or with samples kept), checkpointed and resumed, ends bitwise where an uninterrupted
// run ends: factors, samples and metrics; and the chain is the same on any number of ranks,
// with the factor tables sharded or replicated.
//
// Every rank calls the same collectives in the same order and asserts only afterwards (a
// failed REQUIRE must not leave the other ranks waiting).
#include <mpi.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "distmf/bpmf.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/log.hpp"
#include "distmf/train.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::Config;
using distmf::TrainState;
using distmf::testing::same_bits;
using distmf::testing::same_history;
using distmf::testing::TempDir;

TEST_CASE("BPMF: stopped between half-sweeps, checkpointed and resumed, ends bitwise the same",
          "[bpmf][mpi][checkpoint]") {
    const Communicator world;
    const TempDir dir(world);
    distmf::testing::generate_small_ratings(world, dir.file("ratings.tsv"));
    Config config;
    config.data.train = dir.file("ratings.tsv");
    config.data.test_fraction = 0.2;
    config.model.algorithm = distmf::Algorithm::bpmf;
    config.model.biases = false;
    config.model.rank = 5;
    config.bpmf.burn_in = 2;
    config.train.iterations = 6;
    config.train.threads = 1;
    const distmf::Dataset dataset = distmf::load_dataset(world, config.data);
    const distmf::Logger quiet(world.rank(), true);
    const std::uint64_t fingerprint = distmf::data_fingerprint(world, dataset, config.data.seed);
    TrainState uninterrupted = distmf::initial_state(config, dataset);
    distmf::train_model(world, config, dataset, uninterrupted, quiet, MPI_Wtime());

    // The stop check runs after every user half-sweep and every sweep: its (2 d + 1)-th call
    // comes after the user half-sweep of sweep d + 1.
    for (const int done : {1, 4}) {
        INFO(done << " sweeps and a user half-sweep done");
        config.checkpoint.dir = dir.file("checkpoints-" + std::to_string(done));
        distmf::prepare_checkpoint_dir(world, config.checkpoint.dir);
        TrainState stopped = distmf::initial_state(config, dataset);
        int checks = 0;
        distmf::train_model(world, config, dataset, stopped, quiet, MPI_Wtime(), {},
                            [&checks, done] { return ++checks == 2 * done + 1; });
        distmf::save_checkpoint(world, config, dataset, stopped, fingerprint);
        const std::optional<TrainState> resumed =
            distmf::testing::resume_and_train(world, config, dataset, fingerprint, quiet);
        world.barrier();

        CHECK(stopped.iteration == done);
        CHECK(stopped.users_half_done);
        CHECK(distmf::sample_count(stopped) == std::max(0, done - 2));
        REQUIRE(resumed.has_value());
        const TrainState& continued = *resumed;
        CHECK(continued.iteration == 6);
        CHECK(distmf::sample_count(continued) == 4);
        CHECK(same_bits(continued.users, uninterrupted.users));
        CHECK(same_bits(continued.items, uninterrupted.items));
        CHECK(same_bits(continued.user_samples, uninterrupted.user_samples));
        CHECK(same_bits(continued.item_samples, uninterrupted.item_samples));
        CHECK(same_history(continued, uninterrupted));
    }
    // The chain is the same on one rank alone and in either layout of the factor tables.
    const distmf::Communicator self(MPI_COMM_SELF);
    const distmf::Dataset whole_data = distmf::load_dataset(self, config.data);
    TrainState alone = distmf::initial_state(config, whole_data);
    distmf::train_model(self, config, whole_data, alone, quiet, MPI_Wtime());
    Config replicated_config = config;
    replicated_config.train.factors = distmf::FactorLayout::replicated;
    TrainState replicated = distmf::initial_state(replicated_config, dataset);
    distmf::train_model(world, replicated_config, dataset, replicated, quiet, MPI_Wtime());
    const TrainState whole = distmf::testing::whole_state(world, dataset, uninterrupted);
    replicated = distmf::testing::whole_state(world, dataset, std::move(replicated));
    world.barrier();
    for (const TrainState* other : {&alone, &replicated}) {
        CHECK(same_bits(other->users, whole.users));
        CHECK(same_bits(other->items, whole.items));
        CHECK(same_bits(other->user_samples, whole.user_samples));
        CHECK(same_bits(other->item_samples, whole.item_samples));
        CHECK(same_history(*other, whole));
    }
    // The averaged model predicts better than the burn-in's last single draw.
    CHECK(uninterrupted.history.back().test_rmse < uninterrupted.history[1].test_rmse);
}
