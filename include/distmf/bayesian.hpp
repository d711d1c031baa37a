#pragma once
/// @file bayesian.hpp
/// The sampling kernels of Bayesian probabilistic matrix factorization (BPMF, Salakhutdinov &
/// Mnih 2008): instead of one regularized solution, Gibbs sampling draws factor matrices from
/// their posterior, and the model averages the predictions of many draws. The conditional of
/// one row is the same regression as an ALS row, with a learned Gaussian prior instead of λI:
///
///   hyper-parameters of a side, given its rows x_1..x_N that have training ratings
///   (Normal-Wishart posterior, hyper-prior mu0 = 0, beta0, nu0 = d, W0 = I; a row without
///   training ratings is kept at zero and is no observation of the prior):
///     xbar = mean, S = (1/N) sum (x - xbar)(x - xbar)^T,  beta* = beta0 + N, nu* = nu0 + N,
///     mu* = N xbar / beta*,   W*^-1 = W0^-1 + N S + (beta0 N / beta*) xbar xbar^T,
///     Lambda ~ Wishart(W*, nu*),   mu ~ N(mu*, (beta* Lambda)^-1);
///   one row, given the other side (alpha = observation precision):
///     P = Lambda + alpha X^T X,   b = alpha X^T y + Lambda mu,   x ~ N(P^-1 b, P^-1).
///
/// Every draw takes its randomness from a SplitMix64 stream seeded by the caller from
/// (seed, iteration, side, external ID), so a chain is the same for any number of ranks.

#include <Eigen/Core>
#include <cstdint>

#include "distmf/factors.hpp"
#include "distmf/hashing.hpp"
#include "distmf/row_moments.hpp"

namespace distmf {

/// A Gaussian prior of one side's rows: mean and precision matrix.
struct GaussianPrior {
    Eigen::VectorXd mean;
    Eigen::MatrixXd precision;
};

/// Local. A Gamma(shape, 1) deviate (Marsaglia & Tsang 2000; shape < 1 by boosting).
double sample_gamma(double shape, SplitMix64& random);

/// Local. A Wishart(scale, dof) matrix (Bartlett decomposition): L A A^T L^T with
/// L = chol(scale), A lower triangular, A_jj = sqrt(chi2(dof - j)), A_ij ~ N(0, 1) below.
/// Precondition: scale symmetric positive definite, dof > d - 1.
Eigen::MatrixXd sample_wishart(const Eigen::MatrixXd& scale, double dof, SplitMix64& random);

/// Local. Draws a side's prior from the Normal-Wishart posterior given the moments of its rows
/// that have training ratings (the formulas above with beta0 = `beta0`; N = moments.count,
/// xbar = sum / N, N S = outer_sum - N xbar xbar^T). Lambda is drawn from Wishart(W*, nu*),
/// i.e. sample_wishart is given the inverse of W*^-1, so E[Lambda] = nu* W*. Every rank holding
/// the same moments (row_moments) draws the same prior from the same stream.
GaussianPrior sample_prior(const RowMoments& moments, double beta0, SplitMix64& random);

/// Local. Draws one row from N(P^-1 b, P^-1), P = prior.precision + alpha X^T X,
/// b = alpha X^T y + prior.precision prior.mean (X n x d row-major; n may be 0). Returns false
/// if P cannot be factored.
bool sample_row(const Eigen::Ref<const RowMatrixXf>& x, const Eigen::Ref<const Eigen::VectorXf>& y,
                double alpha, const GaussianPrior& prior, SplitMix64& random,
                Eigen::Ref<Eigen::VectorXf> sample);

}  // namespace distmf
