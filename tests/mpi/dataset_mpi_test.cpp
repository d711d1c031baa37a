#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "distmf/dataset.hpp"
#include "distmf/error.hpp"
#include "distmf/partition.hpp"
#include "distmf/ratings_reader.hpp"
#include "mpi_checks.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using distmf::Communicator;
using distmf::DataConfig;
using distmf::Dataset;
using distmf::DuplicatePolicy;
using distmf::RatingMatrix;
using distmf::testing::catch_on_every_rank;
using distmf::testing::CaughtError;
using distmf::testing::TempDir;
using distmf::testing::write_on_rank0;

// Every rank calls the same collectives in the same order: load, then gather what every rank
// holds, and only then assert (a failed REQUIRE cannot leave the other ranks waiting). Files
// are read only before the last collective: rank 0 removes the TempDir as soon as it is done.

namespace {

/// A rating by external IDs.
struct Triple {
    std::int64_t user = 0;
    std::int64_t item = 0;
    float value = 0.0F;

    friend bool operator==(const Triple&, const Triple&) = default;
    friend bool operator<(const Triple& a, const Triple& b) {
        return std::tie(a.user, a.item, a.value) < std::tie(b.user, b.item, b.value);
    }
};

// ---- fixtures ------------------------------------------------------------------------------

std::int64_t user_id(int k) {
    if (k == 0) return std::numeric_limits<std::int64_t>::max();  // the largest possible ID
    return 1'000'000'000'000LL + 982'451'653LL * k;
}

std::int64_t item_id(int j) {
    if (j == 0) return 0;
    return 17 + 1'000'003LL * j * j;
}

std::string csv_line(std::int64_t user, std::int64_t item, double value, int timestamp) {
    std::ostringstream line;
    line << user << ',' << item << ',' << value << ',' << 1'500'000'000 + timestamp << "\r\n";
    return line.str();
}

/// 300 distinct ratings of 40 users and 60 items, in an interleaved order, as a ratings.csv:
/// header, CRLF, a few blank lines, no line break after the last line. `extra` lines are
/// inserted before line `extra_at` (1-based, counting the header as line 1).
std::string fixture_text(const std::vector<std::string>& extra = {}, int extra_at = 0) {
    std::vector<std::string> lines{"userId,movieId,rating,timestamp\r\n"};
    for (int i = 0; i < 300; ++i) {
        if (i % 97 == 50) lines.push_back("\r\n");
        const int user = i % 40;
        const int item = (i / 40 * 7 + user * 3) % 60;
        lines.push_back(csv_line(user_id(user), item_id(item), 0.5 * (1 + (i * 11) % 10), i));
    }
    if (extra_at > 0) {
        lines.insert(lines.begin() + extra_at - 1, extra.begin(), extra.end());
    }
    std::string text;
    for (const std::string& line : lines) text += line;
    text.resize(text.size() - 2);
    return text;
}

// ---- the expected result, computed serially from the whole file ----------------------------

/// Every rating of a ratings file in file order (an independent, simple parser).
std::vector<Triple> parse_whole_file(const std::string& path) {
    std::istringstream in(distmf::testing::read_text(path));
    std::vector<Triple> ratings;
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const bool header = first && (line[0] < '0' || line[0] > '9');
        first = false;
        if (header) continue;
        std::istringstream fields(line);
        std::string user, item, value;
        std::getline(fields, user, ',');
        std::getline(fields, item, ',');
        std::getline(fields, value, ',');
        ratings.push_back(
            {std::stoll(user), std::stoll(item), static_cast<float>(std::stod(value))});
    }
    return ratings;
}

struct Expected {
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    std::vector<Triple> train;  ///< sorted, duplicates merged
    std::vector<Triple> test;   ///< sorted, duplicates merged
    std::vector<std::int64_t> user_train_counts;
    std::vector<std::int64_t> item_train_counts;
    std::int64_t duplicates_merged = 0;
    std::int64_t cold_users = 0;
    std::int64_t cold_items = 0;
    double min_rating = 0.0;
    double max_rating = 0.0;
    double mean_rating = 0.0;
    std::optional<std::string> duplicate_error;  ///< with policy error
};

