#include "distmf/factors.hpp"

#include "distmf/hashing.hpp"

namespace distmf {

FactorTable::FactorTable(std::int64_t rows, int k, bool biases) : FactorTable(0, rows, k, biases) {}

FactorTable::FactorTable(std::int64_t first_row, std::int64_t rows, int k, bool biases)
    : values_(RowMatrixXf::Zero(rows, k + (biases ? 1 : 0))),
      first_row_(first_row),
      k_(k),
      biases_(biases) {}

std::span<float> FactorTable::row_span(std::int64_t first, std::int64_t count) {
    return {values_.data() + (first - first_row_) * width(),
            static_cast<std::size_t>(count * width())};
}

std::span<const float> FactorTable::row_span(std::int64_t first, std::int64_t count) const {
    return {values_.data() + (first - first_row_) * width(),
            static_cast<std::size_t>(count * width())};
}

void FactorTable::initialize(std::span<const std::int64_t> external_ids, std::uint64_t seed,
                             float scale) {
    const int offset = biases_ ? 1 : 0;
    for (std::int64_t row = 0; row < rows(); ++row) {
        SplitMix64 random(hash_keys(
            seed, static_cast<std::uint64_t>(external_ids[static_cast<std::size_t>(row)])));
        if (biases_) values_(row, 0) = 0.0F;
        for (int f = 0; f < k_; ++f) {
            values_(row, offset + f) =
                static_cast<float>(static_cast<double>(scale) * random.normal());
        }
    }
}

}  // namespace distmf
