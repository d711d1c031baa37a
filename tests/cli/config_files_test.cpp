// Config files end to end: `--print-config` prints INI text that `--config` reads back to the
// same configuration, the command line wins over the file, and every example in configs/
// parses with the command its first line names.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// `distmf <args...> --print-config` with one rank; requires success and returns the text.
std::string print_config(std::vector<std::string> args) {
    args.emplace_back("--print-config");
    const CommandResult result = run_distmf(1, args);
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    REQUIRE(!result.out.empty());
    return result.out;
}

/// Checks that `distmf <command> <options...> --print-config`, saved and read back with
/// --config, prints the same text; returns that text.
std::string check_round_trip(const std::string& command, const std::vector<std::string>& options) {
    const TempDir dir;
    std::vector<std::string> args{command};
    args.insert(args.end(), options.begin(), options.end());
    const std::string printed = print_config(args);
    const std::string saved = dir.file("effective.ini");
    write_text(saved, printed);
    INFO(printed);
    CHECK(print_config({command, "--config", saved}) == printed);
    return printed;
}

/// The command a configs/ file is for: the first line "# distmf <command>", else "train".
std::string command_of(const std::string& path) {
    const std::vector<std::string> lines = lines_of(read_text(path));
    std::istringstream first_line(lines.empty() ? std::string() : lines.front());
    std::string hash;
    std::string program;
    std::string command;
    first_line >> hash >> program >> command;
    if (hash != "#" || program != "distmf" || command.empty()) return "train";
    command.erase(std::remove(command.begin(), command.end(), ':'), command.end());
    return command;
}

}  // namespace

TEST_CASE("config: data's --print-config read back with --config prints the same",
          "[cli][config]") {
    const std::string printed = check_round_trip(
        "data", {"--data.train", "ratings with spaces.csv", "--data.test-fraction", "0.1",
                 "--data.format", "csv", "--data.header", "true", "--data.seed", "7",
                 "--data.duplicates", "mean", "--data.delimiter", ";"});
    CHECK(printed.rfind("# distmf data: effective configuration\n", 0) == 0);
    CHECK(printed.find("\n[data]\n") != std::string::npos);
    CHECK(printed.find("\ntrain = ratings with spaces.csv\n") != std::string::npos);
    CHECK(printed.find("\nduplicates = mean\n") != std::string::npos);
    CHECK(printed.find("\ntest-fraction = 0.1\n") != std::string::npos);  // not 0.1000...01
}

TEST_CASE("config: a blank delimiter survives --print-config and --config", "[cli][config]") {
    // INI values lose their leading and trailing blanks.
    const std::string tab =
        check_round_trip("data", {"--data.train", "ratings.txt", "--data.delimiter", "\t"});
    CHECK(tab.find("\ndelimiter = tab\n") != std::string::npos);
    const std::string space =
        check_round_trip("data", {"--data.train", "ratings.txt", "--data.delimiter", " "});
    CHECK(space.find("\ndelimiter = space\n") != std::string::npos);
}

TEST_CASE("config: generate's --print-config read back with --config prints the same",
          "[cli][config]") {
    const std::string printed = check_round_trip(
        "generate", {"--users", "123", "--items", "45", "--ratings", "678", "--rank", "3",
                     "--noise", "0.25", "--seed", "99", "--out", "out/synthetic.tsv",
                     "--min-rating", "0.5", "--max-rating", "10"});
    CHECK(printed.rfind("# distmf generate: effective configuration\n", 0) == 0);
    CHECK(printed.find("\nnoise = 0.25\n") != std::string::npos);
}

