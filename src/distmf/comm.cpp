#include "distmf/comm.hpp"

#include <exception>

namespace distmf {

void check_mpi(int code, const char* operation) {
    if (code != MPI_SUCCESS) throw MpiError(code, operation);
}

MpiSession::MpiSession(int& argc, char**& argv) {
    int provided = 0;
    check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
              "MPI_Comm_set_errhandler");
    if (provided < MPI_THREAD_FUNNELED) {
        throw MpiError(MPI_ERR_OTHER, "MPI_Init_thread (MPI_THREAD_FUNNELED not provided)");
    }
}

MpiSession::~MpiSession() {
    // After an uncaught error main aborts; finalizing here could wait on other ranks forever.
    if (std::uncaught_exceptions() == 0) MPI_Finalize();
}

Communicator::Communicator() : Communicator(MPI_COMM_WORLD) {}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void Communicator::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

void Communicator::broadcast(std::string& text, int root) const {
    auto length = static_cast<std::int64_t>(text.size());
    broadcast(length, root);
    text.resize(static_cast<std::size_t>(length));
    check_mpi(MPI_Bcast(text.data(), to_mpi_count(length, "broadcast"), MPI_CHAR, root, comm_),
              "MPI_Bcast");
}

void Communicator::check_same_on_all_ranks(std::uint64_t value, const std::string& what) const {
    if (all_reduce_min(value) != all_reduce_max(value)) {
        throw ConfigError(what + " differs between ranks");
    }
}

std::optional<std::string> Communicator::first_error(const std::optional<std::string>& local_error,
                                                     std::uint64_t order_key) const {
    struct Candidate {
        std::uint64_t key;
        std::int64_t rank;
    };
    const Candidate mine{local_error ? order_key : UINT64_MAX, local_error ? rank_ : size_};
    const std::vector<Candidate> all = all_gather(mine);
    Candidate best = mine;
    for (const Candidate& c : all) {
        if (c.rank < size_ && (c.key < best.key || (c.key == best.key && c.rank < best.rank))) {
            best = c;
        }
    }
    if (best.rank >= size_) return std::nullopt;
    std::string message = local_error.value_or(std::string());
    broadcast(message, static_cast<int>(best.rank));
    return message;
}

PackedCounts packed_counts(std::span<const std::int64_t> counts, const char* what) {
    PackedCounts packed;
    packed.counts.reserve(counts.size());
    packed.displacements.reserve(counts.size());
    for (const std::int64_t count : counts) {
        packed.counts.push_back(to_mpi_count(count, what));
        packed.displacements.push_back(to_mpi_count(packed.total, what));
        packed.total += count;
    }
    return packed;
}

}  // namespace distmf
