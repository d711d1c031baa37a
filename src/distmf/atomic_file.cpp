#include "distmf/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "distmf/error.hpp"

namespace distmf {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw InputError(what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

std::string temporary_path_for(const std::string& path) { return path + ".tmp"; }

void sync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void rename_into_place(const std::string& from, const std::string& to) {
    if (std::rename(from.c_str(), to.c_str()) != 0) {
        throw InputError("cannot rename '" + from + "' to '" + to + "': " + std::strerror(errno));
    }
    const std::filesystem::path parent = std::filesystem::path(to).parent_path();
    sync_path(parent.empty() ? std::string(".") : parent.string());
}

void commit_parallel_file(const Communicator& comm, const std::string& temporary,
                          const std::string& path) {
    comm.barrier();  // every rank has closed the file
    std::optional<std::string> error;
    if (comm.rank() == 0) {
        try {
            sync_path(temporary);
            rename_into_place(temporary, path);
        } catch (const InputError& e) {
            error = e.what();
            std::remove(temporary.c_str());
        }
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
}

void check_writable_destination(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const std::string folder = parent.empty() ? std::string(".") : parent.string();
    if (::access(folder.c_str(), W_OK | X_OK) != 0) {
        fail("cannot write '" + path + "': folder", folder);
    }
    if (std::filesystem::is_directory(path)) {
        throw InputError("cannot write '" + path + "': it is a folder");
    }
}

void check_writable_destinations(const Communicator& comm, const std::vector<std::string>& paths) {
    std::optional<std::string> error;
    try {
        for (const std::string& path : paths) {
            if (!path.empty()) check_writable_destination(path);
        }
    } catch (const InputError& e) {
        error = e.what();
    }
    if (const auto first = comm.first_error(error, 0)) throw InputError(*first);
}

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temporary_(temporary_path_for(path_)) {
    stream_ = std::fopen(temporary_.c_str(), "wb");
    if (stream_ == nullptr) fail("cannot create output file", temporary_);
    static_cast<void>(std::setvbuf(stream_, nullptr, _IOFBF, 1 << 20));
}

AtomicFile::~AtomicFile() {
    if (stream_ != nullptr) std::fclose(stream_);
    if (!committed_) std::remove(temporary_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stream_) != bytes.size()) {
        fail("cannot write output file", temporary_);
    }
}

void AtomicFile::commit() {
    if (std::fflush(stream_) != 0) fail("cannot write output file", temporary_);
    ::fsync(::fileno(stream_));
    const int closed = std::fclose(stream_);
    stream_ = nullptr;
    if (closed != 0) fail("cannot close output file", temporary_);
    rename_into_place(temporary_, path_);
    committed_ = true;
}

}  // namespace distmf
