#include "distmf/recommend.hpp"

#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "distmf/als.hpp"
#include "distmf/atomic_file.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/evaluate.hpp"
#include "distmf/id_index.hpp"
#include "distmf/implicit_als.hpp"
#include "distmf/log.hpp"
#include "distmf/ordered_output.hpp"
#include "distmf/sharded_serving.hpp"
#include "distmf/top_items.hpp"

namespace distmf {
namespace {

/// Users scored together (BlockTopItems: tiles of 256 x 384 scores per thread, in the L2
/// cache; the packing of each tile's item factors is shared by the 256 users). Blocks are cut
/// from the whole request list, and each rank takes whole blocks, so every user's scores are
/// computed the same way for any P.
constexpr std::int64_t users_per_block = 256;

/// One requested user: its ID, where its factors come from, and their row (a model row, a
/// fold-in row, or -1 for the popularity ranking).
struct Query {
    std::int64_t user_id = 0;
    RecommendationSource source = RecommendationSource::popularity;
    std::int64_t row = -1;
};

/// An external interaction as it travels between ranks.
struct ExternalRating {
    std::int64_t user = 0;
    std::int64_t item = 0;
    float value = 0.0F;
};

/// Collective (every rank reads the same file). The IDs of --users FILE, one a line.
std::vector<std::int64_t> read_user_list(const Communicator& comm, const std::string& path) {
    std::vector<std::int64_t> ids;
    std::optional<std::string> error;
    std::ifstream in(path);
    if (!in) error = "cannot open user list '" + path + "'";
    std::int64_t line_number = 0;
    for (std::string line; !error && std::getline(in, line);) {
        ++line_number;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty()) continue;
        std::int64_t id = -1;
        const auto [end, code] = std::from_chars(line.data(), line.data() + line.size(), id);
        if (code != std::errc() || end != line.data() + line.size() || id < 0) {
            error = path + ":" + std::to_string(line_number) + ": '" + line +
                    "' is not a user ID (a non-negative integer)";
        }
        ids.push_back(id);
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    return ids;
}

/// The requested users in output order, each with its source.
std::vector<Query> make_queries(const Communicator& comm, const Config& config, const Model& model,
                                const FoldedUsers& folded) {
    std::vector<std::int64_t> requested;
    if (config.serve.user >= 0) {
        requested.push_back(config.serve.user);
    } else if (!config.serve.users.empty()) {
        requested = read_user_list(comm, config.serve.users);
    } else if (config.serve.all_users) {
        requested = model.user_ids;
        std::sort(requested.begin(), requested.end());
    } else {
        requested = folded.ids;
    }
    const std::vector<std::int64_t> rows = positions_of_ids(requested, model.user_ids);
    std::vector<Query> queries(requested.size());
    for (std::size_t i = 0; i < requested.size(); ++i) {
        Query& query = queries[i];
        query.user_id = requested[i];
        const auto at = std::lower_bound(folded.ids.begin(), folded.ids.end(), query.user_id);
        const auto folded_row = at - folded.ids.begin();
        if (at != folded.ids.end() && *at == query.user_id &&
            folded.interactions.row_size(folded_row) > 0) {
            query = {query.user_id, RecommendationSource::fold_in, folded_row};
        } else if (rows[i] >= 0) {
            query = {query.user_id, RecommendationSource::model, rows[i]};
        }
    }
    return queries;
}

/// Thread seconds spent in the phases of scoring (summed over a rank's threads).
struct ServeTimes {
    double scoring_seconds = 0.0;    ///< the matrix products and biases
    double selection_seconds = 0.0;  ///< excluding seen items and selecting the top N
    double format_seconds = 0.0;     ///< formatting the lines
};

/// What scoring reads: the model (its items' IDs and counts, global mean), the table of
/// query users' factors and their seen items (rows: Query::row of model-source queries), the
/// folded-in users, and the options.
struct ServingInputs {
    const Model& model;
    const FactorTable& users;
    const RatingMatrix& seen;
    const FoldedUsers& folded;
    const Config& config;
};

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

/// Every unknown user's popularity ranking needs the model's training counts.
void check_popularity_available(const std::vector<Query>& queries, const Model& model,
                                const std::string& path) {
    for (const Query& query : queries) {
        if (query.source == RecommendationSource::popularity && !model.has_training_data()) {
            throw InputError("user " + std::to_string(query.user_id) +
                             " is not in the model and has no --fold-in interactions, and " + path +
                             " has no popularity counts to recommend from (a model file "
                             "of an older distmf)");
        }
    }
}

void report_sources(const Logger& log, const std::vector<Query>& queries,
                    const FoldedUsers& folded) {
    std::int64_t unknown = 0;
    std::int64_t first_unknown = -1;
    for (const Query& query : queries) {
        if (query.source != RecommendationSource::popularity) continue;
        if (unknown++ == 0) first_unknown = query.user_id;
    }
    if (unknown > 0) {
        log.warn(
            format_text("%lld requested user%s (e.g. %lld) %s not in the model and %s no "
                        "--fold-in interactions with its items: recommending the most "
                        "popular items instead (source 'popularity')",
                        static_cast<long long>(unknown), unknown == 1 ? "" : "s",
                        static_cast<long long>(first_unknown), unknown == 1 ? "is" : "are",
                        unknown == 1 ? "has" : "have"));
    }
    if (folded.unknown_items > 0) {
        log.warn(
            format_text("%lld --fold-in interactions name items the model does not have; "
                        "they were ignored",
                        static_cast<long long>(folded.unknown_items)));
    }
}

/// A rank's share of the blocks of users_per_block queries: whole blocks cut from the whole
/// request list, so every user's scores are computed the same way for any P.
struct BlockRange {
    std::int64_t first = 0;
    std::int64_t end = 0;
    /// The number of queries in these blocks.
    std::int64_t n_users(std::size_t n_queries) const {
        const auto total = static_cast<std::int64_t>(n_queries);
        return std::max<std::int64_t>(
            0, std::min(total, end * users_per_block) - first * users_per_block);
    }
};

BlockRange blocks_of_rank(std::int64_t n_queries, int n_ranks, int rank) {
    const std::int64_t n_blocks = (n_queries + users_per_block - 1) / users_per_block;
    return {n_blocks * rank / n_ranks, n_blocks * (rank + 1) / n_ranks};
}

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

/// Collective. `recommend --all-users` with each rank holding its share of the users only:
/// the queries (every user, ascending ID) are placed in blocks as always, and each user is
/// sent from the rank that read it to the rank that serves its block.
struct AllUsers {
    ServedUsers served;
    std::vector<Query> queries;
};

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

}  // namespace

const char* source_name(RecommendationSource source) {
    switch (source) {
        case RecommendationSource::model:
            return "model";
        case RecommendationSource::fold_in:
            return "fold-in";
        case RecommendationSource::popularity:
            break;
    }
    return "popularity";
}

FactorTable fold_in_rows(const Model& model, const Config& training,
                         const RatingMatrix& interactions, const std::vector<std::int64_t>& ids,
                         int threads) {
    const AlsSettings settings = als_settings(training.model, model.info.global_mean, threads);
    FactorTable solved(interactions.n_rows(), model.info.k, model.info.biases);
    std::int64_t failed = -1;
    if (model.info.algorithm == "ials") {
        ImplicitSettings implicit = implicit_settings(training.ials);
        implicit.solver = ImplicitSolver::cholesky;
        const Eigen::MatrixXd gram = table_gram(model.items, threads);
        failed =
            solve_rows(interactions, implicit_row_solvers(model.items, gram, settings, implicit),
                       threads, solved);
    } else {
        failed = solve_rows(interactions, model.items, settings, solved);
    }
    if (failed >= 0) {
        throw NumericalError("fold-in could not solve the system of user " +
                             std::to_string(ids[static_cast<std::size_t>(failed)]) +
                             " (its matrix is not positive definite)");
    }
    return solved;
}

FoldedUsers fold_in_users(const Communicator& comm, const Config& config, const Model& model,
                          const Config& training) {
    FoldedUsers folded;
    if (config.serve.fold_in.empty()) return folded;
    RatingShard shard;
    read_ratings_shard(comm, config.serve.fold_in, config.data, SplitRule{true, 0.0, 0}, shard, 2);
    std::vector<ExternalRating> mine;
    for (const LocalRating& r : shard.test) {
        mine.push_back({shard.users.ids()[static_cast<std::size_t>(r.user)],
                        shard.items.ids()[static_cast<std::size_t>(r.item)], r.value});
    }
    const std::vector<ExternalRating> all =
        comm.all_gather_v(std::span<const ExternalRating>(mine));
    for (const ExternalRating& r : all) folded.ids.push_back(r.user);
    std::sort(folded.ids.begin(), folded.ids.end());
    folded.ids.erase(std::unique(folded.ids.begin(), folded.ids.end()), folded.ids.end());
    std::vector<std::int64_t> items;
    for (const ExternalRating& r : all) items.push_back(r.item);
    const std::vector<std::int64_t> item_rows = positions_of_ids(items, model.item_ids);
    std::vector<LocalRating> entries;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (item_rows[i] < 0) {
            ++folded.unknown_items;
            continue;
        }
        const auto user = std::lower_bound(folded.ids.begin(), folded.ids.end(), all[i].user) -
                          folded.ids.begin();
        entries.push_back({static_cast<std::int32_t>(user), static_cast<std::int32_t>(item_rows[i]),
                           all[i].value});
    }
    BuildReport report;
    const DuplicatePolicy policy = config.data.duplicates == DuplicatePolicy::error
                                       ? DuplicatePolicy::last
                                       : config.data.duplicates;
    folded.interactions =
        build_rating_matrix(std::move(entries), RowField::user, 0,
                            static_cast<std::int64_t>(folded.ids.size()), policy, report);
    folded.factors =
        fold_in_rows(model, training, folded.interactions, folded.ids, omp_get_max_threads());
    return folded;
}

