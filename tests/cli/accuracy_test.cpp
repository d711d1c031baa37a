// Accuracy on the real data sets, through the real binary and the shipped configs. The
// bounds are loose guards against regressions; the README reports the exact figures. The data
// may not be redistributed: the tests read DISTMF_DATA_DIR and are skipped without it.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::final_test_rmse;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;

/// Trains with configs/<config> on `ranks` ranks and the data files given as overrides.
double train_with_config(int ranks, const std::string& config,
                         const std::vector<std::string>& data_overrides) {
    const TempDir dir;
    std::vector<std::string> args{"train",
                                  "--config",
                                  distmf::testing::source_dir() + "/configs/" + config,
                                  "--output.model",
                                  dir.file("model.h5"),
                                  "--output.metrics",
                                  dir.file("metrics.jsonl")};
    args.insert(args.end(), data_overrides.begin(), data_overrides.end());
    const CommandResult result = run_distmf(ranks, args);
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    return final_test_rmse(result.out);
}

/// The overrides that train on u1.base and test on u1.test of the data folder.
std::vector<std::string> u1_files(const std::string& folder) {
    return {"--data.train", folder + "/ml-100k/u1.base", "--data.test",
            folder + "/ml-100k/u1.test"};
}

}  // namespace

TEST_CASE("accuracy: MovieLens 100K u1.base -> u1.test with configs/movielens-100k.ini (BPMF)",
          "[cli][real-data][accuracy][bpmf]") {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message("MovieLens 100K accuracy") << std::endl;
        return;
    }
    for (const int ranks : distmf::testing::cli_rank_counts) {
        const double rmse = train_with_config(ranks, "movielens-100k.ini", u1_files(*folder));
        std::cout << "MovieLens 100K u1 BPMF test RMSE on " << ranks << " rank(s): " << rmse
                  << std::endl;
        INFO("ranks " << ranks);
        CHECK(rmse > 0.8);
        CHECK(rmse <= 0.915);  // the goal; measured 0.9080 on 1, 2 and 4 ranks
    }
}

TEST_CASE("accuracy: MovieLens 100K u1.base -> u1.test with configs/movielens-100k-als.ini",
          "[cli][real-data][accuracy]") {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message("MovieLens 100K ALS accuracy") << std::endl;
        return;
    }
    const double rmse = train_with_config(4, "movielens-100k-als.ini", u1_files(*folder));
    std::cout << "MovieLens 100K u1 ALS test RMSE " << rmse << std::endl;
    CHECK(rmse > 0.8);
    CHECK(rmse <= 0.93);  // measured 0.9229 (BPMF, configs/movielens-100k.ini, does better)
}

TEST_CASE("accuracy: ml-latest-small with a 10 % hash split and configs/ml-latest-small.ini",
          "[cli][real-data][accuracy]") {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message("ml-latest-small accuracy") << std::endl;
        return;
    }
    const double rmse = train_with_config(
        2, "ml-latest-small.ini", {"--data.train", *folder + "/ml-latest-small/ratings.csv"});
    std::cout << "ml-latest-small test RMSE " << rmse << std::endl;
    CHECK(rmse > 0.7);
    CHECK(rmse <= 0.865);  // measured 0.8454
}