std::vector<std::int64_t> distinct(std::vector<std::int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

std::unordered_map<std::int64_t, std::int64_t> index_of(const std::vector<std::int64_t>& ids) {
    std::unordered_map<std::int64_t, std::int64_t> index;
    for (std::size_t i = 0; i < ids.size(); ++i) index[ids[i]] = static_cast<std::int64_t>(i);
    return index;
}

/// Merges the ratings of one side (train or test) by policy; returns the first duplicate in
/// (global user, global item) order as an error message, if any.
std::optional<std::string> merge(const std::vector<Triple>& arrivals, const Expected& e,
                                 DuplicatePolicy policy, const std::string& path,
                                 std::vector<Triple>& merged, std::int64_t& n_merged) {
    const auto users = index_of(e.user_ids);
    const auto items = index_of(e.item_ids);
    std::map<std::pair<std::int64_t, std::int64_t>, std::vector<float>> by_pair;
    for (const Triple& t : arrivals)
        by_pair[{users.at(t.user), items.at(t.item)}].push_back(t.value);
    std::optional<std::string> error;
    for (const auto& [pair, values] : by_pair) {  // ascending (global user, global item)
        const std::int64_t user = e.user_ids[static_cast<std::size_t>(pair.first)];
        const std::int64_t item = e.item_ids[static_cast<std::size_t>(pair.second)];
        float value = values.back();
        if (values.size() > 1) {
            n_merged += static_cast<std::int64_t>(values.size()) - 1;
            if (policy == DuplicatePolicy::error && !error) {
                error = path + ": user " + std::to_string(user) + " rated item " +
                        std::to_string(item) + " more than once";
            }
            if (policy == DuplicatePolicy::mean) {
                double sum = 0.0;
                for (const float v : values) sum += static_cast<double>(v);
                value = static_cast<float>(sum / static_cast<double>(values.size()));
            }
        }
        merged.push_back({user, item, value});
    }
    std::sort(merged.begin(), merged.end());
    return error;
}

/// What load_dataset should produce, from the train file's ratings (split by hash) and the
/// test file's (all test), independent of the number of ranks.
Expected expect(const std::vector<Triple>& train_file, const std::vector<Triple>& test_file,
                const DataConfig& options) {
    Expected e;
    std::vector<std::int64_t> users;
    std::vector<std::int64_t> items;
    std::vector<Triple> train_arrivals;
    std::vector<Triple> test_arrivals = test_file;
    const distmf::SplitRule rule{false, options.test_fraction, options.seed};
    for (const Triple& t : train_file) {
        (distmf::is_test_pair(rule, t.user, t.item) ? test_arrivals : train_arrivals).push_back(t);
    }
    for (const auto* ratings : {&train_file, &test_file}) {
        for (const Triple& t : *ratings) {
            users.push_back(t.user);
            items.push_back(t.item);
        }
    }
    e.user_ids = distmf::global_id_order(distinct(users), options.seed);
    e.item_ids = distmf::global_id_order(distinct(items), options.seed ^ 0x5bd1e995ULL);

    const auto train_error =
        merge(train_arrivals, e, options.duplicates, options.train, e.train, e.duplicates_merged);
    const auto test_error =
        merge(test_arrivals, e, options.duplicates,
              options.test.empty() ? options.train : options.test, e.test, e.duplicates_merged);
    e.duplicate_error = train_error ? train_error : test_error;

    const auto user_index = index_of(e.user_ids);
    const auto item_index = index_of(e.item_ids);
    e.user_train_counts.assign(e.user_ids.size(), 0);
    e.item_train_counts.assign(e.item_ids.size(), 0);
    double sum = 0.0;  // ratings are multiples of 0.5: exact in any order
    e.min_rating = std::numeric_limits<double>::max();
    e.max_rating = std::numeric_limits<double>::lowest();
    for (const Triple& t : e.train) {
        ++e.user_train_counts[static_cast<std::size_t>(user_index.at(t.user))];
        ++e.item_train_counts[static_cast<std::size_t>(item_index.at(t.item))];
        sum += static_cast<double>(t.value);
        e.min_rating = std::min(e.min_rating, static_cast<double>(t.value));
        e.max_rating = std::max(e.max_rating, static_cast<double>(t.value));
    }
    e.mean_rating = sum / static_cast<double>(e.train.size());
    e.cold_users = std::count(e.user_train_counts.begin(), e.user_train_counts.end(), 0);
    e.cold_items = std::count(e.item_train_counts.begin(), e.item_train_counts.end(), 0);
    return e;
}

// ---- what the ranks hold, gathered ---------------------------------------------------------

/// This rank's block as external-ID triples; `by_user` says whether rows are users.
std::vector<Triple> block_triples(const RatingMatrix& block, bool by_user, const Dataset& d) {
    std::vector<Triple> triples;
    for (std::int64_t row = 0; row < block.n_rows(); ++row) {
        const auto columns = block.row_columns(row);
        const auto values = block.row_values(row);
        const auto global_row = static_cast<std::size_t>(block.first_row + row);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            const auto column = static_cast<std::size_t>(columns[e]);
            triples.push_back(by_user
                                  ? Triple{d.user_ids[global_row], d.item_ids[column], values[e]}
                                  : Triple{d.user_ids[column], d.item_ids[global_row], values[e]});
        }
    }
    return triples;
}

