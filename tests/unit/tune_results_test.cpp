// The results of a `distmf tune` search: the result lines read back exactly, the search-state
// file refuses damage and other searches, and the CSV and JSON-lines tables.
#include "distmf/tune_results.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "distmf/error.hpp"

using distmf::CandidateResult;
using distmf::Setting;

namespace {

CandidateResult sample_result() {
    CandidateResult r;
    r.candidate = 7;
    r.bracket = 1;
    r.rung = 2;
    r.iterations = 9;
    r.best_iteration = 6;
    r.value = 0.91234567890123456;
    r.seconds = 1.25;
    r.curve = {{3, 0.95}, {6, r.value}, {9, 0.9125}};
    r.status = "promoted";
    return r;
}

}  // namespace

TEST_CASE("serialize_result and parse_result round-trip exactly", "[tune]") {
    const CandidateResult r = sample_result();
    const CandidateResult back = distmf::parse_result(distmf::serialize_result(r), "test");
    CHECK(back.candidate == r.candidate);
    CHECK(back.bracket == r.bracket);
    CHECK(back.rung == r.rung);
    CHECK(back.iterations == r.iterations);
    CHECK(back.best_iteration == r.best_iteration);
    CHECK(back.value == r.value);  // bitwise: %.17g
    CHECK(back.status == r.status);
    REQUIRE(back.curve.size() == 3);
    CHECK(back.curve[2].value == 0.9125);
    CandidateResult hopeless;
    hopeless.hopeless = true;  // NaN value, no curve
    const CandidateResult nan_back = distmf::parse_result(distmf::serialize_result(hopeless), "t");
    CHECK(std::isnan(nan_back.value));
    CHECK(nan_back.hopeless);
    CHECK_THROWS_AS(distmf::parse_result("7 1 2 x", "t"), distmf::InputError);
    CHECK_THROWS_AS(distmf::parse_result(distmf::serialize_result(r) + " 5", "t"),
                    distmf::InputError);
}

TEST_CASE("the search state reads back, and refuses damage and other searches", "[tune]") {
    const std::vector<CandidateResult> results{sample_result(), sample_result()};
    const std::string text = distmf::search_state_text(0x1234, results);
    CHECK(distmf::parse_search_state(text, "s.txt", 0x1234).size() == 2);
    CHECK(distmf::parse_search_state(distmf::search_state_text(0x1234, {}), "s", 0x1234).empty());
    CHECK_THROWS_WITH(distmf::parse_search_state(text, "s.txt", 0x9999),
                      Catch::Contains("s.txt") && Catch::Contains("another search"));
    CHECK_THROWS_WITH(distmf::parse_search_state("PK\x03\x04 zip", "s.txt", 0x1234),
                      Catch::Contains("not a distmf tune search state"));
    // any one byte flipped is found
    for (std::size_t at = 0; at < text.size(); ++at) {
        std::string damaged = text;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
        CHECK_THROWS_AS(distmf::parse_search_state(damaged, "s.txt", 0x1234), distmf::Error);
    }
    CHECK_THROWS_WITH(distmf::parse_search_state(text.substr(0, text.size() / 2), "s.txt", 0x1234),
                      Catch::Contains("damaged"));
}

TEST_CASE("results tables: JSON lines with curves, CSV with one column per option", "[tune]") {
    CandidateResult r = sample_result();
    const std::vector<std::vector<Setting>> settings(
        8, std::vector<Setting>{{"model.rank", "32"}, {"model.algorithm", "als"}});
    const std::string jsonl =
        distmf::results_jsonl(std::vector<CandidateResult>{r}, settings, "rmse");
    CHECK(jsonl.find("\"candidate\": 7") != std::string::npos);
    CHECK(jsonl.find("\"settings\": {\"model.rank\": \"32\", \"model.algorithm\": \"als\"}") !=
          std::string::npos);
    CHECK(jsonl.find("\"curve\": [[3, 0.94999999999999996], [6, ") != std::string::npos);
    CHECK(jsonl.find("\"status\": \"promoted\"") != std::string::npos);
    CHECK(jsonl.back() == '\n');
    r.value = std::numeric_limits<double>::quiet_NaN();
    CHECK(distmf::results_jsonl(std::vector<CandidateResult>{r}, settings, "rmse")
              .find("\"value\": null") != std::string::npos);
    const std::string csv =
        distmf::results_csv(std::vector<CandidateResult>{sample_result()}, settings,
                            {"model.rank", "model.algorithm"}, "rmse");
    CHECK(csv ==
          "candidate,bracket,rung,iterations,best_iteration,metric,value,status,seconds,"
          "model.rank,model.algorithm\n"
          "7,1,2,9,6,rmse,0.91234567890123452,promoted,1.250,32,als\n");
}
