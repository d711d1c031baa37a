#include "distmf/generate.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "distmf/atomic_file.hpp"
#include "distmf/error.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using distmf::GenerateConfig;
using distmf::SyntheticRatings;
using distmf::testing::TempDir;

namespace {

GenerateConfig small_config() {
    GenerateConfig options;
    options.users = 300;
    options.items = 120;
    options.ratings = 5000;
    options.rank = 4;
    options.noise = 0.3;
    options.seed = 9;
    return options;
}

struct Line {
    std::int64_t user = 0;
    std::int64_t item = 0;
    double rating = 0.0;
};

/// Parses generate's TSV output; fails the test on a line that is not user<TAB>item<TAB>rating.
std::vector<Line> parse_lines(const std::string& text) {
    std::vector<Line> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Line parsed;
        std::string rest;
        fields >> parsed.user >> parsed.item >> parsed.rating;
        REQUIRE_FALSE(fields.fail());
        REQUIRE(std::count(line.begin(), line.end(), '\t') == 2);
        REQUIRE_FALSE(fields >> rest);
        lines.push_back(parsed);
    }
    REQUIRE((text.empty() || text.back() == '\n'));
    return lines;
}

std::int64_t sum_of(const std::vector<std::int64_t>& counts) {
    return std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
}

std::vector<std::string> folder_entries(const std::string& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

}  // namespace

TEST_CASE("user_counts add up to the number of ratings and respect the caps", "[generate]") {
    struct Case {
        std::int64_t users, items, ratings;
    };
    for (const Case c :
         {Case{300, 120, 5000}, Case{1000, 1000, 100000}, Case{50, 9, 120}, Case{10, 4, 20},
          Case{40, 40, 800}, Case{500, 30, 7}, Case{1, 2, 1}, Case{1234, 77, 1234}}) {
        INFO("users " << c.users << ", items " << c.items << ", ratings " << c.ratings);
        GenerateConfig options = small_config();
        options.users = c.users;
        options.items = c.items;
        options.ratings = c.ratings;
        const SyntheticRatings model(options);
        const auto& counts = model.user_counts();
        REQUIRE(static_cast<std::int64_t>(counts.size()) == c.users);
        CHECK(sum_of(counts) == c.ratings);
        double cap = std::max(1.0, std::floor(static_cast<double>(c.items) / 3.0));
        if (cap * static_cast<double>(c.users) < static_cast<double>(c.ratings)) {
            cap = static_cast<double>(c.items);
        }
        const auto [smallest, largest] = std::minmax_element(counts.begin(), counts.end());
        CHECK(static_cast<double>(*largest) <= cap);
        CHECK(*smallest >= (c.ratings >= c.users ? 1 : 0));
    }
}

TEST_CASE("user_counts follow user activity: early users rate more", "[generate]") {
    const SyntheticRatings model(small_config());
    const auto& counts = model.user_counts();
    CHECK(counts.front() > counts.back());
    CHECK(std::is_sorted(counts.rbegin(), counts.rend()));
}

TEST_CASE("append_users is the same in one range or split in chunks", "[generate]") {
    const GenerateConfig options = small_config();
    const SyntheticRatings model(options);
    std::string whole;
    model.append_users(0, options.users, whole);
    for (const std::vector<std::int64_t>& cuts :
         {std::vector<std::int64_t>{0, 1, 300}, std::vector<std::int64_t>{0, 150, 150, 300},
          std::vector<std::int64_t>{0, 7, 64, 65, 299, 300}}) {
        std::string pieces;
        for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
            std::string chunk;
            model.append_users(cuts[k], cuts[k + 1], chunk);
            pieces += chunk;
        }
        CHECK(pieces == whole);
    }
    // The same options give the same text from another model; another seed does not.
    std::string again;
    SyntheticRatings(options).append_users(0, options.users, again);
    CHECK(again == whole);
    GenerateConfig other = options;
    other.seed += 1;
    std::string different;
    SyntheticRatings(other).append_users(0, options.users, different);
    CHECK(different != whole);
}

