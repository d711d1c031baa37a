// The parsed-data cache's key (data_cache.hpp): what invalidates a cache, and how the reason
// is worded. The cache's reading and writing are tested under MPI and through the CLI.
#include "distmf/data_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "distmf/error.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using distmf::DataConfig;
using distmf::testing::TempDir;
using distmf::testing::write_text;

namespace {

/// Sets the modification time of `path` (seconds and nanoseconds).
void set_mtime(const std::string& path, const timespec& when) {
    const timespec times[2] = {when, when};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

timespec mtime_of(const std::string& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mtim;
}

}  // namespace

TEST_CASE("data cache key: every change of a source file is seen", "[data_cache]") {
    const TempDir dir;
    DataConfig options;
    options.train = dir.file("ratings.tsv");
    write_text(options.train, "1\t2\t3\n4\t5\t6\n");
    const timespec original = mtime_of(options.train);
    const std::string key = distmf::data_cache_key(options);
    CHECK(distmf::data_cache_key(options) == key);  // the same file: the same key
    CHECK(distmf::describe_key_change(key, key).empty());

    SECTION("content changed, same size, same modification time: the sampled checksum") {
        write_text(options.train, "1\t2\t3\n4\t5\t7\n");
        set_mtime(options.train, original);
        CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
                   StartsWith("data.train.sampled_checksum changed"));
    }
    SECTION("modification time changed (by a nanosecond), same content") {
        timespec later = original;
        later.tv_nsec = (later.tv_nsec + 1) % 1000000000;
        set_mtime(options.train, later);
        CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
                   StartsWith("data.train.mtime_ns changed"));
    }
    SECTION("size changed") {
        write_text(options.train, "1\t2\t3\n4\t5\t6\n7\t8\t9\n");
        set_mtime(options.train, original);
        CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
                   StartsWith("data.train.size changed (was 12, now 18)"));
    }
    SECTION("another file") {
        options.train = dir.file("other.tsv");
        write_text(options.train, "1\t2\t3\n4\t5\t6\n");
        CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
                   StartsWith("data.train.path changed"));
    }
    SECTION("a test file added") {
        options.test = dir.file("test.tsv");
        write_text(options.test, "1\t2\t3\n");
        CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
                   StartsWith("data.test.path changed (was (none), now "));
    }
    SECTION("a missing file is an InputError naming it") {
        options.train = dir.file("missing.tsv");
        CHECK_THROWS_WITH(distmf::data_cache_key(options), Contains("missing.tsv"));
    }
}

TEST_CASE("data cache key: a large file is sampled, and a change in a sample is seen",
          "[data_cache]") {
    const TempDir dir;
    DataConfig options;
    options.train = dir.file("large.tsv");
    std::string text;
    for (int n = 0; text.size() < (std::size_t{9} << 20); ++n) {  // 9 MiB: sampled, not whole
        text += std::to_string(n % 5000) + "\t" + std::to_string(n % 777) + "\t3.5\n";
    }
    write_text(options.train, text);
    const timespec original = mtime_of(options.train);
    const std::string key = distmf::data_cache_key(options);
    text[text.size() - 3] = '7';  // "3.5" -> "3.7" on the last line: in the last MiB
    write_text(options.train, text);
    set_mtime(options.train, original);
    CHECK_THAT(distmf::describe_key_change(key, distmf::data_cache_key(options)),
               StartsWith("data.train.sampled_checksum changed"));
}

TEST_CASE("data cache key: every [data] option that changes the data set", "[data_cache]") {
    const TempDir dir;
    DataConfig options;
    options.train = dir.file("ratings.tsv");
    write_text(options.train, "1\t2\t3\n4\t5\t6\n");
    const std::string key = distmf::data_cache_key(options);
    const auto change_of = [&](const DataConfig& changed) {
        return distmf::describe_key_change(key, distmf::data_cache_key(changed));
    };
    DataConfig changed = options;
    changed.test_fraction = 0.1;
    CHECK(change_of(changed) == "data.test-fraction changed (was 0, now 0.1)");
    changed = options;
    changed.split = distmf::SplitMethod::per_user;
    CHECK(change_of(changed) == "data.split changed (was hash, now per-user)");
    changed = options;
    changed.seed = 7;
    CHECK(change_of(changed) == "data.seed changed (was 42, now 7)");
    changed = options;
    changed.format = distmf::DataFormat::csv;
    CHECK(change_of(changed) == "data.format changed (was auto, now csv)");
    changed = options;
    changed.delimiter = "tab";
    CHECK(change_of(changed) == "data.delimiter changed (was '', now 'tab')");
    changed = options;
    changed.header = distmf::HeaderMode::absent;
    CHECK(change_of(changed) == "data.header changed (was auto, now false)");
    changed = options;
    changed.duplicates = distmf::DuplicatePolicy::mean;
    CHECK(change_of(changed) == "data.duplicates changed (was error, now mean)");
    changed = options;
    changed.cache = dir.file("elsewhere");  // where the cache lives is not part of the data
    CHECK(change_of(changed).empty());
}

TEST_CASE("data cache: the file's place in its folder", "[data_cache]") {
    CHECK(distmf::data_cache_path("runs/cache") == "runs/cache/distmf-data-cache.h5");
    CHECK(distmf::data_cache_path("runs/cache/") == "runs/cache/distmf-data-cache.h5");
}
