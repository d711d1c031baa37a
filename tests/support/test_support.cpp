#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "distmf/generate.hpp"

namespace distmf::testing {
namespace {

std::string make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "distmf-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

}  // namespace

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

CommandResult run_distmf(int ranks, const std::vector<std::string>& args,
                         const std::vector<std::string>& environment) {
    const TempDir capture;
    const std::string command = distmf_command_line(ranks, args, environment) + " > " +
                                shell_quote(capture.file("out")) + " 2> " +
                                shell_quote(capture.file("err"));
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_text(capture.file("out"));
    result.err = read_text(capture.file("err"));
    return result;
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

bool same_bits(const FactorTable& a, const FactorTable& b) {
    if (a.rows() != b.rows() || a.k() != b.k() || a.has_bias() != b.has_bias()) return false;
    const auto bytes = static_cast<std::size_t>(a.values().size()) * sizeof(float);
    return bytes == 0 || std::memcmp(a.values().data(), b.values().data(), bytes) == 0;
}

void generate_on_rank0(const Communicator& comm, const GenerateConfig& options) {
    if (comm.rank() == 0) generate_ratings(options, 1);
    comm.barrier();
}

}  // namespace distmf::testing
