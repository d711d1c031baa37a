#pragma once
/// @file comm.hpp
/// A thin, checked layer over MPI: the session (init/finalize), a communicator handle, and the
/// typed collectives distmf uses. Every call is checked; a failure throws MpiError naming the
/// MPI function. Counts are converted to MPI's `int` with a checked cast; large arrays of
/// records travel as contiguous derived types so counts stay in records, not bytes.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "distmf/error.hpp"

namespace distmf {

/// Local. Throws MpiError(code, operation) unless code == MPI_SUCCESS.
void check_mpi(int code, const char* operation);

/// Local. Converts a count to MPI's int, throwing if it does not fit (KaMPIng's throwing_cast).
template <class Integer>
int to_mpi_count(Integer value, const char* what) {
    if (value < 0 || static_cast<std::uint64_t>(value) >
                         static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        throw Error(std::string(what) + ": count " + std::to_string(value) +
                    " does not fit in an MPI int");
    }
    return static_cast<int>(value);
}

/// MPI's int counts and displacements of blocks packed back to back.
struct PackedCounts {
    std::vector<int> counts;
    std::vector<int> displacements;
    std::int64_t total = 0;  ///< the sum of the counts
};

/// Local. The counts and displacements of blocks of `counts` elements each, packed back to
/// back; throws (naming `what`) when one does not fit MPI's int.
PackedCounts packed_counts(std::span<const std::int64_t> counts, const char* what);

/// Owns MPI for the life of the program: MPI_Init_thread (funneled: only the main thread
/// calls MPI; OpenMP threads compute) and MPI_Finalize. Sets MPI_ERRORS_RETURN on
/// MPI_COMM_WORLD so errors become exceptions. Finalizes only when no exception is in flight
/// (after an uncaught error, main calls MPI_Abort instead). Construct it first in main.
class MpiSession {
  public:
    /// Collective over MPI_COMM_WORLD.
    MpiSession(int& argc, char**& argv);
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;  // one session per process
    MpiSession& operator=(const MpiSession&) = delete;
    MpiSession(MpiSession&&) = delete;
    MpiSession& operator=(MpiSession&&) = delete;
};

/// A non-blocking exchange in flight: its MPI request and what MPI reads until it completes
/// (count arrays, derived datatypes). Open MPI moves a non-blocking collective on only inside
/// MPI calls (MPI_THREAD_FUNNELED: the main thread's), so call test() between pieces of work
/// and wait() at the end. Move-only; the destructor waits for an exchange still in flight.
class PendingExchange {
  public:
    PendingExchange() = default;
    ~PendingExchange();
    PendingExchange(PendingExchange&& other) noexcept;
    PendingExchange& operator=(PendingExchange&& other) noexcept;
    PendingExchange(const PendingExchange&) = delete;  // owns the request
    PendingExchange& operator=(const PendingExchange&) = delete;

    /// Local (MPI_Test). Lets MPI progress the exchange; true once it is complete.
    bool test();
    /// Local (MPI_Wait). Returns once the exchange is complete (at once when none is pending).
    void wait();

  private:
    friend class Communicator;
    /// Frees the derived datatypes, once the exchange is complete.
    void release() noexcept;

    MPI_Request request_ = MPI_REQUEST_NULL;
    std::vector<MPI_Datatype> owned_types_;  // committed here, freed on completion
    std::vector<MPI_Datatype> send_types_;   // the arrays MPI reads until completion
    std::vector<MPI_Datatype> receive_types_;
    std::vector<int> send_counts_;
    std::vector<int> send_displacements_;
    std::vector<int> receive_counts_;
    std::vector<int> receive_displacements_;
};

/// Maps a C++ type to its MPI datatype. Arithmetic types map to the predefined types; any
/// other trivially copyable record travels as a committed contiguous run of bytes.
template <class T>
class MpiType {
    static_assert(std::is_trivially_copyable_v<T>, "MPI can only move trivially copyable types");

  public:
    MpiType();
    ~MpiType();
    MpiType(const MpiType&) = delete;  // owns a committed derived datatype
    MpiType& operator=(const MpiType&) = delete;
    MpiType(MpiType&&) = delete;
    MpiType& operator=(MpiType&&) = delete;
    /// The datatype to pass to MPI.
    MPI_Datatype get() const noexcept { return type_; }

