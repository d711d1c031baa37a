// Checkpoint file names (the only record of a checkpoint's place in a run that resume reads
// before opening a file) and the row checksum that lets any rank count verify a file.
#include "distmf/checkpoint.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distmf/model_io.hpp"

using distmf::checkpoint_file_name;
using distmf::CheckpointName;
using distmf::parse_checkpoint_file_name;

TEST_CASE("checkpoint_file_name: six-digit iteration, +u after a user half-sweep", "[checkpoint]") {
    CHECK(checkpoint_file_name({12, false}) == "checkpoint-000012.h5");
    CHECK(checkpoint_file_name({12, true}) == "checkpoint-000012+u.h5");
    CHECK(checkpoint_file_name({0, false}) == "checkpoint-000000.h5");
    CHECK(checkpoint_file_name({1234567, false}) == "checkpoint-1234567.h5");  // widens
}

TEST_CASE("parse_checkpoint_file_name inverts checkpoint_file_name", "[checkpoint]") {
    for (const std::int64_t iteration :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{12}, std::int64_t{999999},
          std::int64_t{1000000}, std::int64_t{999999999999999}}) {
        for (const bool users_half_done : {false, true}) {
            const std::string name = checkpoint_file_name({iteration, users_half_done});
            INFO(name);
            const std::optional<CheckpointName> parsed = parse_checkpoint_file_name(name);
            REQUIRE(parsed.has_value());
            CHECK(parsed->iteration == iteration);
            CHECK(parsed->users_half_done == users_half_done);
        }
    }
}

TEST_CASE("parse_checkpoint_file_name rejects everything but canonical names", "[checkpoint]") {
    const std::vector<std::string> rejected{
        "checkpoint-12.h5",                // not six digits
        "checkpoint-0000012.h5",           // seven digits with a leading zero: not canonical
        "checkpoint-000012.h5.tmp",        // a checkpoint being written
        "checkpoint-000012+u.h5.tmp",      //
        "foo.h5",                          //
        "checkpoint-000012+x.h5",          // unknown marker
        "checkpoint-000012+u+u.h5",        //
        "checkpoint-000012u.h5",           //
        "checkpoint-+u.h5",                // no iteration
        "checkpoint-.h5",                  //
        "checkpoint-",                     //
        "checkpoint-000012",               // no suffix
        "checkpoint-000012.H5",            // case matters
        "Checkpoint-000012.h5",            //
        "checkpoint--00012.h5",            // sign
        "checkpoint-+00012.h5",            //
        "checkpoint- 00012.h5",            // blank
        "checkpoint-0x0012.h5",            // not decimal
        "checkpoint-9999999999999999.h5",  // 16 digits: more than any run reaches
        "dir/checkpoint-000012.h5",        // a file name, not a path
        "",
    };
    for (const std::string& name : rejected) {
        INFO("'" << name << "'");
        CHECK_FALSE(parse_checkpoint_file_name(name).has_value());
    }
}

TEST_CASE("rows_checksum: the sum over any split of the rows is the checksum of all rows",
          "[checkpoint]") {
    // Each rank writes (and adds up) the checksum of its own rows, so a file written by 4
    // ranks must verify when read by 1.
    std::vector<float> values(7 * 3);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.25F * static_cast<float>(i);
    const std::int64_t row_bytes = 3 * static_cast<std::int64_t>(sizeof(float));
    const std::uint64_t whole = distmf::rows_checksum(values.data(), 0, 7, row_bytes);
    const std::uint64_t split = distmf::rows_checksum(values.data(), 0, 2, row_bytes) +
                                distmf::rows_checksum(values.data() + 6, 2, 0, row_bytes) +
                                distmf::rows_checksum(values.data() + 6, 2, 5, row_bytes);
    CHECK(split == whole);
    // It depends on where a row is and on every byte of it.
    std::vector<float> swapped = values;
    std::swap(swapped[0], swapped[3]);
    std::swap(swapped[1], swapped[4]);
    std::swap(swapped[2], swapped[5]);
    CHECK(distmf::rows_checksum(swapped.data(), 0, 7, row_bytes) != whole);
    std::vector<float> flipped = values;
    flipped[10] = -flipped[10];
    CHECK(distmf::rows_checksum(flipped.data(), 0, 7, row_bytes) != whole);
}

