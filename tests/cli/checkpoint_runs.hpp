#pragma once
// Helpers shared by the checkpoint-restart tests (checkpoint_interrupt_test.cpp and
// checkpoint_options_test.cpp): the data set they train on, their `distmf train` command lines,
// the uninterrupted reference run, and what a run's output and metrics file say.

#include <string>
#include <vector>

#include "test_support.hpp"

namespace distmf::testing {

// k = 10 (the default) and 8 iterations: ~0.3 s per run.
inline constexpr int fast_k = 10;
inline constexpr int fast_iterations = 8;

/// Writes the data set every case trains on (300 users, 200 items, 15000 ratings of a rank-4
/// model with noise 0.3) to dir/name; returns its path.
std::string generate_data(const TempDir& dir, const std::string& name = "ratings.tsv");

/// `distmf train` on `data` (10 % held out for testing) for `iterations` iterations with
/// --model.rank k, then `extra`.
std::vector<std::string> train_args(const std::string& data, int iterations, int k,
                                    const std::vector<std::string>& extra = {});

/// The reference: an uninterrupted run with 2 ranks; writes dir/reference.h5 and .jsonl.
void train_reference(const TempDir& dir, const std::string& data, int iterations, int k,
                     const std::vector<std::string>& extra = {});

/// Checks the metrics file of a resumed run against the uninterrupted run's: iterations
/// 1..T, each once, in order, with the same figures.
void check_same_metrics(const std::string& path, const std::string& reference, int iterations);

/// Flips one bit in the middle of the stored values of dataset `name` of HDF5 file `path`
/// (contiguous layout: its bytes are one range of the file).
void flip_bit_in_dataset(const std::string& path, const std::string& name);

/// The checkpoint path a run resumed from ("" if it did not).
std::string resumed_from(const CommandResult& result);

/// The checkpoint a stopped run wrote, from its "stopped by signal N: checkpoint P holds ..."
/// line ("" if there is none).
std::string stop_checkpoint(const CommandResult& result, int signal_number);

}  // namespace distmf::testing
