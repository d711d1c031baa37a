#include "distmf/dataset.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "distmf/data_cache.hpp"
#include "distmf/error.hpp"
#include "distmf/exact_sum.hpp"
#include "distmf/hashing.hpp"
#include "distmf/id_index.hpp"
#include "distmf/ratings_format.hpp"
#include "distmf/ratings_reader.hpp"

namespace distmf {
namespace {

constexpr std::int64_t layout_head_bytes = 64 << 10;
constexpr std::uint64_t per_user_stream = 0x7065722d75736572ULL;    // "per-user"
constexpr std::uint64_t validation_stream = 0x76616c6964617465ULL;  // "validate"

TextLayout agreed_layout(const Communicator& comm, const std::string& path,
                         const DataConfig& options, int min_fields = 3) {
    TextLayout layout;
    run_agreed(comm, [&] {
        layout = detect_layout(read_file_head(path, layout_head_bytes), options, path, min_fields);
    });
    return layout;
}

/// Reads this rank's range of `path`, then agrees with the other ranks on the first malformed
/// line (numbered globally: lines before this rank's range are counted by an exclusive scan).
void read_agreed(const Communicator& comm, const std::string& path, const TextLayout& layout,
                 const SplitRule& rule, RatingShard& shard) {
    RangeReadResult result;
    std::optional<std::string> io_error;
    try {
        const ByteRange range = nominal_byte_range(file_size_bytes(path), comm.rank(), comm.size());
        result = read_rating_range(path, layout, range, rule, shard);
    } catch (const InputError& e) {
        io_error = e.what();
    }
    if (const auto first = comm.first_error(io_error, 0)) throw InputError(*first);
    const std::int64_t lines_before = comm.exclusive_scan_sum(result.lines);
    std::optional<std::string> line_error;
    std::uint64_t line_number = 0;
    if (result.error) {
        line_number = static_cast<std::uint64_t>(lines_before + result.error->line_in_range + 1);
        line_error = path + ":" + std::to_string(line_number) + ": " + result.error->reason;
    }
    if (const auto first = comm.first_error(line_error, line_number)) throw InputError(*first);
}

/// Every distinct external ID on any rank, in distmf's global order.
std::vector<std::int64_t> global_ids(const Communicator& comm, const IdIndex& local,
                                     std::uint64_t seed) {
    std::vector<std::int64_t> all = comm.all_gather_v(local.ids());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    return global_id_order(all, seed);
}

/// For each local index of `local`, the global index of the same external ID.
std::vector<std::int32_t> local_to_global(const IdIndex& local,
                                          const std::vector<std::int64_t>& ordered_ids) {
    IdIndex global;
    for (const std::int64_t id : ordered_ids) global.insert(id);
    std::vector<std::int32_t> table(static_cast<std::size_t>(local.size()));
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = global.find(local.ids()[i]);
    return table;
}

void renumber(std::vector<LocalRating>& ratings, const std::vector<std::int32_t>& user_table,
              const std::vector<std::int32_t>& item_table) {
    for (LocalRating& r : ratings) {
        r.user = user_table[static_cast<std::size_t>(r.user)];
        r.item = item_table[static_cast<std::size_t>(r.item)];
    }
}

std::vector<std::int64_t> global_row_counts(const Communicator& comm,
                                            const std::vector<LocalRating>& ratings, RowField field,
                                            std::size_t n_rows) {
    std::vector<std::int64_t> counts(n_rows, 0);
    for (const LocalRating& r : ratings) {
        ++counts[static_cast<std::size_t>(field == RowField::user ? r.user : r.item)];
    }
    comm.all_reduce_sum_in_place(std::span<std::int64_t>(counts));
    return counts;
}

/// The number of entries of every global row, from every rank's block of rows.
std::vector<std::int64_t> global_row_sizes(const Communicator& comm, const RatingMatrix& block,
                                           std::size_t n_rows) {
    std::vector<std::int64_t> sizes(n_rows, 0);
    for (std::int64_t r = 0; r < block.n_rows(); ++r) {
        sizes[static_cast<std::size_t>(block.first_row + r)] = block.row_size(r);
    }
    comm.all_reduce_sum_in_place(std::span<std::int64_t>(sizes));
    return sizes;
}

/// Builds this rank's block of rows from ratings already at their owner, and agrees on the
/// first duplicate (reported with external IDs) when duplicates are errors.
RatingMatrix build_agreed(const Communicator& comm, std::vector<LocalRating> owned,
                          const BlockPartition& blocks, const DataConfig& options,
                          const std::string& path, const Dataset& dataset,
                          std::int64_t& duplicates_merged) {
    BuildReport report;
    RatingMatrix matrix =
        build_rating_matrix(std::move(owned), RowField::user, blocks.first(comm.rank()),
                            blocks.size(comm.rank()), options.duplicates, report);
    duplicates_merged += comm.all_reduce_sum(report.duplicates_merged);
    std::optional<std::string> error;
    std::uint64_t key = 0;
    if (report.duplicate) {
        const auto user = dataset.user_ids[static_cast<std::size_t>(report.duplicate->row)];
        const auto item = dataset.item_ids[static_cast<std::size_t>(report.duplicate->column)];
        key = static_cast<std::uint64_t>(report.duplicate->row);
        error = path + ": user " + std::to_string(user) + " rated item " + std::to_string(item) +
                " more than once (choose --data.duplicates last or mean to accept this)";
    }
    if (const auto first = comm.first_error(error, key)) throw InputError(*first);
    return matrix;
}

/// The transpose of this rank's user rows, as this rank's item rows.
RatingMatrix transpose_to_item_owners(const Communicator& comm, const RatingMatrix& by_user,
                                      const BlockPartition& item_blocks) {
    std::vector<LocalRating> entries;
    entries.reserve(static_cast<std::size_t>(by_user.nnz()));
    for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
        const auto user = static_cast<std::int32_t>(by_user.first_row + row);
        const auto columns = by_user.row_columns(row);
        const auto values = by_user.row_values(row);
        for (std::size_t e = 0; e < columns.size(); ++e) {
            entries.push_back({user, columns[e], values[e]});
        }
    }
    std::vector<LocalRating> owned =
        send_to_owners(comm, std::move(entries), item_blocks, RowField::item);
    BuildReport report;  // no duplicates can remain
    return build_rating_matrix(std::move(owned), RowField::item, item_blocks.first(comm.rank()),
                               item_blocks.size(comm.rank()), DuplicatePolicy::error, report);
}

}  // namespace

