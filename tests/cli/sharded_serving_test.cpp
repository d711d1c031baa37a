// Serving with each rank holding only its share of W (issue 12): `recommend --all-users` is byte
// for byte the same file for P = 1, 2, 4 with the item factors replicated or rotated around the
// ring, and the same as the whole-model path (--users with every ID); `evaluate` prints the
// same figures for any P; models trained with sharded and replicated factor tables recommend
// the same; a bad --recommend.item-factors is one line; and a model damaged inside one rank's
// share is an error on every rank, not a hang.
#include <hdf5.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "distmf/hdf5_file.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::expect_agreed_error;
using distmf::testing::generate_split;
using distmf::testing::read_text;
using distmf::testing::run_distmf_within;
using distmf::testing::run_ok;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// 1,000 items: three score tiles of 384, so that rotating on 4 ranks leaves one rank without
/// items and the others with blocks of different sizes.
SplitData small_data(const TempDir& dir) {
    return generate_split(dir, {"--users", "500", "--items", "1000", "--ratings", "9000", "--rank",
                                "3", "--noise", "0.3", "--seed", "11"});
}

/// Trains `model` on `data` (2 ranks, k = 5, 2 iterations) with `extra` options.
void train(const SplitData& data, const std::string& model,
           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"train", "--data.train",       data.train, "--model.rank",
                                  "5",     "--train.iterations", "2",        "--output.model",
                                  model};
    args.insert(args.end(), extra.begin(), extra.end());
    run_ok(2, args);
}

/// `recommend --all-users --top 6` of `model` on `ranks` ranks, as the text of its output file.
std::string all_users(const TempDir& dir, const std::string& model, int ranks,
                      const std::string& item_factors) {
    const std::string out = dir.file("all-" + std::to_string(ranks) + item_factors + ".csv");
    run_ok(ranks, {"recommend", "--model", model, "--all-users", "--top", "6", "--out", out,
                   "--recommend.item-factors", item_factors});
    return read_text(out);
}

/// The users of `data`, ascending by ID, one a line.
std::string user_list(const SplitData& data) {
    std::vector<std::int64_t> ids;
    for (const std::string& id : data.users) ids.push_back(std::stoll(id));
    std::sort(ids.begin(), ids.end());
    std::string text;
    for (const std::int64_t id : ids) text += std::to_string(id) + "\n";
    return text;
}

/// The file offset of the raw data of dataset `name` of the HDF5 file `path`.
std::size_t data_offset(const std::string& path, const std::string& name) {
    distmf::silence_hdf5_errors();
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hid_t dataset = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
    REQUIRE(dataset >= 0);
    const haddr_t offset = H5Dget_offset(dataset);
    const hsize_t bytes = H5Dget_storage_size(dataset);
    H5Dclose(dataset);
    H5Fclose(file);
    REQUIRE(offset != HADDR_UNDEF);
    return static_cast<std::size_t>(offset + bytes / 4);  // inside the first rank's share
}

}  // namespace

TEST_CASE(
    "sharded serving: recommend --all-users is the same file for P = 1, 2, 4, items "
    "replicated or rotated, and the whole-model path's",
    "[cli][recommend][sharded]") {
    const TempDir dir;
    const SplitData data = small_data(dir);
    for (const bool implicit : {false, true}) {
        INFO((implicit ? "implicit" : "explicit") << " model");
        const std::string model = dir.file(implicit ? "implicit.h5" : "explicit.h5");
        train(data, model,
              implicit
                  ? std::vector<std::string>{"--model.algorithm", "ials", "--model.biases", "false"}
                  : std::vector<std::string>{});
        const std::string users = dir.file("users.txt");
        write_text(users, user_list(data));
        const std::string whole = dir.file("whole.csv");
        run_ok(2, {"recommend", "--model", model, "--users", users, "--top", "6", "--out", whole});
        const std::string expected = read_text(whole);
        REQUIRE(expected.size() > 1000);
        for (const int ranks : cli_rank_counts) {
            // The implicit model (no biases) checks the rotated path where it differs: P > 1.
            for (const std::string mode : {"replicated", "rotated"}) {
                if (implicit && (ranks == 1 || mode == "replicated")) continue;
                INFO(ranks << " ranks, item factors " << mode);
                CHECK(all_users(dir, model, ranks, mode) == expected);
            }
        }
    }
}

TEST_CASE("sharded serving: evaluate prints the same figures for P = 1, 2, 4",
          "[cli][evaluate][sharded]") {
    const TempDir dir;
    const SplitData data = small_data(dir);
    const std::string model = dir.file("model.h5");
    train(data, model);
    std::string first;
    for (const int ranks : cli_rank_counts) {
        const CommandResult result =
            run_ok(ranks, {"evaluate", "--model", model, "--data.test", data.test});
        CHECK(result.out.find("RMSE ") != std::string::npos);
        CHECK(result.out.find("NDCG@10 ") != std::string::npos);
        if (first.empty()) first = result.out;
        CHECK(result.out == first);
    }
}

TEST_CASE("sharded serving: models trained sharded and replicated recommend the same",
          "[cli][recommend][sharded]") {
    const TempDir dir;
    const SplitData data = small_data(dir);
    const std::string sharded = dir.file("sharded.h5");
    const std::string replicated = dir.file("replicated.h5");
    train(data, sharded, {"--train.factors", "sharded"});
    train(data, replicated, {"--train.factors", "replicated"});
    CHECK(all_users(dir, sharded, 2, "rotated") == all_users(dir, replicated, 4, "replicated"));
}

TEST_CASE("sharded serving: a bad --recommend.item-factors is one line naming the option",
          "[cli][recommend][sharded]") {
    expect_agreed_error({"recommend", "--model", "missing.h5", "--all-users",
                         "--recommend.item-factors", "sideways"},
                        {"--recommend.item-factors", "sideways", "auto|replicated|rotated"});
}

TEST_CASE("sharded serving: a model damaged in one rank's share is an error on every rank",
          "[cli][recommend][evaluate][damaged][sharded]") {
    const TempDir dir;
    const SplitData data = small_data(dir);
    const std::string model = dir.file("model.h5");
    train(data, model);
    const std::string bytes = read_text(model);
    const std::string damaged = dir.file("damaged.h5");
    for (const std::string dataset : {"users/factors", "users/bias", "users/train_items",
                                      "users/train_offsets", "items/factors"}) {
        std::string copy = bytes;
        const std::size_t at = data_offset(model, dataset);
        copy[at] = static_cast<char>(~static_cast<unsigned char>(copy[at]));
        write_text(damaged, copy);
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"recommend", "--model", damaged, "--all-users",
                                       "--recommend.item-factors", "rotated", "--out",
                                       dir.file("out.csv")},
              std::vector<std::string>{"evaluate", "--model", damaged, "--data.test", data.test}}) {
            const CommandResult result = run_distmf_within(60, 2, args);
            INFO(dataset << ", " << args.front() << "\n" << result.out << result.err);
            REQUIRE(result.exit_code == 2);
            const std::vector<std::string> messages = distmf_messages(result.err);
            REQUIRE(messages.size() == 1);
            CHECK(messages.front().find(damaged) != std::string::npos);
            CHECK(messages.front().find("corrupt") != std::string::npos);
        }
    }
}