  private:
    MPI_Datatype type_ = MPI_DATATYPE_NULL;
    bool owned_ = false;
};

/// Payload bytes moved between different ranks by a Communicator's row and block exchanges
/// (all_gather_rows_in_place, all_to_all_v, all_to_all_rows, all_to_all_picked_rows, send_recv; a
/// rank's copy to itself and the small count exchanges are not counted). For benchmarks and tests
/// of the routing plans' predictions.
struct TrafficCount {
    std::int64_t sent_bytes = 0;
    std::int64_t received_bytes = 0;
};

/// A non-owning handle to an MPI communicator (MPI_COMM_WORLD by default) with distmf's typed,
/// checked collectives. Every member function that communicates is collective: every rank of
/// the communicator must call it, in the same order, with consistent arguments.
class Communicator {
  public:
    /// Wraps MPI_COMM_WORLD.
    Communicator();
    /// Wraps an existing communicator without taking ownership.
    explicit Communicator(MPI_Comm comm);

    /// This process's rank.
    int rank() const noexcept { return rank_; }
    /// Number of ranks.
    int size() const noexcept { return size_; }
    /// The wrapped communicator.
    MPI_Comm get() const noexcept { return comm_; }

    /// Collective. MPI_Barrier.
    void barrier() const;

    /// Collective. Sum of value over all ranks, on every rank.
    template <class T>
    T all_reduce_sum(T value) const;
    /// Collective. Maximum of value over all ranks, on every rank.
    template <class T>
    T all_reduce_max(T value) const;
    /// Collective. Minimum of value over all ranks, on every rank.
    template <class T>
    T all_reduce_min(T value) const;
    /// Collective. Element-wise sum of values over all ranks, in place; sizes must agree.
    template <class T>
    void all_reduce_sum_in_place(std::span<T> values) const;
    /// Collective. Element-wise bitwise OR of values (unsigned integers, e.g. the words of
    /// bitmaps) over all ranks, in place; sizes must agree.
    template <class T>
    void all_reduce_or_in_place(std::span<T> values) const;
    /// Collective. Sum of value over ranks 0..rank-1 (0 on rank 0): MPI_Exscan.
    template <class T>
    T exclusive_scan_sum(T value) const;

    /// Collective. One value from every rank, in rank order.
    template <class T>
    std::vector<T> all_gather(T value) const;
    /// Collective. Every rank's values concatenated in rank order (counts may differ).
    template <class T>
    std::vector<T> all_gather_v(std::span<const T> mine) const;
    /// Collective. `all` holds every rank's rows (each `row_width` values long) back to back in
    /// rank order, `rows_per_rank[r]` rows for rank r; on entry this rank's own rows are in
    /// place, on exit every rank's are (MPI_Allgatherv with MPI_IN_PLACE, counted in rows).
    template <class T>
    void all_gather_rows_in_place(std::span<T> all, std::span<const std::int64_t> rows_per_rank,
                                  std::int64_t row_width) const;
    /// Collective. The same with rank r's rows anywhere in `all`: they start at row
    /// `first_row_of_rank[r]` (row ranges of different ranks must not overlap).
    template <class T>
    void all_gather_rows_in_place(std::span<T> all, std::span<const std::int64_t> first_row_of_rank,
                                  std::span<const std::int64_t> rows_per_rank,
                                  std::int64_t row_width) const {
        gather_rows_in_place(all, first_row_of_rank, rows_per_rank, row_width, false);
    }
    /// Collective. Starts all_gather_rows_in_place (MPI_Iallgatherv): `all` must not be read
    /// or written until the exchange returned has completed.
    template <class T>
    PendingExchange start_all_gather_rows_in_place(std::span<T> all,
                                                   std::span<const std::int64_t> first_row_of_rank,
                                                   std::span<const std::int64_t> rows_per_rank,
                                                   std::int64_t row_width) const {
        return gather_rows_in_place(all, first_row_of_rank, rows_per_rank, row_width, true);
    }
    /// Collective (every rank calls it, each with its own partners; MPI_Sendrecv). Sends `send`
    /// to rank `destination` and receives exactly receive.size() values from rank `source` into
    /// `receive` (the buffers must not overlap). With destination = rank - 1 and source =
    /// rank + 1 (mod size) on every rank, it shifts blocks one step around a ring. Throws
    /// MpiError if `source` sent another number of values.
    template <class T>
    void send_recv(std::span<const T> send, int destination, std::span<T> receive,
                   int source) const;
    /// Collective. Sends `send_counts[r]` consecutive values of `send` (packed in rank order)
    /// to rank r and returns what every rank sent here, concatenated in source-rank order.
    template <class T>
    std::vector<T> all_to_all_v(std::span<const T> send,
                                std::span<const std::int64_t> send_counts) const;

