// Bayesian PMF under mpiexec: a run stopped between the half-sweeps of a sweep (during the
// burn-in, or with samples kept), checkpointed and resumed, ends bitwise where an uninterrupted
// run ends: factors, samples kept (the last N or their mean), prediction sums and metrics; the
// chain is the same on any number of ranks, with the factor tables sharded or replicated; the
// figures from the running sums are those of the model of every sample (the O(nnz k T)
// evaluation they replace), and a model of the last N samples is that of a run whose burn-in
// leaves N.
//
// Every rank calls the same collectives in the same order and asserts only afterwards (a
// failed REQUIRE must not leave the other ranks waiting).
#include <mpi.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "distmf/bpmf.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factor_routing.hpp"
#include "distmf/log.hpp"
#include "distmf/metrics.hpp"
#include "distmf/train.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using distmf::Communicator;
using distmf::Config;
using distmf::TrainState;
using distmf::testing::same_bits;
using distmf::testing::same_history;
using distmf::testing::TempDir;

namespace {

/// Whether two vectors hold the same doubles, bit for bit.
bool same_doubles(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// BPMF on the small ratings written into `dir`, 20 % held out, no biases, 2 burn-in sweeps.
Config small_bpmf_config(const Communicator& world, const TempDir& dir, int rank, int sweeps,
                         int threads) {
    distmf::testing::generate_small_ratings(world, dir.file("ratings.tsv"));
    Config config;
    config.data.train = dir.file("ratings.tsv");
    config.data.test_fraction = 0.2;
    config.model.algorithm = distmf::Algorithm::bpmf;
    config.model.biases = false;
    config.model.rank = rank;
    config.bpmf.burn_in = 2;
    config.train.iterations = sweeps;
    config.train.threads = threads;
    return config;
}

}  // namespace

TEST_CASE("BPMF: stopped between half-sweeps, checkpointed and resumed, ends bitwise the same",
          "[bpmf][mpi][checkpoint]") {
    const int keep = GENERATE(0, 3);  // the mean; the last 3 of 4 samples (the ring wraps)
    INFO("--bpmf.keep-samples " << keep);
    const Communicator world;
    const TempDir dir(world);
    Config config = small_bpmf_config(world, dir, 5, 6, 1);
    config.bpmf.keep_samples = keep;
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
        CHECK(stopped.samples_averaged == std::max(0, done - 2));
        REQUIRE(resumed.has_value());
        const TrainState& continued = *resumed;
        CHECK(continued.iteration == 6);
        CHECK(continued.samples_averaged == 4);
        CHECK(distmf::samples_kept(continued) == (keep == 0 ? 1 : 3));
        CHECK(same_bits(continued.users, uninterrupted.users));
        CHECK(same_bits(continued.items, uninterrupted.items));
        CHECK(same_bits(continued.user_samples, uninterrupted.user_samples));
        CHECK(same_bits(continued.item_samples, uninterrupted.item_samples));
        CHECK(same_doubles(continued.train_prediction_sums, uninterrupted.train_prediction_sums));
        CHECK(same_doubles(continued.test_prediction_sums, uninterrupted.test_prediction_sums));
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
        CHECK(same_doubles(other->train_prediction_sums, whole.train_prediction_sums));
        CHECK(same_doubles(other->test_prediction_sums, whole.test_prediction_sums));
        CHECK(same_history(*other, whole));
    }
    // The averaged model predicts better than the burn-in's last single draw.
    CHECK(uninterrupted.history.back().test_rmse < uninterrupted.history[1].test_rmse);
}

TEST_CASE(
    "BPMF: the running sums give the figures of the model of every sample, and the model of "
    "the last N samples is that of a run whose burn-in leaves N",
    "[bpmf][mpi]") {
    const Communicator world;
    const TempDir dir(world);
    const Config config = small_bpmf_config(world, dir, 4, 8, 1);
    const distmf::Dataset dataset = distmf::load_dataset(world, config.data);
    const distmf::Logger quiet(world.rank(), true);
    const auto train = [&](const Config& c) {
        TrainState state = distmf::initial_state(c, dataset);
        distmf::train_model(world, c, dataset, state, quiet, MPI_Wtime());
        return state;
    };
    Config every_sample = config;
    every_sample.bpmf.keep_samples = 100;
    const TrainState all = train(every_sample);
    Config last_two = config;
    last_two.bpmf.keep_samples = 2;
    const TrainState two = train(last_two);
    Config late_burn_in = every_sample;  // the chain does not depend on the burn-in
    late_burn_in.bpmf.burn_in = 6;
    const TrainState late = train(late_burn_in);

    // The O(nnz k T) evaluation the sums replace: the model of all 6 samples (rank k T).
    const distmf::BpmfModel model = distmf::bpmf_model(all, 100);
    const distmf::FactorTable items =
        distmf::gather_all_rows(world, model.items, dataset.item_blocks);
    const distmf::RatingRange range{dataset.summary.min_rating, dataset.summary.max_rating};
    const double mean = dataset.summary.mean_rating;
    const distmf::ErrorMetrics train_errors = distmf::all_reduce_errors(
        world, distmf::rating_errors(dataset.user_ratings, model.users, items, mean, range, 1));
    const distmf::ErrorMetrics test_errors = distmf::all_reduce_errors(
        world, distmf::rating_errors(dataset.test_ratings, model.users, items, mean, range, 1));
    const distmf::BpmfModel two_model = distmf::bpmf_model(two, 2);
    const distmf::BpmfModel late_model = distmf::bpmf_model(late, 100);
    world.barrier();

    REQUIRE(all.samples_averaged == 6);
    CHECK(model.users.k() == 4 * 6);
    const distmf::IterationRecord& figures = all.history.back();
    CHECK(figures.train_rmse == Approx(train_errors.rmse).epsilon(1e-6));
    CHECK(figures.test_rmse == Approx(test_errors.rmse).epsilon(1e-6));
    CHECK(figures.test_mae == Approx(test_errors.mae).epsilon(1e-6));
    CHECK(figures.objective == Approx(train_errors.squared_unclipped).epsilon(1e-6));
    // The figures average every sample whatever the model keeps.
    CHECK(same_history(two, all));
    CHECK(same_doubles(two.train_prediction_sums, all.train_prediction_sums));
    // Sweeps 7 and 8: the last two samples, as the samples of a burn-in of 6 sweeps.
    CHECK(two_model.users.k() == 4 * 2);
    CHECK(same_bits(two_model.users, late_model.users));
    CHECK(same_bits(two_model.items, late_model.items));
}
