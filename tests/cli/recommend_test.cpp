// Implicit feedback and serving through the real binary: implicit ALS on generated implicit
// data beats the popularity ranking (matrix factorization is not only for explicit ratings),
// `recommend` never returns seen items and writes the same file for 1, 2 and 4 ranks, fold-in
// reproduces a trained user's recommendations, unknown IDs are reported, `predict` works, bad
// options are agreed errors, and Last.fm 2K meets its accuracy goal (with DISTMF_DATA_DIR).
#include <algorithm>
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::cli_rank_counts;
using distmf::testing::CommandResult;
using distmf::testing::expect_agreed_error;
using distmf::testing::lines_of;
using distmf::testing::number_after;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// Options for the generated data (implicit ALS unless `implicit` is false).
std::vector<std::string> model_options(bool implicit) {
    std::vector<std::string> options{"--model.rank",           "6",     "--model.lambda", "2",
                                     "--model.regularization", "plain", "--ials.alpha",   "3"};
    if (implicit)
        options.insert(options.end(), {"--model.algorithm", "ials", "--model.biases", "false"});
    return options;
}

CommandResult run_ok(int ranks, const std::vector<std::string>& args) {
    const CommandResult result = run_distmf(ranks, args);
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    return result;
}

/// Writes the generated interactions to `dir`/interactions.tsv and trains on all of them.
struct Trained {
    std::string data;
    std::string model;
};

Trained train_implicit(const TempDir& dir, const std::vector<std::string>& extra = {},
                       bool implicit = true) {
    Trained trained{dir.file("interactions.tsv"), dir.file("model.h5")};
    write_text(trained.data, distmf::testing::implicit_interactions(300, 200, 4, 25, 7));
    std::vector<std::string> args{"train", "--data.train", trained.data, "--output.model",
                                  trained.model};
    for (const std::string& option : model_options(implicit)) args.push_back(option);
    for (const std::string& option : extra) args.push_back(option);
    if (std::find(extra.begin(), extra.end(), "--train.iterations") == extra.end()) {
        args.insert(args.end(), {"--train.iterations", "8"});
    }
    run_ok(2, args);
    return trained;
}

/// (user, item) pairs of a TSV data file.
std::set<std::pair<std::string, std::string>> pairs_of(const std::string& path) {
    std::set<std::pair<std::string, std::string>> pairs;
    for (const std::string& line : lines_of(read_text(path))) {
        std::istringstream fields(line);
        std::string user;
        std::string item;
        fields >> user >> item;
        pairs.insert({user, item});
    }
    return pairs;
}

/// One output row of `recommend`, split at commas.
std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    return fields;
}

/// NDCG@10 and P@10 of a model and of the popularity ranking.
struct Comparison {
    double ndcg = 0.0;
    double precision = 0.0;
    double auc = 0.0;
    double popular_ndcg = 0.0;
    double popular_precision = 0.0;
    double popular_auc = 0.0;
};

/// `distmf evaluate` of `model` and `--baseline popularity` on the held-out part of the per-user
/// 20 % split of `data` (seed 42), printed under `name`.
Comparison model_vs_popularity(const std::string& name, const std::string& model,
                               const std::string& data) {
    std::vector<std::string> evaluate{
        "evaluate", "--model",      model,      "--data.train",
        data,       "--data.split", "per-user", "--data.test-fraction",
        "0.2",      "--data.seed",  "42"};
    const CommandResult ranked = run_ok(2, evaluate);
    evaluate.insert(evaluate.end(), {"--baseline", "popularity"});
    const CommandResult popular = run_ok(1, evaluate);
    const auto figure = [](const CommandResult& result, const std::string& label) {
        return number_after(result.out, "P@10 ", label);
    };
    const Comparison c{figure(ranked, "NDCG@10 "), figure(ranked, "P@10 "),
                       figure(ranked, "AUC "),     figure(popular, "NDCG@10 "),
                       figure(popular, "P@10 "),   figure(popular, "AUC ")};
    std::cout << name << ": NDCG@10 " << c.ndcg << ", P@10 " << c.precision
              << "; popularity NDCG@10 " << c.popular_ndcg << ", P@10 " << c.popular_precision
              << std::endl;
    return c;
}

}  // namespace

