// distmf: the command-line program. Parses and validates the configuration on every rank and
// agrees on the outcome before any other collective, runs the command, and is the only place
// that catches everything:
//   ConfigError / InputError / NumericalError
//                            -> agreed by every rank: rank 0 prints, every rank exits 2;
//   anything else            -> local to one rank: print it with the rank, MPI_Abort(1).
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "distmf/comm.hpp"
#include "distmf/commands.hpp"
#include "distmf/config.hpp"
#include "distmf/config_validation.hpp"
#include "distmf/error.hpp"
#include "distmf/evaluate.hpp"
#include "distmf/fault_injection.hpp"
#include "distmf/hdf5_file.hpp"
#include "distmf/log.hpp"
#include "distmf/recommend.hpp"
#include "distmf/train.hpp"
#include "distmf/tune.hpp"

namespace {

constexpr int exit_agreed_error = 2;

/// Collective. Parses the command line and the config file, and validates the configuration
/// (unless --help or --print-config asks only to print), on every rank; then agrees on the
/// outcome before any other collective, as each rank reads its own copy of the config file (a
/// file missing or different on one node fails there only). If any rank failed, every rank
/// throws the same ConfigError: the message of the lowest failing rank, prefixed with
/// "rank r: " unless every rank failed (then they all failed alike, as for a typo).
distmf::ParsedCommandLine parse_and_validate(const distmf::Communicator& world, int argc,
                                             char** argv) {
    using namespace distmf;
    ParsedCommandLine parsed;
    std::optional<std::string> error;
    try {
        parsed = parse_command_line(argc, argv);
        if (fault_requested_on_rank("invalid-config-on-rank")) {
            throw ConfigError("DISTMF_FAULT: the configuration is invalid on this rank");
        }
        if (!parsed.help && !parsed.print_config) validate(parsed.config, parsed.command);
    } catch (const std::exception& e) {
        error = e.what();
    }
    const int failed_ranks = world.all_reduce_sum(error ? 1 : 0);
    if (failed_ranks == 0) return parsed;
    if (error && failed_ranks < world.size()) {
        error = "rank " + std::to_string(world.rank()) + ": " + *error;
    }
    throw ConfigError(world.first_error(error, 0).value_or("the configuration is invalid"));
}

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
    const ParsedCommandLine parsed = parse_and_validate(world, argc, argv);
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
        case Command::tune:
            return run_tune_command(world, parsed.config);
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
