// DSGD epoch benchmark: the rate of rating updates (SGD steps) per second per core, without
// the metrics that `distmf train` computes after every epoch. Loads a ratings file (10 % held
// out, as in training), lays it out for the ranks it runs on, and times a few epochs:
//   [mpirun -np P] build/bench/dsgd_bench FILE [k=32] [threads=1] [epochs=3] [grid=0]
//                                        [schedule=fixed]
// (schedule adaptive: the per-row AdaGrad kernel of sgd.hpp; any other: the fixed-step one.)
// Prints one line per epoch (wall seconds, SGD seconds on the slowest rank, and the rate per
// core by wall time and by CPU time: on a shared machine the CPU-time rate is the steadier
// figure) and the summary line `distmf train` logs.
#include <mpi.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "distmf/comm.hpp"
#include "distmf/dataset.hpp"
#include "distmf/dsgd.hpp"
#include "distmf/log.hpp"
#include "distmf/train.hpp"

namespace {

/// CPU seconds used by this process so far (every thread).
double process_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
    const distmf::MpiSession session(argc, argv);
    const distmf::Communicator world;
    const distmf::Logger log(world.rank());
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: dsgd_bench RATINGS_FILE [k=32] [threads=1] [epochs=3] "
                     "[grid=0] [schedule=fixed|adaptive]\n");
        return 2;
    }
    distmf::Config config;
    config.data.train = argv[1];
    config.data.test_fraction = 0.1;
    config.model.algorithm = distmf::Algorithm::dsgd;
    config.model.rank = argc > 2 ? std::atoi(argv[2]) : 32;
    config.train.threads = argc > 3 ? std::atoi(argv[3]) : 1;
    const int epochs = argc > 4 ? std::atoi(argv[4]) : 3;
    config.dsgd.grid = argc > 5 ? std::atoi(argv[5]) : 0;
    config.dsgd.step_size = 0.005;
    if (argc > 6 && std::string(argv[6]) == "adaptive") {
        config.dsgd.schedule = distmf::StepSchedule::adaptive;
    }

    const double load_start = MPI_Wtime();
    const distmf::Dataset dataset = distmf::load_dataset(world, config.data);
    log.info(distmf::format_text("loaded %lld training ratings in %.2f s",
                                 static_cast<long long>(dataset.summary.n_train),
                                 MPI_Wtime() - load_start));
    distmf::TrainState state = distmf::initial_state(config, dataset);
    distmf::AlsSettings settings;
    settings.lambda = config.model.lambda;
    settings.bias_lambda = config.model.lambda;
    settings.global_mean = dataset.summary.mean_rating;
    settings.threads = config.train.threads;
    distmf::DsgdTrainer trainer(world.rank(), world.size(), config, dataset, settings);
    trainer.prepare(state);
    log.info(distmf::format_text(
        "k = %d, %d rank%s x %d thread%s, grid %d, %s steps", config.model.rank, world.size(),
        world.size() == 1 ? "" : "s", config.train.threads, config.train.threads == 1 ? "" : "s",
        trainer.grid(),
        config.dsgd.schedule == distmf::StepSchedule::adaptive ? "adaptive" : "fixed"));
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        const double sgd_before = trainer.counters().sgd_seconds;
        const double cpu_start = process_cpu_seconds();
        const double start = MPI_Wtime();
        trainer.run_epoch(world, state, [] { return false; });
        const double seconds = world.all_reduce_max(MPI_Wtime() - start);
        const double cpu = world.all_reduce_sum(process_cpu_seconds() - cpu_start);
        const double sgd = world.all_reduce_max(trainer.counters().sgd_seconds - sgd_before);
        const auto updates = static_cast<double>(dataset.summary.n_train);
        log.info(distmf::format_text(
            "epoch %d: %.3f s (SGD %.3f s on the slowest rank, %.3f CPU s in all): %.1f M "
            "updates/s per core by wall time, %.1f M per CPU second",
            epoch, seconds, sgd, cpu, updates / sgd / world.size() / config.train.threads / 1e6,
            updates / cpu / 1e6));
    }
    log.info(
        distmf::describe_dsgd_counters(world.all_gather(trainer.counters()), config.train.threads));
    return 0;
}
