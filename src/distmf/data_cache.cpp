#include "distmf/data_cache.hpp"

#include <fcntl.h>
#include <mpi.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "distmf/atomic_file.hpp"
#include "distmf/collective_section.hpp"
#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/log.hpp"
#include "distmf/model_io.hpp"

namespace distmf {
namespace {

constexpr const char* cache_file_name = "distmf-data-cache.h5";
constexpr const char* cache_format = "distmf-data-cache";
constexpr std::int64_t cache_format_version = 1;
constexpr std::int64_t edge_sample_bytes = std::int64_t{1} << 20;
constexpr std::int64_t inner_sample_bytes = std::int64_t{64} << 10;
constexpr int inner_samples = 62;
constexpr std::uint64_t matrix_checksum_seed = 0x6d61747269782d31ULL;  // "matrix-1"

/// What a cache file in place turned out to be, before HDF5 opens it.
enum class FileKind { missing, hdf5, folder, foreign };

/// Local. Looks at `path` without HDF5: missing, a folder, an HDF5 file (by its signature at
/// offset 0, where distmf's files have it), or something else; `detail` says what else.
FileKind kind_of_file(const std::string& path, std::string& detail) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return FileKind::missing;
        detail = std::strerror(errno);
        return FileKind::foreign;
    }
    if (S_ISDIR(info.st_mode)) return FileKind::folder;
    if (!S_ISREG(info.st_mode)) {
        detail = "not a regular file";
        return FileKind::foreign;
    }
    static constexpr std::array<unsigned char, 8> signature{0x89, 'H',  'D',  'F',
                                                            '\r', '\n', 0x1A, '\n'};
    std::array<unsigned char, 8> head{};
    const int fd = ::open(path.c_str(), O_RDONLY);
    const ssize_t got = fd < 0 ? -1 : ::read(fd, head.data(), head.size());
    if (fd >= 0) ::close(fd);
    if (got == static_cast<ssize_t>(head.size()) && head == signature) return FileKind::hdf5;
    detail = got < 0 ? std::strerror(errno) : "not an HDF5 file";
    return FileKind::foreign;
}

/// The bytes [offset, offset + bytes) of an open file, hashed (fewer at the end of the file).
std::uint64_t hash_file_block(int fd, const std::string& path, std::int64_t offset,
                              std::int64_t bytes, std::vector<char>& buffer) {
    buffer.resize(static_cast<std::size_t>(bytes));
    std::int64_t done = 0;
    while (done < bytes) {
        const ssize_t got =
            ::pread(fd, buffer.data() + done, static_cast<std::size_t>(bytes - done),
                    static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            throw InputError("cannot read ratings file '" + path + "': " + std::strerror(errno));
        }
        if (got == 0) break;
        done += got;
    }
    return hash_keys(static_cast<std::uint64_t>(offset),
                     hash_bytes(0, buffer.data(), static_cast<std::size_t>(done)));
}

/// The facts about one source file that go into the key: "<role>.path", size, mtime, checksum.
void add_source_facts(std::ostringstream& key, const std::string& role, const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        throw InputError("cannot open ratings file '" + path + "': " + std::strerror(errno));
    }
    const std::int64_t size = info.st_size;
    const std::int64_t mtime_ns =
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    key << role << ".path=" << std::filesystem::absolute(path).lexically_normal().string() << "\n"
        << role << ".size=" << size << "\n"
        << role << ".mtime_ns=" << mtime_ns << "\n"
        << role << ".sampled_checksum="
        << format_text("%016llx",
                       static_cast<unsigned long long>(sampled_file_checksum(path, size)))
        << "\n";
}

/// Local. The checksum of a block of CSR rows: the sum over rows of hash(global row, hash of
/// its columns, hash of its values). A sum over rows, so the ranks' partial sums of their
/// blocks add up to the same total for any number of ranks.
std::uint64_t matrix_rows_checksum(const RatingMatrix& matrix) {
    std::uint64_t sum = 0;
    for (std::int64_t row = 0; row < matrix.n_rows(); ++row) {
        const auto columns = matrix.row_columns(row);
        const auto values = matrix.row_values(row);
        sum += hash_keys(matrix_checksum_seed, static_cast<std::uint64_t>(matrix.first_row + row),
                         hash_bytes(1, columns.data(), columns.size_bytes()),
                         hash_bytes(2, values.data(), values.size_bytes()));
    }
    return sum;
}

