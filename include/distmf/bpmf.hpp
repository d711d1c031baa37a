#pragma once
/// @file bpmf.hpp
/// Bayesian PMF training (Salakhutdinov & Mnih 2008) from the sampling kernels of bayesian.hpp
/// and the shared half-sweep of als.hpp. A Gibbs sweep is two half-sweeps, users then items;
/// the half-sweep of side S against the other side's factors F, on ratings centred by their
/// global mean mu (no biases):
///
///   (mu_S, Lambda_S) ~ Normal-Wishart posterior given the rows of S       (sample_prior)
///                      that have training ratings
///   for every row i of S, independently:                                  (sample_row)
///     x_i ~ N(P_i^-1 b_i, P_i^-1),  P_i = Lambda_S + alpha sum_{j in Omega_i} f_j f_j^T,
///                                   b_i = alpha sum_{j in Omega_i} f_j (a_ij - mu)
///                                         + Lambda_S mu_S.
///
/// Rows without training ratings (Omega_i empty) are drawn by the same rule, which leaves
/// x_i ~ N(mu_S, Lambda_S^-1): the prior. Averaged over the sweeps, a user's prediction for an
/// item seen only in the test data is mu + w_i.mu_H rather than mu. They are not observations
/// of the prior, so they do not enter its statistics (many test-only users or items would
/// otherwise pull mu_S toward 0 and inflate Lambda_S).
///
/// Randomness: the prior of (sweep t, side S) is drawn from the stream hash(seed, t, S), row i
/// from hash(seed, t, S, external ID of i). After the all-gather every rank holds every row of
/// S, so every rank draws the same prior; a row's draw depends on nothing but its inputs. The
/// chain is therefore bitwise the same for any number of ranks and threads, and a resumed run
/// continues it exactly.
///
/// The model is the posterior mean of the predictions over the T sweeps after the burn-in:
///   a_hat_ij = mu + (1/T) sum_t w_i^(t) . h_j^(t) = mu + w_i . h_j,
///   w_i = [w_i^(1), ..., w_i^(T)] / sqrt(T),   h_j = [h_j^(1), ..., h_j^(T)] / sqrt(T),
/// an ordinary factor model of rank k T: the samples side by side.

#include <cstdint>
#include <span>

#include "distmf/als.hpp"
#include "distmf/bayesian.hpp"
#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/train_state.hpp"

namespace distmf {

/// What a BPMF half-sweep needs besides the data.
struct BpmfSettings {
    double alpha = 2.0;        ///< precision of the rating noise
    double beta0 = 2.0;        ///< weight of the hyper-prior's mean
    std::uint64_t stream = 0;  ///< root of the chain's random streams (from --train.seed)
    double global_mean = 0.0;  ///< mu, subtracted from every rating
    int threads = 1;           ///< OpenMP threads for the row draws
};

/// Local. The settings of a configuration ([bpmf], --train.seed) with the given global mean
/// and thread count.
BpmfSettings bpmf_settings(const Config& config, double global_mean, int threads);

/// Local. The random stream of sweep `sweep` (1-based) of side `side` ("user" or "item"):
/// the prior draws from it, row i from hash_keys(it, external ID of i).
std::uint64_t bpmf_half_sweep_stream(const BpmfSettings& settings, std::int64_t sweep,
                                     const char* side);

/// Local. Row samplers: row i draws from its conditional (sample_row) given the rows of
/// `fixed` it rated and `prior`, with the stream hash_keys(stream, ids[i]) (ids: the external
/// IDs of the side being sampled, in global row order). All arguments must outlive them.
RowSolverFactory bpmf_row_samplers(const FactorTable& fixed, const GaussianPrior& prior,
                                   std::span<const std::int64_t> ids, const BpmfSettings& settings,
                                   std::uint64_t stream);

/// Collective: every rank of comm must call, in the same order. One BPMF half-sweep of sweep
/// `sweep` on this rank: draws the prior of the side from the rows with train_counts > 0 of
/// every rank's `sampled` (this rank's own rows, blocks.first(rank)..end(rank) of `blocks`;
/// train_counts: the training ratings of every global row), the same prior on every rank,
/// then draws its own rows against `fixed` (the rows of the other side that the columns of
/// `ratings` index), as als_half_sweep (in `chunks`, which pass the new rows on).
void bpmf_half_sweep(const Communicator& comm, const RatingMatrix& ratings,
                     const BlockPartition& blocks, const FactorTable& fixed,
                     const BpmfSettings& settings, std::int64_t sweep, FactorTable& sampled,
                     std::span<const std::int64_t> train_counts, std::span<const std::int64_t> ids,
                     const char* side, const RowChunks& chunks = {});

/// Local. The number of samples state.user_samples holds (T).
std::int64_t sample_count(const TrainState& state);

/// Local. Appends the current factors (state.users, state.items, which have no biases) to the
/// samples: user_samples = [user_samples, users], item_samples likewise.
void keep_sample(TrainState& state);

/// The posterior-mean model of the samples: both sides of rank k T, scaled by 1 / sqrt(T).
struct PosteriorMean {
    FactorTable users;
    FactorTable items;
};

/// Local. The posterior mean of the samples kept (precondition: sample_count(state) > 0).
PosteriorMean posterior_mean(const TrainState& state);

}  // namespace distmf
