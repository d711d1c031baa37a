#include "distmf/shard_plan.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <functional>

#include "distmf/log.hpp"
#include "distmf/partition.hpp"

namespace distmf {
namespace {

/// A set of the rows 0..n_rows-1 of one side, one bit each.
class RowBitmap {
  public:
    explicit RowBitmap(std::int64_t n_rows)
        : words_(static_cast<std::size_t>((n_rows + word_bits - 1) / word_bits), 0) {}

    void clear() { std::fill(words_.begin(), words_.end(), 0); }
    void insert(std::int64_t row) {
        words_[static_cast<std::size_t>(row / word_bits)] |= std::uint64_t{1} << (row % word_bits);
    }
    std::span<std::uint64_t> words() { return words_; }

    /// Local. Rows of [first, end) in the set: popcounts of the words, the end words masked.
    std::int64_t count(std::int64_t first, std::int64_t end) const {
        std::int64_t total = 0;
        for (std::int64_t row = first; row < end;) {
            const std::int64_t word = row / word_bits;
            const std::int64_t word_end = std::min(end, (word + 1) * word_bits);
            std::uint64_t bits = words_[static_cast<std::size_t>(word)] >> (row % word_bits);
            const std::int64_t n_bits = word_end - row;
            if (n_bits < word_bits) bits &= (std::uint64_t{1} << n_bits) - 1;
            total += std::popcount(bits);
            row = word_end;
        }
        return total;
    }

