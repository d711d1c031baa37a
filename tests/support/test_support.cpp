#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "distmf/generate.hpp"
#include "distmf/hashing.hpp"

namespace distmf::testing {
namespace {

std::string make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "distmf-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

}  // namespace

std::string implicit_interactions(int users, int items, int rank, int per_user,
                                  std::uint64_t seed) {
    const auto draw_factors = [&](int rows, std::uint64_t stream) {
        std::vector<double> factors(static_cast<std::size_t>(rows * rank));
        SplitMix64 random(hash_keys(seed, stream));
        for (double& f : factors) f = 1.2 * random.normal();
        return factors;
    };
    const std::vector<double> w = draw_factors(users, 1);
    const std::vector<double> h = draw_factors(items, 2);
    SplitMix64 random(hash_keys(seed, 3));
    std::vector<double> popularity(static_cast<std::size_t>(items));
    for (double& p : popularity) p = 1.5 * random.normal();
    std::ostringstream out;
    std::vector<std::pair<double, int>> keyed(static_cast<std::size_t>(items));
    for (int u = 0; u < users; ++u) {
        for (int i = 0; i < items; ++i) {
            double score = popularity[static_cast<std::size_t>(i)];
            for (int f = 0; f < rank; ++f) {
                score += w[static_cast<std::size_t>(u * rank + f)] *
                         h[static_cast<std::size_t>(i * rank + f)] / std::sqrt(rank);
            }
            const double gumbel = -std::log(-std::log(1.0 - random.uniform() * (1.0 - 1e-12)));
            keyed[static_cast<std::size_t>(i)] = {score + gumbel, i};
        }
        std::partial_sort(keyed.begin(), keyed.begin() + per_user, keyed.end(),
                          [](const auto& a, const auto& b) { return a.first > b.first; });
        for (int e = 0; e < per_user; ++e) {
            int count = 1;
            while (random.uniform() < 0.6 && count < 50) ++count;
            out << u + 1 << '\t' << keyed[static_cast<std::size_t>(e)].second + 1 << '\t' << count
                << '\n';
        }
    }
    return out.str();
}

TempDir::TempDir() : path_(make_temp_dir()) {}

TempDir::TempDir(const Communicator& comm) : owner_(comm.rank() == 0) {
    if (owner_) path_ = make_temp_dir();
    comm.broadcast(path_);
}

TempDir::~TempDir() {
    if (!owner_) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

bool write_on_rank0(const Communicator& comm, const std::string& path, const std::string& text) {
    std::optional<std::string> error;
    if (comm.rank() == 0) {
        try {
            write_text(path, text);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    return !comm.first_error(error, 0).has_value();
}

std::string shell_quote(const std::string& word) {
    std::string quoted = "'";
    for (const char c : word) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

std::string distmf_command_line(int ranks, const std::vector<std::string>& args,
                                const std::vector<std::string>& environment) {
    std::string command =
        "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none "
        "OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0 "
        // Open MPI 4 waits up to this many seconds per round of killing a job whose rank
        // exited non-zero (even when every rank has exited): 1-2 s per failing run by default.
        "OMPI_MCA_odls_base_sigkill_timeout=0";
    for (const std::string& variable : environment) command += " " + shell_quote(variable);
    if (ranks > 0) {
        command += " " + shell_quote(DISTMF_MPIEXEC) + " -n " + std::to_string(ranks);
    }
    command += " " + shell_quote(DISTMF_BINARY);
    for (const std::string& arg : args) command += " " + shell_quote(arg);
    return command;
}

std::vector<std::string> private_mpi_session(const TempDir& dir) {
    const std::string folder = dir.file("mpi");
    std::filesystem::create_directory(folder);
    return {"OMPI_MCA_orte_tmpdir_base=" + folder};
}

namespace {

CommandResult run_captured(const TempDir& capture, const std::string& command_line) {
    const std::string command = command_line + " > " + shell_quote(capture.file("out")) + " 2> " +
                                shell_quote(capture.file("err"));
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_text(capture.file("out"));
    result.err = read_text(capture.file("err"));
    return result;
}

}  // namespace

CommandResult run_command(const std::string& command_line) {
    const TempDir capture;
    return run_captured(capture, command_line);
}

CommandResult run_distmf(int ranks, const std::vector<std::string>& args,
                         const std::vector<std::string>& environment) {
    return run_distmf_within(0, ranks, args, environment);
}

CommandResult run_distmf_within(int seconds, int ranks, const std::vector<std::string>& args,
                                const std::vector<std::string>& environment) {
    const TempDir capture;
    std::vector<std::string> variables = private_mpi_session(capture);
    variables.insert(variables.end(), environment.begin(), environment.end());
    const std::string limit =
        seconds > 0 ? "timeout -k 5 " + std::to_string(seconds) + " " : std::string();
    return run_captured(capture, limit + distmf_command_line(ranks, args, variables));
}

std::optional<std::string> data_dir() {
    const char* folder = std::getenv("DISTMF_DATA_DIR");
    if (folder == nullptr || *folder == '\0' || !std::filesystem::is_directory(folder)) {
        return std::nullopt;
    }
    return std::string(folder);
}

std::string skip_message(const std::string& what) {
    return "SKIPPED: DISTMF_DATA_DIR is not set (or not a folder); " + what +
           " needs the real data sets";
}

std::string source_dir() { return DISTMF_SOURCE_DIR; }

std::string python_with_packages() { return DISTMF_PYTHON; }

void generate_on_rank0(const Communicator& comm, const GenerateConfig& options) {
    if (comm.rank() == 0) generate_ratings(options, 1);
    comm.barrier();
}

void generate_small_ratings(const Communicator& comm, const std::string& path) {
    generate_on_rank0(comm, {.users = 150,
                             .items = 90,
                             .ratings = 4000,
                             .rank = 3,
                             .noise = 0.3,
                             .seed = 8,
                             .out = path});
}

}  // namespace distmf::testing
