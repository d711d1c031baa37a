// Serving kernel benchmark: the rate of `recommend`'s scoring (BlockTopItems: the tiled matrix
// products of a block of 256 users against every item) as a fraction of the machine's
// single-precision GEMM rate with Eigen, and the cost of the exclusion and top-N selection per
// item, on a real model file. Single thread, single process (run it without mpirun):
//   build/bench/top_items_bench MODEL.h5 [users=20480] [top=10]
// Each figure is the best of 3 passes, the GEMM measured between them, so that a neighbour's
// load on a shared machine shows less.
#include <mpi.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/model_io.hpp"
#include "distmf/top_items.hpp"

using distmf::RowMatrixXf;

namespace {

/// GFLOP/s of one n x n x n float matrix product (2 n^3 flops).
double gemm_gflops(Eigen::Index n) {
    const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
    const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
    Eigen::MatrixXf c(n, n);
    const double start = MPI_Wtime();
    c.noalias() = a * b;
    const double seconds = MPI_Wtime() - start;
    if (c(0, 0) == 12345.0F) std::printf(" ");  // keep the product
    return 2.0 * static_cast<double>(n * n * n) / seconds / 1e9;
}

/// One pass of `recommend`'s kernel over the first n_users users, 256 at a time.
distmf::TopItemsSeconds score_users(const distmf::Model& model, std::int64_t n_users,
                                    std::size_t top) {
    constexpr std::int64_t users_per_block = 256;  // as in recommend.cpp
    distmf::BlockTopItems kernel(model.items, top);
    distmf::TopItemsSeconds seconds;
    std::vector<std::span<const std::int32_t>> excluded;
    for (std::int64_t first = 0; first < n_users; first += users_per_block) {
        const std::int64_t count = std::min(users_per_block, n_users - first);
        excluded.clear();
        for (std::int64_t u = first; u < first + count; ++u) {
            excluded.push_back(model.has_training_data() ? model.train_items.row_columns(u)
                                                         : std::span<const std::int32_t>());
        }
        kernel.run(model.users.values().middleRows(first, count).rightCols(model.info.k), excluded,
                   seconds);
    }
    return seconds;
}

}  // namespace

int main(int argc, char** argv) {
    const distmf::MpiSession session(argc, argv);
    const distmf::Communicator world;
    if (argc < 2) {
        std::fprintf(stderr, "usage: top_items_bench MODEL.h5 [users] [top]\n");
        return 2;
    }
    const distmf::Model model = distmf::load_model(world, argv[1]);
    const std::int64_t n_users =
        std::min<std::int64_t>(argc > 2 ? std::atoll(argv[2]) : 20480, model.users.rows());
    const auto top = static_cast<std::size_t>(argc > 3 ? std::atoi(argv[3]) : 10);
    double gemm = 0.0;
    double scoring = 1e30;
    double selection = 1e30;
    for (int pass = 0; pass < 3; ++pass) {
        gemm = std::max(gemm, gemm_gflops(1024));
        const distmf::TopItemsSeconds seconds = score_users(model, n_users, top);
        scoring = std::min(scoring, seconds.scoring);
        selection = std::min(selection, seconds.selection);
    }
    const double items = static_cast<double>(n_users) * static_cast<double>(model.items.rows());
    const double rate = 2.0 * items * model.info.k / scoring / 1e9;
    std::printf("Eigen GEMM 1024^3, 1 thread: %.1f GFLOP/s\n", gemm);
    std::printf(
        "scoring %lld users x %lld items, k = %d: %.2f s, %.1f GFLOP/s = %.0f %% of GEMM; "
        "exclusion and top-%zu selection %.2f s (%.2f ns per item)\n",
        static_cast<long long>(n_users), static_cast<long long>(model.items.rows()), model.info.k,
        scoring, rate, 100.0 * rate / gemm, top, selection, selection / items * 1e9);
    return 0;
}