void summarize_dataset(const Communicator& comm, Dataset& dataset, bool rating_statistics) {
    DatasetSummary& s = dataset.summary;
    s.n_users = static_cast<std::int64_t>(dataset.user_ids.size());
    s.n_items = static_cast<std::int64_t>(dataset.item_ids.size());
    s.train_by_user_block = comm.all_gather(dataset.user_ratings.nnz());
    s.train_by_item_block = comm.all_gather(dataset.item_ratings.nnz());
    s.n_train = comm.all_reduce_sum(dataset.user_ratings.nnz());
    s.n_test = comm.all_reduce_sum(dataset.test_ratings.nnz());
    s.cold_users =
        std::count(dataset.user_train_counts.begin(), dataset.user_train_counts.end(), 0);
    s.cold_items =
        std::count(dataset.item_train_counts.begin(), dataset.item_train_counts.end(), 0);
    if (!rating_statistics) return;
    ExactSum sum;
    float low = std::numeric_limits<float>::max();
    float high = std::numeric_limits<float>::lowest();
    for (const float v : dataset.user_ratings.values) {
        sum.add(static_cast<double>(v));
        low = std::min(low, v);
        high = std::max(high, v);
    }
    s.min_rating = static_cast<double>(comm.all_reduce_min(low));
    s.max_rating = static_cast<double>(comm.all_reduce_max(high));
    s.mean_rating = s.n_train == 0
                        ? 0.0
                        : ExactSum::all_reduce(comm, sum).value() / static_cast<double>(s.n_train);
}

std::vector<LocalRating> send_to_owners(const Communicator& comm, std::vector<LocalRating> ratings,
                                        const BlockPartition& blocks, RowField field) {
    const auto n_ranks = static_cast<std::size_t>(comm.size());
    std::vector<int> owner(ratings.size());
    std::vector<std::int64_t> counts(n_ranks, 0);
    for (std::size_t i = 0; i < ratings.size(); ++i) {
        const LocalRating& r = ratings[i];
        owner[i] = blocks.owner(field == RowField::user ? r.user : r.item);
        ++counts[static_cast<std::size_t>(owner[i])];
    }
    std::vector<std::int64_t> next(n_ranks, 0);
    for (std::size_t r = 1; r < n_ranks; ++r) next[r] = next[r - 1] + counts[r - 1];
    std::vector<LocalRating> packed(ratings.size());
    for (std::size_t i = 0; i < ratings.size(); ++i) {
        packed[static_cast<std::size_t>(next[static_cast<std::size_t>(owner[i])]++)] = ratings[i];
    }
    ratings = std::vector<LocalRating>();
    owner = std::vector<int>();
    return comm.all_to_all_v(std::span<const LocalRating>(packed),
                             std::span<const std::int64_t>(counts));
}

