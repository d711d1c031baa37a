#pragma once
// Helpers for the checks of the MPI tests (tests/mpi/*_mpi_test.cpp): catching the error a
// collective call throws on every rank, so that a test can check it is the same everywhere,
// and comparing factor tables and training histories bit for bit.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/factors.hpp"
#include "distmf/log.hpp"
#include "distmf/train_state.hpp"

namespace distmf::testing {

/// What a collective call threw on this rank, and a hash of what it threw on every rank.
struct CaughtError {
    std::optional<std::string> message;  ///< this rank's what(); none if it did not throw
    std::vector<std::uint64_t> hashes;   ///< every rank's message hash, by rank (0: none)

    /// True if every rank threw the same message, or none threw.
    bool same_everywhere() const;
};

/// Collective. Gathers the hash of every rank's `message` (none: it did not throw).
CaughtError gather_error(const Communicator& comm, std::optional<std::string> message);

/// Collective (as `call` must be). Runs `call`, catching an `Error` (any other exception
/// propagates), then gather_error. Tests assert on the result after their last collective.
template <class Error>
CaughtError catch_on_every_rank(const Communicator& comm, const std::function<void()>& call) {
    std::optional<std::string> message;
    try {
        call();
    } catch (const Error& error) {
        message = error.what();
    }
    return gather_error(comm, std::move(message));
}

/// Collective. `state` with every factor table of it (this rank's own rows, as training
/// keeps them) replaced by the whole table of its side, gathered from every rank, so that
/// states trained on different numbers of ranks can be compared row for row (BPMF's prediction
/// sums likewise, in the global order). Tables that are empty stay empty.
TrainState whole_state(const Communicator& comm, const Dataset& dataset, TrainState state);

/// Local. True if `a` and `b` have the same shape (first row, rows, k, biases) and the same
/// bytes.
bool same_bits(const FactorTable& a, const FactorTable& b);

/// Local. True if the histories of `a` and `b` have the same iterations with the same figures
/// to the bit (NaN equal to the same NaN): train RMSE, test RMSE and MAE, objective and every
/// ranking metric; only the wall times may differ.
bool same_history(const TrainState& a, const TrainState& b);

/// Collective. Resumes from the checkpoint `config` names (resume_from_checkpoint) and trains
/// on to --train.iterations (train_model); nullopt, without training, if there is none.
std::optional<TrainState> resume_and_train(const Communicator& comm, const Config& config,
                                           const Dataset& dataset, std::uint64_t fingerprint,
                                           const Logger& log);

}  // namespace distmf::testing
