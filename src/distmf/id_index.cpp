#include "distmf/id_index.hpp"

#include <limits>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"

namespace distmf {
namespace {
constexpr std::size_t initial_slots = 1024;  // power of two
}

IdIndex::IdIndex() : slot_keys_(initial_slots, -1), slot_values_(initial_slots, absent) {
    mask_ = initial_slots - 1;
}

std::size_t IdIndex::slot_of(std::int64_t external_id) const noexcept {
    return static_cast<std::size_t>(mix64(static_cast<std::uint64_t>(external_id))) & mask_;
}

std::int32_t IdIndex::insert(std::int64_t external_id) {
    std::size_t slot = slot_of(external_id);
    while (slot_keys_[slot] != -1) {
        if (slot_keys_[slot] == external_id) return slot_values_[slot];
        slot = (slot + 1) & mask_;
    }
    if (ids_.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        throw InputError("more than 2^31 - 1 distinct IDs are not supported");
    }
    const auto index = static_cast<std::int32_t>(ids_.size());
    slot_keys_[slot] = external_id;
    slot_values_[slot] = index;
    ids_.push_back(external_id);
    if (2 * ids_.size() > slot_keys_.size()) grow();  // keep the load factor at most 1/2
    return index;
}

std::int32_t IdIndex::find(std::int64_t external_id) const {
    std::size_t slot = slot_of(external_id);
    while (slot_keys_[slot] != -1) {
        if (slot_keys_[slot] == external_id) return slot_values_[slot];
        slot = (slot + 1) & mask_;
    }
    return absent;
}

void IdIndex::grow() {
    const std::size_t slots = slot_keys_.size() * 2;
    slot_keys_.assign(slots, -1);
    slot_values_.assign(slots, absent);
    mask_ = slots - 1;
    for (std::size_t index = 0; index < ids_.size(); ++index) {
        std::size_t slot = slot_of(ids_[index]);
        while (slot_keys_[slot] != -1) slot = (slot + 1) & mask_;
        slot_keys_[slot] = ids_[index];
        slot_values_[slot] = static_cast<std::int32_t>(index);
    }
}

std::vector<std::int64_t> positions_of_ids(std::span<const std::int64_t> ids,
                                           std::span<const std::int64_t> table_ids) {
    IdIndex table;
    for (const std::int64_t id : table_ids) table.insert(id);
    std::vector<std::int64_t> positions(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) positions[i] = table.find(ids[i]);
    return positions;
}

}  // namespace distmf
