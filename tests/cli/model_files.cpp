#include "model_files.hpp"

#include <catch2/catch.hpp>

#include "distmf/hdf5_file.hpp"
#include "distmf/model_io.hpp"
#include "test_support.hpp"

namespace distmf::testing {

ModelFile read_model_file(const std::string& path) {
    silence_hdf5_errors();
    const H5Handle file = open_serial_file(path);
    ModelFile model;
    model.k = read_attribute<std::int64_t>(file, "k");
    model.iteration = read_attribute<std::int64_t>(file, "iteration");
    model.ranks = read_attribute<std::int64_t>(file, "ranks");
    model.user_ids = read_checked_rows<std::int64_t>(file, "users/ids", 0, false);
    model.item_ids = read_checked_rows<std::int64_t>(file, "items/ids", 0, false);
    model.user_factors = read_checked_rows<float>(file, "users/factors", model.k, false);
    model.item_factors = read_checked_rows<float>(file, "items/factors", model.k, false);
    if (has_object(file, "users/bias")) {
        model.user_bias = read_checked_rows<float>(file, "users/bias", 0, false);
        model.item_bias = read_checked_rows<float>(file, "items/bias", 0, false);
    }
    model.global_mean = read_checked_rows<double>(file, "global_mean", 0, false);
    return model;
}

bool same_model(const ModelFile& a, const ModelFile& b) {
    return same_bits(a.user_ids, b.user_ids) && same_bits(a.item_ids, b.item_ids) &&
           same_bits(a.user_factors, b.user_factors) && same_bits(a.item_factors, b.item_factors) &&
           same_bits(a.user_bias, b.user_bias) && same_bits(a.item_bias, b.item_bias) &&
           same_bits(a.global_mean, b.global_mean) && a.k == b.k && a.iteration == b.iteration;
}

void check_same_model(const ModelFile& model, const ModelFile& reference) {
    CHECK(same_bits(model.user_ids, reference.user_ids));
    CHECK(same_bits(model.item_ids, reference.item_ids));
    CHECK(same_bits(model.user_factors, reference.user_factors));
    CHECK(same_bits(model.item_factors, reference.item_factors));
    CHECK(same_bits(model.user_bias, reference.user_bias));
    CHECK(same_bits(model.item_bias, reference.item_bias));
    CHECK(same_bits(model.global_mean, reference.global_mean));
}

void check_same_model(const std::string& path, const std::string& reference) {
    INFO("model " << path << " against " << reference);
    REQUIRE(exists(path));
    const ModelFile model = read_model_file(path);
    const ModelFile expected = read_model_file(reference);
    REQUIRE(!expected.user_factors.empty());
    REQUIRE(!expected.user_bias.empty());
    check_same_model(model, expected);
}

}  // namespace distmf::testing
