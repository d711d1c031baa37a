#pragma once
// Reading the model files `distmf train` writes (and the checkpoints, which hold a model too)
// with the HDF5 C API, every dataset's checksum verified, and comparing two models bit for bit.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace distmf::testing {

/// The arrays of a model or checkpoint file and the attributes that say what it holds.
struct ModelFile {
    std::vector<std::int64_t> user_ids;
    std::vector<std::int64_t> item_ids;
    std::vector<float> user_factors;  ///< n_users x k, row-major
    std::vector<float> item_factors;  ///< n_items x k, row-major
    std::vector<float> user_bias;     ///< empty for a model without biases
    std::vector<float> item_bias;     ///< empty for a model without biases
    std::vector<double> global_mean;  ///< one value
    std::int64_t k = 0;
    std::int64_t iteration = 0;  ///< iterations done
    std::int64_t ranks = 0;      ///< how many ranks wrote the file
};

/// Local. Reads `path` with the serial driver, verifying the checksum of every dataset
/// (read_checked_rows); throws InputError naming the dataset if one does not match.
ModelFile read_model_file(const std::string& path);

/// Local. True if `a` and `b` are equal value by value and bit by bit (so a NaN is never the
/// same as anything, and -0.0 is not 0.0).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a == b && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// Local. True if every array of `a` is bitwise the same as `b`'s and both have the same k and
/// iteration (the number of ranks that wrote them may differ).
bool same_model(const ModelFile& a, const ModelFile& b);

/// Local. Checks (one CHECK per array) that every array of `model` is bitwise `reference`'s.
void check_same_model(const ModelFile& model, const ModelFile& reference);

/// Local. Checks that the model file `path` exists and is bitwise the one in `reference`, which
/// must hold factors and biases.
void check_same_model(const std::string& path, const std::string& reference);

}  // namespace distmf::testing
