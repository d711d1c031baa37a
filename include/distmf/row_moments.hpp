#pragma once
/// @file row_moments.hpp
/// The first two moments of one side's rows, summed over every rank's own rows without
/// gathering the side: implicit ALS needs G = F^T F of the other side, BPMF's hyper-prior the
/// count, sum and sum of outer products of the rows that have training ratings.
///
/// A double sum split over P ranks and then reduced depends on P in its last bits. So the sums
/// are cut at fixed chunks of the global row order, chunk c = rows [cC, (c+1)C) with
/// C = moment_chunk_rows, whatever the ranks' blocks:
///
///   count_c = |{x in chunk c}|,  s_c = sum_{x in c} x,  O_c = sum_{x in c} x x^T
///
/// each computed whole, in double and in a fixed order, by the rank that owns the chunk's first
/// row (the at most C - 1 rows of a chunk that lie in later blocks are sent to it first). The
/// chunk partials are then added exactly (ExactSum: each entry rounded once to a multiple of
/// 2^-40, then integer addition), so the totals are bitwise the same for any P, any thread
/// count and any layout of the factor tables.

#include <Eigen/Core>
#include <cstdint>
#include <span>

#include "distmf/comm.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"

namespace distmf {

/// Rows per chunk of the global row order (C above): fixed, so that the chunks never depend on
/// the number of ranks or threads.
inline constexpr std::int64_t moment_chunk_rows = 256;

/// The moments of a set of rows x (each the whole stored row: width() values).
struct RowMoments {
    std::int64_t count = 0;     ///< number of rows
    Eigen::VectorXd sum;        ///< sum of x (width)
    Eigen::MatrixXd outer_sum;  ///< sum of x x^T (width x width, symmetric)
};

/// Local. The moments of the rows r of `table` with counts[r] > 0 (counts: one entry per row
/// held, in order), chunked at the multiples of moment_chunk_rows of the global row index. Of
/// a whole side it is bitwise equal to row_moments of the same rows split among any number of
/// ranks, for any `threads`.
RowMoments local_row_moments(const FactorTable& table, std::span<const std::int64_t> counts,
                             int threads);

/// Collective: every rank of comm must call, in the same order. The moments of the rows of a
/// side with counts > 0, from every rank's `own` rows (blocks.first(rank)..end(rank), as a
/// FactorTable starting there) and `own_counts` (one per own row). The same on every rank and
/// bitwise the same for any number of ranks, any blocks and any `threads`; moves at most
/// moment_chunk_rows - 1 rows per block boundary.
RowMoments row_moments(const Communicator& comm, const FactorTable& own,
                       const BlockPartition& blocks, std::span<const std::int64_t> own_counts,
                       int threads);

/// Local. G = T^T T (width x width, double) of every row of `table`: the outer_sum of
/// local_row_moments with every row counted. Of a whole side, bitwise equal to
/// distributed_gram for any number of ranks and any `threads`.
Eigen::MatrixXd table_gram(const FactorTable& table, int threads);

/// Collective: every rank of comm must call, in the same order. G = F^T F (width x width,
/// double) of a side F from every rank's `own` rows (as for row_moments), every row counted.
Eigen::MatrixXd distributed_gram(const Communicator& comm, const FactorTable& own,
                                 const BlockPartition& blocks, int threads);

}  // namespace distmf
