#pragma once
/// @file model_io.hpp
/// The model file: HDF5, written collectively by all ranks (each its own rows) to a temporary
/// name and renamed into place, readable with h5dump or h5py and no distmf code:
///
///   /                 attrs: format = "distmf", format_version, kind ("model"|"checkpoint"),
///                            algorithm, k, biases, iteration, seed, ranks, created,
///                            rating_min, rating_max, config (effective INI),
///                            attributes_checksum, complete (written last)
///   /global_mean      float64 scalar-like [1]      (0 without biases)
///   /users/ids        int64   [n_users]            external IDs, in row order
///   /users/factors    float32 [n_users, k]
///   /users/bias       float32 [n_users]            (with biases)
///   /items/...        the same for items
///   /users/train_offsets int64 [n_users + 1]     each user's training items (serving):
///   /users/train_items   int32 [n_train]         item rows of user i at [offsets[i], offsets[i+1])
///   /items/train_count   int64 [n_items]         training interactions per item (popularity)
///
/// The three training datasets are in model files only (not in checkpoints); readers accept
/// files without them (written before they existed).
///
/// Files are written in the HDF5 1.8 format (checksummed object headers and superblock), with
/// fixed-length string attributes (stored in the checksummed object header, not in HDF5's
/// global heap). Version 1 files (the 1.6 format, variable-length strings, no
/// attributes_checksum) are refused.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/error.hpp"
#include "distmf/factors.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"

