#pragma once
/// @file model_io.hpp
/// The model file: HDF5, written collectively by all ranks (each its own rows) to a temporary
/// name and renamed into place, readable with h5dump or h5py and no distmf code:
///
///   /                 attrs: format = "distmf", format_version, kind ("model"|"checkpoint"),
///                            algorithm, k, biases, iteration, seed, ranks, created,
///                            rating_min, rating_max, config (effective INI),
///                            complete (written last)
///   /global_mean      float64 scalar-like [1]      (0 without biases)
///   /users/ids        int64   [n_users]            external IDs, in row order
///   /users/factors    float32 [n_users, k]
///   /users/bias       float32 [n_users]            (with biases)
///   /items/...        the same for items

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/factors.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/partition.hpp"

namespace distmf {

/// The version of the layout above that this build writes and reads.
constexpr std::int64_t model_format_version = 1;

/// The attributes of a model file.
struct ModelInfo {
    std::string kind = "model";       ///< "model" or "checkpoint"
    std::string algorithm = "als";
    int k = 0;
    bool biases = true;
    std::int64_t iteration = 0;       ///< iterations completed
    std::uint64_t seed = 0;           ///< --train.seed
    std::int64_t ranks = 1;           ///< number of ranks that wrote the file
    std::string created;              ///< UTC time of writing, ISO 8601
    std::string config;               ///< effective INI text of the run
    double global_mean = 0.0;
    double rating_min = 0.0;          ///< training rating range (predictions are clipped to it)
    double rating_max = 0.0;
    std::int64_t n_users = 0;
    std::int64_t n_items = 0;
    std::int64_t format_version = model_format_version;
};

/// A whole model, as every rank holds it after loading.
struct Model {
    ModelInfo info;
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    FactorTable users;
    FactorTable items;
};

/// The parts of a model as training holds them (all rows on every rank; each rank writes the
/// rows of its blocks).
struct ModelView {
    const std::vector<std::int64_t>& user_ids;
    const std::vector<std::int64_t>& item_ids;
    const FactorTable& users;
    const FactorTable& items;
    const BlockPartition& user_blocks;
    const BlockPartition& item_blocks;
};

/// Collective: every rank of comm must call. Writes `model` to "<path>.tmp" (every rank its
/// own rows, collective transfers), calls `write_extra` (if set) with the open file for more
/// groups, sets `complete`, closes, and rank 0 renames the file to `path` after every rank has
/// closed it. A failure leaves any previous `path` untouched.
void save_model(const Communicator& comm, const std::string& path, const ModelInfo& info,
                const ModelView& model,
                const std::function<void(const H5Handle& file)>& write_extra = {});

/// Collective: every rank of comm must call. Reads the whole model on every rank. Throws an
/// (agreed) InputError naming the file if it is missing, not HDF5, not a distmf file, of an
/// unsupported version, incomplete, or inconsistent.
Model load_model(const Communicator& comm, const std::string& path);

/// Local. Reads the attributes of a model file (one process; for `distmf inspect`).
ModelInfo read_model_info(const H5Handle& file);

/// Local. The current UTC time as ISO 8601 ("2026-11-27T19:30:00Z").
std::string utc_timestamp();

}  // namespace distmf