TEST_CASE("implicit ALS on implicit data clearly beats the popularity ranking", "[cli][implicit]") {
    const TempDir dir;
    const Trained trained =
        train_implicit(dir, {"--data.split", "per-user", "--data.test-fraction", "0.2"});
    const Comparison c =
        model_vs_popularity("generated implicit data", trained.model, trained.data);
    CHECK(c.ndcg > 1.3 * c.popular_ndcg);
    CHECK(c.precision > 1.3 * c.popular_precision);
    CHECK(c.auc > c.popular_auc);
}

TEST_CASE("recommend --all-users: complete, never a seen item, the same file for any P",
          "[cli][recommend]") {
    const TempDir dir;
    const Trained trained = train_implicit(dir);
    const auto seen = pairs_of(trained.data);
    std::set<std::string> users;
    for (const auto& [user, item] : seen) users.insert(user);
    std::string first_output;
    for (const int ranks : cli_rank_counts) {
        const std::string out = dir.file("all-" + std::to_string(ranks) + ".csv");
        run_ok(ranks,
               {"recommend", "--model", trained.model, "--all-users", "--top", "7", "--out", out});
        const std::string text = read_text(out);
        if (first_output.empty()) first_output = text;
        CHECK(text == first_output);
        CHECK_FALSE(distmf::testing::exists(out + ".tmp"));
    }
    const std::vector<std::string> lines = lines_of(first_output);
    REQUIRE(lines.size() == 1 + 7 * users.size());
    CHECK(lines.front() == "user,rank,item,score,source");
    std::map<std::string, int> per_user;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::vector<std::string> fields = fields_of(lines[i]);
        REQUIRE(fields.size() == 5);
        CHECK(seen.count({fields[0], fields[2]}) == 0);  // never an item the user has
        CHECK(fields[4] == "model");
        CHECK(std::stoi(fields[1]) == ++per_user[fields[0]]);  // ranks 1..7 in order
    }
    CHECK(per_user.size() == users.size());
}

TEST_CASE("fold-in of a user in the model reproduces its recommendations", "[cli][recommend]") {
    const TempDir dir;
    bool implicit = true;
    SECTION("implicit ALS") {}
    SECTION("explicit ALS with biases (the interaction counts as ratings)") { implicit = false; }
    const Trained trained = train_implicit(dir, {"--train.iterations", "25"}, implicit);
    // User 5's interactions, as they are in the training data, under its own ID and a new one.
    std::string own;
    std::string renamed;
    for (const std::string& line : lines_of(read_text(trained.data))) {
        if (line.rfind("5\t", 0) != 0) continue;
        own += line + "\n";
        renamed += "900005" + line.substr(1) + "\n";
    }
    write_text(dir.file("own.tsv"), own);
    write_text(dir.file("renamed.tsv"), renamed);
    const auto top = [&](int n, const std::vector<std::string>& extra) {
        std::vector<std::string> args{"recommend", "--model", trained.model, "--top",
                                      std::to_string(n)};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<std::vector<std::string>> rows;
        for (const std::string& line : lines_of(run_ok(2, args).out)) {
            rows.push_back(fields_of(line));
        }
        REQUIRE(rows.size() == static_cast<std::size_t>(n) + 1);
        return std::vector<std::vector<std::string>>(rows.begin() + 1, rows.end());
    };
    // The trained factors were solved against the previous iteration's item factors, the
    // folded ones against the final ones: the scores agree to tolerance, and close scores may
    // swap places, so the folded top 10 must be among the trained top 20 with the same scores.
    const auto trained_top = top(20, {"--user", "5"});
    const auto folded_own = top(10, {"--user", "5", "--fold-in", dir.file("own.tsv")});
    const auto folded_new = top(10, {"--fold-in", dir.file("renamed.tsv")});
    std::map<std::string, double> trained_scores;
    for (const auto& row : trained_top) {
        CHECK(row[4] == "model");
        trained_scores[row[2]] = std::stod(row[3]);
    }
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(folded_own[i][4] == "fold-in");
        CHECK(folded_new[i][0] == "900005");
        CHECK(folded_new[i][4] == "fold-in");
        CHECK(folded_new[i] == std::vector<std::string>{"900005", folded_own[i][1],
                                                        folded_own[i][2], folded_own[i][3],
                                                        "fold-in"});
        INFO("item " << folded_own[i][2]);
        REQUIRE(trained_scores.count(folded_own[i][2]) == 1);
        CHECK(std::stod(folded_own[i][3]) ==
              Approx(trained_scores[folded_own[i][2]]).epsilon(0.03).margin(0.01));
    }
    CHECK(folded_own[0][2] == trained_top[0][2]);
}

