#include "train_runs.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "cli_support.hpp"

namespace distmf::testing {

SplitData generate_split(const TempDir& dir, const std::vector<std::string>& options) {
    const std::string all = dir.file("all.tsv");
    std::vector<std::string> args{"generate", "--out", all};
    args.insert(args.end(), options.begin(), options.end());
    const CommandResult generated = run_distmf(0, args);
    INFO(generated.out << generated.err);
    REQUIRE(generated.exit_code == 0);
    SplitData data{dir.file("train.tsv"), dir.file("test.tsv"), {}, {}};
    std::string train_text;
    std::string test_text;
    int number = 0;
    for (const std::string& line : lines_of(read_text(all))) {
        ((++number % 10 == 3) ? test_text : train_text) += line + "\n";
        std::istringstream fields(line);
        std::string user;
        std::string item;
        fields >> user >> item;
        data.users.insert(user);
        data.items.insert(item);
    }
    REQUIRE(number > 0);
    write_text(data.train, train_text);
    write_text(data.test, test_text);
    return data;
}

SplitData generate_main(const TempDir& dir) {
    return generate_split(dir, {"--users", "400", "--items", "300", "--ratings", "20000", "--rank",
                                "4", "--noise", "0.3", "--seed", "3"});
}

std::vector<std::string> train_args(const SplitData& data, int iterations) {
    return {"train",
            "--data.train=" + data.train,
            "--data.test=" + data.test,
            "--train.iterations=" + std::to_string(iterations),
            "--model.rank=4",
            "--train.threads=1"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

}  // namespace distmf::testing
