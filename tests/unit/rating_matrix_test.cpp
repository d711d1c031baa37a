#include "distmf/rating_matrix.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "distmf/error.hpp"

using distmf::BuildReport;
using distmf::DuplicatePolicy;
using distmf::LocalRating;
using distmf::RatingMatrix;
using distmf::RowField;

namespace {

std::vector<std::int32_t> columns_of(const RatingMatrix& m, std::int64_t row) {
    const auto span = m.row_columns(row);
    return {span.begin(), span.end()};
}

std::vector<float> values_of(const RatingMatrix& m, std::int64_t row) {
    const auto span = m.row_values(row);
    return {span.begin(), span.end()};
}

/// Ratings of users 10..13 (user 12 has none), in a scrambled arrival order; user 11 rates
/// item 5 three times (2, 3, then 7) and user 13 rates item 0 twice (1, then 4).
std::vector<LocalRating> with_duplicates() {
    return {{11, 5, 2.0F}, {10, 9, 1.0F}, {13, 0, 1.0F}, {11, 3, 5.0F}, {10, 2, 4.0F},
            {11, 5, 3.0F}, {13, 8, 2.5F}, {11, 1, 1.5F}, {13, 0, 4.0F}, {11, 5, 7.0F}};
}

}  // namespace

TEST_CASE("build_rating_matrix sorts each row by column and keeps the row range",
          "[rating_matrix]") {
    const std::vector<LocalRating> entries{{2, 7, 1.0F}, {0, 3, 2.0F}, {2, 1, 3.0F},
                                           {0, 1, 4.0F}, {2, 4, 5.0F}, {3, 0, 6.0F}};
    BuildReport report;
    const RatingMatrix m =
        distmf::build_rating_matrix(entries, RowField::user, 0, 5, DuplicatePolicy::error, report);
    CHECK(m.first_row == 0);
    REQUIRE(m.n_rows() == 5);
    CHECK(m.nnz() == 6);
    CHECK(m.row_start == std::vector<std::int64_t>{0, 2, 2, 5, 6, 6});
    CHECK(columns_of(m, 0) == std::vector<std::int32_t>{1, 3});
    CHECK(values_of(m, 0) == std::vector<float>{4.0F, 2.0F});
    CHECK(m.row_size(1) == 0);
    CHECK(columns_of(m, 2) == std::vector<std::int32_t>{1, 4, 7});
    CHECK(values_of(m, 2) == std::vector<float>{3.0F, 5.0F, 1.0F});
    CHECK(columns_of(m, 3) == std::vector<std::int32_t>{0});
    CHECK(m.row_size(4) == 0);
    CHECK(report.duplicates_merged == 0);
    CHECK_FALSE(report.duplicate);
}

TEST_CASE("build_rating_matrix by item is the transpose", "[rating_matrix]") {
    const std::vector<LocalRating> entries{{0, 6, 1.0F}, {4, 5, 2.0F}, {2, 6, 3.0F}, {1, 5, 4.0F}};
    BuildReport report;
    const RatingMatrix m =
        distmf::build_rating_matrix(entries, RowField::item, 5, 2, DuplicatePolicy::error, report);
    CHECK(m.first_row == 5);
    REQUIRE(m.n_rows() == 2);
    CHECK(columns_of(m, 0) == std::vector<std::int32_t>{1, 4});  // item 5's users
    CHECK(values_of(m, 0) == std::vector<float>{4.0F, 2.0F});
    CHECK(columns_of(m, 1) == std::vector<std::int32_t>{0, 2});  // item 6's users
    CHECK(values_of(m, 1) == std::vector<float>{1.0F, 3.0F});
}

TEST_CASE("build_rating_matrix: rows outside the range and empty input", "[rating_matrix]") {
    BuildReport report;
    CHECK_THROWS_AS(distmf::build_rating_matrix({{5, 0, 1.0F}}, RowField::user, 0, 5,
                                                DuplicatePolicy::error, report),
                    distmf::Error);
    CHECK_THROWS_AS(distmf::build_rating_matrix({{2, 0, 1.0F}}, RowField::user, 3, 5,
                                                DuplicatePolicy::error, report),
                    distmf::Error);
    const RatingMatrix empty =
        distmf::build_rating_matrix({}, RowField::user, 7, 0, DuplicatePolicy::error, report);
    CHECK(empty.n_rows() == 0);
    CHECK(empty.nnz() == 0);
    CHECK(empty.first_row == 7);
}

