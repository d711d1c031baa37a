#include "distmf/serving_blocks.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include "distmf/top_items.hpp"

namespace distmf {
namespace {

/// Scores blocks of queries against a table of items (the whole H or one block of it), merging
/// each query's best into its running top N, and formats the lines of a block.
class BlockRecommender {
  public:
    explicit BlockRecommender(const ServingInputs& in)
        : in_(in),
          n_(static_cast<std::size_t>(in.config.serve.top)),
          separator_(in.config.serve.format == OutputFormat::csv ? ',' : '\t') {
        if (in.model.has_training_data()) {
            select_most_popular(in.model.item_train_counts, n_, popular_);
        }
    }

    /// Local. Scores `block` against `items` and merges into `best` (one list per query; when
    /// `first`, replaces them).
    void score(std::span<const Query> block, const FactorTable& items, bool first,
               std::span<std::vector<ScoredItem>> best, ServeTimes& times) {
        queries_.resize(static_cast<Eigen::Index>(block.size()), in_.model.info.k);
        excluded_.assign(block.size(), {});
        for (std::size_t q = 0; q < block.size(); ++q) {
            const auto i = static_cast<Eigen::Index>(q);
            if (block[q].source == RecommendationSource::model) {
                queries_.row(i) = in_.users.factors(block[q].row);
                if (in_.model.has_training_data()) {
                    excluded_[q] = in_.seen.row_columns(block[q].row - in_.seen.first_row);
                }
            } else if (block[q].source == RecommendationSource::fold_in) {
                queries_.row(i) = in_.folded.factors.factors(block[q].row);
                excluded_[q] = in_.folded.interactions.row_columns(block[q].row);
            } else {
                queries_.row(i).setZero();
            }
        }
        BlockTopItems top_items(items, n_);
        TopItemsSeconds seconds;
        top_items.run(queries_, excluded_, seconds);
        times.scoring_seconds += seconds.scoring;
        const double start = omp_get_wtime();
        for (std::size_t q = 0; q < block.size(); ++q) {
            if (first) {
                best[q] = top_items.best(q);
            } else {
                merge_best(best[q], top_items.best(q), n_, scratch_);
            }
        }
        times.selection_seconds += seconds.selection + (omp_get_wtime() - start);
    }

    /// Local. Appends the lines of `block` (its best lists in `best`) to `out`.
    void write(std::span<const Query> block, std::span<const std::vector<ScoredItem>> best,
               std::string& out, ServeTimes& times) const {
        const double start = omp_get_wtime();
        for (std::size_t q = 0; q < block.size(); ++q) {
            const bool popular = block[q].source == RecommendationSource::popularity;
            write_user(block[q], popular ? popular_ : best[q], out);
        }
        times.format_seconds += omp_get_wtime() - start;
    }

  private:
    /// Appends the user's lines: its ID, rank, item ID, score (mu + b_u + the item's score;
    /// for the popularity ranking the item's training count), source. Each line is formatted into a
    /// buffer with std::to_chars, then appended.
    void write_user(const Query& query, const std::vector<ScoredItem>& best,
                    std::string& out) const {
        float offset = 0.0F;  // mu + b_u: the same for every item of a user
        if (query.source != RecommendationSource::popularity) {
            const bool folded = query.source == RecommendationSource::fold_in;
            const FactorTable& table = folded ? in_.folded.factors : in_.users;
            offset = static_cast<float>(in_.model.info.global_mean) + table.bias(query.row);
        }
        const std::string_view source = source_name(query.source);
        std::array<char, 128> line{};  // 3 integers of <= 20 digits, a float, the source
        char* const end = line.data() + line.size();
        char* const user_end = std::to_chars(line.data(), end, query.user_id).ptr;
        *user_end = separator_;
        for (std::size_t rank = 0; rank < best.size(); ++rank) {
            const ScoredItem& entry = best[rank];
            const auto item = static_cast<std::size_t>(entry.item);
            char* at = std::to_chars(user_end + 1, end, rank + 1).ptr;
            *at++ = separator_;
            at = std::to_chars(at, end, in_.model.item_ids[item]).ptr;
            *at++ = separator_;
            // A popular item's score is its training count, exactly (its ScoredItem score is
            // only the count's rank among the counts).
            at = query.source == RecommendationSource::popularity
                     ? std::to_chars(at, end, in_.model.item_train_counts[item]).ptr
                     : std::to_chars(at, end, entry.score + offset).ptr;
            *at++ = separator_;
            at = std::copy(source.begin(), source.end(), at);
            *at++ = '\n';
            out.append(line.data(), at);
        }
    }

