#include "distmf/row_moments.hpp"

#include <omp.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"

namespace distmf {
namespace {

/// Rows in double, row-major: a chunk's rows are copied in contiguously (column-major, a chunk
/// of 256 rows strides by 2 KiB per value, and the stores fight over a few cache sets).
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Which rows count: one count per row (rows with count > 0), or, nullopt, every row.
using RowSelection = std::optional<std::span<const std::int64_t>>;

/// The exact totals of chunk partials: the row count, then ExactSums of s (width entries) and
/// of the lower triangle of O, column by column (width (width + 1) / 2 entries).
class ExactMoments {
  public:
    explicit ExactMoments(int width)
        : width_(width), sums_(static_cast<std::size_t>(width + width * (width + 1) / 2)) {}

    /// Local. Adds one chunk's partials: s = sum_i x_i in row order, O = X^T X (lower
    /// triangle, one SYRK) of the rows of `x` (n x width, double).
    void add_chunk(const RowMatrixXd& x) {
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(width_);
        for (Eigen::Index i = 0; i < x.rows(); ++i) sum += x.row(i).transpose();
        Eigen::MatrixXd outer = Eigen::MatrixXd::Zero(width_, width_);
        outer.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
        count_ += x.rows();
        std::size_t entry = 0;
        for (int j = 0; j < width_; ++j) sums_[entry++].add(sum(j));
        for (int j = 0; j < width_; ++j) {
            for (int i = j; i < width_; ++i) sums_[entry++].add(outer(i, j));
        }
    }

    /// Local. Adds another set of totals (exact: the order of the additions does not matter).
    void add(const ExactMoments& other) {
        count_ += other.count_;
        for (std::size_t e = 0; e < sums_.size(); ++e) sums_[e].add(other.sums_[e]);
    }

    /// Collective. Replaces the totals by their sums over every rank of comm.
    void all_reduce(const Communicator& comm) {
        count_ = comm.all_reduce_sum(count_);
        ExactSum::all_reduce_in_place(comm, sums_);
    }

    /// Local. The totals rounded to doubles, O filled in symmetrically.
    RowMoments value() const {
        RowMoments moments{count_, Eigen::VectorXd(width_), Eigen::MatrixXd(width_, width_)};
        std::size_t entry = 0;
        for (int j = 0; j < width_; ++j) moments.sum(j) = sums_[entry++].value();
        for (int j = 0; j < width_; ++j) {
            for (int i = j; i < width_; ++i) {
                moments.outer_sum(i, j) = sums_[entry++].value();
                moments.outer_sum(j, i) = moments.outer_sum(i, j);
            }
        }
        return moments;
    }

