// Catch2 main for tests that run under mpiexec (Arbor, HighFive): MPI around the session;
// only rank 0 lists tests; ranks > 0 write their report to a private file that is printed
// only if that rank failed; every rank returns the worst result, so the job's exit code is
// the same everywhere; colour is off (Open MPI gives ranks a pty).
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "distmf/comm.hpp"

int main(int argc, char** argv) {
    const distmf::MpiSession session(argc, argv);
    const distmf::Communicator world;
    Catch::Session catch_session;
    if (const int code = catch_session.applyCommandLine(argc, argv); code != 0) return code;
    auto& config = catch_session.configData();
    if (config.useColour == Catch::UseColour::Auto) config.useColour = Catch::UseColour::No;
    if (config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters) {
        return world.rank() == 0 ? catch_session.run() : 0;  // no collectives on this path
    }
    std::string report_file;
    if (world.rank() != 0 && config.outputFilename.empty()) {
        report_file = "mpi_tests_rank" + std::to_string(world.rank()) + "_" +
                      std::to_string(::getpid()) + ".log";
        config.outputFilename = report_file;
    }
    const int failures = catch_session.run();
    if (!report_file.empty()) {
        if (failures != 0) {
            std::ifstream report(report_file);
            std::cerr << "---- rank " << world.rank() << " report ----\n"
                      << report.rdbuf() << std::flush;
        }
        std::remove(report_file.c_str());
    }
    return world.all_reduce_max(failures);
}
