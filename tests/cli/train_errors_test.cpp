// Bad input to `distmf train`, `evaluate` and `inspect` through the real binary: bad options,
// output folders that do not exist, an unsolvable user and files that are not distmf models
// are agreed errors (exit 2, one "distmf: error:" line, the same for 1, 2 and 4 ranks), and a
// failed run leaves no file behind.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::exists;
using distmf::testing::expect_agreed_error;
using distmf::testing::generate_main;
using distmf::testing::lines_starting;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// Creates an HDF5 file that is not a distmf model (one integer dataset, no attributes).
void write_foreign_hdf5(const std::string& path) {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set =
        H5Dcreate2(file, "values", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int values[4] = {1, 2, 3, 4};
    CHECK(H5Dwrite(set, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
}

}  // namespace

TEST_CASE("train: --model.rank 0 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--model.rank", "0"},
                        {"--model.rank", "0"});
}

TEST_CASE("train: --model.lambda -1 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--model.lambda", "-1"},
                        {"--model.lambda", "-1"});
}

TEST_CASE("train: --train.iterations 0 is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--train.iterations", "0"},
                        {"--train.iterations", "0"});
}

TEST_CASE("train: a bad --als.solver or --als.cg-steps is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--als.cg-steps", "0"},
                        {"--als.cg-steps", "0"});
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--als.solver", "lu"},
                        {"als.solver", "cg|cholesky"});
}

TEST_CASE("train: --train.factors other than replicated or sharded is an agreed error",
          "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--train.factors", "both"},
                        {"--train.factors", "both"});
}

TEST_CASE("train: --train.patience without test data is an agreed error", "[cli][train][bad]") {
    expect_agreed_error({"train", "--data.train", "ratings.tsv", "--train.patience", "2"},
                        {"--train.patience", "test data"});
}

TEST_CASE("train: --output.model in a missing folder fails before training, leaving no file",
          "[cli][train][bad]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> before = entries(dir.path());
    const std::string model = dir.file("missing/model.h5");
    // expect_agreed_error also requires an empty stdout: no "data:" line, no iteration.
    expect_agreed_error({"train", "--data.train", data.train, "--output.model", model},
                        {model, "missing"});
    CHECK_FALSE(exists(model + ".tmp"));
    CHECK(entries(dir.path()) == before);
}

TEST_CASE("train: --output.metrics in a missing folder fails before training, leaving no file",
          "[cli][train][bad]") {
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::vector<std::string> before = entries(dir.path());
    const std::string metrics = dir.file("missing/metrics.jsonl");
    expect_agreed_error({"train", "--data.train", data.train, "--output.model",
                         dir.file("model.h5"), "--output.metrics", metrics},
                        {metrics, "missing"});
    CHECK(entries(dir.path()) == before);
}

TEST_CASE("train: an unsolvable user is an agreed error naming it", "[cli][train][bad]") {
    // No penalty (--model.lambda 0, plain): user 4242 has 2 ratings for k + 1 = 5 unknowns.
    const TempDir dir;
    const SplitData data = generate_main(dir);
    const std::string sparse = dir.file("sparse.tsv");
    write_text(sparse, read_text(data.train) + "4242\t" + *data.items.begin() + "\t3\n4242\t" +
                           *data.items.rbegin() + "\t4\n");
    const std::string model = dir.file("model.h5");
    // An agreed error, but found after loading: the "data:" line is already out.
    std::string first_message;
    for (const int ranks : cli_rank_counts) {
        const CommandResult result =
            run_distmf(ranks, {"train", "--data.train", sparse, "--model.lambda", "0",
                               "--model.regularization", "plain", "--train.iterations", "2",
                               "--output.model", model});
        INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
        CHECK(result.exit_code == 2);
        CHECK(lines_starting(result.out, "iter ").empty());
        const std::vector<std::string> messages = distmf_messages(result.err);
        REQUIRE(messages.size() == 1);
        const std::string& message = messages.front();
        CHECK(message.rfind("distmf: error: ", 0) == 0);
        CHECK(message.find("user 4242") != std::string::npos);
        CHECK(message.find("larger --model.lambda") != std::string::npos);
        if (first_message.empty()) first_message = message;
        CHECK(message == first_message);
        CHECK_FALSE(exists(model));
        CHECK_FALSE(exists(model + ".tmp"));
    }
}

TEST_CASE("evaluate: a missing model file is an agreed error", "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    const std::string model = dir.file("missing.h5");
    expect_agreed_error({"evaluate", "--model", model, "--data.test", ratings}, {model});
}

TEST_CASE("evaluate: a text file as the model is an agreed error", "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    expect_agreed_error({"evaluate", "--model", ratings, "--data.test", ratings},
                        {ratings, "not an HDF5 file"});
}

TEST_CASE("inspect: an HDF5 file that is not a distmf model is an agreed error",
          "[cli][inspect][bad]") {
    const TempDir dir;
    const std::string other = dir.file("other.h5");
    write_foreign_hdf5(other);
    expect_agreed_error({"inspect", other}, {other, "not a distmf model file"});
}

TEST_CASE("evaluate: an HDF5 file that is not a distmf model is an agreed error",
          "[cli][evaluate][bad]") {
    const TempDir dir;
    const std::string other = dir.file("other.h5");
    write_foreign_hdf5(other);
    const std::string ratings = dir.file("ratings.tsv");
    write_text(ratings, "1\t2\t3\n");
    expect_agreed_error({"evaluate", "--model", other, "--data.test", ratings},
                        {other, "not a distmf model file"});
}
