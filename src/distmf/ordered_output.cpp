#include "distmf/ordered_output.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "distmf/atomic_file.hpp"
#include "distmf/error.hpp"
#include "distmf/fault_injection.hpp"

namespace distmf {
namespace {

/// MPI counts are ints: large parts move in pieces of at most this many bytes.
constexpr std::int64_t max_piece_bytes = 1 << 30;

/// The collective calls of every rank on one open MPI file, each followed by an
/// agreement on its outcome: once a call failed on any rank, every rank knows
/// it and skips the remaining calls, so all of them reach the (collective)
/// close together. A rank that simply left after its own failure would wait in
/// the close for ranks still writing, and they for it.
class AgreedFileCalls {
  public:
    AgreedFileCalls(const Communicator& comm, std::string file)
        : comm_(comm), file_(std::move(file)) {}

    /// Collective. `call()` makes one collective MPI-IO call and returns its
    /// error code; it is not made once a previous call failed on any rank. False
    /// if this or a previous call failed on any rank.
    template <class Call>
    bool make(const char* name, const Call& call) {
        if (failed_anywhere_) return false;
        const int code = call();
        if (code != MPI_SUCCESS && !error_) {
            error_ = "cannot write output file '" + file_ + "' (rank " +
                     std::to_string(comm_.rank()) + "): " + MpiError(code, name).what();
        }
        failed_anywhere_ = comm_.all_reduce_max(error_ ? 1 : 0) != 0;
        return !failed_anywhere_;
    }
    /// This rank's error, if one of its calls failed.
    const std::optional<std::string>& error() const noexcept { return error_; }
    /// True if a call failed on any rank (the same on every rank).
    bool failed_anywhere() const noexcept { return failed_anywhere_; }

  private:
    const Communicator& comm_;
    std::string file_;
    std::optional<std::string> error_;
    bool failed_anywhere_ = false;
};

/// Collective. Writes `text` at byte `offset` of the open file, in pieces
/// (collective calls: every rank makes the same number of them).
void write_at(const Communicator& comm, AgreedFileCalls& calls, MPI_File file, std::int64_t offset,
              const std::string& text) {
    const auto size = static_cast<std::int64_t>(text.size());
    const std::int64_t pieces = comm.all_reduce_max((size + max_piece_bytes - 1) / max_piece_bytes);
    const bool fault = fault_requested_on_rank("io-error-on-rank", "output-write");
    for (std::int64_t piece = 0; piece < pieces; ++piece) {
        const std::int64_t begin = std::min(size, piece * max_piece_bytes);
        const std::int64_t end = std::min(size, begin + max_piece_bytes);
        const bool written = calls.make("MPI_File_write_at_all", [&] {
            const int code = MPI_File_write_at_all(file, offset + begin, text.data() + begin,
                                                   to_mpi_count(end - begin, "write_in_rank_order"),
                                                   MPI_CHAR, MPI_STATUS_IGNORE);
            return fault ? MPI_ERR_IO : code;
        });
        if (!written) return;
    }
}

void print_to_stdout(const Communicator& comm, const std::string& header, const std::string& part) {
    if (comm.rank() == 0) {
        std::fwrite(header.data(), 1, header.size(), stdout);
        std::fwrite(part.data(), 1, part.size(), stdout);
    }
    for (int source = 1; source < comm.size(); ++source) {
        // One rank at a time: rank 0 holds at most one other part.
        std::string text = comm.rank() == source ? part : std::string();
        std::int64_t length = static_cast<std::int64_t>(text.size());
        comm.broadcast(length, source);
        if (length == 0) continue;
        if (comm.rank() == source || comm.rank() == 0) {
            if (comm.rank() == 0) text.resize(static_cast<std::size_t>(length));
            for (std::int64_t begin = 0; begin < length; begin += max_piece_bytes) {
                const int count =
                    to_mpi_count(std::min(max_piece_bytes, length - begin), "write_in_rank_order");
                if (comm.rank() == source) {
                    check_mpi(MPI_Send(text.data() + begin, count, MPI_CHAR, 0, 0, comm.get()),
                              "MPI_Send");
                } else {
                    check_mpi(MPI_Recv(text.data() + begin, count, MPI_CHAR, source, 0, comm.get(),
                                       MPI_STATUS_IGNORE),
                              "MPI_Recv");
                }
            }
        }
        if (comm.rank() == 0) std::fwrite(text.data(), 1, text.size(), stdout);
    }
    if (comm.rank() == 0) std::fflush(stdout);
}

}  // namespace

void write_in_rank_order(const Communicator& comm, const std::string& path,
                         const std::string& header, const std::string& part) {
    if (path.empty()) {
        print_to_stdout(comm, header, part);
        return;
    }
    const std::string mine = comm.rank() == 0 ? header + part : part;
    const std::int64_t offset = comm.exclusive_scan_sum(static_cast<std::int64_t>(mine.size()));
    const std::string temporary = temporary_path_for(path);
    MPI_File file = MPI_FILE_NULL;
    const int opened = MPI_File_open(comm.get(), temporary.c_str(),
                                     MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file);
    if (opened != MPI_SUCCESS) {  // MPI_File_open is collective: every rank sees the failure
        throw InputError("cannot create output file '" + temporary + "'");
    }
    AgreedFileCalls calls(comm, temporary);
    if (calls.make("MPI_File_set_size", [&] { return MPI_File_set_size(file, 0); })) {
        write_at(comm, calls, file, offset, mine);
        calls.make("MPI_File_sync", [&] { return MPI_File_sync(file); });
    }
    std::optional<std::string> error = calls.error();
    MPI_File_close(&file);
    if (!calls.failed_anywhere() && comm.rank() == 0) {
        try {
            rename_into_place(temporary, path);
        } catch (const InputError& e) {
            error = e.what();
        }
    }
    if (const auto first = comm.first_error(error, 0)) {
        if (comm.rank() == 0) std::remove(temporary.c_str());
        throw InputError(*first);
    }
}

}  // namespace distmf