TEST_CASE("config: train's --print-config read back with --config prints the same",
          "[cli][config]") {
    std::vector<std::string> options{"--data.train",     "train.tsv",        "--data.test",
                                     "test.tsv",         "--output.model",   "out/model.h5",
                                     "--output.metrics", "out/metrics.jsonl"};
    for (const char* option :
         {"--model.rank=7", "--model.lambda=0.125", "--model.bias-lambda=0.5",
          "--model.regularization=plain", "--model.biases=false", "--train.iterations=12",
          "--train.seed=99", "--train.threads=2", "--train.patience=3"}) {
        options.emplace_back(option);
    }
    const std::string printed = check_round_trip("train", options);
    CHECK(printed.rfind("# distmf train: effective configuration\n", 0) == 0);
    for (const char* expected :
         {"\n[model]\n", "\nrank = 7\n", "\nlambda = 0.125\n", "\nregularization = plain\n",
          "\nbiases = false\n", "\n[train]\n", "\niterations = 12\n", "\npatience = 3\n",
          "\n[output]\n", "\nmodel = out/model.h5\n", "\nmetrics = out/metrics.jsonl\n"}) {
        INFO(expected);
        CHECK(printed.find(expected) != std::string::npos);
    }
}

TEST_CASE("config: the command line wins over the config file", "[cli][config]") {
    const TempDir dir;
    const std::string config = dir.file("run.ini");
    write_text(config, "[data]\ntrain = from-file.tsv\nseed = 7\n");
    const std::string printed = print_config({"data", "--config", config, "--data.seed", "8"});
    CHECK(printed.find("\ntrain = from-file.tsv\n") != std::string::npos);
    CHECK(printed.find("\nseed = 8\n") != std::string::npos);
}

TEST_CASE("config: every configs/*.ini parses with the command it names", "[cli][config]") {
    const std::filesystem::path folder = distmf::testing::source_dir() + "/configs";
    std::vector<std::string> files;
    if (std::filesystem::is_directory(folder)) {
        for (const auto& entry : std::filesystem::directory_iterator(folder)) {
            // configs/tune-*.ini are search spaces, not configurations: search_space_test
            // reads every one of them.
            const bool space = entry.path().filename().string().rfind("tune-", 0) == 0;
            if (entry.path().extension() == ".ini" && !space) {
                files.push_back(entry.path().string());
            }
        }
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
        const std::string command = command_of(file);
        INFO(file << " (distmf " << command << ")");
        const std::string printed = print_config({command, "--config", file});
        CHECK(printed.rfind("# distmf " + command + ": effective configuration\n", 0) == 0);
    }
}

TEST_CASE("config: --data.test on the command line replaces the file's test-fraction",
          "[cli][config]") {
    const TempDir dir;
    std::string ratings;
    for (int user = 1; user <= 8; ++user) {
        for (int item = 1; item <= 6; ++item) {
            ratings += std::to_string(user) + "\t" + std::to_string(item) + "\t" +
                       std::to_string((user + item) % 5 + 1) + "\n";
        }
    }
    write_text(dir.file("train.tsv"), ratings);
    write_text(dir.file("test.tsv"), "1\t1\t3\n2\t2\t4\n");
    const std::string config = dir.file("run.ini");
    write_text(config, "[data]\ntrain = " + dir.file("train.tsv") +
                           "\ntest-fraction = 0.2\nsplit = per-user\n");
    const std::vector<std::string> args{"data", "--config", config, "--data.test",
                                        dir.file("test.tsv")};
    const CommandResult result = distmf::testing::run_ok(2, args);
    CHECK(result.out.find("(train 48, test 2)") != std::string::npos);  // the test file
    const std::vector<std::string> warnings = distmf::testing::distmf_messages(result.err);
    CHECK(warnings ==
          std::vector<std::string>{
              "distmf: warning: config file '" + config +
                  "', line 3: test-fraction = 0.2 ignored: --data.test on the command line "
                  "replaces it",
              "distmf: warning: config file '" + config +
                  "', line 4: split = per-user ignored: --data.test on the command line "
                  "replaces it"});
    const std::string printed = print_config(args);
    CHECK(printed.find("\ntest-fraction = 0\n") != std::string::npos);
    CHECK(printed.find("\nsplit = hash\n") != std::string::npos);
}

TEST_CASE("config: a file starting with a UTF-8 byte order mark reads as without it",
          "[cli][config]") {
    const TempDir dir;
    const std::string text = "[data]\ntrain = ratings.tsv\nseed = 5\n";
    write_text(dir.file("plain.ini"), text);
    write_text(dir.file("bom.ini"), "\xEF\xBB\xBF" + text);
    CHECK(print_config({"data", "--config", dir.file("bom.ini")}) ==
          print_config({"data", "--config", dir.file("plain.ini")}));
}
