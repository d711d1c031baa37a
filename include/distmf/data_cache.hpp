#pragma once
/// @file data_cache.hpp
/// The parsed-data cache (--data.cache DIR): load_dataset's result stored in one HDF5 file,
/// DIR/distmf-data-cache.h5, so that a requeued job, each task of a sweep or `evaluate` skips
/// the text ingest and reads the ratings at disk speed.
///
/// The file does not depend on the number of ranks that wrote it: it holds the global ID
/// tables, the per-row counts the blocks are balanced on, and three global CSR matrices --
/// training ratings by user, test ratings by user, training ratings by item -- each as global
/// row offsets, columns and values. A reader on P ranks cuts the blocks as load_dataset would
/// on P ranks (BlockPartition::balanced of the same weights) and reads its rows by hyperslab,
/// so a cache written by 2 ranks serves 1 or 4, and gives bitwise the Dataset a fresh parse
/// gives on that many ranks.
///
/// The cache key (the root attribute "key") names every fact the data depends on: the format
/// version, each source file's absolute path, size, modification time in nanoseconds and a
/// checksum of sampled blocks (the first and last MiB and 62 blocks of 64 KiB spread evenly:
/// about 6 MiB read, a few milliseconds, so a hit never reads the whole text file), and every
/// [data] option that changes the result (train and test file, format, delimiter, header, test
/// fraction, split, seed, duplicates). Every dataset carries a checksum of its rows (HDF5's
/// own metadata is checksummed too): one flipped byte anywhere is found before the data is used.
///
/// What happens to each kind of cache file (decided so that a cache never yields wrong data
/// and never destroys a file distmf did not write):
/// - none yet: parse, then write it ("cache written");
/// - key differs (a source file or a [data] option changed): "cache stale: <what changed>",
///   parse, overwrite;
/// - damaged (a checksum mismatch, a truncated or unreadable HDF5 file, a missing dataset):
///   "cache stale: damaged (<reason>)", parse, overwrite;
/// - not a distmf data cache (a file that is not HDF5, an HDF5 file of another kind) or a
///   folder in its place: an InputError naming the file (distmf does not overwrite it);
/// - the cache folder cannot be created or written: a warning, and the run goes on without it.
/// Files are written under a temporary name unique to the writing job and renamed into place,
/// so readers see a complete cache or none, and concurrent writers (a sweep's first tasks) do
/// not mix their files.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"

namespace distmf {

/// Local. The cache file in cache folder `folder`: "<folder>/distmf-data-cache.h5".
std::string data_cache_path(const std::string& folder);

/// Local. A checksum of sampled blocks of a file of `size` bytes (see the file comment):
/// bytes [0, 1 MiB), the last MiB, and 62 blocks of 64 KiB at evenly spaced offsets (all of a
/// file under ~6 MiB). Throws InputError naming the file when it cannot be read.
std::uint64_t sampled_file_checksum(const std::string& path, std::int64_t size);

/// Local. The cache key of the data `options` describe, one "name=value" line per fact (see
/// the file comment). Throws InputError naming a source file that cannot be examined.
std::string data_cache_key(const DataConfig& options);

/// Local. The first fact that differs between two cache keys, as "<name> changed (was <old>,
/// now <new>)"; "" when they are equal.
std::string describe_key_change(const std::string& stored, const std::string& current);

/// What looking for a usable cache found.
struct CacheLookup {
    std::optional<Dataset> dataset;  ///< the cached data set (this rank's share), on a hit
    std::string reason;  ///< on a miss: why ("no cache yet", "data.seed changed (...)", ...)
    bool stale = false;  ///< on a miss: a cache file was there but could not be used
};

/// Collective: every rank of comm must call. Reads the cache file `path` when its key is
/// `key` and it is intact; this rank's share as load_dataset on comm.size() ranks would hold
/// it (timings: the read in read_seconds). A missing, stale or damaged cache is a miss with
/// its reason; a file that is not a distmf data cache, or a folder, is an agreed InputError.
CacheLookup read_data_cache(const Communicator& comm, const std::string& path,
                            const std::string& key);

/// Collective: every rank of comm must call. Writes every rank's share of `dataset` to the
/// cache file `path` with key `key`, through a temporary file renamed into place. A rank
/// failing in the middle of the write aborts the job (as model writes do: collective HDF5);
/// a rename failure is an agreed InputError.
void write_data_cache(const Communicator& comm, const std::string& path, const std::string& key,
                      const Dataset& dataset);

/// Collective: every rank of comm must call. load_dataset with options.cache set: a cache hit
/// returns the cached data set; otherwise `parse` (the text ingest) runs and its result is
/// written to the cache. Logs "cache hit", "cache stale: <why>" and "cache written" lines.
Dataset load_dataset_through_cache(const Communicator& comm, const DataConfig& options,
                                   const std::function<Dataset()>& parse);

}  // namespace distmf
