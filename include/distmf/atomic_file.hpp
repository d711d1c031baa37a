#pragma once
/// @file atomic_file.hpp
/// Output files that appear complete or not at all: data is written to a temporary file in
/// the same directory, flushed to disk, then renamed over the destination (rename(2) is
/// atomic within a file system). If the writer fails or is destroyed without commit(), the
/// temporary file is removed and the destination is untouched.

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "distmf/comm.hpp"

namespace distmf {

/// Local. The temporary name distmf writes `path` under before renaming it into place:
/// "<path>.tmp". Stale files with this name are left by killed runs only.
std::string temporary_path_for(const std::string& path);

/// Local. fsyncs `path` (a file or a directory); errors are ignored (best effort durability).
void sync_path(const std::string& path);

/// Local. Renames `from` to `to` and syncs the directory; throws InputError naming both.
void rename_into_place(const std::string& from, const std::string& to);

/// Collective: every rank of comm must call, once every rank has closed `temporary` (a file
/// written in parallel). Rank 0 syncs `temporary` and renames it to `path`; a failure (the
/// temporary file then removed) is an agreed InputError.
void commit_parallel_file(const Communicator& comm, const std::string& temporary,
                          const std::string& path);

/// Local. Throws InputError naming `path` unless its directory exists and is writable and
/// `path` is not a folder (to fail before a long run rather than after it); the message gives
/// the reason ("No such file or directory", "Permission denied", "it is a folder").
void check_writable_destination(const std::string& path);

/// Collective: every rank of comm must call. check_writable_destination for each non-empty
/// path of `paths` (an empty one is standard output), on every rank; the first failure is an
/// agreed InputError. Commands call it before they start their work.
void check_writable_destinations(const Communicator& comm, const std::vector<std::string>& paths);

/// A text or binary output file written through a temporary name. Local.
class AtomicFile {
  public:
    /// Creates "<path>.tmp" for writing; throws InputError naming the path on failure.
    explicit AtomicFile(std::string path);
    /// Removes the temporary file unless commit() succeeded; never throws.
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;  // owns the open temporary file
    AtomicFile& operator=(const AtomicFile&) = delete;
    AtomicFile(AtomicFile&&) = delete;
    AtomicFile& operator=(AtomicFile&&) = delete;

    /// Appends bytes; throws InputError on a write failure (disk full, ...).
    void write(std::string_view bytes);
    /// Flushes, fsyncs, closes and renames the file into place; throws InputError on failure.
    void commit();

  private:
    std::string path_;
    std::string temporary_;
    std::FILE* stream_ = nullptr;
    bool committed_ = false;
};

}  // namespace distmf
