// Row moments benchmark: the Gram matrix G = F^T F of a side of n x k random factors as
// implicit ALS computes it after issue 12 (chunks of moment_chunk_rows rows, each one SYRK in
// double, partials added exactly), against the blocked double sum of table_gram before it (no
// exact sums; every rank summed the whole side, gathered first: the gather is not timed), and
// BPMF's row_moments (every third row without ratings). Best of 10 wall-clock runs; with several
// ranks the blocks are cut off the chunk boundaries, so the straddling rows travel.
//   [mpirun -np P] build/bench/row_moments_bench [n=50000] [k=64] [threads=1]
#include <mpi.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"
#include "distmf/row_moments.hpp"

namespace {

/// G as table_gram computed it before issue 12 (its code): blocks of max(4096, n / 64) rows,
/// one SYRK each, partial sums added in block order.
Eigen::MatrixXd blocked_gram_before(const distmf::FactorTable& table, int threads) {
    const int k = table.width();
    const std::int64_t block_rows = std::max<std::int64_t>(4096, (table.rows() + 63) / 64);
    const std::int64_t n_blocks = (table.rows() + block_rows - 1) / block_rows;
    std::vector<Eigen::MatrixXd> partial(static_cast<std::size_t>(n_blocks));
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(static)
    for (std::int64_t block = 0; block < n_blocks; ++block) {
        const std::int64_t first = block * block_rows;
        const std::int64_t count = std::min(block_rows, table.rows() - first);
        const Eigen::MatrixXd rows = table.values().middleRows(first, count).cast<double>();
        Eigen::MatrixXd& sum = partial[static_cast<std::size_t>(block)];
        sum.setZero(k, k);
        sum.selfadjointView<Eigen::Lower>().rankUpdate(rows.transpose());
    }
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(k, k);
    for (const Eigen::MatrixXd& sum : partial) gram += sum;
    gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
    return gram;
}

/// Best of 10 wall-clock seconds of `run` (collective: every rank runs it; the slowest counts).
double best_seconds(const distmf::Communicator& world, const std::function<double()>& run) {
    double best = 1e30;
    double checksum = 0.0;
    for (int repeat = 0; repeat < 10; ++repeat) {
        world.barrier();
        const double start = MPI_Wtime();
        checksum += run();
        best = std::min(best, world.all_reduce_max(MPI_Wtime() - start));
    }
    if (world.rank() == 0) std::printf("  (checksum %g)\n", checksum);
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const distmf::MpiSession session(argc, argv);
    const distmf::Communicator world;
    const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 50000;
    const int k = argc > 2 ? std::atoi(argv[2]) : 64;
    const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
    const int p = world.size();

    // Equal blocks, each start moved 37 rows off the chunk grid.
    std::vector<std::int64_t> boundaries{0};
    for (int r = 1; r < p; ++r) boundaries.push_back(std::min(n, n * r / p + 37));
    boundaries.push_back(n);
    const distmf::BlockPartition blocks(boundaries);
    const int rank = world.rank();
    // The whole side on every rank (as before issue 12, after its all-gather) and its own block.
    distmf::FactorTable side(n, k, false);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    side.initialize(ids, 1, 0.1F);
    distmf::FactorTable own(blocks.first(rank), blocks.size(rank), k, false);
    own.values() = side.values().middleRows(blocks.first(rank), blocks.size(rank));
    std::vector<std::int64_t> counts(static_cast<std::size_t>(own.rows()), 1);
    for (std::size_t i = 0; i < counts.size(); ++i) {
        if ((own.first_row() + static_cast<std::int64_t>(i)) % 3 == 0) counts[i] = 0;
    }

    const double before =
        best_seconds(world, [&] { return blocked_gram_before(side, threads)(0, 0); });
    const double gram = best_seconds(
        world, [&] { return distmf::distributed_gram(world, own, blocks, threads)(0, 0); });
    const double moments = best_seconds(world, [&] {
        return distmf::row_moments(world, own, blocks, counts, threads).outer_sum(0, 0);
    });
    if (rank == 0) {
        std::printf("n = %lld rows, k = %d, P = %d, %d thread(s), chunks of %lld rows\n",
                    static_cast<long long>(n), k, p, threads,
                    static_cast<long long>(distmf::moment_chunk_rows));
        std::printf("table_gram before issue 12 (blocked double sum, whole side):   %.4f s\n",
                    before);
        std::printf(
            "distributed_gram (chunked, exact sums, all-reduce):             %.4f s (%.2fx)\n",
            gram, gram / before);
        std::printf(
            "row_moments, 2/3 of the rows counted:                           %.4f s (%.2fx)\n",
            moments, moments / before);
    }
    return 0;
}
