// `distmf data` end to end under mpiexec: the statistics it prints do not depend on the rank
// count (only the partition, imbalance and ingest lines may differ), every supported text
// layout gives the same counts, and the real MovieLens files give their published counts.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::invariant_labels;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::report_lines;
using distmf::testing::report_number;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// Writes a small synthetic data set (300 users, 200 items, 6000 ratings) into `dir`; returns
/// its path.
std::string generate_fixture(const TempDir& dir) {
    const std::string path = dir.file("synthetic.tsv");
    const CommandResult result =
        run_distmf(0, {"generate", "--users", "300", "--items", "200", "--ratings", "6000",
                       "--seed", "11", "--out", path});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return path;
}

/// One row of the partition table of `distmf data`.
struct PartitionRow {
    std::int64_t rank = -1;
    std::int64_t users = 0;
    std::int64_t items = 0;
    std::int64_t train_by_user = 0;
    std::int64_t train_by_item = 0;
};

/// The rows of the partition table (between the "partition" and "imbalance" lines).
std::vector<PartitionRow> partition_rows(const std::string& out) {
    std::vector<PartitionRow> rows;
    bool in_table = false;
    for (const std::string& line : lines_of(out)) {
        if (line.rfind("partition ", 0) == 0) {
            in_table = true;
        } else if (line.rfind("imbalance ", 0) == 0) {
            in_table = false;
        } else if (in_table) {
            std::istringstream fields(line);
            PartitionRow row;
            fields >> row.rank >> row.users >> row.items >> row.train_by_user >> row.train_by_item;
            if (fields) rows.push_back(row);
        }
    }
    return rows;
}

/// Checks that the partition table of a `ranks`-rank run has one row per rank and adds up to
/// the totals printed above it.
void check_partition(const std::string& out, int ranks) {
    const std::vector<PartitionRow> rows = partition_rows(out);
    REQUIRE(rows.size() == static_cast<std::size_t>(ranks));
    PartitionRow total;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        CHECK(rows[r].rank == static_cast<std::int64_t>(r));
        total.users += rows[r].users;
        total.items += rows[r].items;
        total.train_by_user += rows[r].train_by_user;
        total.train_by_item += rows[r].train_by_item;
    }
    std::int64_t n_train = 0;
    std::istringstream ratings(report_lines(out, {"ratings"}));
    std::string skip;
    ratings >> skip >> skip >> skip >> n_train;  // "ratings N (train T, ..."
    CHECK(total.users == report_number(out, "users"));
    CHECK(total.items == report_number(out, "items"));
    CHECK(total.train_by_user == n_train);
    CHECK(total.train_by_item == n_train);
}

/// Runs `distmf data <args...>` with 1, 2 and 4 ranks; checks each run succeeds with a
/// consistent partition table and that the rank-independent lines (the files with their
/// layouts, and the statistics) agree. Returns them.
std::string rank_invariant_report(const std::vector<std::string>& data_args) {
    std::vector<std::string> args{"data"};
    args.insert(args.end(), data_args.begin(), data_args.end());
    std::vector<std::string> labels{"train file", "test file"};
    labels.insert(labels.end(), invariant_labels().begin(), invariant_labels().end());
    std::string first_report;
    for (const int ranks : cli_rank_counts) {
        const CommandResult result = run_distmf(ranks, args);
        INFO("ranks " << ranks << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err);
        REQUIRE(result.exit_code == 0);
        CHECK(result.out.rfind("distmf data: " + std::to_string(ranks) + " rank", 0) == 0);
        check_partition(result.out, ranks);
        const std::string report = report_lines(result.out, labels);
        if (first_report.empty()) first_report = report;
        CHECK(report == first_report);
    }
    return first_report;
}

/// The ratings of a TSV file "user<TAB>item<TAB>rating" as rows of fields.
std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    for (const std::string& line : lines_of(read_text(path))) {
        std::vector<std::string> fields;
        std::istringstream in(line);
        for (std::string field; std::getline(in, field, '\t');) fields.push_back(field);
        rows.push_back(fields);
    }
    return rows;
}

/// Writes `rows` with a fourth (timestamp) field, `delimiter` between fields, `eol` after each
/// line and `header` (if not empty) first.
void write_ratings(const std::string& path, const std::vector<std::vector<std::string>>& rows,
                   const std::string& delimiter, const std::string& eol,
                   const std::string& header = "") {
    std::string text = header.empty() ? "" : header + eol;
    std::int64_t timestamp = 881250949;
    for (const auto& row : rows) {
        text += row.at(0) + delimiter + row.at(1) + delimiter + row.at(2) + delimiter +
                std::to_string(timestamp++) + eol;
    }
    write_text(path, text);
}