RatingMatrix hold_out_per_user(RatingMatrix& by_user, double fraction, std::uint64_t seed,
                               const std::vector<std::int64_t>& user_ids,
                               const std::vector<std::int64_t>& item_ids) {
    struct Keyed {
        std::uint64_t key;
        std::int32_t column;
    };
    RatingMatrix train;
    RatingMatrix test;
    train.first_row = test.first_row = by_user.first_row;
    train.row_start.reserve(by_user.row_start.size());
    test.row_start.reserve(by_user.row_start.size());
    std::vector<Keyed> keyed;
    std::vector<std::int32_t> held;  // the held-out columns of a row, ascending
    for (std::int64_t row = 0; row < by_user.n_rows(); ++row) {
        const auto columns = by_user.row_columns(row);
        const auto values = by_user.row_values(row);
        const auto n = static_cast<std::int64_t>(columns.size());
        const std::int64_t n_test = std::min(
            n - 1, static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(n))));
        held.clear();
        if (n_test > 0) {
            const auto user = static_cast<std::uint64_t>(
                user_ids[static_cast<std::size_t>(by_user.first_row + row)]);
            keyed.clear();
            for (const std::int32_t column : columns) {
                const auto item =
                    static_cast<std::uint64_t>(item_ids[static_cast<std::size_t>(column)]);
                keyed.push_back({hash_keys(seed, user, item), column});
            }
            const auto by_key = [](const Keyed& a, const Keyed& b) {
                return a.key != b.key ? a.key < b.key : a.column < b.column;
            };
            std::nth_element(keyed.begin(), keyed.begin() + (n_test - 1), keyed.end(), by_key);
            for (std::int64_t i = 0; i < n_test; ++i) {
                held.push_back(keyed[static_cast<std::size_t>(i)].column);
            }
            std::sort(held.begin(), held.end());
        }
        for (std::size_t e = 0; e < columns.size(); ++e) {
            RatingMatrix& target =
                std::binary_search(held.begin(), held.end(), columns[e]) ? test : train;
            target.columns.push_back(columns[e]);
            target.values.push_back(values[e]);
        }
        train.row_start.push_back(train.nnz());
        test.row_start.push_back(test.nnz());
    }
    by_user = std::move(train);
    return test;
}

TextLayout read_ratings_shard(const Communicator& comm, const std::string& path,
                              const DataConfig& options, const SplitRule& rule, RatingShard& shard,
                              int min_fields) {
    const TextLayout layout = agreed_layout(comm, path, options, min_fields);
    read_agreed(comm, path, layout, rule, shard);
    return layout;
}

PartitionWeights partition_weights(const Dataset& dataset) {
    const auto or_train = [](const std::vector<std::int64_t>& balance,
                             const std::vector<std::int64_t>& train) {
        return std::span<const std::int64_t>(balance.empty() ? train : balance);
    };
    return {or_train(dataset.user_balance_counts, dataset.user_train_counts),
            or_train(dataset.item_balance_counts, dataset.item_train_counts)};
}

