#include "distmf/ratings_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/int128.hpp"

namespace distmf {
namespace {

constexpr std::int64_t read_block_bytes = 8 << 20;

/// An open file descriptor; closes on destruction.
class InputFile {
  public:
    explicit InputFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY)) {
        if (fd_ < 0) fail("cannot open ratings file");
        struct stat info {};
        if (::fstat(fd_, &info) != 0) fail("cannot stat ratings file");
        if (S_ISDIR(info.st_mode)) {
            errno = EISDIR;
            fail("cannot read ratings file");
        }
        size_ = info.st_size;
    }
    ~InputFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    InputFile(const InputFile&) = delete;  // owns the descriptor
    InputFile& operator=(const InputFile&) = delete;
    InputFile(InputFile&&) = delete;
    InputFile& operator=(InputFile&&) = delete;

    std::int64_t size() const { return size_; }

    /// Reads up to `bytes` at `offset` into `out`; returns the count (0 at end of file).
    std::int64_t read_at(std::int64_t offset, char* out, std::int64_t bytes) const {
        std::int64_t done = 0;
        while (done < bytes) {
            const ssize_t got = ::pread(fd_, out + done, static_cast<std::size_t>(bytes - done),
                                        static_cast<off_t>(offset + done));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail("cannot read ratings file");
            if (got == 0) break;
            done += got;
        }
        return done;
    }

  private:
    [[noreturn]] void fail(const char* what) const {
        throw InputError(std::string(what) + " '" + path_ + "': " + std::strerror(errno));
    }

    std::string path_;
    int fd_;
    std::int64_t size_ = 0;
};

/// Turns each parsed line into a LocalRating in the right vector. Files list a user's (or an
/// item's) ratings together more often than not, so the last ID seen on each side is
/// remembered: a repeated ID costs a comparison instead of a hash-table probe.
class ShardAppender {
  public:
    ShardAppender(const SplitRule& rule, RatingShard& shard) : rule_(rule), shard_(shard) {}

    void append(const TextRating& rating) {
        if (rating.user != last_user_id_) {
            last_user_ = shard_.users.insert(rating.user);
            last_user_id_ = rating.user;
        }
        if (rating.item != last_item_id_) {
            last_item_ = shard_.items.insert(rating.item);
            last_item_id_ = rating.item;
        }
        const LocalRating local{last_user_, last_item_, static_cast<float>(rating.rating)};
        if (rule_.all_to_test || is_test_pair(rule_, rating.user, rating.item)) {
            shard_.test.push_back(local);
        } else {
            shard_.train.push_back(local);
        }
    }

    /// Reserves room for about `lines` more ratings, split as the rule splits them on average.
    void reserve(std::int64_t lines) {
        const auto expected = static_cast<double>(lines);
        const double test_share = rule_.all_to_test ? 1.0 : rule_.test_fraction;
        const auto more_test = static_cast<std::size_t>(expected * std::min(1.0, test_share * 1.1));
        const auto more_train = static_cast<std::size_t>(expected * (1.0 - test_share));
        shard_.test.reserve(shard_.test.size() + more_test);
        shard_.train.reserve(shard_.train.size() + more_train);
    }

  private:
    const SplitRule& rule_;
    RatingShard& shard_;
    std::int64_t last_user_id_ = -1;  // IDs are never negative: nothing remembered yet
    std::int64_t last_item_id_ = -1;
    std::int32_t last_user_ = 0;
    std::int32_t last_item_ = 0;
};

}  // namespace

ByteRange nominal_byte_range(std::int64_t file_bytes, int rank, int n_ranks) {
    const auto part = [&](int r) {
        return static_cast<std::int64_t>(static_cast<Int128>(file_bytes) * r / n_ranks);
    };
    return {part(rank), part(rank + 1)};
}

std::int64_t file_size_bytes(const std::string& path) { return InputFile(path).size(); }

std::string read_file_head(const std::string& path, std::int64_t max_bytes) {
    const InputFile file(path);
    std::string head(static_cast<std::size_t>(std::min(max_bytes, file.size())), '\0');
    head.resize(static_cast<std::size_t>(
        file.read_at(0, head.data(), static_cast<std::int64_t>(head.size()))));
    return head;
}