TEST_CASE("generated ratings: distinct pairs per user, IDs and values in range", "[generate]") {
    GenerateConfig options = small_config();
    SECTION("on the 1-5 scale") {}
    SECTION("on a -2.5..2.5 scale with no noise") {
        options.min_rating = -2.5;
        options.max_rating = 2.5;
        options.noise = 0.0;
    }
    SECTION("when every user needs a third of the items") {
        options.items = 12;
        options.users = 40;
        options.ratings = 200;
    }
    const SyntheticRatings model(options);
    std::string text;
    model.append_users(0, options.users, text);
    const std::vector<Line> lines = parse_lines(text);
    CHECK(static_cast<std::int64_t>(lines.size()) == options.ratings);

    std::vector<std::int64_t> per_user(static_cast<std::size_t>(options.users), 0);
    std::set<std::pair<std::int64_t, std::int64_t>> pairs;
    std::int64_t previous_user = 0;
    double lowest = options.max_rating;
    double highest = options.min_rating;
    for (const Line& line : lines) {
        REQUIRE(line.user >= 1);
        REQUIRE(line.user <= options.users);
        REQUIRE(line.item >= 1);
        REQUIRE(line.item <= options.items);
        CHECK(line.user >= previous_user);  // users in order, each user's lines together
        previous_user = line.user;
        ++per_user[static_cast<std::size_t>(line.user - 1)];
        CHECK(pairs.insert({line.user, line.item}).second);
        lowest = std::min(lowest, line.rating);
        highest = std::max(highest, line.rating);
    }
    CHECK(per_user == model.user_counts());
    CHECK(lowest >= options.min_rating);
    CHECK(highest <= options.max_rating);
    CHECK(highest - lowest > 0.5 * (options.max_rating - options.min_rating));  // not constant
}

TEST_CASE("generate_ratings writes the file atomically, the same for any thread count",
          "[generate]") {
    const TempDir dir;
    GenerateConfig options = small_config();
    options.users = 5000;  // more than one chunk of users
    options.items = 50;
    options.ratings = 9000;
    const SyntheticRatings model(options);
    std::string expected;
    model.append_users(0, options.users, expected);

    for (const int threads : {1, 3}) {
        INFO(threads << " threads");
        options.out = dir.file("out" + std::to_string(threads) + ".tsv");
        const auto summary = distmf::generate_ratings(options, threads);
        CHECK(distmf::testing::read_text(options.out) == expected);
        CHECK_FALSE(distmf::testing::exists(distmf::temporary_path_for(options.out)));
        CHECK(summary.ratings == options.ratings);
        CHECK(summary.bytes == static_cast<std::int64_t>(expected.size()));
        CHECK(summary.users_with_ratings ==
              std::count_if(model.user_counts().begin(), model.user_counts().end(),
                            [](std::int64_t count) { return count > 0; }));
        CHECK(summary.seconds >= 0.0);
    }
    // Writing over an existing file replaces it.
    options.out = dir.file("out1.tsv");
    options.seed += 1;
    distmf::generate_ratings(options, 1);
    CHECK(distmf::testing::read_text(options.out) != expected);
    CHECK(folder_entries(dir.path()).size() == 2);
}

TEST_CASE("generate_ratings into a missing folder throws InputError and leaves nothing",
          "[generate]") {
    const TempDir dir;
    GenerateConfig options = small_config();
    options.out = dir.file("no-such-folder/out.tsv");
    CHECK_THROWS_AS(distmf::generate_ratings(options, 1), distmf::InputError);
    CHECK_THROWS_WITH(distmf::generate_ratings(options, 1), Contains(options.out));
    CHECK_FALSE(distmf::testing::exists(options.out));
    CHECK_FALSE(distmf::testing::exists(distmf::temporary_path_for(options.out)));
    CHECK(folder_entries(dir.path()).empty());
}

TEST_CASE("AtomicFile removes its temporary file unless committed", "[generate]") {
    const TempDir dir;
    const std::string path = dir.file("a.txt");
    {
        distmf::AtomicFile file(path);
        file.write("partial");
        CHECK(distmf::testing::exists(distmf::temporary_path_for(path)));
    }
    CHECK(folder_entries(dir.path()).empty());
    {
        distmf::AtomicFile file(path);
        file.write("complete\n");
        file.commit();
    }
    CHECK(distmf::testing::read_text(path) == "complete\n");
    CHECK(folder_entries(dir.path()) == std::vector<std::string>{"a.txt"});
}
