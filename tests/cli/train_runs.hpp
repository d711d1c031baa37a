#pragma once
// Helpers shared by the `distmf train`, `evaluate` and `inspect` tests (train_test.cpp and
// train_errors_test.cpp): a synthetic data set split into train and test files, and the
// `distmf train` command line for it.

#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace distmf::testing {

/// `distmf generate` output split by line: every 10th line (3, 13, 23, ...) is held out.
struct SplitData {
    std::string train;
    std::string test;
    std::set<std::string> users;  ///< distinct user IDs of both files
    std::set<std::string> items;
};

/// Generates a synthetic data set in `dir` (`distmf generate <options...>`) and splits it into
/// train.tsv and test.tsv.
SplitData generate_split(const TempDir& dir, const std::vector<std::string>& options);

/// The main fixture: 400 users, 300 items, 20000 ratings of a rank-4 model with noise 0.3.
SplitData generate_main(const TempDir& dir);

/// `distmf train` options for the main fixture (k = 4, `iterations` ALS iterations).
std::vector<std::string> train_args(const SplitData& data, int iterations);

/// `args` followed by `more`.
std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more);

}  // namespace distmf::testing