    const ServingInputs& in_;
    std::size_t n_;
    char separator_;
    std::vector<ScoredItem> popular_;
    std::vector<ScoredItem> scratch_;
    RowMatrixXf queries_;
    std::vector<std::span<const std::int32_t>> excluded_;  ///< per query: its seen items
};

/// Adds `mine` (one thread's seconds) to `total` in an OpenMP critical section.
void add_times(const ServeTimes& mine, ServeTimes& total) {
#pragma omp critical(distmf_serve_times)
    {
        total.scoring_seconds += mine.scoring_seconds;
        total.selection_seconds += mine.selection_seconds;
        total.format_seconds += mine.format_seconds;
    }
}

/// The queries of block `block` (of users_per_block).
std::span<const Query> block_queries(const std::vector<Query>& queries, std::int64_t block) {
    const auto first = static_cast<std::size_t>(block * users_per_block);
    const std::size_t count =
        std::min<std::size_t>(static_cast<std::size_t>(users_per_block), queries.size() - first);
    return std::span<const Query>(queries).subspan(first, count);
}

/// Local. Scores this rank's blocks against `items` with every thread of the rank, merging
/// into `best` (one list per query of the blocks; replaced when `first`).
void score_blocks(const ServingInputs& in, const std::vector<Query>& queries,
                  const BlockRange& blocks, const FactorTable& items, bool first,
                  std::vector<std::vector<ScoredItem>>& best, ServeTimes& times) {
#pragma omp parallel
    {
        BlockRecommender recommender(in);
        ServeTimes mine;
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t block = blocks.first; block < blocks.end; ++block) {
            const auto offset = static_cast<std::size_t>((block - blocks.first) * users_per_block);
            const std::span<const Query> part = block_queries(queries, block);
            recommender.score(part, items, first,
                              std::span<std::vector<ScoredItem>>(best).subspan(offset, part.size()),
                              mine);
        }
        add_times(mine, times);
    }
}

/// Local. The output lines of this rank's blocks, in order, with every thread of the rank.
std::string format_blocks(const ServingInputs& in, const std::vector<Query>& queries,
                          const BlockRange& blocks,
                          const std::vector<std::vector<ScoredItem>>& best, ServeTimes& times) {
    std::vector<std::string> parts(static_cast<std::size_t>(blocks.end - blocks.first));
#pragma omp parallel
    {
        const BlockRecommender recommender(in);
        ServeTimes mine;
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t block = blocks.first; block < blocks.end; ++block) {
            const auto offset = static_cast<std::size_t>((block - blocks.first) * users_per_block);
            const std::span<const Query> part = block_queries(queries, block);
            recommender.write(
                part, std::span<const std::vector<ScoredItem>>(best).subspan(offset, part.size()),
                parts[static_cast<std::size_t>(block - blocks.first)], mine);
        }
        add_times(mine, times);
    }
    std::string text;
    for (const std::string& part : parts) text += part;
    return text;
}

}  // namespace

BlockRange blocks_of_rank(std::int64_t n_queries, int n_ranks, int rank) {
    const std::int64_t n_blocks = (n_queries + users_per_block - 1) / users_per_block;
    return {n_blocks * rank / n_ranks, n_blocks * (rank + 1) / n_ranks};
}

/// Collective: every rank of comm must call. The output lines of this rank's blocks: scored
/// against in.model.items, and when `rotated` against every other rank's block of items too,
/// passed around the ring (P - 1 steps, each rank's blocks in ring order; the merge keeps the
/// global ranking order).
std::string recommend_blocks(const Communicator& comm, const ServingInputs& in,
                             const std::vector<Query>& queries, const BlockRange& blocks,
                             bool rotated, ServeTimes& times) {
    std::vector<std::vector<ScoredItem>> best(
        static_cast<std::size_t>(blocks.n_users(queries.size())));
    score_blocks(in, queries, blocks, in.model.items, true, best, times);
    if (rotated) {
        FactorTable held;
        const FactorTable* items = &in.model.items;
        for (int step = 1; step < comm.size(); ++step) {
            const int from = (comm.rank() + comm.size() - step) % comm.size();
            held = pass_item_block(comm, *items,
                                   rotated_item_block(in.model.info.n_items, comm.size(), from));
            items = &held;
            score_blocks(in, queries, blocks, *items, false, best, times);
        }
    }
    return format_blocks(in, queries, blocks, best, times);
}

AllUsers serve_all_users(const Communicator& comm, const Model& share, std::vector<Query> queries) {
    const auto n_queries = static_cast<std::int64_t>(queries.size());
    std::vector<std::int64_t> place_of_row(queries.size(), -1);
    for (std::size_t place = 0; place < queries.size(); ++place) {
        place_of_row[static_cast<std::size_t>(queries[place].row)] =
            static_cast<std::int64_t>(place);
        queries[place].row = static_cast<std::int64_t>(place);
    }
    std::vector<std::int64_t> boundaries{0};
    for (int rank = 0; rank < comm.size(); ++rank) {
        const BlockRange range = blocks_of_rank(n_queries, comm.size(), rank);
        boundaries.push_back(std::min(n_queries, range.end * users_per_block));
    }
    const BlockPartition places(std::move(boundaries));
    return {route_users_to_places(comm, share, place_of_row, places), std::move(queries)};
}

}  // namespace distmf
