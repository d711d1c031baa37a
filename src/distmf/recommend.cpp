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
#include "distmf/serving_blocks.hpp"
#include "distmf/sharded_serving.hpp"

namespace distmf {
namespace {

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