/// Checks `distmf data` on a real data set below DISTMF_DATA_DIR with 1, 2 and 4 ranks, or
/// prints the skip marker when the data sets are not available.
void check_real_data_set(const std::string& relative_path, const std::string& expected_layout,
                         const std::string& expected_counts) {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message(relative_path) << std::endl;
        return;
    }
    const std::string path = *folder + "/" + relative_path;
    REQUIRE(distmf::testing::exists(path));
    const std::string report = rank_invariant_report({"--data.train", path});
    INFO(report);
    CHECK(report.find("train file    " + path + " (" + expected_layout + ")\n" + expected_counts) !=
          std::string::npos);
}

}  // namespace

TEST_CASE("data: statistics do not depend on the rank count", "[cli][data]") {
    const TempDir dir;
    const std::string path = generate_fixture(dir);
    const std::string report = rank_invariant_report({"--data.train", path});
    INFO(report);
    CHECK(report.find("users         300\n"
                      "items         200\n"
                      "ratings       6000 (train 6000, test 0)\n"
                      "train rating  min 1, max 5, mean ") != std::string::npos);
}

TEST_CASE("data: the held-out test set does not depend on the rank count", "[cli][data]") {
    const TempDir dir;
    const std::string path = generate_fixture(dir);
    const std::string report =
        rank_invariant_report({"--data.train", path, "--data.test-fraction", "0.2"});
    INFO(report);
    std::int64_t n_all = 0;
    std::int64_t n_train = 0;
    std::int64_t n_test = 0;
    std::istringstream ratings(report_lines(report, {"ratings"}));
    std::string word;
    ratings >> word >> n_all >> word >> n_train >> word >> word >> n_test;  // "(train" "T," "test"
    CHECK(n_all == 6000);
    CHECK(n_train + n_test == 6000);
    CHECK(n_test > 1000);  // 0.2 * 6000 = 1200 expected; the standard deviation is about 31
    CHECK(n_test < 1400);
}

TEST_CASE("data: TSV, CSV with header and CRLF, and MovieLens '::' files give the same counts",
          "[cli][data]") {
    const TempDir dir;
    const std::string tsv = generate_fixture(dir);
    const auto rows = read_tsv(tsv);
    REQUIRE(rows.size() == 6000);
    struct Variant {
        std::string path;
        std::string layout;
    };
    const std::vector<Variant> variants{{dir.file("four.tsv"), "tab-separated, 4 fields"},
                                        {dir.file("ratings.csv"), "comma-separated, 4 fields"},
                                        {dir.file("ratings.dat"), "'::'-separated, 4 fields"}};
    write_ratings(variants[0].path, rows, "\t", "\n");
    write_ratings(variants[1].path, rows, ",", "\r\n", "userId,movieId,rating,timestamp");
    write_ratings(variants[2].path, rows, "::", "\n");

    const CommandResult base = run_distmf(1, {"data", "--data.train", tsv});
    REQUIRE(base.exit_code == 0);
    CHECK(base.out.find("(tab-separated, 3 fields)") != std::string::npos);
    const std::string expected = report_lines(base.out, invariant_labels());
    CHECK(report_number(base.out, "ratings") == 6000);
    for (const Variant& variant : variants) {
        const CommandResult result =
            run_distmf(4, {"data", "--data.train", variant.path, "--data.format", "auto"});
        INFO(variant.path << "\n" << result.out << result.err);
        REQUIRE(result.exit_code == 0);
        CHECK(result.out.find(variant.path + " (" + variant.layout + ")") != std::string::npos);
        CHECK(report_lines(result.out, invariant_labels()) == expected);
    }
}

TEST_CASE("data: MovieLens 100K (u.data) has 100000 ratings of 1682 items by 943 users",
          "[cli][data][real-data]") {
    check_real_data_set("ml-100k/u.data", "tab-separated, 4 fields",
                        "users         943\n"
                        "items         1682\n"
                        "ratings       100000 (train 100000, test 0)\n"
                        "train rating  min 1, max 5, mean ");
}

TEST_CASE(
    "data: MovieLens latest small (ratings.csv) has 100836 ratings of 9724 items by 610 "
    "users",
    "[cli][data][real-data]") {
    check_real_data_set("ml-latest-small/ratings.csv", "comma-separated, 4 fields",
                        "users         610\n"
                        "items         9724\n"
                        "ratings       100836 (train 100836, test 0)\n"
                        "train rating  min 0.5, max 5, mean ");
}

namespace {

/// The lines of `out` from the first that starts with "plan " on: the plans of the table format.
std::string plan_section(const std::string& out) {
    const std::size_t start = out.find("\nplan          P = ");
    return start == std::string::npos ? std::string() : out.substr(start + 1);
}

/// The fields of the CSV line `line`.
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    return fields;
}

}  // namespace

