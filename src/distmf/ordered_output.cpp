#include "distmf/ordered_output.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "distmf/atomic_file.hpp"
#include "distmf/error.hpp"

namespace distmf {
namespace {

/// MPI counts are ints: large parts move in pieces of at most this many bytes.
constexpr std::int64_t max_piece_bytes = 1 << 30;

/// Collective. Writes `text` at byte `offset` of the open file, in pieces (collective calls:
/// every rank makes the same number of them).
void write_at(const Communicator& comm, MPI_File file, std::int64_t offset,
              const std::string& text) {
    const auto size = static_cast<std::int64_t>(text.size());
    const std::int64_t pieces = comm.all_reduce_max((size + max_piece_bytes - 1) / max_piece_bytes);
    for (std::int64_t piece = 0; piece < pieces; ++piece) {
        const std::int64_t begin = std::min(size, piece * max_piece_bytes);
        const std::int64_t end = std::min(size, begin + max_piece_bytes);
        check_mpi(MPI_File_write_at_all(file, offset + begin, text.data() + begin,
                                        to_mpi_count(end - begin, "write_in_rank_order"), MPI_CHAR,
                                        MPI_STATUS_IGNORE),
                  "MPI_File_write_at_all");
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
    std::optional<std::string> error;
    try {
        check_mpi(MPI_File_set_size(file, 0), "MPI_File_set_size");
        write_at(comm, file, offset, mine);
        check_mpi(MPI_File_sync(file), "MPI_File_sync");
    } catch (const MpiError& e) {
        error = std::string("cannot write output file '") + temporary + "': " + e.what();
    }
    MPI_File_close(&file);
    if (!error && comm.rank() == 0) {
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
