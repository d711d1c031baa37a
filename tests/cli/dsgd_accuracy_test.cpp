// DSGD's accuracy on MovieLens 100K (u1.base -> u1.test) through the real binary and the shipped
// config, on 1, 2 and 4 ranks. The data may not be redistributed: the test reads
// DISTMF_DATA_DIR and is skipped without it.
#include <catch2/catch.hpp>
#include <iostream>
#include <string>

#include "cli_support.hpp"
#include "test_support.hpp"

TEST_CASE("accuracy: DSGD on MovieLens 100K u1 with configs/movielens-100k-dsgd.ini, P = 1, 2, 4",
          "[cli][real-data][accuracy][dsgd]") {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message("MovieLens 100K DSGD accuracy") << std::endl;
        return;
    }
    for (const int ranks : distmf::testing::cli_rank_counts) {
        const distmf::testing::TempDir dir;
        const distmf::testing::CommandResult result = distmf::testing::run_ok(
            ranks, {"train", "--config",
                    distmf::testing::source_dir() + "/configs/movielens-100k-dsgd.ini",
                    "--data.train", *folder + "/ml-100k/u1.base", "--data.test",
                    *folder + "/ml-100k/u1.test", "--output.model", dir.file("model.h5"),
                    "--output.metrics", dir.file("metrics.jsonl")});
        const double rmse = distmf::testing::final_test_rmse(result.out);
        std::cout << "MovieLens 100K u1 DSGD test RMSE on " << ranks << " rank(s): " << rmse
                  << std::endl;
        INFO("ranks " << ranks);
        CHECK(rmse > 0.8);
        CHECK(rmse <= 0.920);  // issue 5's goal; measured 0.9167, 0.9171, 0.9172 on 1, 2, 4
    }
}