    /// Collective. Sends `send_rows[r]` consecutive rows of `send` (each `row_width` values,
    /// packed in rank order) to rank r and receives `receive_rows[r]` rows from rank r into
    /// `receive`, packed in source-rank order (MPI_Alltoallv counted in rows, so counts stay
    /// small). Every rank's receive_rows must equal what the others send it.
    template <class T>
    void all_to_all_rows(std::span<const T> send, std::span<const std::int64_t> send_rows,
                         std::span<T> receive, std::span<const std::int64_t> receive_rows,
                         std::int64_t row_width) const;

    /// Collective. Sends rows of `rows` (row-major, `row_width` values each) to the other
    /// ranks without packing them: to rank r, the next `send_rows[r]` rows listed in `picked`
    /// (row indices into `rows`, grouped by destination in rank order); receives
    /// `receive_rows[r]` rows from rank r into `receive`, packed in source-rank order. A rank's
    /// rows to itself do not travel: send_rows[rank] must be 0, and `receive` keeps a gap of
    /// receive_rows[rank] rows at their place, for the caller to fill. Every rank's
    /// receive_rows must equal what the others send it. (MPI_Alltoallw with an indexed
    /// datatype per destination: no send buffer, whatever the rows fan out to.)
    template <class T>
    void all_to_all_picked_rows(std::span<const T> rows, std::span<const int> picked,
                                std::span<const std::int64_t> send_rows, std::span<T> receive,
                                std::span<const std::int64_t> receive_rows,
                                std::int64_t row_width) const {
        const PackedCounts packed = packed_counts(receive_rows, "all_to_all_picked_rows");
        const std::vector<std::int64_t> first_rows(packed.displacements.begin(),
                                                   packed.displacements.end());
        picked_rows(rows, picked, send_rows, receive, first_rows, receive_rows, row_width, false);
    }
    /// Collective. Starts all_to_all_picked_rows (MPI_Ialltoallw) with the rows from rank r
    /// landing at row `receive_first_row[r]` of `receive` instead of packed: `rows` must not
    /// be written, nor `receive` read or written, until the exchange returned has completed.
    template <class T>
    PendingExchange start_all_to_all_picked_rows(std::span<const T> rows,
                                                 std::span<const int> picked,
                                                 std::span<const std::int64_t> send_rows,
                                                 std::span<T> receive,
                                                 std::span<const std::int64_t> receive_first_row,
                                                 std::span<const std::int64_t> receive_rows,
                                                 std::int64_t row_width) const {
        return picked_rows(rows, picked, send_rows, receive, receive_first_row, receive_rows,
                           row_width, true);
    }

    /// Local. What this handle's exchanges have moved to and from other ranks so far.
    const TrafficCount& traffic() const noexcept { return traffic_; }

    /// Collective. Replaces value with rank root's.
    template <class T>
    void broadcast(T& value, int root = 0) const;
    /// Collective. Replaces text with rank root's.
    void broadcast(std::string& text, int root = 0) const;

    /// Collective. Throws ConfigError "<what> differs between ranks" unless every rank passed
    /// the same value (KaMPIng's is_same_on_all_ranks).
    void check_same_on_all_ranks(std::uint64_t value, const std::string& what) const;

