#include "distmf/commands.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distmf/config_validation.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/generate.hpp"
#include "distmf/log.hpp"
#include "distmf/resources.hpp"
#include "distmf/shard_plan.hpp"

namespace distmf {
namespace {

/// Collective. Rank 0 prints the statistics, partition, imbalance and ingest figures of
/// `dataset` (loaded on comm).
void print_data_report(const Communicator& comm, const Config& config, const Dataset& dataset,
                       const Logger& log) {
    const DatasetSummary& s = dataset.summary;
    const double ingest_seconds =
        comm.all_reduce_max(dataset.timings.read_seconds + dataset.timings.map_seconds +
                            dataset.timings.shuffle_seconds);
    const auto users_per_rank = comm.all_gather(dataset.user_blocks.size(comm.rank()));
    const auto items_per_rank = comm.all_gather(dataset.item_blocks.size(comm.rank()));

    log.info(format_text("distmf data: %d rank%s", comm.size(), comm.size() == 1 ? "" : "s"));
    log.info("train file    " + config.data.train + " (" + s.train_layout + ")");
    if (!config.data.test.empty()) {
        log.info("test file     " + config.data.test + " (" + s.test_layout + ")");
    }
    log.info(format_text("users         %lld", static_cast<long long>(s.n_users)));
    log.info(format_text("items         %lld", static_cast<long long>(s.n_items)));
    log.info(format_text("ratings       %lld (train %lld, test %lld)",
                         static_cast<long long>(s.n_train + s.n_test),
                         static_cast<long long>(s.n_train), static_cast<long long>(s.n_test)));
    log.info(format_text("train rating  min %g, max %g, mean %.6f", s.min_rating, s.max_rating,
                         s.mean_rating));
    log.info(format_text("density       %.4f%% of users x items have a training rating",
                         100.0 * static_cast<double>(s.n_train) /
                             (static_cast<double>(s.n_users) * static_cast<double>(s.n_items))));
    log.info(format_text("cold          %lld users and %lld items have no training rating",
                         static_cast<long long>(s.cold_users),
                         static_cast<long long>(s.cold_items)));
    if (s.duplicates_merged > 0) {
        log.info(format_text("duplicates    %lld ratings merged (--data.duplicates %s)",
                             static_cast<long long>(s.duplicates_merged),
                             config.data.duplicates == DuplicatePolicy::mean ? "mean" : "last"));
    }
    log.info("partition     rank      users      items  train(users)  train(items)");
    for (int r = 0; r < comm.size(); ++r) {
        const auto index = static_cast<std::size_t>(r);
        log.info(format_text("              %4d %10lld %10lld %13lld %13lld", r,
                             static_cast<long long>(users_per_rank[index]),
                             static_cast<long long>(items_per_rank[index]),
                             static_cast<long long>(s.train_by_user_block[index]),
                             static_cast<long long>(s.train_by_item_block[index])));
    }
    log.info(
        format_text("imbalance     %.4f (users), %.4f (items): max/mean training ratings per rank",
                    imbalance(s.train_by_user_block), imbalance(s.train_by_item_block)));
    log.info(format_text("ingest        %.3f s (slowest rank): %.0f ratings/s per rank",
                         ingest_seconds,
                         static_cast<double>(s.n_train + s.n_test) / ingest_seconds / comm.size()));
    log.info(
        format_text("ingest phases read+parse %.3f s, map %.3f s, shuffle %.3f s (slowest "
                    "rank each)",
                    comm.all_reduce_max(dataset.timings.read_seconds),
                    comm.all_reduce_max(dataset.timings.map_seconds),
                    comm.all_reduce_max(dataset.timings.shuffle_seconds)));
    const MemoryReport memory = peak_memory(comm);
    log.info(format_text(
        "memory        peak %.1f MB on the largest rank, %.1f MB over all ranks "
        "(%.1f bytes per rating)",
        static_cast<double>(memory.max_bytes) / 1e6, static_cast<double>(memory.total_bytes) / 1e6,
        static_cast<double>(memory.total_bytes) /
            static_cast<double>(std::max<std::int64_t>(1, s.n_train + s.n_test))));
}

/// Collective. Rank 0 prints the plans of `--plan` (shard_plan.hpp), one line at a time.
void print_plans(const Communicator& comm, const Config& config, const Dataset& dataset,
                 const Logger& log) {
    const int row_width = config.model.rank + (config.model.biases ? 1 : 0);
    std::vector<ShardPlan> plans;
    for (const int n_ranks : plan_rank_counts(config.plan.ranks)) {
        plans.push_back(plan_shards(comm, dataset, n_ranks, row_width));
    }
    const std::string text =
        config.plan.format == PlanFormat::csv ? plan_csv(plans) : plan_table(plans);
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = text.find('\n', start);
        log.info(std::string_view(text).substr(start, end - start));
        start = end + 1;
    }
}

}  // namespace

int run_data_command(const Communicator& comm, const Config& config) {
    const Logger log(comm.rank());
    const Dataset dataset = load_dataset(comm, config.data);
    const bool plan_only = !config.plan.ranks.empty() && config.plan.format == PlanFormat::csv;
    if (!plan_only) print_data_report(comm, config, dataset, log);
    if (!config.plan.ranks.empty()) print_plans(comm, config, dataset, log);
    return 0;
}

int run_generate_command(const Communicator& comm, const Config& config) {
    const Logger log(comm.rank());
    std::optional<std::string> error;
    GenerateSummary summary;
    if (comm.rank() == 0) {
        try {
            summary = generate_ratings(config.generate, omp_get_max_threads());
        } catch (const InputError& e) {
            error = e.what();
        }
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    const GenerateConfig& g = config.generate;
    log.info(format_text(
        "wrote %lld ratings (%lld users with ratings, %lld items, rank %d, noise %g) "
        "to %s: %.1f MB in %.2f s",
        static_cast<long long>(summary.ratings), static_cast<long long>(summary.users_with_ratings),
        static_cast<long long>(g.items), g.rank, g.noise, g.out.c_str(),
        static_cast<double>(summary.bytes) / 1e6, summary.seconds));
    return 0;
}

}  // namespace distmf
