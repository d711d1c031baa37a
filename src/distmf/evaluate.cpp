#include "distmf/evaluate.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "distmf/atomic_file.hpp"
#include "distmf/checkpoint.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/id_index.hpp"
#include "distmf/log.hpp"
#include "distmf/ordered_output.hpp"
#include "distmf/ranking.hpp"
#include "distmf/sharded_serving.hpp"

namespace distmf {
namespace {

/// This rank's test pairs as model rows (value kept), from --data.test or from the held-out
/// part of a rebuilt training split; pairs whose user or item the model lacks are counted.
std::vector<LocalRating> test_pairs_in_model(const Communicator& comm, const Config& config,
                                             const Model& model, std::int64_t& unknown_pairs) {
    std::vector<LocalRating> pairs;
    const auto keep = [&](std::int64_t user, std::int64_t item, float value) {
        if (user >= 0 && item >= 0) {
            pairs.push_back(
                {static_cast<std::int32_t>(user), static_cast<std::int32_t>(item), value});
        } else {
            ++unknown_pairs;
        }
    };
    if (!config.data.test.empty()) {
        RatingShard shard;
        read_ratings_shard(comm, config.data.test, config.data, SplitRule{true, 0.0, 0}, shard);
        const auto user_rows = positions_of_ids(shard.users.ids(), model.user_ids);
        const auto item_rows = positions_of_ids(shard.items.ids(), model.item_ids);
        for (const LocalRating& r : shard.test) {
            keep(user_rows[static_cast<std::size_t>(r.user)],
                 item_rows[static_cast<std::size_t>(r.item)], r.value);
        }
        return pairs;
    }
    const Dataset dataset = load_dataset(comm, config.data);  // the same split as training
    const auto user_rows = positions_of_ids(dataset.user_ids, model.user_ids);
    const auto item_rows = positions_of_ids(dataset.item_ids, model.item_ids);
    const RatingMatrix& test = dataset.test_ratings;
    for (std::int64_t row = 0; row < test.n_rows(); ++row) {
        const auto columns = test.row_columns(row);
        const auto values = test.row_values(row);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            keep(user_rows[static_cast<std::size_t>(test.first_row + row)],
                 item_rows[static_cast<std::size_t>(columns[e])], values[e]);
        }
    }
    return pairs;
}

/// The users' even shares (load_model_share's layout for evaluate): rank r holds rows
/// even_share(n_users, P, r) of W.
BlockPartition user_shares(const Communicator& comm, std::int64_t n_users) {
    std::vector<std::int64_t> boundaries{0};
    for (int rank = 0; rank < comm.size(); ++rank) {
        boundaries.push_back(even_share(n_users, comm.size(), rank).end());
    }
    return BlockPartition(std::move(boundaries));
}

/// Collective. RMSE and MAE of an explicit model on --data.test (rank 0 prints them). Each
/// rank holds its share of the users (`users`): a pair of a known user is predicted by the
/// rank that holds the user, one of an unknown user where it was read.
void evaluate_errors(const Communicator& comm, const Config& config, const Model& model,
                     const BlockPartition& users, const Logger& log) {
    RatingShard shard;
    read_ratings_shard(comm, config.data.test, config.data, SplitRule{true, 0.0, 0}, shard);
    const std::vector<std::int64_t> user_rows = positions_of_ids(shard.users.ids(), model.user_ids);
    const std::vector<std::int64_t> item_rows = positions_of_ids(shard.items.ids(), model.item_ids);
    std::vector<LocalRating> known_user;
    std::vector<LocalRating> unknown_user_pairs;
    for (const LocalRating& r : shard.test) {
        const LocalRating pair{
            static_cast<std::int32_t>(user_rows[static_cast<std::size_t>(r.user)]),
            static_cast<std::int32_t>(item_rows[static_cast<std::size_t>(r.item)]), r.value};
        (pair.user >= 0 ? known_user : unknown_user_pairs).push_back(pair);
    }
    std::vector<LocalRating> pairs =
        send_to_owners(comm, std::move(known_user), users, RowField::user);
    pairs.insert(pairs.end(), unknown_user_pairs.begin(), unknown_user_pairs.end());
    ExactSum squared;
    ExactSum absolute;
    std::int64_t unknown_user = 0;
    std::int64_t unknown_item = 0;
    std::int64_t unknown_both = 0;
    for (const LocalRating& r : pairs) {
        const std::int64_t user = r.user;
        const std::int64_t item = r.item;
        unknown_both += (user < 0 && item < 0) ? 1 : 0;
        unknown_user += (user < 0 && item >= 0) ? 1 : 0;
        unknown_item += (user >= 0 && item < 0) ? 1 : 0;
        const double error = static_cast<double>(r.value) - predict_known_parts(model, user, item);
        squared.add(error * error);
        absolute.add(std::fabs(error));
    }
    const auto count = comm.all_reduce_sum(static_cast<std::int64_t>(shard.test.size()));
    const double sum_squared = ExactSum::all_reduce(comm, squared).value();
    const double sum_absolute = ExactSum::all_reduce(comm, absolute).value();
    unknown_user = comm.all_reduce_sum(unknown_user);
    unknown_item = comm.all_reduce_sum(unknown_item);
    unknown_both = comm.all_reduce_sum(unknown_both);
    if (count == 0) throw InputError(config.data.test + ": no ratings to evaluate");
    const auto n = static_cast<double>(count);
    log.info(format_text("model %s (%s, k=%d, iteration %lld); test file %s: %lld ratings",
                         config.model_file.model.c_str(), model.info.algorithm.c_str(),
                         model.info.k, static_cast<long long>(model.info.iteration),
                         config.data.test.c_str(), static_cast<long long>(count)));
    log.info(format_text("RMSE %.6f  MAE %.6f", std::sqrt(sum_squared / n), sum_absolute / n));
    log.info(
        format_text("unknown: %lld pairs with an unknown user, %lld with an unknown item, "
                    "%lld with both (predicted from the known biases and the global mean)",
                    static_cast<long long>(unknown_user), static_cast<long long>(unknown_item),
                    static_cast<long long>(unknown_both)));
}

/// Collective. Ranking metrics of the model (or of the popularity baseline) on the test pairs,
/// each rank ranking the users of its share `blocks` of the model's users (the rows of W it
/// holds); rank 0 prints them.
void evaluate_ranking(const Communicator& comm, const Config& config, const Model& model,
                      const BlockPartition& blocks, const Logger& log) {
    if (config.serve.baseline == Baseline::popularity && !model.has_training_data()) {
        throw InputError(config.model_file.model +
                         ": the popularity baseline needs the model's training counts "
                         "(/items/train_count), which this file (an older distmf's) lacks");
    }
    std::int64_t unknown = 0;
    std::vector<LocalRating> pairs = test_pairs_in_model(comm, config, model, unknown);
    unknown = comm.all_reduce_sum(unknown);
    RatingMatrix excluded = model.train_items;
    if (!model.has_training_data()) {
        excluded.first_row = model.users.first_row();
        excluded.row_start.assign(static_cast<std::size_t>(model.users.rows()) + 1, 0);
        log.warn("the model file has no training items: they are not excluded from rankings");
    }
    BuildReport report;
    const RatingMatrix relevant = build_rating_matrix(
        send_to_owners(comm, std::move(pairs), blocks, RowField::user), RowField::user,
        blocks.first(comm.rank()), blocks.size(comm.rank()), DuplicatePolicy::last, report);
    const bool baseline = config.serve.baseline == Baseline::popularity;
    const UserScorer scorer = baseline ? popularity_scorer(model.item_train_counts)
                                       : model_scorer(model.users, model.items);
    const RankingMetrics metrics =
        all_reduce_ranking(comm, rank_users(excluded, relevant, scorer, model.items.rows(),
                                            config.eval.k, omp_get_max_threads()));
    const int k = config.eval.k;
    log.info(
        format_text("%s ranking at k = %d over %lld users with held-out items (%lld test "
                    "pairs of unknown users or items skipped):",
                    baseline ? "popularity baseline" : "model", k,
                    static_cast<long long>(metrics.users), static_cast<long long>(unknown)));
    log.info(format_text("P@%d %.6f  R@%d %.6f  NDCG@%d %.6f  MAP@%d %.6f  AUC %.6f", k,
                         metrics.precision, k, metrics.recall, k, metrics.ndcg, k, metrics.map,
                         metrics.auc));
}

}  // namespace

