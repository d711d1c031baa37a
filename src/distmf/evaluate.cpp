#include "distmf/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "distmf/checkpoint.hpp"
#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/id_index.hpp"
#include "distmf/log.hpp"

namespace distmf {

double predict_known_parts(const Model& model, std::int64_t user_row, std::int64_t item_row) {
    double prediction = model.info.global_mean;
    if (user_row >= 0) prediction += static_cast<double>(model.users.bias(user_row));
    if (item_row >= 0) prediction += static_cast<double>(model.items.bias(item_row));
    if (user_row >= 0 && item_row >= 0) {
        prediction +=
            static_cast<double>(model.users.factors(user_row).dot(model.items.factors(item_row)));
    }
    return std::clamp(prediction, model.info.rating_min, model.info.rating_max);
}

int run_evaluate_command(const Communicator& comm, const Config& config) {
    const Logger log(comm.rank());
    const Model model = load_model(comm, config.model_file.model);
    RatingShard shard;
    read_ratings_shard(comm, config.data.test, config.data, SplitRule{true, 0.0, 0}, shard);
    // The model row of every local user and item (-1: unknown to the model).
    const std::vector<std::int64_t> user_rows = positions_of_ids(shard.users.ids(), model.user_ids);
    const std::vector<std::int64_t> item_rows = positions_of_ids(shard.items.ids(), model.item_ids);
    ExactSum squared;
    ExactSum absolute;
    std::int64_t unknown_user = 0;
    std::int64_t unknown_item = 0;
    std::int64_t unknown_both = 0;
    for (const LocalRating& r : shard.test) {
        const std::int64_t user = user_rows[static_cast<std::size_t>(r.user)];
        const std::int64_t item = item_rows[static_cast<std::size_t>(r.item)];
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
