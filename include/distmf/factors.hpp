#pragma once
/// @file factors.hpp
/// FactorTable: the parameters of a contiguous range of rows of one side of the model (all
/// users or all items, or, in training, one rank's block of them), one row per index, in a
/// row-major float matrix. With biases, column 0 holds the bias and columns 1..k the latent
/// factors; without, columns 0..k-1 are the factors. Keeping the bias in the same row means
/// one exchange moves both, and a rank's rows are one contiguous slice of memory.

#include <Eigen/Core>
#include <cstdint>
#include <span>

namespace distmf {

/// Row-major float matrix (the storage of factors: contiguous rows for MPI and HDF5).
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The biases and factors of rows [first_row(), first_row() + rows()) of one side. Every
/// accessor taking a row takes its index in that space (the global index for a rank's block,
/// the table's own position for a table starting at 0). Glossary: k = the rank of the
/// factorization.
class FactorTable {
  public:
    FactorTable() = default;
    /// rows x (k + biases) zeros, rows 0..rows-1.
    FactorTable(std::int64_t rows, int k, bool biases);
    /// rows x (k + biases) zeros, rows first_row..first_row+rows-1.
    FactorTable(std::int64_t first_row, std::int64_t rows, int k, bool biases);

    /// Number of rows held.
    std::int64_t rows() const noexcept { return values_.rows(); }
    /// Index of the first row held (0 unless the table is one block of a side).
    std::int64_t first_row() const noexcept { return first_row_; }
    /// One past the index of the last row held.
    std::int64_t end_row() const noexcept { return first_row_ + values_.rows(); }
    /// k, the number of latent factors.
    int k() const noexcept { return k_; }
    /// Whether column 0 is a bias.
    bool has_bias() const noexcept { return biases_; }
    /// Floats per row: k + (biases ? 1 : 0).
    int width() const noexcept { return k_ + (biases_ ? 1 : 0); }

    /// The bias of a row (0 without biases).
    float bias(std::int64_t row) const { return biases_ ? values_(row - first_row_, 0) : 0.0F; }
    /// The k factors of a row.
    auto factors(std::int64_t row) const { return values_.row(row - first_row_).tail(k_); }
    /// The whole row: [bias,] factors.
    auto row(std::int64_t row) const { return values_.row(row - first_row_); }
    auto row(std::int64_t row) { return values_.row(row - first_row_); }

    /// The storage, rows() x width(), row-major (storage row r is row first_row() + r).
    const RowMatrixXf& values() const noexcept { return values_; }
    RowMatrixXf& values() noexcept { return values_; }
    /// Rows [first, first + count) as one contiguous span of floats.
    std::span<float> row_span(std::int64_t first, std::int64_t count);
    std::span<const float> row_span(std::int64_t first, std::int64_t count) const;

    /// Local. Sets the factors of stored row r to N(0, scale^2) draws that depend only on
    /// (seed, external_ids[r], column) and the biases to 0 (external_ids: the IDs of the rows
    /// held, in order), so the initial model is the same whatever the rank count or the order
    /// of rows.
    void initialize(std::span<const std::int64_t> external_ids, std::uint64_t seed, float scale);

  private:
    RowMatrixXf values_;
    std::int64_t first_row_ = 0;
    int k_ = 0;
    bool biases_ = false;
};

/// Local. The prediction of the model for one (user, item) pair:
///   a_hat = mu + b_u + c_i + w_u . h_i   (mu = 0 and no biases when the tables have none).
inline double predict_rating(const FactorTable& users, std::int64_t user, const FactorTable& items,
                             std::int64_t item, double global_mean) {
    return global_mean + static_cast<double>(users.bias(user)) +
           static_cast<double>(items.bias(item)) +
           static_cast<double>(users.factors(user).dot(items.factors(item)));
}

}  // namespace distmf
