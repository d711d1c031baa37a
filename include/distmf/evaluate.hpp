#pragma once
/// @file evaluate.hpp
/// `distmf evaluate` and `distmf inspect`: reading a saved model back.

#include <cstdint>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/model_io.hpp"

namespace distmf {

/// Local. The model's prediction for a pair whose user and/or item may be unknown (row -1):
/// the known parts only (mu + c_j for an unknown user, mu + b_i for an unknown item, mu for
/// both), clipped to the model's training rating range.
double predict_known_parts(const Model& model, std::int64_t user_row, std::int64_t item_row);

/// Collective: every rank of comm must call. `distmf evaluate --model M --data.test FILE`:
/// every rank loads the model and reads its byte range of the test file; rank 0 prints RMSE,
/// MAE and how many pairs had an unknown user or item.
int run_evaluate_command(const Communicator& comm, const Config& config);

/// Collective: every rank of comm must call. `distmf inspect FILE`: rank 0 prints the
/// model's metadata and shapes.
int run_inspect_command(const Communicator& comm, const Config& config);

}  // namespace distmf
