// ALS kernel benchmark: the machine's single-precision GEMM rate with Eigen, and the rate of
// ALS's Gram accumulation (gather each row's factors into X_i, then X_i^T X_i with one SYRK)
// on a real ratings file, counted as 2 k^2 flops per rating per half-sweep, as a fraction of
// the GEMM rate. Single thread, single process (run it without mpirun):
//   build/bench/als_bench FILE [k=64]   (10 % of the ratings are held out, as in training)
// With a third argument `solvers` (and optionally the CG steps, default 3) it profiles an
// ALS iteration instead: for each half-sweep, the thread CPU seconds of the gather, of
// Cholesky's SYRK and of its factor-and-solve, of the CG steps, and of each solver's whole
// solve_rows, then of the metrics pass (train and test errors), alternating the solvers
// `repeats` times (CPU time, so that neighbours on a shared machine blur it less):
//   build/bench/als_bench FILE 64 solvers [cg_steps=3] [repeats=3]
#include <mpi.h>
#include <time.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "distmf/als.hpp"
#include "distmf/comm.hpp"
#include "distmf/dataset.hpp"
#include "distmf/metrics.hpp"
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

/// CPU seconds of the calling thread.
double thread_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

/// Thread CPU seconds of one half-sweep's phases, by solver.
struct SolverPhases {
    double gather = 0.0;
    double syrk = 0.0;            // Cholesky: X^T X of the rows solved in the primal form
    double cholesky_solve = 0.0;  // Cholesky: the rest of RidgeSolver::solve
    double cg = 0.0;              // CG: RidgeCgSolver::solve
    double cholesky_rows = 0.0;   // solve_rows with the Cholesky solvers
    double cg_rows = 0.0;         // solve_rows with the CG solvers
};

/// What a pass over the rows does after the gather.
enum class Work { gather, syrk, cholesky, cg };

/// Thread CPU seconds of one pass over the rows of `ratings`: the gather and `work`.
double timed_pass(const distmf::RatingMatrix& ratings, const distmf::FactorTable& fixed,
                  const distmf::FactorTable& solved, const distmf::AlsSettings& settings,
                  Work work) {
    RowMatrixXf x;
    Eigen::VectorXf y;
    Eigen::MatrixXf gram;
    distmf::RidgeSolver ridge;
    distmf::RidgeCgSolver cg;
    Eigen::VectorXf solution(fixed.width());
    Eigen::VectorXd penalty;
    double sink = 0.0;
    const double start = thread_seconds();
    for (std::int64_t row = 0; row < ratings.n_rows(); ++row) {
        if (ratings.row_size(row) == 0) continue;
        if (work == Work::cg) {  // as the CG row solver gathers: X's column of ones implicit
            distmf::gather_row_factors(ratings, row, fixed, settings.global_mean, x, y);
        } else {
            distmf::gather_row_system(ratings, row, fixed, settings.global_mean, x, y);
        }
        if (work == Work::gather) {
            sink += static_cast<double>(x(0, 0));
            continue;
        }
        penalty =
            distmf::row_penalty(settings, ratings.row_size(row), fixed.width(), fixed.has_bias());
        if (work == Work::syrk) {
            if (x.rows() >= x.cols()) {  // the primal rows' SYRK
                distmf::gram_matrix(x, gram);
                sink += static_cast<double>(gram(0, 0));
            }
            continue;
        }
        solution = solved.row(ratings.first_row + row).transpose();
        if (work == Work::cholesky) ridge.solve(x, y, penalty, solution);
        if (work == Work::cg) {
            cg.solve(x, fixed.has_bias(), y, penalty, settings.cg_steps, solution);
        }
        sink += static_cast<double>(solution(0));
    }
    const double seconds = thread_seconds() - start;
    if (sink == 0.12345) std::printf("(checksum %g)\n", sink);
    return seconds;
}

/// One half-sweep of each solver, phase by phase (single thread), each phase its own pass;
/// `solved` is the warm start of both (copied: the two solvers start from the same rows).
SolverPhases solver_phases(const distmf::RatingMatrix& ratings, const distmf::FactorTable& fixed,
                           const distmf::FactorTable& solved, distmf::AlsSettings settings,
                           int cg_steps) {
    settings.cg_steps = cg_steps;
    SolverPhases t;
    t.gather = timed_pass(ratings, fixed, solved, settings, Work::gather);
    t.syrk = timed_pass(ratings, fixed, solved, settings, Work::syrk) - t.gather;
    t.cholesky_solve =
        timed_pass(ratings, fixed, solved, settings, Work::cholesky) - t.gather - t.syrk;
    t.cg = timed_pass(ratings, fixed, solved, settings, Work::cg) - t.gather;
    for (const distmf::LinearSolver solver :
         {distmf::LinearSolver::cholesky, distmf::LinearSolver::cg}) {
        settings.solver = solver;
        distmf::FactorTable copy = solved;
        const double start = thread_seconds();
        distmf::solve_rows(ratings, fixed, settings, copy);
        (solver == distmf::LinearSolver::cg ? t.cg_rows : t.cholesky_rows) =
            thread_seconds() - start;
    }
    return t;
}

/// Profiles ALS iterations of both solvers (see the file comment).
void profile_solvers(const distmf::Config& config, const distmf::Dataset& dataset, int cg_steps,
                     int repeats) {
    distmf::TrainState state = distmf::initial_state(config, dataset);
    distmf::AlsSettings settings =
        distmf::als_settings(config.model, dataset.summary.mean_rating, 1);
    settings.cg_steps = cg_steps;
    // Two Cholesky iterations first, so that the rows are near a solution as in a real run.
    for (int warm = 0; warm < 2; ++warm) {
        distmf::solve_rows(dataset.user_ratings, state.items, settings, state.users);
        distmf::solve_rows(dataset.item_ratings, state.users, settings, state.items);
    }
    const int k = config.model.rank;
    for (int repeat = 0; repeat < repeats; ++repeat) {
        for (const bool users : {true, false}) {
            const SolverPhases t = users ? solver_phases(dataset.user_ratings, state.items,
                                                         state.users, settings, cg_steps)
                                         : solver_phases(dataset.item_ratings, state.users,
                                                         state.items, settings, cg_steps);
            std::printf(
                "k=%d %s half-sweep (CPU s): gather %.3f | Cholesky: SYRK %.3f + factor/solve "
                "%.3f | CG %d steps %.3f || solve_rows: Cholesky %.3f, CG %.3f (%.2fx)\n",
                k, users ? "user" : "item", t.gather, t.syrk, t.cholesky_solve, cg_steps, t.cg,
                t.cholesky_rows, t.cg_rows, t.cg_rows / t.cholesky_rows);
        }
        const double start = thread_seconds();
        const distmf::RatingRange range{dataset.summary.min_rating, dataset.summary.max_rating};
        const double sum = distmf::rating_errors(dataset.user_ratings, state.users, state.items,
                                                 dataset.summary.mean_rating, range, 1)
                               .squared.value() +
                           distmf::rating_errors(dataset.test_ratings, state.users, state.items,
                                                 dataset.summary.mean_rating, range, 1)
                               .squared.value();
        std::printf("k=%d metrics pass (train + test errors): %.3f CPU s  (checksum %g)\n", k,
                    thread_seconds() - start, sum);
    }
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
    if (argc > 3 && std::string(argv[3]) == "solvers") {
        const distmf::Dataset dataset = distmf::load_dataset(world, config.data);
        profile_solvers(config, dataset, argc > 4 ? std::atoi(argv[4]) : 3,
                        argc > 5 ? std::atoi(argv[5]) : 3);
        return 0;
    }

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