TEST_CASE("data --plan: the plan does not depend on the rank count that computes it",
          "[cli][data][plan]") {
    const TempDir dir;
    const std::string path = generate_fixture(dir);
    const std::vector<std::string> args{"data", "--data.train", path, "--data.test-fraction",
                                        "0.1",  "--model.rank", "8",  "--plan",
                                        "1,3,4"};
    std::string first_table;
    std::string first_csv;
    for (const int ranks : cli_rank_counts) {
        const CommandResult table = distmf::testing::run_ok(ranks, args);
        std::vector<std::string> csv_args = args;
        csv_args.insert(csv_args.end(), {"--plan-format", "csv"});
        const CommandResult csv = distmf::testing::run_ok(ranks, csv_args);
        INFO("ranks " << ranks << "\n" << table.out << csv.out);
        // The table follows the usual report; the CSV comes alone.
        CHECK(table.out.rfind("distmf data: ", 0) == 0);
        const std::string plans = plan_section(table.out);
        CHECK(plans.find("plan          P = 1: 300 users, 200 items, factor rows of 9 floats "
                         "(36 bytes)") == 0);
        CHECK(plans.find("\nplan          P = 3: ") != std::string::npos);
        CHECK(plans.find("\n  received MB, sharded ") != std::string::npos);
        CHECK(csv.out.rfind("ranks,rank,train_by_user,", 0) == 0);
        if (first_table.empty()) {
            first_table = plans;
            first_csv = csv.out;
        }
        CHECK(plans == first_table);
        CHECK(csv.out == first_csv);
    }
}

TEST_CASE("data --plan-format csv: every rank's row, consistent with the partition",
          "[cli][data][plan]") {
    const TempDir dir;
    const std::string path = generate_fixture(dir);
    const CommandResult result =
        distmf::testing::run_ok(2, {"data", "--data.train", path, "--model.rank", "8", "--plan",
                                    "1,4", "--plan-format", "csv"});
    const std::vector<std::string> lines = lines_of(result.out);
    INFO(result.out);
    // header, P = 1: one rank and 4 summaries, P = 4: 4 ranks and 4 summaries
    REQUIRE(lines.size() == 1 + 5 + 8);
    const std::vector<std::string> header = csv_fields(lines[0]);
    const auto column = [&header](const std::string& name) {
        const auto found = std::find(header.begin(), header.end(), name);
        REQUIRE(found != header.end());
        return static_cast<std::size_t>(found - header.begin());
    };
    const auto value = [&](std::size_t line, const std::string& name) {
        return std::stoll(csv_fields(lines[line]).at(column(name)));
    };
    constexpr std::int64_t row_bytes = 4 * 9;  // k = 8 and a bias
    // One rank: every row is its own and read; nothing moves; the views are the own tables.
    CHECK(lines[1].rfind("1,0,6000,6000,0,300,200,200,300,", 0) == 0);
    CHECK(value(1, "received_bytes_replicated") == 0);
    CHECK(value(1, "factor_bytes_sharded") == 500 * row_bytes);
    CHECK(value(1, "factor_bytes_replicated") == 500 * row_bytes);
    CHECK(lines[2].rfind("1,max,", 0) == 0);
    // Four ranks: own rows add up to m and n, replicated traffic is the all-gather's, and the
    // sharded rows sent are the rows received.
    std::int64_t users = 0;
    std::int64_t items = 0;
    std::int64_t received = 0;
    std::int64_t sent = 0;
    for (std::size_t line = 6; line < 10; ++line) {
        CHECK(csv_fields(lines[line]).at(0) == "4");
        const std::int64_t own = value(line, "own_users") + value(line, "own_items");
        users += value(line, "own_users");
        items += value(line, "own_items");
        CHECK(value(line, "received_bytes_replicated") == (500 - own) * row_bytes);
        CHECK(value(line, "sent_bytes_replicated") == 3 * own * row_bytes);
        CHECK(value(line, "received_bytes_sharded") <= value(line, "received_bytes_replicated"));
        received += value(line, "received_bytes_sharded");
        sent += value(line, "sent_bytes_sharded");
    }
    CHECK(users == 300);
    CHECK(items == 200);
    CHECK(received == sent);
    CHECK(lines[13].rfind("4,total,6000,6000,0,300,200,", 0) == 0);
}

TEST_CASE("data --plan: bad lists and formats are agreed one-line errors naming the option",
          "[cli][data][plan]") {
    const TempDir dir;
    const std::string path = generate_fixture(dir);
    const auto data_with = [&path](std::vector<std::string> options) {
        options.insert(options.begin(), {"data", "--data.train", path});
        return options;
    };
    distmf::testing::expect_agreed_error(data_with({"--plan", "2,x"}),
                                         {"--plan: 'x' is not a rank count in '2,x'"});
    distmf::testing::expect_agreed_error(data_with({"--plan", "1,,4"}),
                                         {"--plan: '' is not a rank count"});
    distmf::testing::expect_agreed_error(data_with({"--plan", "0"}),
                                         {"--plan: 0 is not in [1, 16384]"});
    distmf::testing::expect_agreed_error(data_with({"--plan", "4,2,4"}),
                                         {"--plan: 4 is listed twice"});
    distmf::testing::expect_agreed_error(data_with({"--plan", "2", "--model.rank", "0"}),
                                         {"--model.rank: must be in [1, 4096], got 0"});
    distmf::testing::expect_agreed_error(data_with({"--plan", "2", "--plan-format", "json"}),
                                         {"--plan-format", "expected one of table|csv"});
}