TEST_CASE("duplicates: policy 'last' keeps the last rating in arrival order", "[rating_matrix]") {
    BuildReport report;
    const RatingMatrix m = distmf::build_rating_matrix(with_duplicates(), RowField::user, 10, 4,
                                                       DuplicatePolicy::last, report);
    CHECK(m.nnz() == 7);
    CHECK(report.duplicates_merged == 3);
    CHECK_FALSE(report.duplicate);
    CHECK(columns_of(m, 0) == std::vector<std::int32_t>{2, 9});
    CHECK(columns_of(m, 1) == std::vector<std::int32_t>{1, 3, 5});
    CHECK(values_of(m, 1) == std::vector<float>{1.5F, 5.0F, 7.0F});  // 7 arrived last
    CHECK(m.row_size(2) == 0);
    CHECK(columns_of(m, 3) == std::vector<std::int32_t>{0, 8});
    CHECK(values_of(m, 3) == std::vector<float>{4.0F, 2.5F});

    // 'last' follows arrival order, not value order: reverse the arrivals of one pair
    const std::vector<LocalRating> reversed{{0, 1, 9.0F}, {0, 0, 1.0F}, {0, 1, 2.0F}};
    BuildReport second;
    const RatingMatrix r =
        distmf::build_rating_matrix(reversed, RowField::user, 0, 1, DuplicatePolicy::last, second);
    CHECK(values_of(r, 0) == std::vector<float>{1.0F, 2.0F});
}

TEST_CASE("duplicates: policy 'mean' averages them", "[rating_matrix]") {
    BuildReport report;
    const RatingMatrix m = distmf::build_rating_matrix(with_duplicates(), RowField::user, 10, 4,
                                                       DuplicatePolicy::mean, report);
    CHECK(m.nnz() == 7);
    CHECK(report.duplicates_merged == 3);
    CHECK_FALSE(report.duplicate);
    CHECK(values_of(m, 1) == std::vector<float>{1.5F, 5.0F, 4.0F});  // (2 + 3 + 7) / 3
    CHECK(values_of(m, 3) == std::vector<float>{2.5F, 2.5F});        // (1 + 4) / 2
    const std::vector<LocalRating> thirds{{0, 0, 1.0F}, {0, 0, 2.0F}, {0, 0, 4.0F}};
    BuildReport second;
    const RatingMatrix t =
        distmf::build_rating_matrix(thirds, RowField::user, 0, 1, DuplicatePolicy::mean, second);
    CHECK(values_of(t, 0) == std::vector<float>{static_cast<float>(7.0 / 3.0)});
}

TEST_CASE("duplicates: policy 'error' reports the first duplicate in row order",
          "[rating_matrix]") {
    BuildReport report;
    const RatingMatrix m = distmf::build_rating_matrix(with_duplicates(), RowField::user, 10, 4,
                                                       DuplicatePolicy::error, report);
    REQUIRE(report.duplicate);
    CHECK(report.duplicate->row == 11);  // global row: first_row + local row
    CHECK(report.duplicate->column == 5);
    CHECK(m.nnz() == 7);  // the matrix keeps the last ones
    CHECK(values_of(m, 1) == std::vector<float>{1.5F, 5.0F, 7.0F});

    // Within a row, the smallest duplicated column is the one reported.
    const std::vector<LocalRating> two{{0, 9, 1.0F}, {0, 4, 1.0F}, {0, 9, 2.0F}, {0, 4, 3.0F}};
    BuildReport second;
    distmf::build_rating_matrix(two, RowField::user, 0, 1, DuplicatePolicy::error, second);
    REQUIRE(second.duplicate);
    CHECK(second.duplicate->row == 0);
    CHECK(second.duplicate->column == 4);

    // A report that already holds a duplicate keeps it.
    distmf::build_rating_matrix(with_duplicates(), RowField::user, 10, 4, DuplicatePolicy::error,
                                second);
    CHECK(second.duplicate->row == 0);
}

TEST_CASE("long scrambled rows with duplicates: sorted and merged as a stable sort would",
          "[rating_matrix]") {
    // Reference: per row, std::stable_sort by column, then the last of each run (or the mean).
    std::mt19937_64 random(9);
    std::vector<LocalRating> entries;
    for (int n = 0; n < 20000; ++n) {
        entries.push_back({static_cast<std::int32_t>(random() % 7),
                           static_cast<std::int32_t>(random() % 900),
                           static_cast<float>(random() % 1000) * 0.01F});
    }
    for (const DuplicatePolicy policy : {DuplicatePolicy::last, DuplicatePolicy::mean}) {
        BuildReport report;
        const RatingMatrix m =
            distmf::build_rating_matrix(entries, RowField::user, 0, 7, policy, report);
        std::int64_t merged = 0;
        for (std::int32_t row = 0; row < 7; ++row) {
            std::vector<std::pair<std::int32_t, float>> arrivals;
            for (const LocalRating& r : entries) {
                if (r.user == row) arrivals.emplace_back(r.item, r.value);
            }
            std::stable_sort(arrivals.begin(), arrivals.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            std::vector<std::int32_t> columns;
            std::vector<float> values;
            for (std::size_t i = 0; i < arrivals.size();) {
                std::size_t end = i;
                double sum = 0.0;
                while (end < arrivals.size() && arrivals[end].first == arrivals[i].first) {
                    sum += static_cast<double>(arrivals[end++].second);
                }
                columns.push_back(arrivals[i].first);
                values.push_back(policy == DuplicatePolicy::last
                                     ? arrivals[end - 1].second
                                     : static_cast<float>(sum / static_cast<double>(end - i)));
                merged += static_cast<std::int64_t>(end - i - 1);
                i = end;
            }
            CHECK(columns_of(m, row) == columns);
            CHECK(values_of(m, row) == values);
        }
        CHECK(report.duplicates_merged == merged);
    }
}
