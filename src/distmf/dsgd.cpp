#include "distmf/dsgd.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "distmf/error.hpp"
#include "distmf/hashing.hpp"
#include "distmf/log.hpp"

namespace distmf {
namespace {

/// Seeds the order of the ratings in the sub-blocks (the initial factors use streams 1, 2).
constexpr std::uint64_t shuffle_stream = 3;

/// The most rows of any user block or item block.
std::int64_t largest_block_rows(const Dataset& dataset) {
    std::int64_t largest = 0;
    for (const BlockPartition* blocks : {&dataset.user_blocks, &dataset.item_blocks}) {
        for (int block = 0; block < blocks->n_blocks(); ++block) {
            largest = std::max(largest, blocks->size(block));
        }
    }
    return largest;
}

DsgdLayout lay_out(int rank, const Config& config, const Dataset& dataset, int threads,
                   double& seconds) {
    const double start = MPI_Wtime();
    DsgdLayout layout(dataset.user_ratings, dataset.item_blocks, dataset.user_train_counts,
                      dataset.item_train_counts, rank, dsgd_grid_of_run(config, dataset, threads),
                      hash_keys(config.train.seed, shuffle_stream), threads);
    seconds = MPI_Wtime() - start;
    return layout;
}

/// The entries [first(block), end(block)) of a per-row vector (empty stays empty).
std::span<const float> block_part(const std::vector<float>& per_row, const BlockPartition& blocks,
                                  int block) {
    if (per_row.empty()) return {};
    return std::span<const float>(per_row).subspan(static_cast<std::size_t>(blocks.first(block)),
                                                   static_cast<std::size_t>(blocks.size(block)));
}

}  // namespace

int dsgd_grid(const DsgdConfig& options, int threads, std::int64_t largest_block_rows, int width) {
    if (options.grid > 0) return options.grid;
    const std::int64_t block_bytes = largest_block_rows * width * std::int64_t{4};
    const std::int64_t for_cache = (block_bytes + dsgd_part_bytes - 1) / dsgd_part_bytes;
    const std::int64_t for_threads = threads <= 1 ? 1 : 2 * std::int64_t{threads};
    const std::int64_t wanted = std::max(for_cache, for_threads);
    const std::int64_t team = std::max(1, threads);
    const std::int64_t even_for_threads = (wanted + team - 1) / team * team;
    return static_cast<int>(std::clamp<std::int64_t>(even_for_threads, 1, max_dsgd_grid));
}

int dsgd_grid_of_run(const Config& config, const Dataset& dataset, int threads) {
    const int width = config.model.rank + (config.model.biases ? 1 : 0);
    return dsgd_grid(config.dsgd, threads, largest_block_rows(dataset), width);
}

DsgdTrainer::DsgdTrainer(int rank, int n_ranks, const Config& config, const Dataset& dataset,
                         const AlsSettings& settings)
    : rank_(rank),
      n_ranks_(n_ranks),
      dataset_(dataset),
      options_(config.dsgd),
      settings_(settings),
      adaptive_(config.dsgd.schedule == StepSchedule::adaptive),
      layout_(lay_out(rank, config, dataset, settings.threads, counters_.layout_seconds)) {
    if (settings.regularization == Regularization::plain) {
        user_penalty_scale_ = per_rating_penalty_scale(settings, dataset.user_train_counts);
        item_penalty_scale_ = per_rating_penalty_scale(settings, dataset.item_train_counts);
    }
}

void DsgdTrainer::prepare(TrainState& state) const {
    for (FactorTable* table : {&state.users, &state.items}) {
        const std::vector<std::int64_t>& counts =
            table == &state.users ? dataset_.user_train_counts : dataset_.item_train_counts;
        for (std::int64_t row = table->first_row(); row < table->end_row(); ++row) {
            if (counts[static_cast<std::size_t>(row)] == 0) table->row(row).setZero();
        }
    }
    if (!adaptive_) {
        state.user_step_sums = FactorTable();
        state.item_step_sums = FactorTable();
        return;
    }
    for (const bool users : {true, false}) {
        FactorTable& sums = users ? state.user_step_sums : state.item_step_sums;
        const FactorTable& rows = users ? state.users : state.items;
        if (sums.rows() == rows.rows() && sums.first_row() == rows.first_row() && sums.k() == 1) {
            continue;  // resumed
        }
        sums = FactorTable(rows.first_row(), rows.rows(), 1, false);
        sums.values().setConstant(initial_step_sum);
    }
}

bool DsgdTrainer::run_epoch(const Communicator& comm, TrainState& state,
                            const StopCheck& stop_requested) {
    exchange_with_owners(comm, static_cast<int>(state.sub_epochs_done), state, false);
    for (std::int64_t sub_epoch = state.sub_epochs_done; sub_epoch < n_ranks_; ++sub_epoch) {
        const int item_block = stratum_column(rank_, static_cast<int>(sub_epoch), n_ranks_);
        run_block(item_block, state.step_size, state.users, state.user_step_sums);
        rotate(comm, item_block);
        state.sub_epochs_done = sub_epoch + 1;
        if (state.sub_epochs_done < n_ranks_ && stop_requested()) {
            exchange_with_owners(comm, static_cast<int>(state.sub_epochs_done), state, true);
            return false;
        }
    }
    state.sub_epochs_done = 0;
    std::swap(state.items, held_items_);  // after P steps the own block is back
    if (adaptive_) std::swap(state.item_step_sums, held_item_sums_);
    ++counters_.epochs;
    return true;
}

void DsgdTrainer::exchange_with_owners(const Communicator& comm, int sub_epoch, TrainState& state,
                                       bool to_owners) {
    exchange_table(comm, sub_epoch, state.items, held_items_, to_owners);
    if (adaptive_)
        exchange_table(comm, sub_epoch, state.item_step_sums, held_item_sums_, to_owners);
}

void DsgdTrainer::exchange_table(const Communicator& comm, int sub_epoch, FactorTable& own,
                                 FactorTable& held, bool to_owners) const {
    // In sub-epoch s rank r works on block (r + s) mod P, whose owner is rank (r + s) mod P;
    // its own block is then with rank (r - s) mod P.
    const int held_block = stratum_column(rank_, sub_epoch, n_ranks_);
    const int holder_of_own = (rank_ + n_ranks_ - sub_epoch % n_ranks_) % n_ranks_;
    const BlockPartition& blocks = dataset_.item_blocks;
    const std::int64_t first = blocks.first(held_block);
    const std::int64_t count = blocks.size(held_block);
    if (to_owners) {
        comm.send_recv(std::span<const float>(held.row_span(first, count)), held_block,
                       own.row_span(own.first_row(), own.rows()), holder_of_own);
        return;
    }
    held = FactorTable(first, count, own.k(), own.has_bias());
    comm.send_recv(std::span<const float>(own.row_span(own.first_row(), own.rows())), holder_of_own,
                   held.row_span(first, count), held_block);
}

void DsgdTrainer::run_block(int item_block, double step, FactorTable& users,
                            FactorTable& user_sums) {
    const double start = MPI_Wtime();
    const auto step_size = static_cast<float>(step);
    const auto global_mean = static_cast<float>(settings_.global_mean);
    const SgdPenalties penalties{static_cast<float>(settings_.lambda),
                                 static_cast<float>(settings_.bias_lambda),
                                 block_part(user_penalty_scale_, dataset_.user_blocks, rank_),
                                 block_part(item_penalty_scale_, dataset_.item_blocks, item_block)};
    AdaptiveSums sums;
    if (adaptive_) {
        sums.user_sums =
            std::span<float>(user_sums.values().data(), static_cast<std::size_t>(user_sums.rows()));
        sums.item_sums = std::span<float>(held_item_sums_.values().data(),
                                          static_cast<std::size_t>(held_item_sums_.rows()));
    }
    const int grid = layout_.grid();
#pragma omp parallel num_threads(std::max(1, settings_.threads))
    for (int wave = 0; wave < grid; ++wave) {
        // The sub-blocks of a wave share no user part and no item part: any thread may take
        // any of them, in any order, with the same result. The loop ends with a barrier.
#pragma omp for schedule(dynamic, 1)
        for (int part = 0; part < grid; ++part) {
            const BlockCell cell{part, stratum_column(part, wave, grid)};
            sgd_pass(layout_.sub_block(item_block, cell), users, held_items_, step_size,
                     global_mean, penalties, sums);
        }
    }
    counters_.updates += layout_.block_size(item_block);
    counters_.sgd_seconds += MPI_Wtime() - start;
}

FactorTable DsgdTrainer::shift_block(const Communicator& comm, const FactorTable& held,
                                     int item_block) {
    const BlockPartition& blocks = dataset_.item_blocks;
    const int next_block = (item_block + 1) % n_ranks_;
    FactorTable incoming(blocks.first(next_block), blocks.size(next_block), held.k(),
                         held.has_bias());
    const std::span<const float> send =
        held.row_span(blocks.first(item_block), blocks.size(item_block));
    comm.send_recv(send, (rank_ + n_ranks_ - 1) % n_ranks_,
                   incoming.row_span(blocks.first(next_block), blocks.size(next_block)),
                   (rank_ + 1) % n_ranks_);
    counters_.rotation_bytes += static_cast<std::int64_t>(send.size_bytes());
    return incoming;
}

void DsgdTrainer::rotate(const Communicator& comm, int item_block) {
    if (n_ranks_ == 1) return;
    const double start = MPI_Wtime();
    held_items_ = shift_block(comm, held_items_, item_block);
    if (adaptive_) held_item_sums_ = shift_block(comm, held_item_sums_, item_block);
    counters_.rotation_seconds += MPI_Wtime() - start;
}

void DsgdTrainer::finish_epoch(TrainState& state, bool evaluated) const {
    if (!evaluated) {  // no objective: the schedules that need none go on, the bold driver waits
        state.step_size = next_step_size(options_, state.step_size, state.iteration,
                                         std::numeric_limits<double>::quiet_NaN(),
                                         std::numeric_limits<double>::quiet_NaN());
        return;
    }
    const std::size_t n = state.history.size();
    const double objective = state.history.back().objective;
    if (!std::isfinite(objective)) {
        throw NumericalError(format_text(
            "DSGD diverged in epoch %lld (training objective %g at step size %g); try a smaller "
            "--dsgd.step-size",
            static_cast<long long>(state.iteration), objective, state.step_size));
    }
    const double previous =
        n >= 2 ? state.history[n - 2].objective : std::numeric_limits<double>::quiet_NaN();
    state.step_size =
        next_step_size(options_, state.step_size, state.iteration, previous, objective);
}

std::string describe_dsgd_counters(const std::vector<DsgdCounters>& all, int threads) {
    DsgdCounters total;
    double slowest_sgd = 0.0;
    for (const DsgdCounters& c : all) {
        total.updates += c.updates;
        total.rotation_bytes = std::max(total.rotation_bytes, c.rotation_bytes);
        total.rotation_seconds = std::max(total.rotation_seconds, c.rotation_seconds);
        total.layout_seconds = std::max(total.layout_seconds, c.layout_seconds);
        slowest_sgd = std::max(slowest_sgd, c.sgd_seconds);
        total.epochs = c.epochs;
    }
    const double cores = static_cast<double>(all.size()) * threads;
    const double epochs = static_cast<double>(std::max<std::int64_t>(1, total.epochs));
    return format_text(
        "dsgd: %.1f M rating updates/s per core (%lld updates in %.2f s of SGD on the slowest "
        "rank, %d rank%s x %d thread%s); per epoch %.3f s SGD, %.3f s ring, "
        "%.2f MB sent around the ring per rank; layout %.2f s",
        static_cast<double>(total.updates) / std::max(slowest_sgd, 1e-9) / cores / 1e6,
        static_cast<long long>(total.updates), slowest_sgd, static_cast<int>(all.size()),
        all.size() == 1 ? "" : "s", threads, threads == 1 ? "" : "s", slowest_sgd / epochs,
        total.rotation_seconds / epochs, static_cast<double>(total.rotation_bytes) / epochs / 1e6,
        total.layout_seconds);
}

}  // namespace distmf