TEST_CASE("recommend and predict report unknown IDs clearly", "[cli][recommend][predict]") {
    const TempDir dir;
    const Trained trained = train_implicit(dir);
    const CommandResult unknown =
        run_ok(2, {"recommend", "--model", trained.model, "--user", "777777", "--top", "3"});
    CHECK(unknown.err.find("user") != std::string::npos);
    CHECK(unknown.err.find("777777") != std::string::npos);
    CHECK(unknown.err.find("not in the model") != std::string::npos);
    const std::vector<std::string> lines = lines_of(unknown.out);
    REQUIRE(lines.size() == 4);
    for (std::size_t i = 1; i < lines.size(); ++i) CHECK(fields_of(lines[i])[4] == "popularity");

    write_text(dir.file("pairs.txt"), "5 1\n777777 1\n5 999999\n");
    const CommandResult predicted =
        run_ok(2, {"predict", "--model", trained.model, "--pairs", dir.file("pairs.txt"),
                   "--format", "tsv", "--data.delimiter", "space"});
    const std::vector<std::string> rows = lines_of(predicted.out);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] == "user\titem\tprediction\tnote");
    CHECK(rows[1].rfind("5\t1\t", 0) == 0);
    CHECK(rows[1].back() == '\t');  // known: no note
    CHECK(rows[2] == "777777\t1\t0\tunknown user");
    CHECK(rows[3] == "5\t999999\t0\tunknown item");
    CHECK(predicted.err.find("2 of the pairs have a user or item that is not in the model") !=
          std::string::npos);
}

TEST_CASE("bad implicit, evaluation and serving options are agreed errors naming the option",
          "[cli][implicit][recommend]") {
    const TempDir dir;
    const std::string data = dir.file("data.tsv");
    write_text(data, "1\t1\t3\n1\t2\t1\n2\t1\t5\n");
    const std::vector<std::string> train{"train", "--data.train", data, "--model.algorithm",
                                         "ials"};
    expect_agreed_error(train, {"--model.biases", "no biases"});
    auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
        args.insert(args.end(), more.begin(), more.end());
        return args;
    };
    expect_agreed_error(with(train, {"--model.biases", "false", "--ials.alpha", "-1"}),
                        {"--ials.alpha"});
    expect_agreed_error(with(train, {"--model.biases", "false", "--ials.cg-steps", "0"}),
                        {"--ials.cg-steps"});
    expect_agreed_error(with(train, {"--model.biases", "false", "--ials.solver", "lu"}),
                        {"ials.solver", "cg|cholesky"});
    expect_agreed_error({"train", "--data.train", data, "--data.split", "per-user"},
                        {"--data.split", "--data.test-fraction"});
    expect_agreed_error({"train", "--data.train", data, "--eval.k", "0"}, {"--eval.k"});
    expect_agreed_error({"recommend", "--model", dir.file("m.h5")}, {"--user", "--all-users"});
    expect_agreed_error({"recommend", "--model", dir.file("m.h5"), "--user", "1", "--all-users"},
                        {"--user"});
    expect_agreed_error({"recommend", "--model", dir.file("m.h5"), "--all-users", "--top", "0"},
                        {"--top"});
    expect_agreed_error({"predict", "--model", dir.file("m.h5")}, {"--pairs"});
    expect_agreed_error(
        {"evaluate", "--model", dir.file("m.h5"), "--data.test", data, "--baseline", "random"},
        {"baseline", "none|popularity"});
}

TEST_CASE("accuracy: Last.fm 2K, per-user 20 % hold-out, implicit ALS vs popularity",
          "[cli][real-data][accuracy][implicit]") {
    const auto folder = distmf::testing::data_dir();
    if (!folder) {
        std::cout << distmf::testing::skip_message("Last.fm 2K implicit accuracy") << std::endl;
        return;
    }
    const TempDir dir;
    const std::string data = *folder + "/hetrec-lastfm-2k/user_artists.dat";
    const std::string model = dir.file("lastfm.h5");
    run_ok(2, {"train", "--config", distmf::testing::source_dir() + "/configs/lastfm-implicit.ini",
               "--data.train", data, "--output.model", model, "--output.metrics",
               dir.file("lastfm.jsonl")});
    const Comparison c = model_vs_popularity("Last.fm 2K, implicit ALS", model, data);
    CHECK(c.ndcg >= 1.5 * c.popular_ndcg);
    CHECK(c.precision >= 1.5 * c.popular_precision);
}
