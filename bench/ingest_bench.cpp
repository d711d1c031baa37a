// Text ingest benchmark: the parse rate of a ratings file, one process, no MPI traffic.
//   build/bench/ingest_bench FILE [ranks=2] [repeats=3]
// Prints, best of `repeats` (the file is read once into memory first, so the page cache is warm):
//   parse     parse_rating_line over the in-memory file: the plain parser with its fallback,
//             and the general parser alone (distmf's parser before the plain path existed);
//   range     read_rating_range over the nominal byte range of each of `ranks` ranks, one after
//             the other (read + parse + local ID numbering + hash split): a rank's rate.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "distmf/config.hpp"
#include "distmf/ratings_format.hpp"
#include "distmf/ratings_reader.hpp"

namespace {

double wall_seconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

/// Parses every line of `text` with `parse`; returns the ratings parsed (checksummed so the
/// compiler keeps the work).
template <class Parse>
std::int64_t parse_all(std::string_view text, const distmf::TextLayout& layout, Parse parse,
                       double& checksum) {
    std::int64_t parsed = 0;
    distmf::TextRating rating;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        if (parse(text.substr(0, end), layout, rating)) {
            ++parsed;
            checksum += rating.rating + static_cast<double>(rating.user ^ rating.item);
        }
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return parsed;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: ingest_bench RATINGS_FILE [ranks=2] [repeats=3]\n");
        return 2;
    }
    const std::string path = argv[1];
    const int ranks = argc > 2 ? std::atoi(argv[2]) : 2;
    const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
    const std::int64_t bytes = distmf::file_size_bytes(path);
    const std::string text = distmf::read_file_head(path, bytes);
    const distmf::DataConfig options;
    const distmf::TextLayout layout = distmf::detect_layout(text.substr(0, 1 << 16), options, path);
    std::string_view body(text);
    if (layout.header) body.remove_prefix(std::min(body.find('\n') + 1, body.size()));

    double checksum = 0.0;
    for (const bool plain : {true, false}) {
        double best = 1e30;
        std::int64_t parsed = 0;
        for (int r = 0; r < repeats; ++r) {
            const double start = wall_seconds();
            parsed = plain ? parse_all(body, layout, distmf::parse_rating_line, checksum)
                           : parse_all(body, layout, distmf::parse_rating_line_general, checksum);
            best = std::min(best, wall_seconds() - start);
        }
        std::printf("parse     %-28s %10lld ratings in %.3f s: %6.2f M ratings/s\n",
                    plain ? "parse_rating_line (plain)" : "parse_rating_line_general",
                    static_cast<long long>(parsed), best, static_cast<double>(parsed) / best / 1e6);
    }
    const distmf::SplitRule rule{false, 0.1, 42};
    for (int rank = 0; rank < ranks; ++rank) {
        double best = 1e30;
        std::size_t ratings = 0;
        for (int r = 0; r < repeats; ++r) {
            distmf::RatingShard shard;
            const double start = wall_seconds();
            distmf::read_rating_range(path, layout, distmf::nominal_byte_range(bytes, rank, ranks),
                                      rule, shard);
            best = std::min(best, wall_seconds() - start);
            ratings = shard.train.size() + shard.test.size();
        }
        std::printf(
            "range     rank %d of %d: read_rating_range %10zu ratings in %.3f s: %6.2f M "
            "ratings/s\n",
            rank, ranks, ratings, best, static_cast<double>(ratings) / best / 1e6);
    }
    std::printf("(checksum %g)\n", checksum);
    return 0;
}
