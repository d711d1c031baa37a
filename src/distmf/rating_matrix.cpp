#include "distmf/rating_matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "distmf/error.hpp"

namespace distmf {
namespace {

struct Entry {
    std::int32_t column;
    float value;
};

/// Scratch space reused by every row's sort (no allocation per row).
struct SortScratch {
    std::vector<std::uint64_t> keys;
    std::vector<Entry> sorted;
};

/// Sorts one row's entries by column, arrival order among equal columns (a stable sort): the
/// keys (column << 32 | position in the row) are distinct, so std::sort of the keys -- no
/// buffer to allocate, unlike std::stable_sort -- gives the stable order, and the entries are
/// gathered in it.
void sort_row_by_column(std::span<Entry> row, SortScratch& scratch) {
    scratch.keys.resize(row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
        scratch.keys[i] = (std::uint64_t{static_cast<std::uint32_t>(row[i].column)} << 32U) | i;
    }
    std::sort(scratch.keys.begin(), scratch.keys.end());
    scratch.sorted.resize(row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
        scratch.sorted[i] = row[static_cast<std::size_t>(scratch.keys[i] & 0xFFFFFFFFU)];
    }
    std::copy(scratch.sorted.begin(), scratch.sorted.end(), row.begin());
}

/// Sorts one row's entries by column (stable: arrival order among equals) and merges equal
/// columns by `policy`; returns the new row length.
std::size_t sort_and_merge_row(std::span<Entry> row, DuplicatePolicy policy,
                               std::optional<std::int32_t>& duplicate_column,
                               SortScratch& scratch) {
    const auto by_column = [](const Entry& a, const Entry& b) { return a.column < b.column; };
    if (!std::is_sorted(row.begin(), row.end(), by_column)) sort_row_by_column(row, scratch);
    std::size_t out = 0;
    for (std::size_t in = 0; in < row.size();) {
        std::size_t run_end = in + 1;
        double sum = static_cast<double>(row[in].value);
        while (run_end < row.size() && row[run_end].column == row[in].column) {
            sum += static_cast<double>(row[run_end].value);
            ++run_end;
        }
        const std::size_t run_length = run_end - in;
        Entry merged = row[run_end - 1];  // last in arrival order
        if (run_length > 1) {
            if (policy == DuplicatePolicy::error && !duplicate_column) {
                duplicate_column = merged.column;
            }
            if (policy == DuplicatePolicy::mean) {
                merged.value = static_cast<float>(sum / static_cast<double>(run_length));
            }
        }
        row[out++] = merged;
        in = run_end;
    }
    return out;
}

}  // namespace

RatingMatrix build_rating_matrix(std::vector<LocalRating> entries, RowField row_field,
                                 std::int64_t first_row, std::int64_t n_rows,
                                 DuplicatePolicy policy, BuildReport& report) {
    const auto row_of = [&](const LocalRating& r) {
        return static_cast<std::int64_t>(row_field == RowField::user ? r.user : r.item) - first_row;
    };
    const auto column_of = [&](const LocalRating& r) {
        return row_field == RowField::user ? r.item : r.user;
    };
    // Counting sort by row keeps arrival order within each row.
    std::vector<std::int64_t> start(static_cast<std::size_t>(n_rows) + 1, 0);
    for (const LocalRating& r : entries) {
        const std::int64_t row = row_of(r);
        if (row < 0 || row >= n_rows) throw Error("build_rating_matrix: row outside the range");
        ++start[static_cast<std::size_t>(row) + 1];
    }
    for (std::size_t row = 0; row < static_cast<std::size_t>(n_rows); ++row) {
        start[row + 1] += start[row];
    }
    std::vector<Entry> placed(entries.size());
    {
        std::vector<std::int64_t> next(start.begin(), start.end() - 1);
        for (const LocalRating& r : entries) {
            const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(row_of(r))]++);
            placed[slot] = Entry{column_of(r), r.value};
        }
    }
    entries = std::vector<LocalRating>();  // release: only `placed` is needed from here on
    RatingMatrix matrix;
    matrix.first_row = first_row;
    matrix.row_start.assign(static_cast<std::size_t>(n_rows) + 1, 0);
    // Sort and merge each row, compacting in place (rows only shrink, so writes never pass reads).
    std::size_t write = 0;
    SortScratch scratch;
    for (std::size_t row = 0; row < static_cast<std::size_t>(n_rows); ++row) {
        const auto begin = static_cast<std::size_t>(start[row]);
        const auto length = static_cast<std::size_t>(start[row + 1]) - begin;
        std::optional<std::int32_t> duplicate_column;
        const std::size_t kept = sort_and_merge_row(std::span<Entry>(placed).subspan(begin, length),
                                                    policy, duplicate_column, scratch);
        if (duplicate_column && !report.duplicate) {
            report.duplicate =
                DuplicatePair{first_row + static_cast<std::int64_t>(row), *duplicate_column};
        }
        report.duplicates_merged += static_cast<std::int64_t>(length - kept);
        std::copy_n(placed.begin() + static_cast<std::ptrdiff_t>(begin), kept,
                    placed.begin() + static_cast<std::ptrdiff_t>(write));
        write += kept;
        matrix.row_start[row + 1] = static_cast<std::int64_t>(write);
    }
    placed.resize(write);
    matrix.columns.resize(write);
    matrix.values.resize(write);
    for (std::size_t i = 0; i < write; ++i) {
        matrix.columns[i] = placed[i].column;
        matrix.values[i] = placed[i].value;
    }
    return matrix;
}

}  // namespace distmf