namespace {

/// Collective. The model as `recommend` needs it: with --all-users (and no --fold-in), this
/// rank's share of the users and all items or its rotating block (sharded_serving.hpp);
/// otherwise all of it.
Model load_for_recommend(const Communicator& comm, const Config& config, bool sharded,
                         bool& rotated) {
    rotated = false;
    if (!sharded) return load_model(comm, config.model_file.model);
    return load_model_share(comm, config.model_file.model, [&](const ModelInfo& info) {
        rotated = rotates_item_factors(config.serve.item_factors, info) && comm.size() > 1;
        return serving_layout(info, comm.size(), comm.rank(), rotated);
    });
}

}  // namespace

int run_recommend_command(const Communicator& comm, const Config& config) {
    const double start = MPI_Wtime();
    const Logger log(comm.rank(), config.serve.out.empty());
    check_writable_destinations(comm, {config.serve.out});
    // --all-users alone: each rank holds its share of W (fold-in and user lists: all of it).
    const bool sharded = config.serve.all_users && config.serve.fold_in.empty() &&
                         config.serve.user < 0 && config.serve.users.empty();
    bool rotated = false;
    Model model = load_for_recommend(comm, config, sharded, rotated);
    const double loaded = MPI_Wtime();
    const Config training = config_from_ini(model.info.config, Command::train);
    const FoldedUsers folded = fold_in_users(comm, config, model, training);
    std::vector<Query> queries = make_queries(comm, config, model, folded);
    check_popularity_available(queries, model, config.model_file.model);
    if (!model.has_training_data()) {
        log.warn(
            "the model file has no training items (an older distmf's): items users have "
            "already rated are not excluded");
    }
    report_sources(log, queries, folded);
    AllUsers all_users;
    if (sharded) {
        all_users = serve_all_users(comm, model, std::move(queries));
        queries = std::move(all_users.queries);
        model.users = FactorTable();  // the share read, now at the ranks that serve its users
        model.train_items = RatingMatrix();
    }
    const double prepared = MPI_Wtime();

    const BlockRange blocks =
        blocks_of_rank(static_cast<std::int64_t>(queries.size()), comm.size(), comm.rank());
    const ServingInputs inputs{model, sharded ? all_users.served.factors : model.users,
                               sharded ? all_users.served.seen : model.train_items, folded, config};
    ServeTimes times;
    const std::string text = recommend_blocks(comm, inputs, queries, blocks, rotated, times);
    const double computed = MPI_Wtime();
    comm.barrier();  // so that `write` does not count the wait for the slowest rank
    const double synchronized = MPI_Wtime();
    const char separator = config.serve.format == OutputFormat::csv ? ',' : '\t';
    const std::string header = format_text("user%crank%citem%cscore%csource\n", separator,
                                           separator, separator, separator);
    write_in_rank_order(comm, config.serve.out, header, text);
    const double written = MPI_Wtime();

    // Matrix-product rate per thread: this rank's flops over its threads' seconds in GEMM.
    const auto my_users = static_cast<double>(blocks.n_users(queries.size()));
    const double my_flops = 2.0 * my_users * static_cast<double>(model.info.n_items) *
                            static_cast<double>(model.info.k);
    const double rate = times.scoring_seconds > 0.0 ? my_flops / times.scoring_seconds / 1e9 : 0.0;
    log.info(format_text(
        "recommended the top %d of %lld items for %lld users on %d rank%s in %.2f s: load model "
        "%.2f s, prepare %.2f s, score, select and format %.2f s, write %.2f s (each the slowest "
        "rank's); thread seconds on the busiest rank: matrix products %.2f s (%.1f GFLOP/s per "
        "thread on the slowest), exclusion and selection %.2f s, formatting %.2f s",
        config.serve.top, static_cast<long long>(model.info.n_items),
        static_cast<long long>(queries.size()), comm.size(), comm.size() == 1 ? "" : "s",
        comm.all_reduce_max(written - start), comm.all_reduce_max(loaded - start),
        comm.all_reduce_max(prepared - loaded), comm.all_reduce_max(computed - prepared),
        comm.all_reduce_max(written - synchronized), comm.all_reduce_max(times.scoring_seconds),
        comm.all_reduce_min(rate), comm.all_reduce_max(times.selection_seconds),
        comm.all_reduce_max(times.format_seconds)));
    return 0;
}

}  // namespace distmf