double predict_known_parts(const Model& model, std::int64_t user_row, std::int64_t item_row) {
    double prediction = model.info.global_mean;
    if (user_row >= 0) prediction += static_cast<double>(model.users.bias(user_row));
    if (item_row >= 0) prediction += static_cast<double>(model.items.bias(item_row));
    if (user_row >= 0 && item_row >= 0) {
        prediction +=
            static_cast<double>(model.users.factors(user_row).dot(model.items.factors(item_row)));
    }
    if (model.info.algorithm == "ials") return prediction;  // a preference score, not a rating
    return std::clamp(prediction, model.info.rating_min, model.info.rating_max);
}

int run_evaluate_command(const Communicator& comm, const Config& config) {
    const Logger log(comm.rank());
    // Each rank reads its share of W and all of H (the AUC needs every item's score).
    const Model model =
        load_model_share(comm, config.model_file.model, [&comm](const ModelInfo& info) {
            return serving_layout(info, comm.size(), comm.rank(), false);
        });
    const BlockPartition users = user_shares(comm, model.info.n_users);
    const bool rating_errors =
        model.info.algorithm != "ials" && config.serve.baseline == Baseline::none;
    if (rating_errors && !config.data.test.empty()) {
        evaluate_errors(comm, config, model, users, log);
    }
    evaluate_ranking(comm, config, model, users, log);
    return 0;
}

