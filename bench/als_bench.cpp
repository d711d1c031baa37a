// ALS kernel benchmark: the machine's single-precision GEMM rate with Eigen, and the rate of
// ALS's Gram accumulation (gather each row's factors into X_i, then X_i^T X_i with one SYRK)
// on a real ratings file, counted as 2 k^2 flops per rating per half-sweep, as a fraction of
// the GEMM rate. Single thread, single process (run it without mpirun):
//   build/bench/als_bench FILE [k=64]   (10 % of the ratings are held out, as in training)
#include <mpi.h>

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "distmf/als.hpp"
#include "distmf/comm.hpp"
#include "distmf/dataset.hpp"
#include "distmf/train.hpp"

using distmf::RowMatrixXf;

namespace {

/// Best-of-3 GFLOP/s of an n x n x n float matrix product (2 n^3 flops).
double gemm_gflops(Eigen::Index n) {
    const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
    const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
    Eigen::MatrixXf c(n, n);
    double best = 1e30;
    for (int repeat = 0; repeat < 3; ++repeat) {
        const double start = MPI_Wtime();
        c.noalias() = a * b;
        best = std::min(best, MPI_Wtime() - start);
    }
    std::printf("  (checksum %g)\n", static_cast<double>(c.sum()));
    return 2.0 * static_cast<double>(n * n * n) / best / 1e9;
}

struct PhaseTimes {
    double gather = 0.0;
    double gram = 0.0;
    double total = 0.0;
    std::int64_t nnz = 0;
};

/// One half-sweep's Gram phase over every row of `ratings`, single thread.
PhaseTimes gram_phase(const distmf::RatingMatrix& ratings, const distmf::FactorTable& fixed,
                      double mean) {
    PhaseTimes times;
    RowMatrixXf x;
    Eigen::VectorXf y;
    Eigen::MatrixXf gram;
    double sink = 0.0;
    const double start = MPI_Wtime();
    for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
        if (ratings.row_size(row) == 0) continue;
        const double t0 = MPI_Wtime();
        distmf::gather_row_system(ratings, row, fixed, mean, x, y);
        const double t1 = MPI_Wtime();
        distmf::gram_matrix(x, gram);
        times.gram += MPI_Wtime() - t1;
        times.gather += t1 - t0;
        sink += static_cast<double>(gram(0, 0));
    }
    times.total = MPI_Wtime() - start;
    times.nnz = ratings.nnz();
    std::printf("  (checksum %g)\n", sink);
    return times;
}

}  // namespace

int main(int argc, char** argv) {
    const distmf::MpiSession session(argc, argv);
    const distmf::Communicator world;
    if (argc < 2) {
        std::fprintf(stderr, "usage: als_bench RATINGS_FILE [k]\n");
        return 2;
    }
    distmf::Config config;
    config.data.train = argv[1];
    config.data.test_fraction = 0.1;
    config.model.rank = argc > 2 ? std::atoi(argv[2]) : 64;
    const int k = config.model.rank;

    std::printf("Eigen single-precision GEMM, 1 thread:\n");
    const double gemm = gemm_gflops(1024);
    std::printf("GEMM 1024^3: %.1f GFLOP/s\n", gemm);

    const double load_start = MPI_Wtime();
    const distmf::Dataset dataset = distmf::load_dataset(world, config.data);
    std::printf("loaded %lld training ratings in %.2f s\n",
                static_cast<long long>(dataset.summary.n_train), MPI_Wtime() - load_start);
    const distmf::TrainState state = distmf::initial_state(config, dataset);
    const double mean = dataset.summary.mean_rating;
    for (const bool users : {true, false}) {
        const PhaseTimes t = users ? gram_phase(dataset.user_ratings, state.items, mean)
                                   : gram_phase(dataset.item_ratings, state.users, mean);
        const double flops = 2.0 * k * k * static_cast<double>(t.nnz);  // the count
        std::printf(
            "%s half-sweep, k=%d: gather %.2f s, Gram %.2f s (%.1f GFLOP/s = %.0f %% of "
            "GEMM), gather+Gram %.2f s (%.0f %% of GEMM)\n",
            users ? "user" : "item", k, t.gather, t.gram, flops / t.gram / 1e9,
            100.0 * flops / t.gram / 1e9 / gemm, t.total, 100.0 * flops / t.total / 1e9 / gemm);
    }
    return 0;
}