    /// Collective. Agrees on the first error among ranks: every rank passes its own error (or
    /// none) with an ordering key (for example, a global line number); every rank gets back the
    /// message with the smallest key (ties: lowest rank), or nothing if no rank failed.
    std::optional<std::string> first_error(const std::optional<std::string>& local_error,
                                           std::uint64_t order_key) const;

  private:
    /// all_to_all_picked_rows (rows from rank r at row receive_first_row[r]) for values of MPI
    /// type `element` (buffer sizes in values): MPI_Alltoallw, or started (MPI_Ialltoallw)
    /// and returned when `start_only`.
    PendingExchange exchange_picked_rows(const void* rows, std::int64_t n_values,
                                         MPI_Datatype element, std::span<const int> picked,
                                         std::span<const std::int64_t> send_rows, void* receive,
                                         std::int64_t n_receive_values,
                                         std::span<const std::int64_t> receive_first_row,
                                         std::span<const std::int64_t> receive_rows,
                                         std::int64_t row_width, bool start_only) const;
    /// exchange_picked_rows of a typed table, counted in traffic_.
    template <class T>
    PendingExchange picked_rows(std::span<const T> rows, std::span<const int> picked,
                                std::span<const std::int64_t> send_rows, std::span<T> receive,
                                std::span<const std::int64_t> receive_first_row,
                                std::span<const std::int64_t> receive_rows, std::int64_t row_width,
                                bool start_only) const {
        const MpiType<T> type;
        PendingExchange pending = exchange_picked_rows(
            rows.data(), static_cast<std::int64_t>(rows.size()), type.get(), picked, send_rows,
            receive.data(), static_cast<std::int64_t>(receive.size()), receive_first_row,
            receive_rows, row_width, start_only);
        std::int64_t sent = 0;
        std::int64_t received = 0;
        for (std::size_t r = 0; r < send_rows.size(); ++r) {
            sent += send_rows[r];
            if (static_cast<int>(r) != rank_) received += receive_rows[r];
        }
        count_traffic<T>(sent * row_width, received * row_width);
        return pending;
    }
    /// all_gather_rows_in_place (rank r's rows at first_row_of_rank[r]): MPI_Allgatherv, or
    /// started (MPI_Iallgatherv) and returned when `start_only`.
    template <class T>
    PendingExchange gather_rows_in_place(std::span<T> all,
                                         std::span<const std::int64_t> first_row_of_rank,
                                         std::span<const std::int64_t> rows_per_rank,
                                         std::int64_t row_width, bool start_only) const;

    /// Adds an exchange's payload to traffic_: `sent` and `received` values of T, own excluded.
    template <class T>
    void count_traffic(std::int64_t sent, std::int64_t received) const noexcept {
        traffic_.sent_bytes += sent * static_cast<std::int64_t>(sizeof(T));
        traffic_.received_bytes += received * static_cast<std::int64_t>(sizeof(T));
    }

    MPI_Comm comm_;
    int rank_ = 0;
    int size_ = 1;
    mutable TrafficCount traffic_;  // statistics only: counting does not change what is sent
};

/// Collective: every rank of comm must call. Runs `body` on every rank; when it throws an
/// InputError or ConfigError on any rank, every rank throws the same error (the lowest failing
/// rank's message, a ConfigError if any rank's was one), so no rank is left waiting in the next
/// collective.
void run_agreed(const Communicator& comm, const std::function<void()>& body);

/// A communicator split off another (MPI_Comm_split), owned: freed by MPI_Comm_free when
/// destroyed. For groups of ranks that work on their own (`distmf tune`'s candidate groups).
class SplitCommunicator {
  public:
    /// Collective over parent: ranks passing the same color form one communicator, ranked by
    /// key (ties: by their rank in parent).
    SplitCommunicator(const Communicator& parent, int color, int key);
    ~SplitCommunicator();
    SplitCommunicator(const SplitCommunicator&) = delete;  // owns the MPI communicator
    SplitCommunicator& operator=(const SplitCommunicator&) = delete;
    SplitCommunicator(SplitCommunicator&&) = delete;
    SplitCommunicator& operator=(SplitCommunicator&&) = delete;

    /// The new communicator.
    const Communicator& comm() const noexcept { return comm_; }

