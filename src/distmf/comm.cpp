#include "distmf/comm.hpp"

#include <algorithm>
#include <exception>
#include <utility>

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

namespace {

MPI_Comm split_of(const Communicator& parent, int color, int key) {
    MPI_Comm split = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split(parent.get(), color, key, &split), "MPI_Comm_split");
    return split;
}

}  // namespace

void run_agreed(const Communicator& comm, const std::function<void()>& body) {
    std::optional<std::string> error;
    bool config_error = false;
    try {
        body();
    } catch (const ConfigError& e) {
        error = e.what();
        config_error = true;
    } catch (const InputError& e) {
        error = e.what();
    }
    if (comm.all_reduce_sum(error ? 1 : 0) == 0) return;
    const bool any_config_error = comm.all_reduce_max(config_error ? 1 : 0) == 1;
    const std::string message = comm.first_error(error, 0).value_or("failed");
    if (any_config_error) throw ConfigError(message);
    throw InputError(message);
}

SplitCommunicator::SplitCommunicator(const Communicator& parent, int color, int key)
    : comm_(split_of(parent, color, key)) {}

SplitCommunicator::~SplitCommunicator() {
    MPI_Comm handle = comm_.get();
    MPI_Comm_free(&handle);
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

PendingExchange Communicator::exchange_picked_rows(
    const void* rows, std::int64_t n_values, MPI_Datatype element, std::span<const int> picked,
    std::span<const std::int64_t> send_rows, void* receive, std::int64_t n_receive_values,
    std::span<const std::int64_t> receive_first_row, std::span<const std::int64_t> receive_rows,
    std::int64_t row_width, bool start_only) const {
    const auto n_ranks = static_cast<std::size_t>(size_);
    const auto self = static_cast<std::size_t>(rank_);
    if (send_rows.size() != n_ranks || receive_rows.size() != n_ranks ||
        receive_first_row.size() != n_ranks || send_rows[self] != 0) {
        throw Error("all_to_all_picked_rows: one count per rank needed, none to itself");
    }
    const PackedCounts sent = packed_counts(send_rows, "all_to_all_picked_rows");
    const std::int64_t n_rows = row_width == 0 ? 0 : n_values / row_width;
    const std::int64_t n_receive_rows = row_width == 0 ? 0 : n_receive_values / row_width;
    bool fits = sent.total == static_cast<std::int64_t>(picked.size()) &&
                std::all_of(picked.begin(), picked.end(),
                            [n_rows](int row) { return row >= 0 && row < n_rows; });
    for (std::size_t r = 0; r < n_ranks; ++r) {
        fits = fits && receive_first_row[r] >= 0 &&
               receive_first_row[r] + receive_rows[r] <= n_receive_rows;
    }
    if (!fits) throw Error("all_to_all_picked_rows: row counts do not match the buffers");
    PendingExchange pending;
    if (row_width == 0) return pending;
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    check_mpi(
        MPI_Type_contiguous(to_mpi_count(row_width, "all_to_all_picked_rows"), element, &row_type),
        "MPI_Type_contiguous");
    pending.owned_types_.push_back(row_type);
    check_mpi(MPI_Type_commit(&row_type), "MPI_Type_commit");
    int element_size = 0;
    check_mpi(MPI_Type_size(element, &element_size), "MPI_Type_size");
    const std::int64_t row_bytes = row_width * element_size;
    // One indexed type per destination picks its rows out of `rows`; rows arrive contiguous.
    pending.send_types_.assign(n_ranks, row_type);
    pending.send_counts_.assign(n_ranks, 0);
    pending.send_displacements_.assign(n_ranks, 0);
    // Each source's rows land at their byte offset, which may pass 2 GiB: an hindexed type
    // (MPI_Aint offset) per source, with Alltoallw's int displacements left at 0.
    pending.receive_types_.assign(n_ranks, row_type);
    pending.receive_counts_.assign(n_ranks, 0);
    pending.receive_displacements_.assign(n_ranks, 0);
    for (std::size_t r = 0; r < n_ranks; ++r) {
        if (r != self && receive_rows[r] != 0) {  // nothing from itself: the caller's gap
            const auto offset = static_cast<MPI_Aint>(receive_first_row[r] * row_bytes);
            MPI_Datatype& type = pending.receive_types_[r];
            check_mpi(MPI_Type_create_hindexed_block(
                          1, to_mpi_count(receive_rows[r], "all_to_all_picked_rows"), &offset,
                          row_type, &type),
                      "MPI_Type_create_hindexed_block");
            pending.owned_types_.push_back(type);
            check_mpi(MPI_Type_commit(&type), "MPI_Type_commit");
            pending.receive_counts_[r] = 1;
        }
        if (sent.counts[r] == 0) continue;
        MPI_Datatype& type = pending.send_types_[r];
        check_mpi(MPI_Type_create_indexed_block(
                      sent.counts[r], 1, picked.data() + sent.displacements[r], row_type, &type),
                  "MPI_Type_create_indexed_block");
        pending.owned_types_.push_back(type);
        check_mpi(MPI_Type_commit(&type), "MPI_Type_commit");
        pending.send_counts_[r] = 1;
    }
    PendingExchange& p = pending;
    const int code =
        start_only ? MPI_Ialltoallw(rows, p.send_counts_.data(), p.send_displacements_.data(),
                                    p.send_types_.data(), receive, p.receive_counts_.data(),
                                    p.receive_displacements_.data(), p.receive_types_.data(), comm_,
                                    &p.request_)
                   : MPI_Alltoallw(rows, p.send_counts_.data(), p.send_displacements_.data(),
                                   p.send_types_.data(), receive, p.receive_counts_.data(),
                                   p.receive_displacements_.data(), p.receive_types_.data(), comm_);
    check_mpi(code, start_only ? "MPI_Ialltoallw" : "MPI_Alltoallw");
    return pending;
}

PendingExchange::~PendingExchange() {
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);  // never throws
    release();
}

PendingExchange::PendingExchange(PendingExchange&& other) noexcept
    : request_(std::exchange(other.request_, MPI_REQUEST_NULL)),
      owned_types_(std::move(other.owned_types_)),
      send_types_(std::move(other.send_types_)),
      receive_types_(std::move(other.receive_types_)),
      send_counts_(std::move(other.send_counts_)),
      send_displacements_(std::move(other.send_displacements_)),
      receive_counts_(std::move(other.receive_counts_)),
      receive_displacements_(std::move(other.receive_displacements_)) {
    other.owned_types_.clear();
}

PendingExchange& PendingExchange::operator=(PendingExchange&& other) noexcept {
    if (this != &other) {
        PendingExchange old(std::move(*this));  // waits for and frees what this held
        request_ = std::exchange(other.request_, MPI_REQUEST_NULL);
        owned_types_ = std::exchange(other.owned_types_, {});
        send_types_ = std::move(other.send_types_);
        receive_types_ = std::move(other.receive_types_);
        send_counts_ = std::move(other.send_counts_);
        send_displacements_ = std::move(other.send_displacements_);
        receive_counts_ = std::move(other.receive_counts_);
        receive_displacements_ = std::move(other.receive_displacements_);
    }
    return *this;
}

bool PendingExchange::test() {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    check_mpi(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done != 0) release();
    return done != 0;
}

void PendingExchange::wait() {
    if (request_ != MPI_REQUEST_NULL) {
        check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
    }
    release();
}

void PendingExchange::release() noexcept {
    for (MPI_Datatype& type : owned_types_) MPI_Type_free(&type);
    owned_types_.clear();
}

}  // namespace distmf
