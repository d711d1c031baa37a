#include "distmf/comm.hpp"

#include <algorithm>
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

void Communicator::exchange_picked_rows(const void* rows, std::int64_t n_values,
                                        MPI_Datatype element, std::span<const int> picked,
                                        std::span<const std::int64_t> send_rows, void* receive,
                                        std::int64_t n_receive_values,
                                        std::span<const std::int64_t> receive_rows,
                                        std::int64_t row_width) const {
    const auto n_ranks = static_cast<std::size_t>(size_);
    const auto self = static_cast<std::size_t>(rank_);
    if (send_rows.size() != n_ranks || receive_rows.size() != n_ranks || send_rows[self] != 0) {
        throw Error("all_to_all_picked_rows: one count per rank needed, none to itself");
    }
    const PackedCounts sent = packed_counts(send_rows, "all_to_all_picked_rows");
    const PackedCounts arriving = packed_counts(receive_rows, "all_to_all_picked_rows");
    const std::int64_t n_rows = row_width == 0 ? 0 : n_values / row_width;
    if (sent.total != static_cast<std::int64_t>(picked.size()) ||
        arriving.total * row_width != n_receive_values ||
        std::any_of(picked.begin(), picked.end(),
                    [n_rows](int row) { return row < 0 || row >= n_rows; })) {
        throw Error("all_to_all_picked_rows: row counts do not match the buffers");
    }
    if (row_width == 0) return;
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    check_mpi(
        MPI_Type_contiguous(to_mpi_count(row_width, "all_to_all_picked_rows"), element, &row_type),
        "MPI_Type_contiguous");
    check_mpi(MPI_Type_commit(&row_type), "MPI_Type_commit");
    int element_size = 0;
    check_mpi(MPI_Type_size(element, &element_size), "MPI_Type_size");
    const std::int64_t row_bytes = row_width * element_size;
    // One indexed type per destination picks its rows out of `rows`; rows arrive contiguous.
    std::vector<MPI_Datatype> send_types(n_ranks, row_type);
    std::vector<int> send_counts(n_ranks, 0);
    std::vector<int> send_displacements(n_ranks, 0);
    // Each source's rows land at their byte offset, which may pass 2 GiB: an hindexed type
    // (MPI_Aint offset) per source, with Alltoallw's int displacements left at 0.
    std::vector<MPI_Datatype> receive_types(n_ranks, row_type);
    std::vector<int> receive_counts(n_ranks, 0);
    const std::vector<int> receive_displacements(n_ranks, 0);
    for (std::size_t r = 0; r < n_ranks; ++r) {
        if (r != self && arriving.counts[r] != 0) {  // nothing from itself: the caller's gap
            const auto offset = static_cast<MPI_Aint>(arriving.displacements[r] * row_bytes);
            check_mpi(MPI_Type_create_hindexed_block(1, arriving.counts[r], &offset, row_type,
                                                     &receive_types[r]),
                      "MPI_Type_create_hindexed_block");
            check_mpi(MPI_Type_commit(&receive_types[r]), "MPI_Type_commit");
            receive_counts[r] = 1;
        }
        if (sent.counts[r] == 0) continue;
        check_mpi(
            MPI_Type_create_indexed_block(sent.counts[r], 1, picked.data() + sent.displacements[r],
                                          row_type, &send_types[r]),
            "MPI_Type_create_indexed_block");
        check_mpi(MPI_Type_commit(&send_types[r]), "MPI_Type_commit");
        send_counts[r] = 1;
    }
    const int code = MPI_Alltoallw(rows, send_counts.data(), send_displacements.data(),
                                   send_types.data(), receive, receive_counts.data(),
                                   receive_displacements.data(), receive_types.data(), comm_);
    for (std::size_t r = 0; r < n_ranks; ++r) {
        if (send_counts[r] != 0) MPI_Type_free(&send_types[r]);
        if (receive_counts[r] != 0) MPI_Type_free(&receive_types[r]);
    }
    MPI_Type_free(&row_type);
    check_mpi(code, "MPI_Alltoallw");
}

}  // namespace distmf
