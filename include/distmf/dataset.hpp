#pragma once
/// @file dataset.hpp
/// Ingest: turning ratings files into what training needs on every rank. Each rank reads its
/// own byte range of the files, IDs are numbered globally (independent of the rank count),
/// the train/test split is a hash of (seed, user, item) or a per-user hold-out (done once the
/// ratings have reached their users' owners and every user's row is complete), users and items are
/// cut into blocks balanced by rating count, and ratings travel to their owners with all-to-alls.
/// Every rank ends with its users' rows and its items' columns of the training ratings, and its
/// users' test ratings.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/partition.hpp"
#include "distmf/rating_matrix.hpp"
#include "distmf/ratings_format.hpp"
#include "distmf/ratings_reader.hpp"

namespace distmf {

/// Global facts about a loaded data set; identical on every rank.
struct DatasetSummary {
    std::int64_t n_users = 0;            ///< distinct users in train and test
    std::int64_t n_items = 0;            ///< distinct items in train and test
    std::int64_t n_train = 0;            ///< training ratings (after merging duplicates)
    std::int64_t n_test = 0;             ///< test ratings (after merging duplicates)
    std::int64_t duplicates_merged = 0;  ///< ratings dropped by --data.duplicates last|mean
    std::int64_t cold_users = 0;         ///< users with no training rating
    std::int64_t cold_items = 0;         ///< items with no training rating
    double min_rating = 0.0;             ///< over training ratings
    double max_rating = 0.0;
    double mean_rating = 0.0;  ///< exact (order-independent) mean of training ratings
    std::vector<std::int64_t> train_by_user_block;  ///< training ratings per rank (user side)
    std::vector<std::int64_t> train_by_item_block;  ///< training ratings per rank (item side)
    std::string train_layout;                       ///< e.g. "tab-separated, 4 fields"
    std::string test_layout;                        ///< for a --data.test file
};

/// Seconds spent in each ingest phase on this rank (for benchmarks and logs).
struct IngestTimings {
    double read_seconds = 0.0;     ///< read and parse this rank's byte ranges
    double map_seconds = 0.0;      ///< global ID numbering and partitioning
    double shuffle_seconds = 0.0;  ///< all-to-alls and building the CSR blocks
};

/// One rank's share of a data set, ready for ALS.
struct Dataset {
    int rank = 0;                        ///< the rank holding this share (its blocks' index)
    std::vector<std::int64_t> user_ids;  ///< external user ID of every global user index
    std::vector<std::int64_t> item_ids;  ///< external item ID of every global item index
    BlockPartition user_blocks;          ///< rank r owns users [first(r), end(r))
    BlockPartition item_blocks;          ///< rank r owns items [first(r), end(r))
    RatingMatrix user_ratings;           ///< training ratings of this rank's users (by item)
    RatingMatrix item_ratings;           ///< training ratings of this rank's items (by user)
    RatingMatrix test_ratings;           ///< test ratings of this rank's users (by item)
    std::vector<std::int64_t> user_train_counts;  ///< training ratings of every global user
    std::vector<std::int64_t> item_train_counts;  ///< training ratings of every global item
    /// The per-user weights the user blocks were balanced on: the ratings read for training,
    /// before duplicates were merged and before the per-user hold-out. Empty when they equal
    /// user_train_counts (no duplicate merged, hash split). See partition_weights().
    std::vector<std::int64_t> user_balance_counts;
    std::vector<std::int64_t> item_balance_counts;  ///< the same for the item blocks
    DatasetSummary summary;
    IngestTimings timings;
};

/// Collective: every rank of comm must call. Every rank reads its byte range of `path`
/// (layout from the file's head and `options`) into `shard` (appending; ratings go to train or
/// test by `rule`). Errors are agreed: every rank throws the same InputError naming the file
/// and the global line number of the first malformed line.
/// With min_fields = 2, `user item` lines (value 1) are accepted as well (see detect_layout).
TextLayout read_ratings_shard(const Communicator& comm, const std::string& path,
                              const DataConfig& options, const SplitRule& rule, RatingShard& shard,
                              int min_fields = 3);

/// Collective: every rank of comm must call. Sends every rating to the rank owning its row
/// (`field` of the rating, a global index of `blocks`); returns what this rank owns, in
/// source-rank order. Consumes `ratings`.
std::vector<LocalRating> send_to_owners(const Communicator& comm, std::vector<LocalRating> ratings,
                                        const BlockPartition& blocks, RowField field);

/// Local. The per-user hold-out (--data.split per-user): moves a seeded share of every row of
/// `by_user` (complete user rows) into the returned matrix (same rows). Of a row with n
/// entries, t = min(n - 1, round(fraction n)) go (a user keeps at least one training rating):
/// those with the smallest hash(seed, external user ID, external item ID), ties to the lower
/// item. It depends only on the IDs and the seed, so it is the same for any number of ranks.
RatingMatrix hold_out_per_user(RatingMatrix& by_user, double fraction, std::uint64_t seed,
                               const std::vector<std::int64_t>& user_ids,
                               const std::vector<std::int64_t>& item_ids);

/// The row weights a side's blocks are balanced on (BlockPartition::balanced), for either side.
struct PartitionWeights {
    std::span<const std::int64_t> users;
    std::span<const std::int64_t> items;
};

/// Local. The weights load_dataset balanced the user and item blocks on: cutting them into P
/// blocks gives the blocks training would use on P ranks (shard_plan.hpp).
PartitionWeights partition_weights(const Dataset& dataset);

/// Collective: every rank of comm must call. Fills dataset.summary's counts, cold rows and
/// (with `rating_statistics`) the training ratings' minimum, maximum and exact mean -- all but
/// duplicates_merged and the layouts -- from every rank's blocks.
void summarize_dataset(const Communicator& comm, Dataset& dataset, bool rating_statistics = true);

/// Collective: every rank of comm must call, in the same order. Loads options.train (and
/// options.test) as described above. Errors (missing or malformed file, duplicates with
/// --data.duplicates error) are agreed: every rank throws the same InputError, naming the file
/// and line, so no rank is left waiting. With options.cache set, through the parsed-data cache
/// (data_cache.hpp): the same Dataset, read from the cache when it holds these files and options.
Dataset load_dataset(const Communicator& comm, const DataConfig& options);

/// Collective: every rank of comm must call. The data set of `distmf tune`: the training part of
/// `options` -- a --data.test file is never opened, and the test share held out of --data.train
/// (by hash or per user) is dropped as soon as it is split off -- of which a per-user hold-out of
/// `validation_fraction` (hold_out_per_user, on a stream of its own from --data.seed) becomes
/// the test ratings: the validation set. Like the splits, the same for any number of ranks.
Dataset load_validation_dataset(const Communicator& comm, DataConfig options,
                                double validation_fraction);

}  // namespace distmf