namespace {

/// Collective. Once dataset.user_ratings holds the final training rows: builds the item side
/// (item_ratings) and counts every row's training ratings. With `keep_balance_counts`, the
/// counts the blocks were balanced on are kept first (partition_weights).
void finish_training_side(const Communicator& comm, Dataset& dataset, bool keep_balance_counts) {
    dataset.item_ratings =
        transpose_to_item_owners(comm, dataset.user_ratings, dataset.item_blocks);
    if (keep_balance_counts) {
        dataset.user_balance_counts = std::move(dataset.user_train_counts);
        dataset.item_balance_counts = std::move(dataset.item_train_counts);
    }
    dataset.user_train_counts =
        global_row_sizes(comm, dataset.user_ratings, dataset.user_ids.size());
    dataset.item_train_counts =
        global_row_sizes(comm, dataset.item_ratings, dataset.item_ids.size());
}

/// Collective. The text ingest: load_dataset without a cache.
Dataset parse_dataset(const Communicator& comm, const DataConfig& options) {
    Dataset dataset;
    dataset.rank = comm.rank();
    double clock = MPI_Wtime();

    RatingShard shard;
    const bool per_user = options.split == SplitMethod::per_user;
    const TextLayout train_layout = read_ratings_shard(
        comm, options.train, options,
        SplitRule{false, per_user ? 0.0 : options.test_fraction, options.seed}, shard);
    dataset.summary.train_layout = describe_layout(train_layout);
    if (!options.test.empty()) {
        const TextLayout test_layout = agreed_layout(comm, options.test, options);
        dataset.summary.test_layout = describe_layout(test_layout);
        if (test_layout.delimiter != train_layout.delimiter ||
            test_layout.fields != train_layout.fields) {
            throw InputError(options.test + ": its format (" + describe_layout(test_layout) +
                             ") differs from the train file's (" + describe_layout(train_layout) +
                             ")");
        }
        read_agreed(comm, options.test, test_layout, SplitRule{true, 0.0, options.seed}, shard);
    }
    const std::int64_t n_train_read =
        comm.all_reduce_sum(static_cast<std::int64_t>(shard.train.size()));
    if (n_train_read == 0) {
        throw InputError(options.train + ": no training ratings" +
                         (options.test_fraction > 0.0 ? " (all were held out for testing)" : ""));
    }
    dataset.timings.read_seconds = MPI_Wtime() - clock;
    clock = MPI_Wtime();

    dataset.user_ids = global_ids(comm, shard.users, options.seed);
    dataset.item_ids = global_ids(comm, shard.items, options.seed ^ 0x5bd1e995ULL);
    {
        const auto user_table = local_to_global(shard.users, dataset.user_ids);
        const auto item_table = local_to_global(shard.items, dataset.item_ids);
        renumber(shard.train, user_table, item_table);
        renumber(shard.test, user_table, item_table);
        shard.users = IdIndex();
        shard.items = IdIndex();
    }
    dataset.user_train_counts =
        global_row_counts(comm, shard.train, RowField::user, dataset.user_ids.size());
    dataset.item_train_counts =
        global_row_counts(comm, shard.train, RowField::item, dataset.item_ids.size());
    dataset.user_blocks = BlockPartition::balanced(dataset.user_train_counts, comm.size());
    dataset.item_blocks = BlockPartition::balanced(dataset.item_train_counts, comm.size());
    dataset.timings.map_seconds = MPI_Wtime() - clock;
    clock = MPI_Wtime();

    std::int64_t merged = 0;
    dataset.user_ratings = build_agreed(
        comm, send_to_owners(comm, std::move(shard.train), dataset.user_blocks, RowField::user),
        dataset.user_blocks, options, options.train, dataset, merged);
    dataset.test_ratings = build_agreed(
        comm, send_to_owners(comm, std::move(shard.test), dataset.user_blocks, RowField::user),
        dataset.user_blocks, options, options.test.empty() ? options.train : options.test, dataset,
        merged);
    if (per_user) {  // every user's row is complete here
        dataset.test_ratings = hold_out_per_user(dataset.user_ratings, options.test_fraction,
                                                 hash_keys(options.seed, per_user_stream),
                                                 dataset.user_ids, dataset.item_ids);
    }
    dataset.summary.duplicates_merged = merged;
    // Exact counts after merging duplicates (the partition was balanced on the raw counts).
    finish_training_side(comm, dataset, per_user || merged > 0);
    dataset.timings.shuffle_seconds = MPI_Wtime() - clock;
    summarize_dataset(comm, dataset);
    return dataset;
}

}  // namespace

Dataset load_dataset(const Communicator& comm, const DataConfig& options) {
    if (options.cache.empty()) return parse_dataset(comm, options);
    return load_dataset_through_cache(comm, options, [&] { return parse_dataset(comm, options); });
}

Dataset load_validation_dataset(const Communicator& comm, DataConfig options,
                                double validation_fraction) {
    options.test.clear();  // the test file is never opened
    Dataset dataset = load_dataset(comm, options);
    // The test share of --data.train (hash or per-user hold-out) is dropped here; the
    // validation hold-out replaces it, out of the training ratings alone.
    dataset.test_ratings = hold_out_per_user(dataset.user_ratings, validation_fraction,
                                             hash_keys(options.seed, validation_stream),
                                             dataset.user_ids, dataset.item_ids);
    finish_training_side(comm, dataset, dataset.user_balance_counts.empty());
    summarize_dataset(comm, dataset);
    dataset.summary.test_layout.clear();
    return dataset;
}

}  // namespace distmf