  private:
    static constexpr std::int64_t word_bits = 64;
    std::vector<std::uint64_t> words_;
};

/// The ghosts of one view, per hypothetical rank: how many rows it reads, and how many rows
/// each rank receives into it and sends for it (own rows excluded).
struct ViewPlan {
    std::vector<std::int64_t> rows;
    std::vector<std::int64_t> received;
    std::vector<std::int64_t> sent;
};

/// Collective. The view of the side cut into `column_blocks` that the readers (the other
/// side, cut into `reader_blocks`) need: reader q reads the distinct columns of the rows
/// [reader_blocks.first(q), end(q)) of `matrices` (this rank's rows of the reading side, with
/// global columns; every rank holds some). One n-bit bitmap per reader, OR-reduced over comm:
///   rows(q) = |G_q|,  received(q) = |G_q| − |G_q ∩ block_q|,
///   sent(q') = Σ_{q ≠ q'} |G_q ∩ block_q'|.
ViewPlan plan_view(const Communicator& comm, std::span<const RatingMatrix* const> matrices,
                   const BlockPartition& reader_blocks, const BlockPartition& column_blocks) {
    const auto n_ranks = static_cast<std::size_t>(reader_blocks.n_blocks());
    ViewPlan view{std::vector<std::int64_t>(n_ranks, 0), std::vector<std::int64_t>(n_ranks, 0),
                  std::vector<std::int64_t>(n_ranks, 0)};
    RowBitmap read(column_blocks.n_rows());
    for (int reader = 0; reader < reader_blocks.n_blocks(); ++reader) {
        read.clear();
        for (const RatingMatrix* matrix : matrices) {
            const std::int64_t first =
                std::max(reader_blocks.first(reader), matrix->first_row) - matrix->first_row;
            const std::int64_t end =
                std::min(reader_blocks.end(reader), matrix->first_row + matrix->n_rows()) -
                matrix->first_row;
            for (std::int64_t row = first; row < end; ++row) {
                for (const std::int32_t column : matrix->row_columns(row)) read.insert(column);
            }
        }
        comm.all_reduce_or_in_place(read.words());
        const auto index = static_cast<std::size_t>(reader);
        view.rows[index] = read.count(0, column_blocks.n_rows());
        for (int owner = 0; owner < column_blocks.n_blocks(); ++owner) {
            const std::int64_t rows =
                read.count(column_blocks.first(owner), column_blocks.end(owner));
            if (owner == reader) {
                view.received[index] = view.rows[index] - rows;
            } else {
                view.sent[static_cast<std::size_t>(owner)] += rows;
            }
        }
    }
    return view;
}

/// Collective. The test ratings of every hypothetical rank's users.
std::vector<std::int64_t> test_ratings_by_block(const Communicator& comm, const Dataset& dataset,
                                                const BlockPartition& user_blocks) {
    std::vector<std::int64_t> per_block(static_cast<std::size_t>(user_blocks.n_blocks()), 0);
    const RatingMatrix& test = dataset.test_ratings;
    for (std::int64_t row = 0; row < test.n_rows(); ++row) {
        per_block[static_cast<std::size_t>(user_blocks.owner(test.first_row + row))] +=
            test.row_size(row);
    }
    comm.all_reduce_sum_in_place(std::span<std::int64_t>(per_block));
    return per_block;
}

/// One figure of the plan output: its CSV name, its label in the table, whether it is in
/// bytes (MB in the table), and its value for a rank.
struct Figure {
    const char* name;
    const char* label;
    bool bytes;
    std::function<std::int64_t(const ShardPlan&, int)> value;
};

const std::vector<Figure>& figures() {
    const auto field = [](std::int64_t PlannedRank::*member) {
        return [member](const ShardPlan& plan, int rank) {
            return plan.ranks[static_cast<std::size_t>(rank)].*member;
        };
    };
    using Bytes = LayoutBytes (*)(const ShardPlan&, int);
    const auto bytes = [](Bytes layout, std::int64_t LayoutBytes::*member) {
        return [layout, member](const ShardPlan& plan, int rank) {
            return layout(plan, rank).*member;
        };
    };
    static const std::vector<Figure> table{
        {"train_by_user", "train ratings, by user", false, field(&PlannedRank::train_by_user)},
        {"train_by_item", "train ratings, by item", false, field(&PlannedRank::train_by_item)},
        {"test_by_user", "test ratings", false, field(&PlannedRank::test_by_user)},
        {"own_users", "own user rows", false, field(&PlannedRank::own_users)},
        {"own_items", "own item rows", false, field(&PlannedRank::own_items)},
        {"item_ghosts", "item ghost rows", false, field(&PlannedRank::item_ghosts)},
        {"user_ghosts", "user ghost rows", false, field(&PlannedRank::user_ghosts)},
        {"factor_bytes_replicated", "factors MB, replicated", true,
         bytes(replicated_bytes, &LayoutBytes::factors)},
        {"factor_bytes_sharded", "factors MB, sharded", true,
         bytes(sharded_bytes, &LayoutBytes::factors)},
        {"received_bytes_replicated", "received MB, replicated", true,
         bytes(replicated_bytes, &LayoutBytes::received)},
        {"received_bytes_sharded", "received MB, sharded", true,
         bytes(sharded_bytes, &LayoutBytes::received)},
        {"sent_bytes_replicated", "sent MB, replicated", true,
         bytes(replicated_bytes, &LayoutBytes::sent)},
        {"sent_bytes_sharded", "sent MB, sharded", true, bytes(sharded_bytes, &LayoutBytes::sent)},
    };
    return table;
}

/// The values of `figure` for every rank of `plan`, in rank order.
std::vector<std::int64_t> per_rank(const Figure& figure, const ShardPlan& plan) {
    std::vector<std::int64_t> values(static_cast<std::size_t>(plan.n_ranks));
    for (int rank = 0; rank < plan.n_ranks; ++rank) {
        values[static_cast<std::size_t>(rank)] = figure.value(plan, rank);
    }
    return values;
}

std::int64_t row_bytes(const ShardPlan& plan) { return std::int64_t{4} * plan.row_width; }

/// On one rank the views are the rank's own tables, in either layout: every row once.
LayoutBytes one_rank_bytes(const ShardPlan& plan) {
    return {(plan.n_users + plan.n_items) * row_bytes(plan), 0, 0};
}

}  // namespace

LayoutBytes replicated_bytes(const ShardPlan& plan, int rank) {
    if (plan.n_ranks == 1) return one_rank_bytes(plan);
    const PlannedRank& r = plan.ranks[static_cast<std::size_t>(rank)];
    const std::int64_t own = r.own_users + r.own_items;
    const std::int64_t all = plan.n_users + plan.n_items;
    return {(all + own) * row_bytes(plan), (all - own) * row_bytes(plan),
            own * (plan.n_ranks - 1) * row_bytes(plan)};
}

LayoutBytes sharded_bytes(const ShardPlan& plan, int rank) {
    if (plan.n_ranks == 1) return one_rank_bytes(plan);
    const PlannedRank& r = plan.ranks[static_cast<std::size_t>(rank)];
    return {(r.own_users + r.own_items + r.item_ghosts + r.user_ghosts) * row_bytes(plan),
            (r.item_rows_received + r.user_rows_received) * row_bytes(plan),
            (r.item_rows_sent + r.user_rows_sent) * row_bytes(plan)};
}

ShardPlan plan_shards(const Communicator& comm, const Dataset& dataset, int n_ranks,
                      int row_width) {
    const PartitionWeights weights = partition_weights(dataset);
    const BlockPartition user_blocks = BlockPartition::balanced(weights.users, n_ranks);
    const BlockPartition item_blocks = BlockPartition::balanced(weights.items, n_ranks);
    // The views of FactorViews: items read by users (train and test), users read by items.
    const std::array<const RatingMatrix*, 2> by_user{&dataset.user_ratings, &dataset.test_ratings};
    const std::array<const RatingMatrix*, 1> by_item{&dataset.item_ratings};
    const ViewPlan item_view = plan_view(comm, by_user, user_blocks, item_blocks);
    const ViewPlan user_view = plan_view(comm, by_item, item_blocks, user_blocks);
    const std::vector<std::int64_t> train_by_user =
        block_weights(user_blocks, dataset.user_train_counts);
    const std::vector<std::int64_t> train_by_item =
        block_weights(item_blocks, dataset.item_train_counts);
    const std::vector<std::int64_t> test_by_user =
        test_ratings_by_block(comm, dataset, user_blocks);

    ShardPlan plan;
    plan.n_ranks = n_ranks;
    plan.row_width = row_width;
    plan.n_users = user_blocks.n_rows();
    plan.n_items = item_blocks.n_rows();
    for (int rank = 0; rank < n_ranks; ++rank) {
        const auto q = static_cast<std::size_t>(rank);
        plan.ranks.push_back({train_by_user[q], train_by_item[q], test_by_user[q],
                              user_blocks.size(rank), item_blocks.size(rank), item_view.rows[q],
                              user_view.rows[q], item_view.received[q], user_view.received[q],
                              item_view.sent[q], user_view.sent[q]});
    }
    return plan;
}

PlanSummary summarize_ranks(std::span<const std::int64_t> per_rank_values) {
    PlanSummary summary;
    if (per_rank_values.empty()) return summary;
    for (const std::int64_t value : per_rank_values) {
        summary.max = std::max(summary.max, value);
        summary.total += value;
    }
    summary.mean = static_cast<double>(summary.total) / static_cast<double>(per_rank_values.size());
    summary.imbalance = imbalance(per_rank_values);
    return summary;
}

std::string plan_table(std::span<const ShardPlan> plans) {
    std::string text;
    for (const ShardPlan& plan : plans) {
        text += format_text(
            "plan          P = %d: %lld users, %lld items, factor rows of %d floats (%lld bytes); "
            "traffic per ALS iteration\n",
            plan.n_ranks, static_cast<long long>(plan.n_users),
            static_cast<long long>(plan.n_items), plan.row_width,
            static_cast<long long>(row_bytes(plan)));
        text += format_text("  %-26s %14s %16s %9s %16s\n", "per rank", "max", "mean", "max/mean",
                            "total");
        for (const Figure& figure : figures()) {
            const PlanSummary s = summarize_ranks(per_rank(figure, plan));
            if (figure.bytes) {
                text += format_text("  %-26s %14.3f %16.3f %9.4f %16.3f\n", figure.label,
                                    static_cast<double>(s.max) / 1e6, s.mean / 1e6, s.imbalance,
                                    static_cast<double>(s.total) / 1e6);
            } else {
                text += format_text("  %-26s %14lld %16.1f %9.4f %16lld\n", figure.label,
                                    static_cast<long long>(s.max), s.mean, s.imbalance,
                                    static_cast<long long>(s.total));
            }
        }
    }
    return text;
}

std::string plan_csv(std::span<const ShardPlan> plans) {
    std::string text = "ranks,rank";
    for (const Figure& figure : figures()) text += std::string(",") + figure.name;
    text += '\n';
    for (const ShardPlan& plan : plans) {
        std::vector<std::vector<std::int64_t>> columns;
        for (const Figure& figure : figures()) columns.push_back(per_rank(figure, plan));
        for (int rank = 0; rank < plan.n_ranks; ++rank) {
            text += format_text("%d,%d", plan.n_ranks, rank);
            for (const auto& column : columns) {
                text += format_text(",%lld",
                                    static_cast<long long>(column[static_cast<std::size_t>(rank)]));
            }
            text += '\n';
        }
        std::array<std::string, 4> rows{
            format_text("%d,max", plan.n_ranks), format_text("%d,mean", plan.n_ranks),
            format_text("%d,imbalance", plan.n_ranks), format_text("%d,total", plan.n_ranks)};
        for (const auto& column : columns) {
            const PlanSummary s = summarize_ranks(column);
            rows[0] += format_text(",%lld", static_cast<long long>(s.max));
            rows[1] += format_text(",%.3f", s.mean);
            rows[2] += format_text(",%.6f", s.imbalance);
            rows[3] += format_text(",%lld", static_cast<long long>(s.total));
        }
        for (const std::string& row : rows) text += row + '\n';
    }
    return text;
}

}  // namespace distmf
