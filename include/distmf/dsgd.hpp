#pragma once
/// @file dsgd.hpp
/// Distributed stochastic gradient descent (Gemulla, Nijkamp, Haas, Sismanis, KDD 2011) on P
/// ranks. Rank r owns user block r and, at the start of an epoch, item block r. An epoch is P
/// sub-epochs; in sub-epoch s rank r runs SGD (sgd.hpp) over block (r, q = (r + s) mod P) of
/// the ratings, touching only its own user rows and the rows of item block q, which no other
/// rank holds at that time (dsgd_schedule.hpp). Then the item blocks move one step around the
/// ring: every rank sends block q to rank r - 1 and receives block (q + 1) mod P from rank
/// r + 1 (one MPI_Sendrecv). After P sub-epochs every rank holds its own item block again:
/// each rank only ever holds its own user block and one item block, the metrics read the item
/// rows their users rated through factor_views.hpp, and checkpoints and the model file take
/// each rank's own rows.
///
/// Per epoch a rank sends and receives n_items * (k + biases) * 4 bytes around the ring (its
/// P blocks of 1/P of the items).
///
/// With --dsgd.schedule adaptive every row also has an AdaGrad accumulator (sgd.hpp;
/// TrainState::user_step_sums, item_step_sums): the users' stay on their rank, the items' travel
/// with their item block (one more float per item row around the ring) and go back to their
/// owners with it when an epoch is interrupted, so a checkpoint takes each rank's own rows.
///
/// Inside a rank, `threads` OpenMP threads share block (r, q) FPSGD-style (Chin et al. 2015):
/// the block is cut into grid x grid sub-blocks (dsgd_layout.hpp) processed in grid waves; the
/// grid sub-blocks of a wave share no user part and no item part, so they commute and the
/// threads need no locks. Results depend on the seed, P and the grid, never on the thread
/// count or on which thread ran what.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "distmf/als.hpp"
#include "distmf/comm.hpp"
#include "distmf/config.hpp"
#include "distmf/dataset.hpp"
#include "distmf/dsgd_layout.hpp"
#include "distmf/train_state.hpp"

namespace distmf {

/// Local. The grid of --dsgd.grid: the option, or when it is 0 the smallest grid that (a)
/// gives every thread two sub-blocks per wave (2 x threads, or 1 for one thread), (b) cuts
/// the largest block's user rows and item rows (`largest_block_rows`, each `width` floats)
/// into parts of at most dsgd_part_bytes, so the rows an SGD pass jumps between stay in
/// cache (measured at k = 32 on 20 M ratings, one core: 68 M updates/s with grid 8, 40 M
/// with grid 1), and (c) is a multiple of the thread count, so that every thread gets as many
/// sub-blocks of a wave as the others (measured at k = 32 on the 20 M set, 1 rank x 2 threads:
/// grid 9 took 0.104 s per epoch, 10 took 0.094 s, the same as 2 ranks x 1 thread), up to
/// max_dsgd_grid.
int dsgd_grid(const DsgdConfig& options, int threads, std::int64_t largest_block_rows, int width);

/// Local. The grid a DsgdTrainer of a run of `config` on `dataset` with `threads` threads per
/// rank uses: dsgd_grid for the largest user or item block and the factor width. It depends
/// on the number of ranks (the block sizes) and, with --dsgd.grid 0, on the threads.
int dsgd_grid_of_run(const Config& config, const Dataset& dataset, int threads);

/// The factor bytes of one part of a block that the automatic grid aims at.
inline constexpr std::int64_t dsgd_part_bytes = 2 << 20;

/// What a trainer has done so far on this rank (for logs and benchmarks).
struct DsgdCounters {
    std::int64_t updates = 0;         ///< SGD steps (ratings visited)
    double sgd_seconds = 0.0;         ///< in SGD passes (all threads)
    double rotation_seconds = 0.0;    ///< in the ring shifts
    std::int64_t rotation_bytes = 0;  ///< sent around the ring
    std::int64_t epochs = 0;          ///< epochs completed
    double layout_seconds = 0.0;      ///< building the layout
};

/// Asked (collectively, on every rank) whether to stop between two steps of an iteration;
/// every rank must return the same. Training passes stop_agreed.
using StopCheck = std::function<bool()>;

/// DSGD epochs of one rank.
class DsgdTrainer {
  public:
    /// Local. Lays out this rank's training ratings (rank = user block) for `n_ranks` ranks,
    /// shuffled from --train.seed; `settings` holds the model's penalties, mean and threads.
    DsgdTrainer(int rank, int n_ranks, const Config& config, const Dataset& dataset,
                const AlsSettings& settings);

    /// Local. Zeroes this rank's own rows without training ratings (SGD never touches them;
    /// ALS zeroes them too), so that they predict from the biases alone. With adaptive steps,
    /// gives state the accumulators of its own rows at initial_step_sum unless it has them (a
    /// resumed adaptive run); without, drops any it has.
    void prepare(TrainState& state) const;

    /// Collective: every rank of comm must call, in the same order. Runs epoch
    /// state.iteration + 1 from sub-epoch state.sub_epochs_done on, at state.step_size
    /// (state.users and state.items: this rank's own blocks; with adaptive steps also their
    /// accumulators). After every sub-epoch but the last it calls `stop_requested`; if that is
    /// true, every item block (and its accumulators) is sent back to its owner
    /// (state.sub_epochs_done says how far the epoch got) and it returns false. Returns
    /// true at the end of the epoch, with sub_epochs_done = 0 (state.iteration is the
    /// caller's).
    bool run_epoch(const Communicator& comm, TrainState& state, const StopCheck& stop_requested);

    /// Local. Epoch state.iteration ended, `evaluated` (--eval.every) with the objective of
    /// state.history.back(): sets the step size of the next epoch (next_step_size, against the
    /// previous evaluation, state.history's one before; unevaluated, with no objective, the
    /// bold driver keeps its step; fixed, inverse-decay and adaptive never read the objective).
    /// Throws NumericalError (the same on every rank) if an evaluated objective is not finite:
    /// SGD diverged.
    void finish_epoch(TrainState& state, bool evaluated) const;

    /// This rank's counters.
    const DsgdCounters& counters() const noexcept { return counters_; }
    /// The grid of sub-blocks per side of a block.
    int grid() const noexcept { return layout_.grid(); }

  private:
    void run_block(int item_block, double step, FactorTable& users, FactorTable& user_sums);
    void rotate(const Communicator& comm, int item_block);
    void exchange_with_owners(const Communicator& comm, int sub_epoch, TrainState& state,
                              bool to_owners);
    void exchange_table(const Communicator& comm, int sub_epoch, FactorTable& own,
                        FactorTable& held, bool to_owners) const;
    FactorTable shift_block(const Communicator& comm, const FactorTable& held, int item_block);

    int rank_;
    int n_ranks_;
    const Dataset& dataset_;
    DsgdConfig options_;
    AlsSettings settings_;
    bool adaptive_;  // --dsgd.schedule adaptive: per-row accumulators
    std::vector<float> user_penalty_scale_;
    std::vector<float> item_penalty_scale_;
    DsgdCounters counters_;
    DsgdLayout layout_;
    FactorTable held_items_;      // the item block this rank works on
    FactorTable held_item_sums_;  // its accumulators (adaptive; one column)
};

/// Local. One line for the log: the update rate per core, the time in SGD, rotation and
/// gathers, and the bytes sent around the ring per epoch, over every rank's counters
/// (`all` holds one DsgdCounters per rank) with `threads` threads per rank.
std::string describe_dsgd_counters(const std::vector<DsgdCounters>& all, int threads);

}  // namespace distmf
