#include <catch2/catch.hpp>

#include "test_support.hpp"

using distmf::testing::run_distmf;

TEST_CASE("distmf --help lists the commands and exits 0", "[cli]") {
    const auto result = run_distmf(0, {"--help"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("data") != std::string::npos);
    CHECK(result.out.find("generate") != std::string::npos);
}

TEST_CASE("every command has --help", "[cli]") {
    for (const char* command : {"data", "generate"}) {
        const auto result = run_distmf(1, {command, "--help"});
        INFO(command << ": " << result.err);
        CHECK(result.exit_code == 0);
        CHECK(result.out.find("Usage:") != std::string::npos);
    }
}

TEST_CASE("an unknown command is an error naming it", "[cli]") {
    const auto result = run_distmf(0, {"tarin"});
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("unknown command 'tarin'") != std::string::npos);
}