  private:
    int width_;
    std::int64_t count_ = 0;
    std::vector<ExactSum> sums_;
};

/// Local. Copies the selected rows among storage rows [first, first + n) of `values` into `x`
/// (as double, in order).
void selected_rows(const RowMatrixXf& values, std::int64_t first, std::int64_t n,
                   const RowSelection& selection, RowMatrixXd& x) {
    std::int64_t selected = n;
    if (selection) {
        selected = std::count_if(selection->begin() + first, selection->begin() + first + n,
                                 [](std::int64_t count) { return count > 0; });
    }
    x.resize(selected, values.cols());
    Eigen::Index out = 0;
    for (std::int64_t r = first; r < first + n; ++r) {
        if (selection && (*selection)[static_cast<std::size_t>(r)] <= 0) continue;
        x.row(out++) = values.row(r).cast<double>();
    }
}

/// Local. The exact totals of the chunks of `table`'s selected rows: chunk c holds the rows
/// held in [cC, (c+1)C). Chunks are spread over the threads, each adding into its own totals;
/// the totals are exact, so neither the split nor the order of the additions matters.
ExactMoments chunk_totals(const FactorTable& table, const RowSelection& selection, int threads) {
    if (selection && static_cast<std::int64_t>(selection->size()) != table.rows()) {
        throw Error("row moments: one count per row needed");
    }
    const int n_threads = std::max(1, threads);
    std::vector<ExactMoments> per_thread(static_cast<std::size_t>(n_threads),
                                         ExactMoments(table.width()));
    const std::int64_t first_chunk = table.first_row() / moment_chunk_rows;
    const std::int64_t end_chunk = (table.end_row() + moment_chunk_rows - 1) / moment_chunk_rows;
    const std::int64_t n_chunks = table.rows() > 0 ? end_chunk - first_chunk : 0;
#pragma omp parallel num_threads(n_threads)
    {
        ExactMoments& mine = per_thread[static_cast<std::size_t>(omp_get_thread_num())];
        RowMatrixXd x;
#pragma omp for schedule(static)
        for (std::int64_t c = 0; c < n_chunks; ++c) {
            const std::int64_t chunk_first = (first_chunk + c) * moment_chunk_rows;
            const std::int64_t first = std::max(table.first_row(), chunk_first);
            const std::int64_t end = std::min(table.end_row(), chunk_first + moment_chunk_rows);
            selected_rows(table.values(), first - table.first_row(), end - first, selection, x);
            mine.add_chunk(x);
        }
    }
    ExactMoments total(table.width());
    for (const ExactMoments& part : per_thread) total.add(part);
    return total;
}

/// Local. Rows in both ranges.
std::int64_t overlap(RowRange a, RowRange b) {
    return std::max<std::int64_t>(0, std::min(a.end(), b.end()) - std::max(a.first, b.first));
}

/// Local. The rows of the chunks `rank` computes: those of the chunks whose first row is in
/// its block (empty when none is). The ranges of the ranks tile rows 0..n-1 in rank order.
RowRange chunk_rows_of_rank(const BlockPartition& blocks, int rank) {
    const auto round_up = [](std::int64_t row) {
        return (row + moment_chunk_rows - 1) / moment_chunk_rows * moment_chunk_rows;
    };
    const std::int64_t first = round_up(blocks.first(rank));
    return {first, std::max<std::int64_t>(
                       0, std::min(round_up(blocks.end(rank)), blocks.n_rows()) - first)};
}

/// This rank's whole chunks: their rows and (when selecting) their counts.
struct ChunkRows {
    FactorTable rows;
    std::vector<std::int64_t> counts;
};

/// Collective. Sends every own row (and count) to the rank that computes its chunk: each rank
/// keeps its rows but those before its first chunk, which go to the rank holding the start of
/// that chunk. Own rows and the rows received are contiguous and in global order on both sides,
/// so one all-to-all of rows moves them without packing.
ChunkRows route_to_chunk_owners(const Communicator& comm, const FactorTable& own,
                                const BlockPartition& blocks, const RowSelection& own_counts) {
    const int rank = comm.rank();
    if (blocks.n_blocks() != comm.size() || own.first_row() != blocks.first(rank) ||
        own.rows() != blocks.size(rank)) {
        throw Error("row moments: the own rows are not this rank's block");
    }
    const RowRange computed = chunk_rows_of_rank(blocks, rank);
    const RowRange own_range{blocks.first(rank), blocks.size(rank)};
    std::vector<std::int64_t> send_rows(static_cast<std::size_t>(comm.size()));
    std::vector<std::int64_t> receive_rows(send_rows.size());
    for (int q = 0; q < comm.size(); ++q) {
        send_rows[static_cast<std::size_t>(q)] = overlap(own_range, chunk_rows_of_rank(blocks, q));
        receive_rows[static_cast<std::size_t>(q)] =
            overlap(RowRange{blocks.first(q), blocks.size(q)}, computed);
    }
    const std::int64_t n_computed = computed.count;
    ChunkRows routed{FactorTable(computed.first, n_computed, own.k(), own.has_bias()), {}};
    comm.all_to_all_rows(own.row_span(own.first_row(), own.rows()),
                         std::span<const std::int64_t>(send_rows),
                         routed.rows.row_span(computed.first, n_computed),
                         std::span<const std::int64_t>(receive_rows), own.width());
    if (own_counts) {
        routed.counts.resize(static_cast<std::size_t>(n_computed));
        comm.all_to_all_rows(*own_counts, std::span<const std::int64_t>(send_rows),
                             std::span<std::int64_t>(routed.counts),
                             std::span<const std::int64_t>(receive_rows), 1);
    }
    return routed;
}

/// Collective. row_moments with an optional selection (nullopt on every rank: every row).
RowMoments distributed_moments(const Communicator& comm, const FactorTable& own,
                               const BlockPartition& blocks, const RowSelection& own_counts,
                               int threads) {
    if (own_counts && static_cast<std::int64_t>(own_counts->size()) != own.rows()) {
        throw Error("row_moments: one count per own row needed");
    }
    const ChunkRows routed = route_to_chunk_owners(comm, own, blocks, own_counts);
    RowSelection selection;
    if (own_counts) selection = std::span<const std::int64_t>(routed.counts);
    ExactMoments totals = chunk_totals(routed.rows, selection, threads);
    totals.all_reduce(comm);
    return totals.value();
}

}  // namespace

RowMoments local_row_moments(const FactorTable& table, std::span<const std::int64_t> counts,
                             int threads) {
    return chunk_totals(table, counts, threads).value();
}

RowMoments row_moments(const Communicator& comm, const FactorTable& own,
                       const BlockPartition& blocks, std::span<const std::int64_t> own_counts,
                       int threads) {
    return distributed_moments(comm, own, blocks, own_counts, threads);
}

Eigen::MatrixXd table_gram(const FactorTable& table, int threads) {
    return chunk_totals(table, std::nullopt, threads).value().outer_sum;
}

Eigen::MatrixXd distributed_gram(const Communicator& comm, const FactorTable& own,
                                 const BlockPartition& blocks, int threads) {
    return distributed_moments(comm, own, blocks, std::nullopt, threads).outer_sum;
}

}  // namespace distmf
