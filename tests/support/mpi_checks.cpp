#include "mpi_checks.hpp"

#include <mpi.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "distmf/checkpoint.hpp"
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

bool same_bits(const FactorTable& a, const FactorTable& b) {
    if (a.rows() != b.rows() || a.k() != b.k() || a.has_bias() != b.has_bias()) return false;
    const auto bytes = static_cast<std::size_t>(a.values().size()) * sizeof(float);
    return bytes == 0 || std::memcmp(a.values().data(), b.values().data(), bytes) == 0;
}

bool same_history(const TrainState& a, const TrainState& b) {
    if (a.history.size() != b.history.size()) return false;
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        const IterationRecord& x = a.history[i];
        const IterationRecord& y = b.history[i];
        if (x.iteration != y.iteration || x.train_rmse != y.train_rmse ||
            x.test_rmse != y.test_rmse || x.objective != y.objective) {
            return false;
        }
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
