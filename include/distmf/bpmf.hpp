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
/// The figures are those of the posterior mean of the predictions over the T sweeps after
/// the burn-in, a_hat_ij = mu + (1/T) sum_t w_i^(t) . h_j^(t). They are kept as running sums:
/// after each such sweep, every training and test rating (i, j) of a rank's users adds
/// w_i^(t) . h_j^(t) (a float dot product, added in double) to its sum, O(nnz k) per sweep, so
/// the evaluation costs O(nnz) whatever T (add_sample, averaged_rating_errors).
///
/// The model file cannot hold the sums (it predicts any pair); it holds what
/// --bpmf.keep-samples N says (bpmf_model):
///   N > 0: the last S = min(T, N) samples side by side, scaled by 1 / sqrt(S),
///          w_i = [w_i^(T-S+1), ..., w_i^(T)] / sqrt(S), h_j likewise, an ordinary factor model
///          of rank k S predicting mu + (1/S) sum of the last S samples' predictions (the
///          figures above when S = T);
///   N = 0: the posterior mean factors, w_i = (1/T) sum_t w_i^(t), h_j likewise, rank k. The
///          product of the means is not the mean of the products: it predicts differently
///          (train_model logs its own figures).

#include <cstdint>
#include <span>
#include <string>

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

/// Local. Adds the current draw (state.users, state.items: this rank's own rows, no biases)
/// as the next sample after the burn-in (T = ++state.samples_averaged):
///   - every rating e = (i, j) of `train` and `test` (this rank's users' training and test
///     ratings, columns indexing `items_read`, the current item rows they read) adds
///     w_i . h_j to state.train_prediction_sums[e] / state.test_prediction_sums[e];
///   - keep_samples N > 0: the draw becomes column block (T - 1) mod N of state.user_samples
///     and state.item_samples (appended while T <= N, then overwriting the oldest);
///     N = 0: they are the running mean, x_bar += (x - x_bar) / T (in float).
void add_sample(TrainState& state, const RatingMatrix& train, const RatingMatrix& test,
                const FactorTable& items_read, int keep_samples, int threads);

/// Local. sums[e] += w_i . h_j for every entry e = (i, j) of `by_user` in its CSR order (rows:
/// users, rows of `users`; columns: rows of `items`). Each entry's sum depends on its row's
/// factors only: bitwise the same for any split over ranks and threads.
void add_predictions(const RatingMatrix& by_user, const FactorTable& users,
                     const FactorTable& items, std::span<double> sums, int threads);

/// Local. The number of samples the model keeps, S = min(T, N) (1 with N = 0 once T > 0: the
/// mean), from the width of state.user_samples.
std::int64_t samples_kept(const TrainState& state);

/// Local. Whether the model of the samples kept predicts other than the running sums, i.e.
/// keeps fewer samples than were averaged or only their mean (N = 0).
bool model_differs_from_average(const TrainState& state, int keep_samples);

/// A BPMF model for the model file: both sides, without biases.
struct BpmfModel {
    FactorTable users;
    FactorTable items;
};

/// Local. The model of the samples kept (see the file comment; precondition
/// state.samples_averaged > 0): this rank's own rows, with N > 0 the last S samples in
/// chronological order, scaled by 1 / sqrt(S); with N = 0 the mean factors.
BpmfModel bpmf_model(const TrainState& state, int keep_samples);

/// Local. The line on the figures `record` of the model file (bpmf_model) for when it predicts
/// other than the running sums: "model file (the posterior mean factors, rank 10): train RMSE
/// ..., test RMSE ..., MAE ... (the figures above average the predictions of all T samples)".
std::string describe_bpmf_model(const TrainState& state, int keep_samples,
                                const IterationRecord& record);

}  // namespace distmf