/// Collective. Writes the global CSR matrix whose rows [first_row, first_row + n_rows()) are
/// this rank's `matrix` as group `name`: row_start (global offsets, n_rows + 1), columns and
/// values, and the rows' checksum as the group's attribute "checksum".
void write_matrix(const Communicator& comm, const H5Handle& file, const std::string& name,
                  const RatingMatrix& matrix, std::int64_t total_rows) {
    const H5Handle group = create_group(file, name);
    const std::int64_t offset = comm.exclusive_scan_sum(matrix.nnz());
    const std::int64_t total_nnz = comm.all_reduce_sum(matrix.nnz());
    std::vector<std::int64_t> global_start(matrix.row_start.size());
    for (std::size_t r = 0; r < global_start.size(); ++r) {
        global_start[r] = matrix.row_start[r] + offset;
    }
    const bool last = comm.rank() == comm.size() - 1;  // also writes the final offset
    write_checked_rows<std::int64_t>(comm, group, "row_start", total_rows + 1, 0, matrix.first_row,
                                     matrix.n_rows() + (last ? 1 : 0), global_start.data());
    const H5Handle columns = create_dataset(group, "columns", H5Type<std::int32_t>::file(),
                                            {static_cast<std::uint64_t>(total_nnz)});
    write_rows(columns, offset, matrix.nnz(), matrix.columns.data(), true);
    const H5Handle values = create_dataset(group, "values", H5Type<float>::file(),
                                           {static_cast<std::uint64_t>(total_nnz)});
    write_rows(values, offset, matrix.nnz(), matrix.values.data(), true);
    write_attribute<std::uint64_t>(group, "checksum",
                                   comm.all_reduce_sum(matrix_rows_checksum(matrix)));
}

/// Collective. Reads rows [first, first + count) of the global CSR matrix `name` (written by
/// write_matrix) and verifies them: the row offsets by their own checksum, the entries by the
/// sum over every rank's rows (the ranks' row ranges cover the matrix exactly). A damaged
/// matrix is an agreed InputError.
RatingMatrix read_matrix(const Communicator& comm, const H5Handle& file, const std::string& name,
                         std::int64_t first, std::int64_t count) {
    const bool last = comm.rank() == comm.size() - 1;
    const std::vector<std::int64_t> global_start = read_checked_share<std::int64_t>(
        comm, file, name + "/row_start", 0, RowRange{first, count + 1}, ShareCoverage::partition,
        RowRange{first, count + (last ? 1 : 0)});
    RatingMatrix matrix;
    matrix.first_row = first;
    std::uint64_t stored = 0;
    std::optional<std::string> error;
    try {
        const H5Handle group = open_group(file, name);
        const H5Handle columns = open_dataset(group, "columns");
        const H5Handle values = open_dataset(group, "values");
        const std::vector<std::uint64_t> shape = dataset_shape(columns);
        const std::int64_t begin = global_start.front();
        const std::int64_t end = global_start.back();
        const bool sorted = std::is_sorted(global_start.begin(), global_start.end());
        if (!sorted || begin < 0 || shape.size() != 1 ||
            static_cast<std::uint64_t>(end) > shape[0] || dataset_shape(values) != shape ||
            (last && static_cast<std::uint64_t>(end) != shape[0]) ||
            !has_attribute(group, "checksum")) {
            throw InputError(file.file() + ": matrix " + name + " is inconsistent");
        }
        matrix.row_start.resize(global_start.size());
        for (std::size_t r = 0; r < global_start.size(); ++r) {
            matrix.row_start[r] = global_start[r] - begin;
        }
        matrix.columns.resize(static_cast<std::size_t>(end - begin));
        matrix.values.resize(static_cast<std::size_t>(end - begin));
        read_rows(columns, begin, end - begin, matrix.columns.data(), false);
        read_rows(values, begin, end - begin, matrix.values.data(), false);
        stored = read_attribute<std::uint64_t>(group, "checksum");
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first_error = comm.first_error(error, 0)) throw InputError(*first_error);
    if (comm.all_reduce_sum(matrix_rows_checksum(matrix)) != stored) {
        throw InputError(file.file() + ": checksum mismatch in matrix " + name);
    }
    return matrix;
}

/// Collective. Writes a table every rank holds whole (IDs, counts): rank 0 writes it.
void write_whole(const Communicator& comm, const H5Handle& file, const std::string& name,
                 const std::vector<std::int64_t>& values) {
    const auto n = static_cast<std::int64_t>(values.size());
    write_checked_rows<std::int64_t>(comm, file, name, n, 0, 0, comm.rank() == 0 ? n : 0,
                                     values.data());
}