  private:
    Communicator comm_;
};

// ---- template definitions ------------------------------------------------------------------

template <class T>
MpiType<T>::MpiType() {
    if constexpr (std::is_same_v<T, char>) {
        type_ = MPI_CHAR;
    } else if constexpr (std::is_same_v<T, unsigned char> || std::is_same_v<T, std::byte>) {
        type_ = MPI_UNSIGNED_CHAR;
    } else if constexpr (std::is_same_v<T, int>) {
        type_ = MPI_INT;
    } else if constexpr (std::is_same_v<T, unsigned>) {
        type_ = MPI_UNSIGNED;
    } else if constexpr (std::is_same_v<T, long>) {
        type_ = MPI_LONG;
    } else if constexpr (std::is_same_v<T, unsigned long>) {
        type_ = MPI_UNSIGNED_LONG;
    } else if constexpr (std::is_same_v<T, long long>) {
        type_ = MPI_LONG_LONG;
    } else if constexpr (std::is_same_v<T, unsigned long long>) {
        type_ = MPI_UNSIGNED_LONG_LONG;
    } else if constexpr (std::is_same_v<T, float>) {
        type_ = MPI_FLOAT;
    } else if constexpr (std::is_same_v<T, double>) {
        type_ = MPI_DOUBLE;
    } else {
        static_assert(!std::is_arithmetic_v<T>, "add this arithmetic type to MpiType");
        check_mpi(MPI_Type_contiguous(static_cast<int>(sizeof(T)), MPI_BYTE, &type_),
                  "MPI_Type_contiguous");
        check_mpi(MPI_Type_commit(&type_), "MPI_Type_commit");
        owned_ = true;
    }
}

template <class T>
MpiType<T>::~MpiType() {
    if (owned_) MPI_Type_free(&type_);
}

template <class T>
T Communicator::all_reduce_sum(T value) const {
    T result{};
    check_mpi(MPI_Allreduce(&value, &result, 1, MpiType<T>().get(), MPI_SUM, comm_),
              "MPI_Allreduce");
    return result;
}

template <class T>
T Communicator::all_reduce_max(T value) const {
    T result{};
    check_mpi(MPI_Allreduce(&value, &result, 1, MpiType<T>().get(), MPI_MAX, comm_),
              "MPI_Allreduce");
    return result;
}

template <class T>
T Communicator::all_reduce_min(T value) const {
    T result{};
    check_mpi(MPI_Allreduce(&value, &result, 1, MpiType<T>().get(), MPI_MIN, comm_),
              "MPI_Allreduce");
    return result;
}

template <class T>
void Communicator::all_reduce_sum_in_place(std::span<T> values) const {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                            to_mpi_count(values.size(), "all_reduce_sum_in_place"),
                            MpiType<T>().get(), MPI_SUM, comm_),
              "MPI_Allreduce");
}

template <class T>
void Communicator::all_reduce_or_in_place(std::span<T> values) const {
    static_assert(std::is_unsigned_v<T>, "bitwise OR is for unsigned integers");
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                            to_mpi_count(values.size(), "all_reduce_or_in_place"),
                            MpiType<T>().get(), MPI_BOR, comm_),
              "MPI_Allreduce");
}

template <class T>
T Communicator::exclusive_scan_sum(T value) const {
    T result{};
    check_mpi(MPI_Exscan(&value, &result, 1, MpiType<T>().get(), MPI_SUM, comm_), "MPI_Exscan");
    return rank_ == 0 ? T{} : result;  // MPI leaves rank 0's result undefined
}

template <class T>
std::vector<T> Communicator::all_gather(T value) const {
    std::vector<T> result(static_cast<std::size_t>(size_));
    const MpiType<T> type;
    check_mpi(MPI_Allgather(&value, 1, type.get(), result.data(), 1, type.get(), comm_),
              "MPI_Allgather");
    return result;
}