TEST_CASE("checkpoint names inside a DSGD epoch: +s<sub-epochs done>", "[checkpoint]") {
    CHECK(checkpoint_file_name({12, false, 3}) == "checkpoint-000012+s3.h5");
    CHECK(checkpoint_file_name({0, false, 1}) == "checkpoint-000000+s1.h5");
    for (const std::int64_t sub_epochs : {std::int64_t{1}, std::int64_t{7}, std::int64_t{123}}) {
        const std::string name = checkpoint_file_name({5, false, sub_epochs});
        const std::optional<CheckpointName> parsed = parse_checkpoint_file_name(name);
        REQUIRE(parsed.has_value());
        CHECK(parsed->iteration == 5);
        CHECK_FALSE(parsed->users_half_done);
        CHECK(parsed->sub_epochs_done == sub_epochs);
    }
    for (const char* rejected :
         {"checkpoint-000012+s0.h5", "checkpoint-000012+s.h5", "checkpoint-000012+s03.h5",
          "checkpoint-000012+s3+u.h5", "checkpoint-000012+u+s3.h5", "checkpoint-000012+s-3.h5",
          "checkpoint-+s3.h5"}) {
        INFO(rejected);
        CHECK_FALSE(parse_checkpoint_file_name(rejected).has_value());
    }
    // Order within a run: after the whole iteration, then further sub-epochs of the next.
    CHECK(distmf::is_later({12, false, 2}, {12, false, 1}));
    CHECK(distmf::is_later({12, false, 1}, {12, false, 0}));
    CHECK(distmf::is_later({13, false, 0}, {12, false, 3}));
    CHECK_FALSE(distmf::is_later({12, false, 1}, {12, false, 1}));
    CHECK(distmf::same_place({12, false, 1}, {12, false, 1}));
    CHECK_FALSE(distmf::same_place({12, false, 1}, {12, true, 0}));
}

TEST_CASE("set-aside names: <name>.<suffix>, then <name>.<copy>.<suffix> - recognized exactly",
          "[checkpoint]") {
    using distmf::is_set_aside_file_name;
    using distmf::set_aside_file_name;
    CHECK(set_aside_file_name("checkpoint-000012.h5", "unusable", 1) ==
          "checkpoint-000012.h5.unusable");
    CHECK(set_aside_file_name("checkpoint-000012+u.h5", "old", 3) ==
          "checkpoint-000012+u.h5.3.old");
    for (const char* name :
         {"checkpoint-000012.h5.unusable", "checkpoint-000012+s3.h5.unusable",
          "checkpoint-000012.h5.2.unusable", "checkpoint-000012.h5.17.unusable"}) {
        INFO(name);
        CHECK(is_set_aside_file_name(name, "unusable"));
        CHECK_FALSE(is_set_aside_file_name(name, "old"));
    }
    for (const char* name :
         {"checkpoint-000012.h5", "checkpoint-000012.h5.unusable.tmp", "checkpoint-12.h5.unusable",
          "checkpoint-000012.h5.1.unusable", "checkpoint-000012.h5.x.unusable", "model.h5.unusable",
          ".unusable", "checkpoint-000012.h5.old"}) {
        INFO(name);
        CHECK_FALSE(is_set_aside_file_name(name, "unusable"));
    }
    CHECK(is_set_aside_file_name("checkpoint-000012.h5.old", "old"));
    // The name no checkpoint parser takes: set aside files are never resumed from.
    CHECK_FALSE(parse_checkpoint_file_name("checkpoint-000012.h5.unusable").has_value());
}
