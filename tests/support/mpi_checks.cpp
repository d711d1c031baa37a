#include "mpi_checks.hpp"

#include <mpi.h>

#include <cstddef>
#include <cstring>
#include <span>
#include <utility>

#include "distmf/checkpoint.hpp"
#include "distmf/factor_routing.hpp"
#include "distmf/train.hpp"

namespace distmf::testing {

bool CaughtError::same_everywhere() const {
    for (const std::uint64_t hash : hashes) {
        if (hash != hashes.front()) return false;
    }
    return true;
}

CaughtError gather_error(const Communicator& comm, std::optional<std::string> message) {
    const std::uint64_t hash = message ? std::hash<std::string>{}(*message) | 1U : 0U;
    return CaughtError{std::move(message), comm.all_gather(hash)};
}

TrainState whole_state(const Communicator& comm, const Dataset& dataset, TrainState state) {
    const auto whole = [&comm](FactorTable& table, const BlockPartition& blocks) {
        if (table.width() > 0) table = gather_all_rows(comm, table, blocks);
    };
    whole(state.users, dataset.user_blocks);
    whole(state.items, dataset.item_blocks);
    whole(state.best_users, dataset.user_blocks);
    whole(state.best_items, dataset.item_blocks);
    whole(state.user_samples, dataset.user_blocks);
    whole(state.item_samples, dataset.item_blocks);
    // BPMF's prediction sums: every rank holds a range of the global order, in rank order.
    state.train_prediction_sums =
        comm.all_gather_v(std::span<const double>(state.train_prediction_sums));
    state.test_prediction_sums =
        comm.all_gather_v(std::span<const double>(state.test_prediction_sums));
    return state;
}

bool same_bits(const FactorTable& a, const FactorTable& b) {
    if (a.first_row() != b.first_row() || a.rows() != b.rows() || a.k() != b.k() ||
        a.has_bias() != b.has_bias()) {
        return false;
    }
    const auto bytes = static_cast<std::size_t>(a.values().size()) * sizeof(float);
    return bytes == 0 || std::memcmp(a.values().data(), b.values().data(), bytes) == 0;
}

bool same_history(const TrainState& a, const TrainState& b) {
    if (a.history.size() != b.history.size()) return false;
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        const IterationRecord& x = a.history[i];
        const IterationRecord& y = b.history[i];
        // Bitwise (NaN-safe) comparison of every figure but the wall times.
        for (const auto& [p, q] :
             {std::pair{x.train_rmse, y.train_rmse}, std::pair{x.test_rmse, y.test_rmse},
              std::pair{x.test_mae, y.test_mae}, std::pair{x.objective, y.objective},
              std::pair{x.test_precision, y.test_precision},
              std::pair{x.test_recall, y.test_recall}, std::pair{x.test_ndcg, y.test_ndcg},
              std::pair{x.test_map, y.test_map}, std::pair{x.test_auc, y.test_auc}}) {
            if (std::memcmp(&p, &q, sizeof p) != 0) return false;
        }
        if (x.iteration != y.iteration) return false;
    }
    return true;
}

std::optional<TrainState> resume_and_train(const Communicator& comm, const Config& config,
                                           const Dataset& dataset, std::uint64_t fingerprint,
                                           const Logger& log) {
    auto resumed = resume_from_checkpoint(comm, config, dataset, fingerprint, log);
    if (!resumed) return std::nullopt;
    train_model(comm, config, dataset, resumed->state, log, MPI_Wtime());
    return std::move(resumed->state);
}

}  // namespace distmf::testing