template <class T>
std::vector<T> Communicator::all_gather_v(std::span<const T> mine) const {
    const std::vector<std::int64_t> counts =
        all_gather<std::int64_t>(static_cast<std::int64_t>(mine.size()));
    std::vector<int> recv_counts(counts.size());
    std::vector<int> displacements(counts.size());
    std::int64_t total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
        recv_counts[r] = to_mpi_count(counts[r], "all_gather_v");
        displacements[r] = to_mpi_count(total, "all_gather_v");
        total += counts[r];
    }
    std::vector<T> result(static_cast<std::size_t>(total));
    const MpiType<T> type;
    check_mpi(
        MPI_Allgatherv(mine.data(), to_mpi_count(mine.size(), "all_gather_v"), type.get(),
                       result.data(), recv_counts.data(), displacements.data(), type.get(), comm_),
        "MPI_Allgatherv");
    return result;
}

template <class T>
void Communicator::all_gather_rows_in_place(std::span<T> all,
                                            std::span<const std::int64_t> rows_per_rank,
                                            std::int64_t row_width) const {
    std::vector<std::int64_t> first_rows(rows_per_rank.size());
    std::int64_t total_rows = 0;
    for (std::size_t r = 0; r < rows_per_rank.size(); ++r) {
        first_rows[r] = total_rows;
        total_rows += rows_per_rank[r];
    }
    if (static_cast<std::int64_t>(all.size()) != total_rows * row_width) {
        throw Error("all_gather_rows_in_place: buffer does not hold every rank's rows");
    }
    all_gather_rows_in_place(all, std::span<const std::int64_t>(first_rows), rows_per_rank,
                             row_width);
}

template <class T>
PendingExchange Communicator::gather_rows_in_place(std::span<T> all,
                                                   std::span<const std::int64_t> first_row_of_rank,
                                                   std::span<const std::int64_t> rows_per_rank,
                                                   std::int64_t row_width, bool start_only) const {
    if (first_row_of_rank.size() != rows_per_rank.size()) {
        throw Error("all_gather_rows_in_place: one first row and one count per rank needed");
    }
    PendingExchange pending;
    pending.receive_counts_.resize(rows_per_rank.size());
    pending.receive_displacements_.resize(rows_per_rank.size());
    std::int64_t total_rows = 0;
    for (std::size_t r = 0; r < rows_per_rank.size(); ++r) {
        pending.receive_counts_[r] = to_mpi_count(rows_per_rank[r], "all_gather_rows_in_place");
        pending.receive_displacements_[r] =
            to_mpi_count(first_row_of_rank[r], "all_gather_rows_in_place");
        if ((first_row_of_rank[r] + rows_per_rank[r]) * row_width >
            static_cast<std::int64_t>(all.size())) {
            throw Error("all_gather_rows_in_place: a rank's rows lie outside the buffer");
        }
        total_rows += rows_per_rank[r];
    }
    if (total_rows == 0 || row_width == 0) return pending;
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    check_mpi(MPI_Type_contiguous(to_mpi_count(row_width, "all_gather_rows_in_place"),
                                  MpiType<T>().get(), &row_type),
              "MPI_Type_contiguous");
    pending.owned_types_.push_back(row_type);
    check_mpi(MPI_Type_commit(&row_type), "MPI_Type_commit");
    const int code =
        start_only
            ? MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.data(),
                              pending.receive_counts_.data(), pending.receive_displacements_.data(),
                              row_type, comm_, &pending.request_)
            : MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.data(),
                             pending.receive_counts_.data(), pending.receive_displacements_.data(),
                             row_type, comm_);
    check_mpi(code, start_only ? "MPI_Iallgatherv" : "MPI_Allgatherv");
    const std::int64_t own_rows = rows_per_rank[static_cast<std::size_t>(rank_)];
    count_traffic<T>(own_rows * row_width * (size_ - 1), (total_rows - own_rows) * row_width);
    return pending;
}

template <class T>
void Communicator::send_recv(std::span<const T> send, int destination, std::span<T> receive,
                             int source) const {
    const MpiType<T> type;
    constexpr int tag = 0x5d6d;
    MPI_Status status;
    check_mpi(
        MPI_Sendrecv(send.data(), to_mpi_count(send.size(), "send_recv"), type.get(), destination,
                     tag, receive.data(), to_mpi_count(receive.size(), "send_recv"), type.get(),
                     source, tag, comm_, &status),
        "MPI_Sendrecv");
    int received = 0;
    check_mpi(MPI_Get_count(&status, type.get(), &received), "MPI_Get_count");
    if (static_cast<std::size_t>(received) != receive.size()) {
        throw MpiError(MPI_ERR_COUNT, "MPI_Sendrecv (received " + std::to_string(received) +
                                          " values, expected " + std::to_string(receive.size()) +
                                          ")");
    }
    count_traffic<T>(destination == rank_ ? 0 : static_cast<std::int64_t>(send.size()),
                     source == rank_ ? 0 : static_cast<std::int64_t>(receive.size()));
}