/// Local. Whether a block covers exactly `blocks`' rows of `rank` with ascending columns.
bool well_formed(const RatingMatrix& block, const distmf::BlockPartition& blocks, int rank) {
    if (block.first_row != blocks.first(rank) || block.n_rows() != blocks.size(rank)) return false;
    if (block.row_start.front() != 0 || block.row_start.back() != block.nnz()) return false;
    for (std::int64_t row = 0; row < block.n_rows(); ++row) {
        const auto columns = block.row_columns(row);
        if (std::adjacent_find(columns.begin(), columns.end(), [](std::int32_t a, std::int32_t b) {
                return a >= b;
            }) != columns.end()) {
            return false;
        }
    }
    return true;
}

/// Everything every rank holds, gathered on every rank. Collective.
struct Gathered {
    std::vector<Triple> train_by_user;
    std::vector<Triple> train_by_item;
    std::vector<Triple> test;
    std::vector<std::int64_t> user_block_sizes;  ///< as each rank sees its own block
    std::vector<std::int64_t> item_block_sizes;
    std::vector<std::int64_t> nnz_by_user_block;
    std::vector<std::int64_t> nnz_by_item_block;
    std::vector<std::uint64_t> summary_fingerprints;  ///< one per rank
    std::int64_t malformed_blocks = 0;                ///< ranks whose blocks are not well formed
};

std::uint64_t fingerprint(const Dataset& d) {
    std::uint64_t hash = 1469598103934665603ULL;
    const auto mix = [&hash](std::uint64_t x) { hash = (hash ^ x) * 1099511628211ULL; };
    const auto& s = d.summary;
    for (const std::int64_t x : {s.n_users, s.n_items, s.n_train, s.n_test, s.duplicates_merged,
                                 s.cold_users, s.cold_items}) {
        mix(static_cast<std::uint64_t>(x));
    }
    for (const double x : {s.min_rating, s.max_rating, s.mean_rating}) {
        mix(std::bit_cast<std::uint64_t>(x));
    }
    for (const auto* ids : {&d.user_ids, &d.item_ids, &d.user_train_counts, &d.item_train_counts}) {
        for (const std::int64_t x : *ids) mix(static_cast<std::uint64_t>(x));
    }
    return hash;
}