/// Collective. Reads a table written by write_whole, every rank all of it.
std::vector<std::int64_t> read_whole(const Communicator& comm, const H5Handle& file,
                                     const std::string& name) {
    std::int64_t rows = 0;
    std::optional<std::string> error;
    try {
        rows = dataset_rows(file, name);
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
    return read_checked_share<std::int64_t>(comm, file, name, 0, RowRange{0, rows},
                                            ShareCoverage::whole);
}

void write_contents(const Communicator& comm, const H5Handle& file, const std::string& key,
                    const Dataset& dataset) {
    write_string_attribute(file, "format", cache_format);
    write_attribute<std::int64_t>(file, "format_version", cache_format_version);
    write_string_attribute(file, "key", key);
    write_attribute<std::int64_t>(file, "duplicates_merged", dataset.summary.duplicates_merged);
    // The rating statistics (an exact sum over every rating: no need to redo it on a hit).
    write_attribute<double>(file, "min_rating", dataset.summary.min_rating);
    write_attribute<double>(file, "max_rating", dataset.summary.max_rating);
    write_attribute<double>(file, "mean_rating", dataset.summary.mean_rating);
    write_string_attribute(file, "train_layout", dataset.summary.train_layout);
    write_string_attribute(file, "test_layout", dataset.summary.test_layout);
    const bool balance = !dataset.user_balance_counts.empty();
    write_attribute<std::int64_t>(file, "balance_counts", balance ? 1 : 0);
    write_whole(comm, file, "user_ids", dataset.user_ids);
    write_whole(comm, file, "item_ids", dataset.item_ids);
    write_whole(comm, file, "user_train_counts", dataset.user_train_counts);
    write_whole(comm, file, "item_train_counts", dataset.item_train_counts);
    if (balance) {
        write_whole(comm, file, "user_balance_counts", dataset.user_balance_counts);
        write_whole(comm, file, "item_balance_counts", dataset.item_balance_counts);
    }
    const auto n_users = static_cast<std::int64_t>(dataset.user_ids.size());
    const auto n_items = static_cast<std::int64_t>(dataset.item_ids.size());
    write_matrix(comm, file, "train_by_user", dataset.user_ratings, n_users);
    write_matrix(comm, file, "test_by_user", dataset.test_ratings, n_users);
    write_matrix(comm, file, "train_by_item", dataset.item_ratings, n_items);
    write_attribute<std::int64_t>(file, "complete", 1);  // last: without it, partial
}

/// How reading a cache file ended, besides a data set.
struct ReadVerdict {
    bool foreign = false;  ///< not a distmf data cache: an error, never overwritten
    std::string stale;     ///< why the cache cannot be used ("" on a hit)
};

/// Collective. Reads the cache from an open file into `dataset`, or says why not.
ReadVerdict read_contents(const Communicator& comm, const H5Handle& file, const std::string& key,
                          Dataset& dataset) {
    ReadVerdict verdict;
    // Attributes live in checksummed object headers, read through collective metadata reads:
    // every rank sees the same values.
    if (!has_attribute(file, "format") || read_string_attribute(file, "format") != cache_format) {
        verdict.foreign = true;
        return verdict;
    }
    if (!has_attribute(file, "format_version") ||
        read_attribute<std::int64_t>(file, "format_version") != cache_format_version) {
        verdict.stale = "written by another version of distmf";
        return verdict;
    }
    if (!has_attribute(file, "complete") || !has_attribute(file, "key")) {
        verdict.stale = "damaged (incomplete file)";
        return verdict;
    }
    verdict.stale = describe_key_change(read_string_attribute(file, "key"), key);
    if (!verdict.stale.empty()) return verdict;

    dataset.rank = comm.rank();
    dataset.summary.duplicates_merged = read_attribute<std::int64_t>(file, "duplicates_merged");
    dataset.summary.min_rating = read_attribute<double>(file, "min_rating");
    dataset.summary.max_rating = read_attribute<double>(file, "max_rating");
    dataset.summary.mean_rating = read_attribute<double>(file, "mean_rating");
    dataset.summary.train_layout = read_string_attribute(file, "train_layout");
    dataset.summary.test_layout = read_string_attribute(file, "test_layout");
    const bool balance = read_attribute<std::int64_t>(file, "balance_counts") != 0;
    dataset.user_ids = read_whole(comm, file, "user_ids");
    dataset.item_ids = read_whole(comm, file, "item_ids");
    dataset.user_train_counts = read_whole(comm, file, "user_train_counts");
    dataset.item_train_counts = read_whole(comm, file, "item_train_counts");
    if (balance) {
        dataset.user_balance_counts = read_whole(comm, file, "user_balance_counts");
        dataset.item_balance_counts = read_whole(comm, file, "item_balance_counts");
    }
    const auto n_users = static_cast<std::int64_t>(dataset.user_ids.size());
    const auto n_items = static_cast<std::int64_t>(dataset.item_ids.size());
    const PartitionWeights weights = partition_weights(dataset);
    if (static_cast<std::int64_t>(dataset.user_train_counts.size()) != n_users ||
        static_cast<std::int64_t>(dataset.item_train_counts.size()) != n_items ||
        static_cast<std::int64_t>(weights.users.size()) != n_users ||
        static_cast<std::int64_t>(weights.items.size()) != n_items) {
        throw InputError(file.file() + ": the ID and count tables disagree");
    }
    dataset.user_blocks = BlockPartition::balanced(weights.users, comm.size());
    dataset.item_blocks = BlockPartition::balanced(weights.items, comm.size());
    const int rank = comm.rank();
    dataset.user_ratings = read_matrix(comm, file, "train_by_user", dataset.user_blocks.first(rank),
                                       dataset.user_blocks.size(rank));
    dataset.test_ratings = read_matrix(comm, file, "test_by_user", dataset.user_blocks.first(rank),
                                       dataset.user_blocks.size(rank));
    dataset.item_ratings = read_matrix(comm, file, "train_by_item", dataset.item_blocks.first(rank),
                                       dataset.item_blocks.size(rank));
    return verdict;
}

/// A temporary name for `path` unique to this job: "<path>.tmp-<host>-<pid of rank 0>".
std::string unique_temporary_path(const Communicator& comm, const std::string& path) {
    std::string name;
    if (comm.rank() == 0) {
        std::array<char, 256> host{};
        ::gethostname(host.data(), host.size() - 1);
        name = temporary_path_for(path) + "-" + host.data() + "-" + std::to_string(::getpid());
    }
    comm.broadcast(name);
    return name;
}

}  // namespace

