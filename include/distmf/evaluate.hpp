#pragma once
/// @file evaluate.hpp
/// `distmf evaluate`, `distmf predict` and `distmf inspect`: reading a saved model back.

#include <cstdint>
#include <span>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/factors.hpp"
#include "distmf/model_io.hpp"

namespace distmf {

/// Local. The model's prediction for a pair whose user and/or item may be unknown (row -1):
/// the known parts only (mu + c_j for an unknown user, mu + b_i for an unknown item, mu for
/// both), clipped to the model's training rating range; for an implicit model, the
/// preference score w_i.h_j (0 when either is unknown), not clipped.
double predict_known_parts(const Model& model, std::int64_t user_row, std::int64_t item_row);

/// Collective: every rank of comm must call. `distmf evaluate --model M (--data.test FILE |
/// --data.train FILE --data.test-fraction F [--data.split per-user])`: every rank reads its
/// even share of the model's users (its rows of W and their training items; all of H) and its
/// share of the test pairs (a file, or the held-out part of the same split training used,
/// rebuilt), and sends each pair of a known user to the rank holding the user. Rank 0 prints, for
/// an explicit model and a test file, RMSE, MAE and how many pairs had an unknown user or item;
/// then, for any model, the ranking metrics (ranking.hpp) at --eval.k over all items each user has
/// no training interaction with, each rank ranking its share of the users; with --baseline
/// popularity, those of the popularity ranking instead.
int run_evaluate_command(const Communicator& comm, const Config& config);

/// Collective: every rank of comm must call. `distmf predict --model M --pairs FILE`: every
/// rank predicts the pairs of its byte range of the file (`user item [value]` lines); the
/// lines `user,item,prediction,note` go to --out (or standard output) in file order. A user or
/// item the model lacks is predicted from the known parts (predict_known_parts) and named in
/// the note; rank 0 warns how many there were.
int run_predict_command(const Communicator& comm, const Config& config);

/// Collective: every rank of comm must call. `distmf inspect FILE`: rank 0 prints the
/// model's metadata and shapes.
int run_inspect_command(const Communicator& comm, const Config& config);

}  // namespace distmf