Gathered gather(const Communicator& comm, const Dataset& d) {
    Gathered g;
    const auto all = [&comm](const std::vector<Triple>& mine) {
        auto everything = comm.all_gather_v(std::span<const Triple>(mine));
        std::sort(everything.begin(), everything.end());
        return everything;
    };
    g.train_by_user = all(block_triples(d.user_ratings, true, d));
    g.train_by_item = all(block_triples(d.item_ratings, false, d));
    g.test = all(block_triples(d.test_ratings, true, d));
    g.user_block_sizes = comm.all_gather(d.user_blocks.size(comm.rank()));
    g.item_block_sizes = comm.all_gather(d.item_blocks.size(comm.rank()));
    g.nnz_by_user_block = comm.all_gather(d.user_ratings.nnz());
    g.nnz_by_item_block = comm.all_gather(d.item_ratings.nnz());
    g.summary_fingerprints = comm.all_gather(fingerprint(d));
    const bool ok = well_formed(d.user_ratings, d.user_blocks, comm.rank()) &&
                    well_formed(d.item_ratings, d.item_blocks, comm.rank()) &&
                    well_formed(d.test_ratings, d.user_blocks, comm.rank());
    g.malformed_blocks = comm.all_reduce_sum(static_cast<std::int64_t>(ok ? 0 : 1));
    return g;
}

/// load_dataset's InputError message on this rank and on every rank. Collective.
CaughtError load_expecting_failure(const Communicator& comm, const DataConfig& options) {
    return catch_on_every_rank<distmf::InputError>(comm,
                                                   [&] { distmf::load_dataset(comm, options); });
}

void check_same_everywhere(const CaughtError& failure) {
    REQUIRE(failure.message);
    for (const std::uint64_t hash : failure.hashes) CHECK(hash == failure.hashes.front());
}

/// Compares a loaded (and gathered) data set with the serial expectation.
void check_dataset(const Communicator& comm, const Dataset& d, const Gathered& g,
                   const Expected& e) {
    const auto n_ranks = static_cast<std::size_t>(comm.size());
    CHECK(d.user_ids == e.user_ids);
    CHECK(d.item_ids == e.item_ids);
    CHECK(g.train_by_user == e.train);
    CHECK(g.train_by_item == e.train);
    CHECK(g.test == e.test);
    CHECK(d.user_train_counts == e.user_train_counts);
    CHECK(d.item_train_counts == e.item_train_counts);
    CHECK(g.malformed_blocks == 0);

    REQUIRE(d.user_blocks.n_blocks() == comm.size());
    REQUIRE(d.item_blocks.n_blocks() == comm.size());
    CHECK(d.user_blocks.n_rows() == static_cast<std::int64_t>(e.user_ids.size()));
    CHECK(d.item_blocks.n_rows() == static_cast<std::int64_t>(e.item_ids.size()));
    CHECK(g.user_block_sizes == d.user_blocks.sizes());  // every rank has the same partition
    CHECK(g.item_block_sizes == d.item_blocks.sizes());
    for (const std::uint64_t f : g.summary_fingerprints) CHECK(f == g.summary_fingerprints[0]);

    const auto& s = d.summary;
    CHECK(s.n_users == static_cast<std::int64_t>(e.user_ids.size()));
    CHECK(s.n_items == static_cast<std::int64_t>(e.item_ids.size()));
    CHECK(s.n_train == static_cast<std::int64_t>(e.train.size()));
    CHECK(s.n_test == static_cast<std::int64_t>(e.test.size()));
    CHECK(s.duplicates_merged == e.duplicates_merged);
    CHECK(s.cold_users == e.cold_users);
    CHECK(s.cold_items == e.cold_items);
    CHECK(s.min_rating == e.min_rating);
    CHECK(s.max_rating == e.max_rating);
    CHECK(s.mean_rating == e.mean_rating);
    CHECK(s.train_by_user_block == g.nnz_by_user_block);
    CHECK(s.train_by_item_block == g.nnz_by_item_block);
    CHECK(s.train_by_user_block.size() == n_ranks);
    CHECK(s.train_layout == "comma-separated, 4 fields");
}

}  // namespace

