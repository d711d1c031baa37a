// distmf: the command-line program. Parses and validates the configuration (identically on
// every rank), runs the command, and is the only place that catches everything:
//   ConfigError / InputError / NumericalError
//                            -> agreed by every rank: rank 0 prints, every rank exits 2;
//   anything else            -> local to one rank: print it with the rank, MPI_Abort(1).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "distmf/comm.hpp"
#include "distmf/commands.hpp"
#include "distmf/config.hpp"
#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "distmf/evaluate.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/log.hpp"
#include "distmf/recommend.hpp"
#include "distmf/train.hpp"

namespace {

constexpr int exit_agreed_error = 2;

int run(const distmf::Communicator& world, int argc, char** argv) {
    using namespace distmf;
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        if (world.rank() == 0) std::fputs(overview_text().c_str(), stdout);
        return argc < 2 ? exit_agreed_error : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        if (world.rank() == 0) std::puts("distmf " DISTMF_VERSION);
        return 0;
    }
    const ParsedCommandLine parsed = parse_command_line(argc, argv);
    for (const std::string& note : parsed.notes) Logger(world.rank()).warn(note);
    if (parsed.help) {
        if (world.rank() == 0) std::fputs(help_text(parsed.command).c_str(), stdout);
        return 0;
    }
    if (parsed.print_config) {
        if (world.rank() == 0)
            std::fputs(effective_ini(parsed.config, parsed.command).c_str(), stdout);
        return 0;
    }
    validate(parsed.config, parsed.command);
    world.check_same_on_all_ranks(config_fingerprint(parsed.config, parsed.command),
                                  "the configuration");
    silence_hdf5_errors();
    switch (parsed.command) {
        case Command::train:
            return run_train_command(world, parsed.config);
        case Command::evaluate:
            return run_evaluate_command(world, parsed.config);
        case Command::inspect:
            return run_inspect_command(world, parsed.config);
        case Command::data:
            return run_data_command(world, parsed.config);
        case Command::generate:
            return run_generate_command(world, parsed.config);
        case Command::recommend:
            return run_recommend_command(world, parsed.config);
        case Command::predict:
            return run_predict_command(world, parsed.config);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const distmf::MpiSession session(argc, argv);
        const distmf::Communicator world;
        try {
            return run(world, argc, argv);
        } catch (const distmf::ConfigError& e) {
            if (world.rank() == 0) std::fprintf(stderr, "distmf: error: %s\n", e.what());
            return exit_agreed_error;
        } catch (const distmf::InputError& e) {
            if (world.rank() == 0) std::fprintf(stderr, "distmf: error: %s\n", e.what());
            return exit_agreed_error;
        } catch (const distmf::NumericalError& e) {  // agreed by als_half_sweep
            if (world.rank() == 0) std::fprintf(stderr, "distmf: error: %s\n", e.what());
            return exit_agreed_error;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "[rank %d] distmf: error: %s\n", world.rank(), e.what());
            std::fflush(stderr);
            MPI_Abort(world.get(), 1);
        }
    } catch (const std::exception& e) {  // MPI could not start
        std::fprintf(stderr, "distmf: error: %s\n", e.what());
    }
    return 1;
}
