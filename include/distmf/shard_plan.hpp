#pragma once
/// @file shard_plan.hpp
/// What training would hold and move on a number of ranks P' other than the one running:
/// `distmf data --plan`. For each hypothetical rank q it cuts users and items into P' blocks
/// exactly as load_dataset would on P' ranks (BlockPartition::balanced of the same weights,
/// partition_weights()), and evaluates the routing plan FactorViews would build there
/// (factor_views.hpp): q's item ghosts G^items_q are the distinct items its users rated in
/// training or test, its user ghosts G^users_q the distinct users who rated its items in
/// training (own rows included, if touched). Every count is an integer computed from the data
/// set alone, so a plan is the same whichever number of ranks computes it.
///
/// Per rank q and ALS iteration (a user and an item exchange; FactorRouting), with
/// w = k + biases floats of 4 bytes per row, m, n the users and items, m_q, n_q q's own:
///
///   factor bytes, replicated: (m + n + m_q + n_q)·4w     (full views + own blocks, P' > 1)
///   factor bytes, sharded:    (m_q + n_q + |G^items_q| + |G^users_q|)·4w
///   received, replicated:     (m − m_q + n − n_q)·4w     (MPI_Allgatherv)
///   sent, replicated:         (m_q + n_q)(P' − 1)·4w
///   received, sharded:        (|G^items_q \ own items| + |G^users_q \ own users|)·4w
///   sent, sharded:            Σ_{q' ≠ q} (|G^items_q' ∩ own items of q| +
///                                          |G^users_q' ∩ own users of q|)·4w
///
/// On one rank (P' = 1) the views are the rank's own tables in either layout (FactorViews
/// copies nothing): (m + n)·4w bytes, nothing moved.
///
/// DSGD moves other bytes (a ring rotation of item blocks, and no user view): the traffic
/// figures are those of als, ials and bpmf.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/dataset.hpp"

namespace distmf {

/// What one hypothetical rank holds and moves (rows; bytes follow from the row width).
struct PlannedRank {
    std::int64_t train_by_user = 0;       ///< training ratings of its users
    std::int64_t train_by_item = 0;       ///< training ratings of its items
    std::int64_t test_by_user = 0;        ///< test ratings of its users
    std::int64_t own_users = 0;           ///< m_q
    std::int64_t own_items = 0;           ///< n_q
    std::int64_t item_ghosts = 0;         ///< |G^items_q|: rows of its sharded item view
    std::int64_t user_ghosts = 0;         ///< |G^users_q|: rows of its sharded user view
    std::int64_t item_rows_received = 0;  ///< sharded: |G^items_q \ own items|
    std::int64_t user_rows_received = 0;  ///< sharded: |G^users_q \ own users|
    std::int64_t item_rows_sent = 0;      ///< sharded: own items in other ranks' item views
    std::int64_t user_rows_sent = 0;      ///< sharded: own users in other ranks' user views
};

/// The plan of one rank count: every rank's share, in rank order.
struct ShardPlan {
    int n_ranks = 1;           ///< P'
    int row_width = 0;         ///< w = k + biases (floats per factor row)
    std::int64_t n_users = 0;  ///< m
    std::int64_t n_items = 0;  ///< n
    std::vector<PlannedRank> ranks;
};

/// Bytes of one rank in one layout (see the file comment for the formulas).
struct LayoutBytes {
    std::int64_t factors = 0;   ///< factor tables held (own rows and views)
    std::int64_t received = 0;  ///< per ALS iteration
    std::int64_t sent = 0;      ///< per ALS iteration
};

/// Local. Rank `rank`'s bytes in `plan` with replicated factor tables.
LayoutBytes replicated_bytes(const ShardPlan& plan, int rank);
/// Local. Rank `rank`'s bytes in `plan` with sharded factor tables.
LayoutBytes sharded_bytes(const ShardPlan& plan, int rank);

/// Collective: every rank of comm must call, with the same arguments. The plan of
/// `dataset` (this rank's share of it, loaded on comm) on `n_ranks` ranks, with factor rows
/// `row_width` floats wide; the same on every rank. Works one hypothetical rank at a time with
/// two bitmaps (m + n bits) OR-reduced over comm: O(nnz + P'(m + n)/64) work per rank.
ShardPlan plan_shards(const Communicator& comm, const Dataset& dataset, int n_ranks, int row_width);

/// One figure of a plan summarized over its ranks.
struct PlanSummary {
    std::int64_t max = 0;
    double mean = 0.0;
    double imbalance = 1.0;  ///< max / mean (1 when all are 0)
    std::int64_t total = 0;
};

/// Local. Max, mean, max/mean and total of `per_rank`.
PlanSummary summarize_ranks(std::span<const std::int64_t> per_rank);

/// Local. The plans as aligned text: per rank count, one line per figure with its max, mean,
/// max/mean and total over the ranks (bytes in MB = 10^6 bytes).
std::string plan_table(std::span<const ShardPlan> plans);

/// Local. The plans as CSV with a header line: one row per (rank count, rank), then rows
/// "max", "mean", "imbalance" and "total" for each rank count; bytes in bytes.
std::string plan_csv(std::span<const ShardPlan> plans);

}  // namespace distmf