bool is_test_pair(const SplitRule& rule, std::int64_t user, std::int64_t item) {
    if (rule.test_fraction <= 0.0) return false;
    const std::uint64_t bits =
        hash_keys(rule.seed, static_cast<std::uint64_t>(user), static_cast<std::uint64_t>(item));
    return unit_interval(bits) < rule.test_fraction;
}

RangeReadResult read_rating_range(const std::string& path, const TextLayout& layout,
                                  ByteRange range, const SplitRule& rule, RatingShard& shard) {
    const InputFile file(path);
    RangeReadResult result;
    ShardAppender appender(rule, shard);
    // A line belongs to the range holding its first byte. Unless the range starts the file,
    // begin one byte early and drop everything up to the first line break: if that byte is a
    // line break, a line starts exactly at range.begin.
    std::int64_t offset = range.begin == 0 ? 0 : range.begin - 1;
    bool skipping_partial_line = range.begin != 0;
    // The buffer holds the unfinished line of the previous block and the next block; it is
    // allocated once and never zero-filled (a std::string would clear every block first).
    std::size_t capacity = 2 * static_cast<std::size_t>(read_block_bytes);
    auto buffer = std::make_unique_for_overwrite<char[]>(capacity);
    std::size_t filled = 0;
    std::int64_t buffer_offset = offset;  // file offset of buffer[0]
    bool at_end = false;
    bool reserved = false;
    TextRating rating;
    while (true) {
        // Top up the buffer with the next block (keeping the unfinished line at its front).
        if (!at_end) {
            if (filled + static_cast<std::size_t>(read_block_bytes) > capacity) {
                // One line longer than a block: grow (rare; malformed files mostly).
                capacity = 2 * (filled + static_cast<std::size_t>(read_block_bytes));
                auto larger = std::make_unique_for_overwrite<char[]>(capacity);
                std::memcpy(larger.get(), buffer.get(), filled);
                buffer = std::move(larger);
            }
            const std::int64_t got = file.read_at(offset, buffer.get() + filled, read_block_bytes);
            offset += got;
            filled += static_cast<std::size_t>(got);
            at_end = got < read_block_bytes;
        }
        const std::string_view data(buffer.get(), filled);
        std::size_t position = 0;
        while (position < data.size()) {
            const void* found = std::memchr(data.data() + position, '\n', data.size() - position);
            if (found == nullptr && !at_end) break;  // need more bytes
            const std::size_t line_end =
                found == nullptr
                    ? data.size()
                    : static_cast<std::size_t>(static_cast<const char*>(found) - data.data());
            const std::int64_t line_start = buffer_offset + static_cast<std::int64_t>(position);
            const std::string_view line = data.substr(position, line_end - position);
            position = line_end + 1;
            if (skipping_partial_line) {
                skipping_partial_line = false;
                continue;
            }
            if (line_start >= range.end) return result;
            const std::int64_t line_index = result.lines++;
            if (layout.header && line_start == layout.header_offset) continue;
            if (result.error) continue;  // keep counting lines only
            try {
                if (parse_rating_line(line, layout, rating)) appender.append(rating);
            } catch (const InputError& error) {
                result.error = LineError{line_index, error.what()};
            }
        }
        if (!reserved && result.lines > 0) {
            // From the first block's line length, the lines the whole range holds.
            const auto bytes_per_line =
                static_cast<double>(position) /
                static_cast<double>(std::max<std::int64_t>(1, result.lines));
            appender.reserve(static_cast<std::int64_t>(
                1.05 * static_cast<double>(range.end - range.begin) / bytes_per_line));
            reserved = true;
        }
        if (at_end) return result;
        const std::size_t consumed = std::min(position, data.size());
        std::memmove(buffer.get(), buffer.get() + consumed, filled - consumed);
        filled -= consumed;
        buffer_offset += static_cast<std::int64_t>(consumed);
    }
}

}  // namespace distmf