TEST_CASE("load_dataset matches a serial reading of the file", "[dataset]") {
    const Communicator comm;
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("ratings.csv");
    const bool written = write_on_rank0(comm, options.train, fixture_text());
    SECTION("everything for training") { options.seed = 42; }
    SECTION("a hash split") {
        options.test_fraction = 0.25;
        options.seed = 7;
    }
    SECTION("a hash split with another seed") {
        options.test_fraction = 0.4;
        options.seed = 123456789;
    }
    const Expected expected = expect(parse_whole_file(options.train), {}, options);
    const Dataset dataset = distmf::load_dataset(comm, options);
    const Gathered gathered = gather(comm, dataset);

    REQUIRE(written);
    REQUIRE(expected.train.size() + expected.test.size() == 300);
    check_dataset(comm, dataset, gathered, expected);
    const double held_out = static_cast<double>(expected.test.size()) / static_cast<double>(300);
    CHECK(held_out == Approx(options.test_fraction).margin(0.1));
    CHECK(dataset.summary.test_layout.empty());
}

TEST_CASE("load_dataset with a separate test file", "[dataset]") {
    const Communicator comm;
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("train.csv");
    options.test = dir.file("test.csv");
    // The test file has users and items the train file does not (cold ones), and pairs the
    // train file also has.
    std::string test_text = "user,item,rating,timestamp\r\n";
    test_text += csv_line(user_id(3), item_id(61), 4.5, 1);
    test_text += csv_line(5, item_id(0), 2.0, 2);
    test_text += csv_line(user_id(0), 99, 1.0, 3);
    test_text += csv_line(user_id(0), item_id(0), 3.5, 4);
    bool written = write_on_rank0(comm, options.train, fixture_text());
    written = write_on_rank0(comm, options.test, test_text) && written;
    const Expected expected =
        expect(parse_whole_file(options.train), parse_whole_file(options.test), options);
    const Dataset dataset = distmf::load_dataset(comm, options);
    const Gathered gathered = gather(comm, dataset);

    REQUIRE(written);
    REQUIRE(expected.test.size() == 4);
    CHECK(expected.cold_users == 1);
    CHECK(expected.cold_items == 2);
    check_dataset(comm, dataset, gathered, expected);
    CHECK(dataset.summary.test_layout == "comma-separated, 4 fields");
}

TEST_CASE("load_dataset: duplicate ratings by policy", "[dataset]") {
    const Communicator comm;
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("duplicates.csv");
    // Re-ratings of earlier pairs, spread over the file (so over the ranks): user_id(1) rates
    // item (1 * 3) % 60 = 3 again near the start and twice at the end, user_id(39) rates its
    // first item again in the middle.
    std::vector<std::string> middle{csv_line(user_id(39), item_id(39 * 3 % 60), 1.0, 900)};
    std::string text = fixture_text(middle, 160);
    text += "\r\n" + csv_line(user_id(1), item_id(3), 2.5, 901) +
            csv_line(user_id(1), item_id(3), 5.0, 902);
    text.insert(text.find("\r\n") + 2, csv_line(user_id(1), item_id(3), 4.0, 903));
    const bool written = write_on_rank0(comm, options.train, text);

    SECTION("error: every rank throws the same InputError naming the file and the IDs") {
        options.duplicates = DuplicatePolicy::error;
        const Expected expected = expect(parse_whole_file(options.train), {}, options);
        const CaughtError failure = load_expecting_failure(comm, options);
        REQUIRE(written);
        REQUIRE(expected.duplicate_error);
        check_same_everywhere(failure);
        CHECK_THAT(*failure.message, StartsWith(*expected.duplicate_error));
        CHECK_THAT(*failure.message, Contains(options.train));
        CHECK_THAT(*failure.message, Contains("--data.duplicates"));
    }
    for (const DuplicatePolicy policy : {DuplicatePolicy::last, DuplicatePolicy::mean}) {
        DYNAMIC_SECTION("policy " << static_cast<int>(policy)) {
            options.duplicates = policy;
            options.test_fraction = 0.2;
            const Expected expected = expect(parse_whole_file(options.train), {}, options);
            const Dataset dataset = distmf::load_dataset(comm, options);
            const Gathered gathered = gather(comm, dataset);
            REQUIRE(written);
            CHECK(expected.duplicates_merged == 4);
            check_dataset(comm, dataset, gathered, expected);
        }
    }
}

