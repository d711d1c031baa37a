#pragma once
/// @file id_index.hpp
/// IdIndex: numbers external IDs (any non-negative 64-bit integers) 0, 1, 2, ... in the order
/// they are first seen, with an open-addressing hash table (linear probing) so that parsing
/// millions of lines costs one probe per ID rather than a tree walk or a node allocation.
/// Small IDs (below direct_limit, the usual case: MovieLens, Netflix, generated sets number
/// from 0 or 1) skip the hash: a plain array indexed by the ID, grown to the largest small ID
/// seen, holds their index (4 bytes per possible ID, so it stays in cache for the ~10^5 IDs of
/// a typical item side).

#include <cstdint>
#include <span>
#include <vector>

namespace distmf {

/// A dense numbering of external IDs. Local; not thread-safe for writes.
class IdIndex {
  public:
    /// Marks "not present" in lookups.
    static constexpr std::int32_t absent = -1;
    /// IDs below this are looked up directly (at most 4 * 2^22 bytes = 16 MiB of table).
    static constexpr std::int64_t direct_limit = std::int64_t{1} << 22;

    IdIndex();

    /// Local. The index of `external_id`, adding it (as size()) if it is new.
    /// Precondition: external_id >= 0.
    std::int32_t insert(std::int64_t external_id);
    /// Local. The index of `external_id`, or `absent`.
    std::int32_t find(std::int64_t external_id) const;
    /// Number of distinct IDs.
    std::int32_t size() const noexcept { return static_cast<std::int32_t>(ids_.size()); }
    /// The external IDs, in index order.
    std::span<const std::int64_t> ids() const noexcept { return ids_; }

  private:
    void grow();
    std::int32_t insert_hashed(std::int64_t external_id);
    std::int32_t add(std::int64_t external_id);
    std::size_t slot_of(std::int64_t external_id) const noexcept;

    /// One slot of the table: key and value side by side, so a probe touches one cache line.
    struct Slot {
        std::int64_t key = -1;  ///< -1: empty slot
        std::int32_t value = absent;
    };

    std::vector<Slot> slots_;
    std::vector<std::int32_t> direct_;  // index of each ID < direct_.size(), or absent
    std::vector<std::int64_t> ids_;
    std::size_t slots_used_ = 0;  // IDs in the hash table (those >= direct_limit)
    std::size_t mask_ = 0;
};

/// Local. For every ID of `ids`, its position in `table_ids` (distinct IDs), or -1 when
/// `table_ids` does not have it (e.g. the model rows of a data set's users).
std::vector<std::int64_t> positions_of_ids(std::span<const std::int64_t> ids,
                                           std::span<const std::int64_t> table_ids);

}  // namespace distmf