template <class T>
std::vector<T> Communicator::all_to_all_v(std::span<const T> send,
                                          std::span<const std::int64_t> send_counts) const {
    const auto n_ranks = static_cast<std::size_t>(size_);
    if (send_counts.size() != n_ranks) throw Error("all_to_all_v: one count per rank needed");
    std::vector<std::int64_t> recv_counts64(n_ranks);
    const MpiType<std::int64_t> count_type;
    check_mpi(MPI_Alltoall(send_counts.data(), 1, count_type.get(), recv_counts64.data(), 1,
                           count_type.get(), comm_),
              "MPI_Alltoall");
    const PackedCounts sent = packed_counts(send_counts, "all_to_all_v");
    const PackedCounts arriving =
        packed_counts(std::span<const std::int64_t>(recv_counts64), "all_to_all_v");
    const std::int64_t send_total = sent.total;
    const std::int64_t recv_total = arriving.total;
    if (send_total != static_cast<std::int64_t>(send.size())) {
        throw Error("all_to_all_v: send counts do not add up to the buffer size");
    }
    std::vector<T> received(static_cast<std::size_t>(recv_total));
    const MpiType<T> type;
    check_mpi(MPI_Alltoallv(send.data(), sent.counts.data(), sent.displacements.data(), type.get(),
                            received.data(), arriving.counts.data(), arriving.displacements.data(),
                            type.get(), comm_),
              "MPI_Alltoallv");
    const auto self = static_cast<std::size_t>(rank_);
    count_traffic<T>(send_total - send_counts[self], recv_total - recv_counts64[self]);
    return received;
}

template <class T>
void Communicator::all_to_all_rows(std::span<const T> send, std::span<const std::int64_t> send_rows,
                                   std::span<T> receive, std::span<const std::int64_t> receive_rows,
                                   std::int64_t row_width) const {
    const auto n_ranks = static_cast<std::size_t>(size_);
    if (send_rows.size() != n_ranks || receive_rows.size() != n_ranks) {
        throw Error("all_to_all_rows: one count per rank needed");
    }
    const PackedCounts sent = packed_counts(send_rows, "all_to_all_rows");
    const PackedCounts arriving = packed_counts(receive_rows, "all_to_all_rows");
    const std::int64_t send_total = sent.total;
    const std::int64_t recv_total = arriving.total;
    if (send_total * row_width != static_cast<std::int64_t>(send.size()) ||
        recv_total * row_width != static_cast<std::int64_t>(receive.size())) {
        throw Error("all_to_all_rows: row counts do not match the buffers");
    }
    if (row_width == 0) return;
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    check_mpi(MPI_Type_contiguous(to_mpi_count(row_width, "all_to_all_rows"), MpiType<T>().get(),
                                  &row_type),
              "MPI_Type_contiguous");
    check_mpi(MPI_Type_commit(&row_type), "MPI_Type_commit");
    const int code = MPI_Alltoallv(send.data(), sent.counts.data(), sent.displacements.data(),
                                   row_type, receive.data(), arriving.counts.data(),
                                   arriving.displacements.data(), row_type, comm_);
    MPI_Type_free(&row_type);
    check_mpi(code, "MPI_Alltoallv");
    const auto self = static_cast<std::size_t>(rank_);
    count_traffic<T>((send_total - send_rows[self]) * row_width,
                     (recv_total - receive_rows[self]) * row_width);
}

template <class T>
void Communicator::broadcast(T& value, int root) const {
    check_mpi(MPI_Bcast(&value, 1, MpiType<T>().get(), root, comm_), "MPI_Bcast");
}

}  // namespace distmf