TEST_CASE("load_dataset: a malformed line is reported with its global line number", "[dataset]") {
    const Communicator comm;
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("malformed.csv");
    const std::string bad_id = csv_line(user_id(2), 5, 3.0, 0).replace(0, 1, "x");
    const std::string few_fields = "12,34\r\n";
    std::string text;
    std::string expected_prefix;
    std::string expected_reason;
    SECTION("near the end, in the last rank's range") {
        // 300 ratings + header + 3 blank lines = 304 lines; the bad line becomes line 302.
        text = fixture_text({bad_id}, 302);
        expected_prefix = options.train + ":302: ";
        expected_reason = "user id";
    }
    SECTION("two malformed lines: the first one is reported") {
        text = fixture_text({few_fields}, 12);
        text.insert(text.rfind("\r\n") + 2, bad_id);  // a later one, before the last line
        expected_prefix = options.train + ":12: ";
        expected_reason = "expected 4 fields";
    }
    SECTION("on the last line, without a line break") {
        text = fixture_text() + "\r\n1,2,nan,3";
        expected_prefix = options.train + ":305: ";
        expected_reason = "not finite";
    }
    const bool written = write_on_rank0(comm, options.train, text);
    const CaughtError failure = load_expecting_failure(comm, options);

    REQUIRE(written);
    check_same_everywhere(failure);
    CHECK_THAT(*failure.message, StartsWith(expected_prefix));
    CHECK_THAT(*failure.message, Contains(expected_reason));
}

TEST_CASE("load_dataset: file errors are agreed by every rank", "[dataset]") {
    const Communicator comm;
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("train.csv");
    bool written = write_on_rank0(comm, options.train, fixture_text());
    std::string expected;
    SECTION("a missing train file") {
        options.train = dir.file("missing.csv");
        expected = options.train;
    }
    SECTION("a missing test file") {
        options.test = dir.file("missing-test.csv");
        expected = options.test;
    }
    SECTION("a test file in another format") {
        options.test = dir.file("test.tsv");
        written = write_on_rank0(comm, options.test, "1\t2\t3\n") && written;
        expected = options.test + ": its format";
    }
    SECTION("an empty train file") {
        written = write_on_rank0(comm, options.train, "") && written;
        expected = options.train + ": the file is empty";
    }
    SECTION("everything held out") {
        options.test_fraction = 0.9999999;
        expected = options.train + ": no training ratings";
    }
    const CaughtError failure = load_expecting_failure(comm, options);

    REQUIRE(written);
    check_same_everywhere(failure);
    CHECK_THAT(*failure.message, Contains(expected));
}