namespace distmf {

/// Every dataset carries an attribute `checksum`: the sum over its rows r (mod 2^64) of
/// hash(r, bytes of row r) -- independent of how many ranks wrote or read it. The root
/// attributes from `format` to `rating_max` are covered by `attributes_checksum`
/// (attributes_checksum below). A file with a flipped bit, a truncated file, a foreign file or
/// an attribute edited by hand (with h5py, which keeps HDF5's own checksums valid) is detected
/// when it is read.
///
/// The version of the layout above that this build writes and reads.
constexpr std::int64_t model_format_version = 2;

/// The attributes of a model file.
struct ModelInfo {
    std::string kind = "model";  ///< "model" or "checkpoint"
    std::string algorithm = "als";
    int k = 0;
    bool biases = true;
    std::int64_t iteration = 0;  ///< iterations completed
    std::uint64_t seed = 0;      ///< --train.seed
    std::int64_t ranks = 1;      ///< number of ranks that wrote the file
    std::string created;         ///< UTC time of writing, ISO 8601
    std::string config;          ///< effective INI text of the run
    double global_mean = 0.0;
    double rating_min = 0.0;  ///< training rating range (predictions are clipped to it)
    double rating_max = 0.0;
    std::int64_t n_users = 0;
    std::int64_t n_items = 0;
    std::int64_t format_version = model_format_version;
};

/// A model as a rank holds it after loading: all of it (load_model), or every ID and
/// attribute with the factor rows of a range of users and of items (load_model_share: the
/// tables' first_row() and train_items.first_row say where the rows start).
struct Model {
    ModelInfo info;
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    FactorTable users;
    FactorTable items;
    /// Each user's training items (rows: the users of `users`, columns: item rows; no
    /// values); no rows when the file has none.
    RatingMatrix train_items;
    /// Training interactions per item; empty when the file has none.
    std::vector<std::int64_t> item_train_counts;
    /// Whether the file had the training datasets.
    bool has_training_data() const { return !item_train_counts.empty(); }
};

/// The parts of a model as training holds them: the IDs of every row, and tables holding at
/// least this rank's rows of its blocks (its own rows, or every row); each rank writes the rows
/// of its blocks.
struct ModelView {
    const std::vector<std::int64_t>& user_ids;
    const std::vector<std::int64_t>& item_ids;
    const FactorTable& users;
    const FactorTable& items;
    const BlockPartition& user_blocks;
    const BlockPartition& item_blocks;
    /// With a model (not a checkpoint): this rank's users' training ratings (the rows
    /// user_blocks.first(rank)..end(rank); only the columns are written) and the training
    /// count of every item. Null: not written.
    const RatingMatrix* user_train = nullptr;
    const std::vector<std::int64_t>* item_train_counts = nullptr;
};

/// Collective: every rank of comm must call. Writes `model` to "<path>.tmp" (every rank its
/// own rows, collective transfers), calls `write_extra` (if set) with the open file for more
/// groups, sets `complete`, closes, and rank 0 renames the file to `path` after every rank has
/// closed it. A failure leaves any previous `path` untouched; a failure of one rank in the
/// middle of the write aborts the job at once (collective_section.hpp), after removing the
/// temporary file.
void save_model(const Communicator& comm, const std::string& path, const ModelInfo& info,
                const ModelView& model,
                const std::function<void(const H5Handle& file)>& write_extra = {});

/// Collective: every rank of comm must call. Reads the whole model on every rank. Throws an
/// (agreed) InputError naming the file if it is missing, not HDF5, not a distmf file, of an
/// unsupported version, incomplete, or inconsistent (also when a collective transfer failed
/// on one rank only); any other failure of one rank in the middle of the read aborts the job
/// (collective_section.hpp).
Model load_model(const Communicator& comm, const std::string& path);

/// Local. The checksum of rows [first_row, first_row + n_rows) of a dataset whose rows are
/// `row_bytes` bytes each, stored at `data` (row first_row first) every `stride_bytes` bytes
/// (0: contiguous).
std::uint64_t rows_checksum(const void* data, std::int64_t first_row, std::int64_t n_rows,
                            std::int64_t row_bytes, std::int64_t stride_bytes = 0);

/// Collective: every rank of comm must call. Creates dataset `name` under `parent`, shaped
/// [n_rows] (width 0) or [n_rows, width], writes this rank's rows [first, first + count) from
/// `data` (laid out as `memory` says: by default dense and row-major) and stores the checksum
/// of all rows as its attribute "checksum".
template <class T>
void write_checked_rows(const Communicator& comm, const H5Handle& parent, const std::string& name,
                        std::int64_t n_rows, std::int64_t width, std::int64_t first,
                        std::int64_t count, const T* data, const MemoryRows& memory = {}) {
    std::vector<std::uint64_t> shape{static_cast<std::uint64_t>(n_rows)};
    if (width > 0) shape.push_back(static_cast<std::uint64_t>(width));
    const H5Handle dataset = create_dataset(parent, name, H5Type<T>::file(), shape);
    write_rows(dataset, first, count, data, true, memory);
    const auto element_bytes = static_cast<std::int64_t>(sizeof(T));
    const std::int64_t row_bytes = std::max<std::int64_t>(1, width) * element_bytes;
    const std::uint64_t checksum = comm.all_reduce_sum(rows_checksum(
        data + memory.first_column, first, count, row_bytes, memory.row_width * element_bytes));
    write_attribute<std::uint64_t>(dataset, "checksum", checksum);
}

/// Local (collective transfer when `collective`). Reads every row of dataset `name` under
/// `parent`, checks that it has `width` columns (0: 1-D) and verifies its checksum; throws
/// InputError naming the file and the dataset otherwise. Returns the values, row-major.
template <class T>
std::vector<T> read_checked_rows(const H5Handle& parent, const std::string& name,
                                 std::int64_t width, bool collective) {
    const H5Handle dataset = open_dataset(parent, name);
    const std::vector<std::uint64_t> shape = dataset_shape(dataset);
    const bool shape_ok = width == 0
                              ? shape.size() == 1
                              : shape.size() == 2 && shape[1] == static_cast<std::uint64_t>(width);
    if (!shape_ok) throw InputError(parent.file() + ": dataset " + name + " has the wrong shape");
    const auto n_rows = static_cast<std::int64_t>(shape[0]);
    const std::int64_t row_width = std::max<std::int64_t>(1, width);
    std::vector<T> values(static_cast<std::size_t>(n_rows * row_width));
    read_rows(dataset, 0, n_rows, values.data(), collective);
    if (!has_attribute(dataset, "checksum") ||
        read_attribute<std::uint64_t>(dataset, "checksum") !=
            rows_checksum(values.data(), 0, n_rows,
                          row_width * static_cast<std::int64_t>(sizeof(T)))) {
        throw InputError(parent.file() + ": checksum mismatch in dataset " + name +
                         " (the file is corrupt)");
    }
    return values;
}

/// Local. The number of rows of dataset `name` under `parent` (its first dimension).
std::int64_t dataset_rows(const H5Handle& parent, const std::string& name);

/// How the ranks' reads of one dataset cover it, which says how its checksum is verified.
enum class ShareCoverage {
    /// Every rank reads every row and checks the whole checksum itself.
    whole,
    /// The ranks' checked ranges are disjoint and together cover every row: each rank sums
    /// the row hashes of its range and the sum over the ranks must be the stored checksum.
    partition,
};

/// Collective: every rank of comm must call (in a file opened with open_parallel_file). Reads
/// rows `range` of dataset `name` under `parent` (independent transfers), checks that it has
/// `width` columns (0: 1-D) and that `range` lies inside it, and verifies the rows of
/// `checked` (a part of `range`; by default all of it) against the dataset's checksum as
/// `coverage` says. The verdict is combined over the ranks, so a failure -- a damaged
/// dataset, a failed read on one rank -- is an InputError naming the file and the dataset on
/// every rank alike (never one rank waiting for another). Returns the rows, row-major.
template <class T>
std::vector<T> read_checked_share(const Communicator& comm, const H5Handle& parent,
                                  const std::string& name, std::int64_t width, RowRange range,
                                  ShareCoverage coverage, std::optional<RowRange> checked = {});

/// Which rows of each side one rank reads (load_model_share): for users and items, a range
/// and how the ranks' ranges cover the side.
struct ShareLayout {
    RowRange users;
    ShareCoverage user_coverage = ShareCoverage::whole;
    RowRange items;
    ShareCoverage item_coverage = ShareCoverage::whole;
};

/// Collective: every rank of comm must call. Reads the attributes and IDs of the model or
/// checkpoint `path`, asks `layout` (the same answer on every rank for the same ModelInfo,
/// except for the ranges themselves) which rows this rank reads, and reads those rows of the
/// factors, biases and training lists with read_checked_share. Errors as load_model's: one
/// flipped byte anywhere is an agreed InputError naming the file on every rank.
Model load_model_share(const Communicator& comm, const std::string& path,
                       const std::function<ShareLayout(const ModelInfo&)>& layout);

/// Collective: every rank of comm must call. load_model_share's reading, from a file opened
/// with open_parallel_file (for a caller that reads more from it, as checkpoints do).
Model read_model_share(const Communicator& comm, const H5Handle& file,
                       const std::function<ShareLayout(const ModelInfo&)>& layout);

/// Local. The layout that reads every row of both sides on every rank.
ShareLayout whole_layout(const ModelInfo& info);

/// Reads a whole model from an open file (collective transfers when `collective`: then every
/// rank that opened the file must call). Throws InputError naming the file when it is not a
/// complete distmf file of this version or a checksum does not match.
Model read_model(const H5Handle& file, bool collective);

/// Local. Reads the attributes of a model file (one process; for `distmf inspect`).
ModelInfo read_model_info(const H5Handle& file);

/// Local. The checksum stored as the root attribute `attributes_checksum`: a hash of the
/// names and exact values of the root attributes format, format_version, kind, algorithm, k,
/// biases, iteration, seed, ranks, created, config, rating_min and rating_max, as `info`
/// holds them.
std::uint64_t attributes_checksum(const ModelInfo& info);

/// Local. The current UTC time as ISO 8601 ("2026-11-27T19:30:00Z").
std::string utc_timestamp();

}  // namespace distmf
