// How distmf's ranks are started: the tests' Open MPI session folders (so that jobs started in
// the same instant cannot break each other) and the CPUs a rank's threads may run on.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.hpp"
#include "distmf/resources.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::distmf_messages;
using distmf::testing::run_distmf;
using distmf::testing::TempDir;

/// The host name as Open MPI puts it in its session folder's name (without the domain).
std::string short_host_name() {
    std::vector<char> name(256, '\0');
    ::gethostname(name.data(), name.size() - 1);
    const std::string host(name.data());
    return host.substr(0, host.find('.'));
}

}  // namespace

TEST_CASE(
    "launch: each run gets its own Open MPI session folder, so another job's start and cleanup "
    "in the same instant cannot make it fail",
    "[cli][launch]") {
    // Open MPI 4 keeps one session folder per user and host, <TMPDIR>/ompi.<host>.<uid>: every
    // job creates it when missing and the last one out removes it. A job that starts while
    // another one's cleanup removes it fails with "mkdir ... File exists ... orte_session_dir
    // failed" (ctest -j2 saw it). Here a thread plays many other jobs, creating and removing
    // that folder in the TMPDIR the runs are given, as fast as it can; runs under mpiexec and
    // singletons (which start an Open MPI daemon of their own) must all succeed.
    const TempDir shared;
    const std::string top =
        shared.file("ompi." + short_host_name() + "." + std::to_string(::getuid()));
    std::atomic<bool> stop{false};
    std::thread other_jobs([&] {
        while (!stop.load()) {
            ::mkdir(top.c_str(), 0700);
            ::rmdir(top.c_str());
        }
    });
    int failed = 0;
    std::string first_failure;
    const int runs = 12;
    for (int run = 0; run < runs; ++run) {
        const CommandResult result =
            run_distmf(run % 2, {"--version"}, {"TMPDIR=" + shared.path()});
        if (result.exit_code != 0) {
            if (failed++ == 0) first_failure = result.out + result.err;
        }
    }
    stop = true;
    other_jobs.join();
    INFO("first failure:\n" << first_failure);
    CHECK(failed == 0);
}

TEST_CASE(
    "train: threads that would share one CPU under mpirun's binding get one warning naming "
    "--bind-to none, and none when each has a CPU",
    "[cli][launch][threads]") {
    // Open MPI 4 binds each rank to one core when there are at most two ranks: with two threads
    // both would run on that core. OMPI_MCA_hwloc_base_binding_policy is `--bind-to`.
    if (distmf::allowed_cpu_count() < 2) {
        std::cout << "SKIPPED: this process may run on fewer than 2 CPUs" << std::endl;
        return;
    }
    const TempDir dir;
    const distmf::testing::SplitData data = distmf::testing::generate_main(dir);
    const std::vector<std::string> args{"train",
                                        "--data.train=" + data.train,
                                        "--data.test=" + data.test,
                                        "--train.iterations=1",
                                        "--model.rank=4",
                                        "--train.threads=2"};
    const auto warnings = [](const CommandResult& result) {
        std::vector<std::string> found;
        for (const std::string& message : distmf_messages(result.err)) {
            if (message.find("threads per rank") != std::string::npos) found.push_back(message);
        }
        return found;
    };

    const CommandResult bound =
        distmf::testing::run_ok(1, args, {"OMPI_MCA_hwloc_base_binding_policy=core"});
    const std::vector<std::string> bound_warnings = warnings(bound);
    INFO(bound.err);
    REQUIRE(bound_warnings.size() == 1);
    CHECK(bound_warnings.front() ==
          "distmf: warning: 2 threads per rank, but rank 0 may run on only 1 CPU (its affinity "
          "mask): the threads share it instead of running side by side. Give each thread a "
          "core: `mpirun --bind-to none ...`, or `mpirun --map-by slot:PE=2 ...` (Slurm: "
          "--cpus-per-task=2, as slurm/train.sbatch does)");

    const CommandResult unbound =
        distmf::testing::run_ok(1, args, {"OMPI_MCA_hwloc_base_binding_policy=none"});
    INFO(unbound.err);
    CHECK(warnings(unbound).empty());
    // Two ranks, each bound to one core (mpirun's default for two ranks): still one warning,
    // not one per rank.
    const CommandResult two_ranks = distmf::testing::run_ok(2, args);
    INFO(two_ranks.err);
    CHECK(warnings(two_ranks).size() == 1);
}