TEST_CASE("load_dataset: the per-user hold-out is the same for any number of ranks",
          "[dataset][per-user]") {
    const Communicator comm;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(comm);
    DataConfig options;
    options.train = dir.file("ratings.csv");
    options.split = distmf::SplitMethod::per_user;
    options.test_fraction = 0.25;
    options.seed = 11;
    const bool written = write_on_rank0(comm, options.train, fixture_text());
    const Dataset dataset = distmf::load_dataset(comm, options);
    const Dataset alone = distmf::load_dataset(self, options);  // every rank, all of it
    DataConfig reseeded_options = options;  // another seed holds out other ratings
    reseeded_options.seed = 12;
    const Gathered reseeded = gather(self, distmf::load_dataset(self, reseeded_options));
    const Gathered gathered_alone = gather(self, alone);
    const Gathered gathered = gather(comm, dataset);  // the last collective: files are done

    REQUIRE(written);
    CHECK(gathered.test == gathered_alone.test);
    CHECK(gathered.train_by_user == gathered_alone.train_by_user);
    CHECK(gathered.train_by_item == gathered_alone.train_by_user);
    CHECK(gathered.train_by_user.size() + gathered.test.size() == 300);
    CHECK(dataset.summary.n_test == static_cast<std::int64_t>(gathered.test.size()));
    // Every user holds out round(0.25 n) of its n ratings, and keeps at least one.
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_user;  // train, test
    for (const Triple& t : gathered.train_by_user) ++per_user[t.user].first;
    for (const Triple& t : gathered.test) ++per_user[t.user].second;
    for (const auto& [user, counts] : per_user) {
        const std::int64_t n = counts.first + counts.second;
        INFO("user " << user << " with " << n << " ratings");
        CHECK(counts.first >= 1);
        CHECK(counts.second ==
              std::min<std::int64_t>(n - 1, std::llround(0.25 * static_cast<double>(n))));
    }
    CHECK(reseeded.test != gathered.test);
}

TEST_CASE(
    "load_validation_dataset: the validation ratings come out of the training part only, "
    "the same for any number of ranks",
    "[dataset][tune]") {
    const Communicator comm;
    const Communicator self(MPI_COMM_SELF);
    const TempDir dir(comm);
    const std::string path = dir.file("ratings.csv");
    const bool written = write_on_rank0(comm, path, fixture_text());
    struct Case {
        const char* name;
        DataConfig options;
    };
    std::vector<Case> cases(3);
    for (Case& c : cases) {
        c.options.train = path;
        c.options.seed = 9;
    }
    cases[0].name = "hash split";
    cases[0].options.test_fraction = 0.2;
    cases[1].name = "per-user split";
    cases[1].options.test_fraction = 0.25;
    cases[1].options.split = distmf::SplitMethod::per_user;
    cases[2].name = "a test file, which is never opened";
    cases[2].options.test = dir.file("no-such-test-file.csv");
    for (const Case& c : cases) {
        DataConfig ordinary = c.options;
        ordinary.test.clear();  // the ordinary run's test data (none for the test file)
        const Dataset full = distmf::load_dataset(comm, ordinary);
        const Dataset validation = distmf::load_validation_dataset(comm, c.options, 0.3);
        const Dataset alone = distmf::load_validation_dataset(self, c.options, 0.3);
        const Gathered gathered_alone = gather(self, alone);
        const Gathered gathered_full = gather(comm, full);
        const Gathered gathered = gather(comm, validation);

        INFO(c.name);
        REQUIRE(written);
        REQUIRE_FALSE(gathered.test.empty());
        // No validation rating is a test rating, checked on the external IDs.
        std::set<std::pair<std::int64_t, std::int64_t>> test_pairs;
        for (const Triple& t : gathered_full.test) test_pairs.insert({t.user, t.item});
        for (const Triple& t : gathered.test) CHECK(test_pairs.count({t.user, t.item}) == 0);
        // Training and validation together are exactly the ordinary training ratings.
        std::vector<Triple> together = gathered.train_by_user;
        together.insert(together.end(), gathered.test.begin(), gathered.test.end());
        std::sort(together.begin(), together.end());
        std::vector<Triple> ordinary_train = gathered_full.train_by_user;
        std::sort(ordinary_train.begin(), ordinary_train.end());
        CHECK(together == ordinary_train);
        CHECK(validation.summary.n_test == static_cast<std::int64_t>(gathered.test.size()));
        CHECK(validation.summary.n_train ==
              static_cast<std::int64_t>(gathered.train_by_user.size()));
        // The same split on one rank as on all of them; the item side agrees with the user side.
        CHECK(gathered.test == gathered_alone.test);
        CHECK(gathered.train_by_user == gathered_alone.train_by_user);
        CHECK(gathered.train_by_item == gathered.train_by_user);
    }
}