std::string data_cache_path(const std::string& folder) {
    return (std::filesystem::path(folder) / cache_file_name).string();
}

std::uint64_t sampled_file_checksum(const std::string& path, std::int64_t size) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        throw InputError("cannot open ratings file '" + path + "': " + std::strerror(errno));
    }
    std::vector<char> buffer;
    std::uint64_t sum = 0;
    try {
        if (size <= 2 * edge_sample_bytes + inner_samples * inner_sample_bytes) {
            sum = hash_file_block(fd, path, 0, size, buffer);  // small: all of it
        } else {
            sum += hash_file_block(fd, path, 0, edge_sample_bytes, buffer);
            sum += hash_file_block(fd, path, size - edge_sample_bytes, edge_sample_bytes, buffer);
            const std::int64_t inner = size - 2 * edge_sample_bytes - inner_sample_bytes;
            for (int s = 0; s < inner_samples; ++s) {
                const std::int64_t offset = edge_sample_bytes + inner * s / (inner_samples - 1);
                sum += hash_file_block(fd, path, offset, inner_sample_bytes, buffer);
            }
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return hash_keys(sum, static_cast<std::uint64_t>(size));
}

std::string data_cache_key(const DataConfig& options) {
    std::ostringstream key;
    key << "cache.format_version=" << cache_format_version << "\n";
    add_source_facts(key, "data.train", options.train);
    if (!options.test.empty()) add_source_facts(key, "data.test", options.test);
    key << "data.test-fraction=" << value_text(options.test_fraction) << "\n"
        << "data.split=" << value_text(options.split) << "\n"
        << "data.seed=" << options.seed << "\n"
        << "data.format=" << value_text(options.format) << "\n"
        << "data.delimiter='" << printable_text(options.delimiter) << "'\n"
        << "data.header=" << value_text(options.header) << "\n"
        << "data.duplicates=" << value_text(options.duplicates) << "\n";
    return key.str();
}

std::string describe_key_change(const std::string& stored, const std::string& current) {
    const auto facts = [](const std::string& key) {
        std::vector<std::pair<std::string, std::string>> list;
        std::istringstream lines(key);
        std::string line;
        while (std::getline(lines, line)) {
            const std::size_t equals = line.find('=');
            list.emplace_back(line.substr(0, equals),
                              equals == std::string::npos ? "" : line.substr(equals + 1));
        }
        return list;
    };
    const auto old_facts = facts(stored);
    const auto new_facts = facts(current);
    std::map<std::string, std::string> old_values(old_facts.begin(), old_facts.end());
    for (const auto& [name, value] : new_facts) {
        const auto found = old_values.find(name);
        const std::string before = found == old_values.end() ? "(none)" : found->second;
        if (before != value) {
            return name + " changed (was " + printable_text(before) + ", now " +
                   printable_text(value) + ")";
        }
        if (found != old_values.end()) old_values.erase(found);
    }
    if (!old_values.empty()) {
        return old_values.begin()->first + " changed (was " +
               printable_text(old_values.begin()->second) + ", now (none))";
    }
    return "";
}

CacheLookup read_data_cache(const Communicator& comm, const std::string& path,
                            const std::string& key) {
    const double start = MPI_Wtime();
    CacheLookup lookup;
    // Rank 0 looks at the file first: HDF5 is not asked to open a folder or a foreign file.
    int kind = 0;
    std::string detail;
    if (comm.rank() == 0) kind = static_cast<int>(kind_of_file(path, detail));
    comm.broadcast(kind);
    comm.broadcast(detail);
    switch (static_cast<FileKind>(kind)) {
        case FileKind::missing:
            lookup.reason = "no cache yet";
            return lookup;
        case FileKind::folder:
            throw InputError("--data.cache: " + path +
                             " is a folder, not a distmf data cache (remove it, or choose "
                             "another cache folder)");
        case FileKind::foreign:
            throw InputError("--data.cache: " + path + " is not a distmf data cache (" + detail +
                             "); distmf does not overwrite it: remove it, or choose another "
                             "cache folder");
        case FileKind::hdf5:
            break;
    }
    Dataset dataset;
    ReadVerdict verdict;
    std::optional<std::string> error;
    try {
        const H5Handle file = open_parallel_file(comm.get(), path);
        run_collective_section(
            comm, {"reading data cache '" + path + "'", SectionFailures::agreed_file_errors, ""},
            [&] { verdict = read_contents(comm, file, key, dataset); });
    } catch (const Error& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) {
        lookup.stale = true;
        lookup.reason = "damaged (" + *first + ")";
        return lookup;
    }
    if (verdict.foreign) {
        throw InputError("--data.cache: " + path +
                         " is an HDF5 file but not a distmf data cache; distmf does not "
                         "overwrite it: remove it, or choose another cache folder");
    }
    if (!verdict.stale.empty()) {
        lookup.stale = true;
        lookup.reason = verdict.stale;
        return lookup;
    }
    summarize_dataset(comm, dataset, false);
    dataset.timings = IngestTimings{};
    dataset.timings.read_seconds = MPI_Wtime() - start;
    lookup.dataset = std::move(dataset);
    return lookup;
}

void write_data_cache(const Communicator& comm, const std::string& path, const std::string& key,
                      const Dataset& dataset) {
    const std::string temporary = unique_temporary_path(comm, path);
    H5Handle file = create_parallel_file(comm.get(), temporary);
    run_collective_section(
        comm, {"writing data cache '" + path + "'", SectionFailures::local, temporary}, [&] {
            write_contents(comm, file, key, dataset);
            flush_file(file);
            file.close();
        });
    commit_parallel_file(comm, temporary, path);
}

Dataset load_dataset_through_cache(const Communicator& comm, const DataConfig& options,
                                   const std::function<Dataset()>& parse) {
    const Logger log(comm.rank());
    // The key: rank 0 examines the source files. If it cannot (a missing file), the parse
    // below reports that error the usual way.
    std::string key;
    if (comm.rank() == 0) {
        try {
            key = data_cache_key(options);
        } catch (const InputError&) {
            key.clear();
        }
    }
    comm.broadcast(key);
    if (key.empty()) return parse();
    const std::string path = data_cache_path(options.cache);

    CacheLookup lookup = read_data_cache(comm, path, key);
    if (lookup.dataset) {
        log.info(format_text("cache hit: %s (%.3f s)", path.c_str(),
                             comm.all_reduce_max(lookup.dataset->timings.read_seconds)));
        return std::move(*lookup.dataset);
    }
    if (lookup.stale) log.info("cache stale: " + lookup.reason + "; parsing the text files");
    Dataset dataset = parse();

    // The folder is made (and checked) before writing; a cache that cannot be written is a
    // warning: the run goes on without it.
    std::optional<std::string> unwritable;
    if (comm.rank() == 0) {
        std::error_code ignored;
        std::filesystem::create_directories(options.cache, ignored);
        try {
            check_writable_destination(path);
        } catch (const InputError& e) {
            unwritable = e.what();
        }
    }
    if (const auto why = comm.first_error(unwritable, 0)) {
        log.warn("cache not written: " + *why);
        return dataset;
    }
    const double start = MPI_Wtime();
    write_data_cache(comm, path, key, dataset);
    log.info(format_text("cache written: %s (%.3f s)", path.c_str(),
                         comm.all_reduce_max(MPI_Wtime() - start)));
    return dataset;
}

}  // namespace distmf
