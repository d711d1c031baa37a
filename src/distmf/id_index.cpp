#include "distmf/id_index.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"

namespace distmf {
namespace {
constexpr std::size_t initial_slots = 1024;  // power of two
}

IdIndex::IdIndex() : slots_(initial_slots) { mask_ = initial_slots - 1; }

std::size_t IdIndex::slot_of(std::int64_t external_id) const noexcept {
    return static_cast<std::size_t>(mix64(static_cast<std::uint64_t>(external_id))) & mask_;
}

std::int32_t IdIndex::insert(std::int64_t external_id) {
    if (external_id >= direct_limit) return insert_hashed(external_id);
    const auto position = static_cast<std::size_t>(external_id);
    if (position >= direct_.size()) {
        direct_.resize(std::max<std::size_t>(std::bit_ceil(position + 1), initial_slots), absent);
    }
    std::int32_t& index = direct_[position];
    if (index == absent) index = add(external_id);
    return index;
}

std::int32_t IdIndex::insert_hashed(std::int64_t external_id) {
    std::size_t slot = slot_of(external_id);
    while (slots_[slot].key != -1) {
        if (slots_[slot].key == external_id) return slots_[slot].value;
        slot = (slot + 1) & mask_;
    }
    const std::int32_t index = add(external_id);
    slots_[slot] = Slot{external_id, index};
    ++slots_used_;
    if (2 * slots_used_ > slots_.size()) grow();  // keep the load factor at most 1/2
    return index;
}

std::int32_t IdIndex::add(std::int64_t external_id) {
    if (ids_.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        throw InputError("more than 2^31 - 1 distinct IDs are not supported");
    }
    ids_.push_back(external_id);
    return static_cast<std::int32_t>(ids_.size() - 1);
}

std::int32_t IdIndex::find(std::int64_t external_id) const {
    if (external_id >= 0 && external_id < direct_limit) {
        const auto position = static_cast<std::size_t>(external_id);
        return position < direct_.size() ? direct_[position] : absent;
    }
    std::size_t slot = slot_of(external_id);
    while (slots_[slot].key != -1) {
        if (slots_[slot].key == external_id) return slots_[slot].value;
        slot = (slot + 1) & mask_;
    }
    return absent;
}

void IdIndex::grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& entry : old) {
        if (entry.key == -1) continue;
        std::size_t slot = slot_of(entry.key);
        while (slots_[slot].key != -1) slot = (slot + 1) & mask_;
        slots_[slot] = entry;
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