int run_predict_command(const Communicator& comm, const Config& config) {
    check_writable_destinations(comm, {config.serve.out});
    const Model model = load_model(comm, config.model_file.model);
    const std::string& path = config.serve.pairs.empty() ? config.data.test : config.serve.pairs;
    RatingShard shard;
    read_ratings_shard(comm, path, config.data, SplitRule{true, 0.0, 0}, shard, 2);
    const auto user_rows = positions_of_ids(shard.users.ids(), model.user_ids);
    const auto item_rows = positions_of_ids(shard.items.ids(), model.item_ids);
    const char separator = config.serve.format == OutputFormat::csv ? ',' : '\t';
    std::string text;
    std::int64_t unknown = 0;
    for (const LocalRating& r : shard.test) {
        const std::int64_t user = user_rows[static_cast<std::size_t>(r.user)];
        const std::int64_t item = item_rows[static_cast<std::size_t>(r.item)];
        const char* note = user < 0 && item < 0 ? "unknown user and item"
                           : user < 0           ? "unknown user"
                           : item < 0           ? "unknown item"
                                                : "";
        unknown += user < 0 || item < 0 ? 1 : 0;
        text += format_text(
            "%lld%c%lld%c%.6g%c%s\n",
            static_cast<long long>(shard.users.ids()[static_cast<std::size_t>(r.user)]), separator,
            static_cast<long long>(shard.items.ids()[static_cast<std::size_t>(r.item)]), separator,
            predict_known_parts(model, user, item), separator, note);
    }
    const std::string header =
        format_text("user%citem%cprediction%cnote\n", separator, separator, separator);
    write_in_rank_order(comm, config.serve.out, header, text);
    unknown = comm.all_reduce_sum(unknown);
    const Logger log(comm.rank());
    if (unknown > 0) {
        log.warn(format_text(
            "%lld of the pairs have a user or item that is not in the model: predicted from the "
            "known parts only (%s), marked in the note column",
            static_cast<long long>(unknown),
            model.info.algorithm == "ials" ? "0 for implicit models"
                                           : "global mean and the known bias"));
    }
    return 0;
}

int run_inspect_command(const Communicator& comm, const Config& config) {
    const std::string& path = config.model_file.model;
    // Every dataset's checksum, read collectively; a checkpoint's state too.
    std::string status = "ok";
    try {
        load_model(comm, path);
    } catch (const InputError& e) {
        status = e.what();
    }
    std::optional<std::string> error;
    std::string report;
    std::string kind;
    if (comm.rank() == 0) {
        try {
            const H5Handle file = open_serial_file(path);
            const ModelInfo info = read_model_info(file);
            kind = info.kind;
            report = format_text(
                "file          %s\nkind          %s\nformat        distmf version %lld\n"
                "algorithm     %s\nk             %d\nbiases        %s\niteration     %lld\n"
                "seed          %llu\nusers         %lld\nitems         %lld\n"
                "global mean   %.6f\nrating range  %g .. %g\nwritten by    %lld rank%s\n"
                "created       %s\n",
                path.c_str(), info.kind.c_str(), static_cast<long long>(info.format_version),
                info.algorithm.c_str(), info.k, info.biases ? "yes" : "no",
                static_cast<long long>(info.iteration), static_cast<unsigned long long>(info.seed),
                static_cast<long long>(info.n_users), static_cast<long long>(info.n_items),
                info.global_mean, info.rating_min, info.rating_max,
                static_cast<long long>(info.ranks), info.ranks == 1 ? "" : "s",
                info.created.c_str());
            if (info.kind == "checkpoint") report += describe_checkpoint_state(file);
            report += "configuration:\n" + info.config;
        } catch (const Error& e) {
            error = e.what();
        }
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    comm.broadcast(kind);
    if (kind == "checkpoint" && status == "ok") status = verify_checkpoint(comm, path);
    if (comm.rank() == 0) {
        std::fputs(report.c_str(), stdout);
        std::printf("checksums     %s\n",
                    status == "ok" ? "ok (every dataset verified)" : ("FAILED: " + status).c_str());
    }
    return status == "ok" ? 0 : 2;
}

}  // namespace distmf
