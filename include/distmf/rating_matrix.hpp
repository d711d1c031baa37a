#pragma once
/// @file rating_matrix.hpp
/// RatingMatrix: the ratings of one rank's contiguous range of rows in compressed sparse row
/// form. The same type holds a rank's users (row = user, column = global item) and, for the
/// other half-sweep of ALS, its items (row = item, column = global user: the transpose).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "distmf/config.hpp"
#include "distmf/ratings_reader.hpp"

namespace distmf {

/// Ratings of rows [first_row, first_row + n_rows()) in CSR: local row r holds entries
/// [row_start[r], row_start[r+1]) of `columns` (global indices, ascending) and `values`.
struct RatingMatrix {
    std::int64_t first_row = 0;              ///< global index of local row 0
    std::vector<std::int64_t> row_start{0};  ///< n_rows() + 1 offsets
    std::vector<std::int32_t> columns;       ///< global column index per entry
    std::vector<float> values;               ///< rating per entry

    /// Number of local rows.
    std::int64_t n_rows() const noexcept { return static_cast<std::int64_t>(row_start.size()) - 1; }
    /// Number of stored ratings.
    std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(columns.size()); }
    /// Number of ratings in local row r.
    std::int64_t row_size(std::int64_t r) const {
        return row_start[static_cast<std::size_t>(r) + 1] - row_start[static_cast<std::size_t>(r)];
    }
    /// Global column indices of local row r.
    std::span<const std::int32_t> row_columns(std::int64_t r) const {
        return std::span<const std::int32_t>(columns).subspan(
            static_cast<std::size_t>(row_start[static_cast<std::size_t>(r)]),
            static_cast<std::size_t>(row_size(r)));
    }
    /// Ratings of local row r, in the order of row_columns(r).
    std::span<const float> row_values(std::int64_t r) const {
        return std::span<const float>(values).subspan(
            static_cast<std::size_t>(row_start[static_cast<std::size_t>(r)]),
            static_cast<std::size_t>(row_size(r)));
    }
};

/// Which field of a LocalRating is the row of the matrix being built.
enum class RowField { user, item };

/// The first duplicated (row, column) pair found, in global indices.
struct DuplicatePair {
    std::int64_t row = 0;
    std::int32_t column = 0;
};

/// What building a matrix found besides the matrix.
struct BuildReport {
    std::int64_t duplicates_merged = 0;      ///< entries removed by `last` or `mean`
    std::optional<DuplicatePair> duplicate;  ///< with policy `error`: the first duplicate
};

/// Local. Builds the CSR matrix of rows [first_row, first_row + n_rows) from `entries`
/// (global indices, in arrival order, every row inside the range). Within a row, columns are
/// sorted ascending; entries with the same (row, column) are kept as the last one to arrive
/// (`last`), averaged (`mean`), or reported in `report.duplicate` (`error`; the matrix then
/// keeps the last one). `entries` is consumed (freed before the output is allocated, to keep
/// peak memory low). Cost O(nnz log(row length)).
RatingMatrix build_rating_matrix(std::vector<LocalRating> entries, RowField row_field,
                                 std::int64_t first_row, std::int64_t n_rows,
                                 DuplicatePolicy policy, BuildReport& report);

}  // namespace distmf
