// ALS training and the model file under MPI: factors after a few iterations are bitwise the
// same for any number of ranks and threads, a model survives save_model/load_model on any
// number of ranks, and bad model files are agreed InputErrors.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/generate.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/log.hpp"
#include "distmf/model_io.hpp"
#include "distmf/train.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::Communicator;
using distmf::Config;
using distmf::Dataset;
using distmf::FactorTable;
using distmf::TrainState;
using distmf::testing::catch_on_every_rank;
using distmf::testing::CaughtError;
using distmf::testing::same_bits;
using distmf::testing::same_history;
using distmf::testing::TempDir;
using distmf::testing::write_on_rank0;

// Every rank calls the same collectives in the same order and asserts only after the last
// one (a failed REQUIRE on one rank must not leave the others waiting). Files are used only
// before the last collective: rank 0 removes the TempDir as soon as it is done.

namespace {

/// A small synthetic data set (150 users, 90 items, 4000 ratings of a rank-3 model).
std::string synthetic_ratings() {
    distmf::GenerateConfig options;
    options.users = 150;
    options.items = 90;
    options.ratings = 4000;
    options.rank = 3;
    options.noise = 0.3;
    options.seed = 5;
    const distmf::SyntheticRatings synthetic(options);
    std::string text;
    synthetic.append_users(0, options.users, text);
    return text;
}

Config training_config(const std::string& path) {
    Config config;
    config.data.train = path;
    config.data.test_fraction = 0.2;
    config.model.rank = 4;
    config.model.lambda = 0.05;
    config.train.iterations = 3;
    config.train.seed = 9;
    config.train.threads = 1;
    return config;
}

/// Loads the data on `comm` and runs train_model from the initial state; the state holds
/// whole tables (gathered from every rank's own rows). Collective.
struct Trained {
    Dataset dataset;
    TrainState state;
};

Trained train(const Communicator& comm, const Config& config) {
    Trained result{distmf::load_dataset(comm, config.data), {}};
    result.state = distmf::initial_state(config, result.dataset);
    const distmf::Logger quiet(comm.rank(), true);
    distmf::train_model(comm, config, result.dataset, result.state, quiet, MPI_Wtime());
    result.state = distmf::testing::whole_state(comm, result.dataset, std::move(result.state));
    return result;
}

/// FNV-1a over the bytes of a table.
std::uint64_t table_hash(const FactorTable& table) {
    std::uint64_t hash = 1469598103934665603ULL;
    const auto* bytes = reinterpret_cast<const unsigned char*>(table.values().data());
    const auto n_bytes = static_cast<std::size_t>(table.values().size()) * sizeof(float);
    for (std::size_t i = 0; i < n_bytes; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
    return hash ^ static_cast<std::uint64_t>(table.rows());
}

distmf::ModelInfo model_info(const Config& config, const Dataset& dataset, std::int64_t iteration) {
    distmf::ModelInfo info;
    info.k = config.model.rank;
    info.biases = config.model.biases;
    info.iteration = iteration;
    info.seed = config.train.seed;
    info.config = distmf::effective_ini(config, distmf::Command::train);
    info.created = "2026-01-02T03:04:05Z";
    info.global_mean = config.model.biases ? dataset.summary.mean_rating : 0.0;
    info.rating_min = dataset.summary.min_rating;
    info.rating_max = dataset.summary.max_rating;
    return info;
}

}  // namespace

TEST_CASE("ALS factors are bitwise the same for any number of ranks and threads, in either layout",
          "[als]") {
    const Communicator comm;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(comm);
    Config config = training_config(dir.file("ratings.tsv"));
    const bool written = write_on_rank0(comm, config.data.train, synthetic_ratings());
    SECTION("biases, weighted, conjugate gradients") {
        config.als.solver = distmf::LinearSolver::cg;
    }
    SECTION("biases, weighted, Cholesky") { config.als.solver = distmf::LinearSolver::cholesky; }
    SECTION("no biases, plain, conjugate gradients") {
        config.als.solver = distmf::LinearSolver::cg;
        config.als.cg_steps = 2;
        config.model.biases = false;
        config.model.regularization = distmf::Regularization::plain;
        config.model.lambda = 2.0;
    }
    const auto implicit = [&config](distmf::ImplicitSolver solver) {
        config.model.algorithm = distmf::Algorithm::ials;
        config.model.biases = false;
        config.data.split = distmf::SplitMethod::per_user;
        config.ials.alpha = 3.0;
        config.ials.confidence = distmf::ConfidenceScaling::log;
        config.ials.solver = solver;
    };
    SECTION("implicit ALS, conjugate gradients, per-user split") {
        implicit(distmf::ImplicitSolver::cg);
    }
    SECTION("implicit ALS, Cholesky, per-user split") {
        implicit(distmf::ImplicitSolver::cholesky);
    }

    const Trained serial = train(self, config);  // every rank, the whole problem alone
    Config threaded_config = config;
    threaded_config.train.threads = 2;
    const Trained threaded = train(self, threaded_config);
    REQUIRE(written);
    CHECK(same_bits(threaded.state.users, serial.state.users));
    CHECK(same_bits(threaded.state.items, serial.state.items));
    CHECK(same_history(threaded.state, serial.state));
    // P ranks in either layout of the factor tables, against one rank alone.
    for (const distmf::FactorLayout layout :
         {distmf::FactorLayout::replicated, distmf::FactorLayout::sharded}) {
        config.train.factors = layout;
        INFO("--train.factors " << (layout == distmf::FactorLayout::sharded ? "sharded"
                                                                            : "replicated"));
        const Trained parallel = train(comm, config);
        const std::vector<std::uint64_t> user_hashes =
            comm.all_gather(table_hash(parallel.state.users));
        const std::vector<std::uint64_t> item_hashes =
            comm.all_gather(table_hash(parallel.state.items));

        REQUIRE(parallel.state.iteration == 3);
        CHECK(parallel.state.history.size() == 3);
        CHECK(parallel.dataset.summary.n_test > 0);
        CHECK(parallel.dataset.user_ids == serial.dataset.user_ids);
        CHECK(parallel.dataset.item_ids == serial.dataset.item_ids);
        CHECK(same_bits(parallel.state.users, serial.state.users));
        CHECK(same_bits(parallel.state.items, serial.state.items));
        CHECK(table_hash(parallel.state.users) == table_hash(serial.state.users));
        CHECK(table_hash(parallel.state.items) == table_hash(serial.state.items));
        CHECK(same_history(parallel.state, serial.state));
        for (const std::uint64_t h : user_hashes) CHECK(h == user_hashes.front());
        for (const std::uint64_t h : item_hashes) CHECK(h == item_hashes.front());
        // Training did something: the objective fell (and implicit ALS ranked the test items).
        CHECK(parallel.state.history.back().objective < parallel.state.history.front().objective);
        if (config.model.algorithm == distmf::Algorithm::ials) {
            CHECK(parallel.state.history.back().test_ndcg > 0.0);
            CHECK(std::isnan(parallel.state.history.back().test_rmse));
        }
    }
}

TEST_CASE("CG-ALS reaches the RMSE of Cholesky-ALS, bitwise the same on every rank count",
          "[als]") {
    const Communicator comm;
    const TempDir dir(comm);
    Config config = training_config(dir.file("ratings.tsv"));
    config.train.iterations = 10;
    const bool written = write_on_rank0(comm, config.data.train, synthetic_ratings());
    config.als.solver = distmf::LinearSolver::cholesky;
    const Trained cholesky = train(comm, config);
    config.als.solver = distmf::LinearSolver::cg;
    const Trained cg = train(comm, config);
    REQUIRE(written);
    const distmf::IterationRecord& exact = cholesky.state.history.back();
    const distmf::IterationRecord& approximate = cg.state.history.back();
    INFO("test RMSE: Cholesky " << exact.test_rmse << ", CG " << approximate.test_rmse
                                << "; train RMSE: " << exact.train_rmse << ", "
                                << approximate.train_rmse);
    CHECK(std::abs(approximate.test_rmse - exact.test_rmse) <= 0.005 * exact.test_rmse);
    CHECK(std::abs(approximate.train_rmse - exact.train_rmse) <= 0.005 * exact.train_rmse);
    CHECK(std::abs(approximate.objective - exact.objective) <= 0.005 * exact.objective);
    CHECK_FALSE(same_bits(cg.state.users, cholesky.state.users));  // CG did run
}

TEST_CASE("train_model calls the iteration hook after every iteration", "[als]") {
    const Communicator comm;
    const TempDir dir(comm);
    Config config = training_config(dir.file("ratings.tsv"));
    config.train.iterations = 10;
    const bool written = write_on_rank0(comm, config.data.train, synthetic_ratings());
    const Dataset dataset = distmf::load_dataset(comm, config.data);
    TrainState state = distmf::initial_state(config, dataset);
    int calls = 0;
    distmf::train_model(comm, config, dataset, state, distmf::Logger(comm.rank(), true),
                        MPI_Wtime(), [&calls](const TrainState&) { ++calls; });
    comm.barrier();
    REQUIRE(written);
    CHECK(calls == 10);  // once after every iteration
    CHECK(state.iteration == 10);
    CHECK(state.history.size() == 10);
}

TEST_CASE("a row that cannot be solved is an agreed NumericalError naming it", "[als]") {
    // 12 users x 8 items, every pair rated, except user 777 who rated one item: with k = 2 and
    // biases (3 unknowns) and no penalty, its system is singular.
    const Communicator comm;
    const TempDir dir(comm);
    std::string text;
    for (int user = 1; user <= 12; ++user) {
        for (int item = 1; item <= 8; ++item) {
            text += std::to_string(user) + "\t" + std::to_string(item) + "\t" +
                    std::to_string(1 + (user * 3 + item * 5) % 5) + "\n";
        }
    }
    text += "777\t4\t3\n";
    Config config;
    config.data.train = dir.file("ratings.tsv");
    config.model.rank = 2;
    config.model.lambda = 0.0;
    config.model.regularization = distmf::Regularization::plain;
    config.train.iterations = 2;
    config.train.threads = 1;
    const bool written = write_on_rank0(comm, config.data.train, text);
    const Dataset dataset = distmf::load_dataset(comm, config.data);
    TrainState state = distmf::initial_state(config, dataset);
    const CaughtError failure = catch_on_every_rank<distmf::NumericalError>(comm, [&] {
        distmf::train_model(comm, config, dataset, state, distmf::Logger(comm.rank(), true),
                            MPI_Wtime());
    });
    REQUIRE(written);
    REQUIRE(failure.message);
    CHECK_THAT(*failure.message, Contains("user 777"));
    CHECK_THAT(*failure.message, Contains("--model.lambda"));
    for (const std::uint64_t h : failure.hashes) CHECK(h == failure.hashes.front());
}

TEST_CASE("save_model then load_model gives back the same model on any number of ranks",
          "[model_io]") {
    distmf::silence_hdf5_errors();
    const Communicator comm;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(comm);
    Config config = training_config(dir.file("ratings.tsv"));
    config.train.iterations = 1;
    SECTION("biases") {}
    SECTION("no biases") { config.model.biases = false; }
    const bool written = write_on_rank0(comm, config.data.train, synthetic_ratings());
    const Trained trained = train(comm, config);
    const Dataset& d = trained.dataset;
    const std::string path = dir.file("model.h5");
    const distmf::ModelInfo info = model_info(config, d, 1);
    distmf::save_model(comm, path, info,
                       distmf::ModelView{d.user_ids, d.item_ids, trained.state.users,
                                         trained.state.items, d.user_blocks, d.item_blocks});
    const bool no_temporary = !distmf::testing::exists(path + ".tmp");
    const distmf::Model loaded = distmf::load_model(comm, path);
    const distmf::Model alone = distmf::load_model(self, path);  // every rank on its own
    comm.barrier();

    REQUIRE(written);
    CHECK(no_temporary);
    for (const distmf::Model* model : {&loaded, &alone}) {
        CHECK(model->user_ids == d.user_ids);
        CHECK(model->item_ids == d.item_ids);
        CHECK(same_bits(model->users, trained.state.users));
        CHECK(same_bits(model->items, trained.state.items));
        const distmf::ModelInfo& got = model->info;
        CHECK(got.kind == "model");
        CHECK(got.algorithm == "als");
        CHECK(got.k == config.model.rank);
        CHECK(got.biases == config.model.biases);
        CHECK(got.iteration == 1);
        CHECK(got.seed == config.train.seed);
        CHECK(got.ranks == comm.size());
        CHECK(got.created == info.created);
        CHECK(got.config == info.config);
        CHECK(got.global_mean == info.global_mean);
        CHECK(got.rating_min == info.rating_min);
        CHECK(got.rating_max == info.rating_max);
        CHECK(got.n_users == static_cast<std::int64_t>(d.user_ids.size()));
        CHECK(got.n_items == static_cast<std::int64_t>(d.item_ids.size()));
        CHECK(got.format_version == distmf::model_format_version);
    }
}

TEST_CASE("load_model of a file that is not a distmf model is an agreed InputError", "[model_io]") {
    distmf::silence_hdf5_errors();
    const Communicator comm;
    const TempDir dir(comm);
    std::string path;
    std::string expected;
    SECTION("missing file") {
        path = dir.file("missing.h5");
        expected = "missing, unreadable or not an HDF5 file";
    }
    SECTION("text file") {
        path = dir.file("ratings.tsv");
        CHECK(write_on_rank0(comm, path, "1\t2\t3\n"));
        expected = "not an HDF5 file";
    }
    SECTION("an HDF5 file of something else") {
        path = dir.file("other.h5");
        if (comm.rank() == 0) {
            const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
            const hsize_t dims[1] = {3};
            const hid_t space = H5Screate_simple(1, dims, nullptr);
            const hid_t set = H5Dcreate2(file, "numbers", H5T_STD_I32LE, space, H5P_DEFAULT,
                                         H5P_DEFAULT, H5P_DEFAULT);
            const int values[3] = {1, 2, 3};
            H5Dwrite(set, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
            H5Dclose(set);
            H5Sclose(space);
            H5Fclose(file);
        }
        comm.barrier();
        expected = "not a distmf model file";
    }
    SECTION("a distmf file of another format version") {
        path = dir.file("future.h5");
        if (comm.rank() == 0) {
            distmf::H5Handle file = distmf::create_parallel_file(MPI_COMM_SELF, path);
            distmf::write_string_attribute(file, "format", "distmf");
            distmf::write_attribute<std::int64_t>(file, "format_version", 99);
            file.close();
        }
        comm.barrier();
        expected = "format version 99 is not supported";
    }
    SECTION("an incomplete distmf file") {
        path = dir.file("partial.h5");
        if (comm.rank() == 0) {
            distmf::H5Handle file = distmf::create_parallel_file(MPI_COMM_SELF, path);
            distmf::write_string_attribute(file, "format", "distmf");
            distmf::write_attribute<std::int64_t>(file, "format_version",
                                                  distmf::model_format_version);
            file.close();
        }
        comm.barrier();
        expected = "incomplete";
    }
    const CaughtError failure =
        catch_on_every_rank<distmf::InputError>(comm, [&] { distmf::load_model(comm, path); });
    REQUIRE(failure.message);
    CHECK(failure.same_everywhere());
    CHECK_THAT(*failure.message, Contains(path));
    CHECK_THAT(*failure.message, Contains(expected));
}
