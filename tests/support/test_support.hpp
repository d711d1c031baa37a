#pragma once
// Helpers shared by distmf's tests: temporary folders, small files, and running the real
// distmf binary under mpiexec.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distmf/comm.hpp"
#include "distmf/config.hpp"

namespace distmf::testing {

/// A fresh folder under the system temporary directory, removed (with its contents) on
/// destruction. With a communicator, rank 0 creates it and every rank gets the same path.
class TempDir {
  public:
    TempDir();
    explicit TempDir(const Communicator& comm);
    ~TempDir();
    TempDir(const TempDir&) = delete;  // owns the folder
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;

    const std::string& path() const { return path_; }
    /// path() + "/" + name.
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
    bool owner_ = true;
};

/// Writes `text` to `path` (replacing it).
void write_text(const std::string& path, const std::string& text);
/// The whole content of `path`; empty if it does not exist.
std::string read_text(const std::string& path);
/// True if `path` exists.
bool exists(const std::string& path);

/// Collective. Rank 0 writes `text` to `path` (replacing it); every rank learns whether that
/// worked. Tests keep the result and assert on it only after their last collective.
bool write_on_rank0(const Communicator& comm, const std::string& path, const std::string& text);

/// What a run of the binary produced.
struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// `word` quoted for /bin/sh (single quotes).
std::string shell_quote(const std::string& word);

/// The /bin/sh command line that runs `distmf <args...>` as run_distmf does (without
/// redirections): `env <Open MPI switches> <environment...> mpiexec -n <ranks> distmf ...`.
std::string distmf_command_line(int ranks, const std::vector<std::string>& args,
                                const std::vector<std::string>& environment = {});

/// Runs `command_line` with /bin/sh and returns what it printed and its exit code (128 + signal
/// if killed).
CommandResult run_command(const std::string& command_line);

/// Creates `dir`/mpi and returns the variables ("NAME=value") that make Open MPI keep its
/// session folder there. Open MPI 4 otherwise shares one session
/// folder per user and host (<TMPDIR>/ompi.<host>.<uid>), which one job creates while another
/// job's cleanup removes it: two mpiexec started in the same instant fail at random
/// ("orte_session_dir failed").
std::vector<std::string> private_mpi_session(const TempDir& dir);

/// Runs `distmf <args...>` under mpiexec with `ranks` processes (0: directly, as a singleton),
/// with Open MPI's run-as-root and oversubscription switches and OMP_NUM_THREADS=1 set
/// (override or add variables with `environment`, "NAME=value" each), in a private Open MPI
/// session folder (private_mpi_session) removed afterwards.
CommandResult run_distmf(int ranks, const std::vector<std::string>& args,
                         const std::vector<std::string>& environment = {});

/// Runs `distmf <args...>` as run_distmf does, under `timeout`: a run still going after
/// `seconds` is stopped (SIGTERM, SIGKILL 5 s later) and reported as exit code 124 (or 137).
CommandResult run_distmf_within(int seconds, int ranks, const std::vector<std::string>& args,
                                const std::vector<std::string>& environment = {});

/// Synthetic implicit feedback with user-specific structure (TSV `user item count`, IDs from
/// 1): users and items get rank-`rank` factors; each user interacts with `per_user` distinct
/// items drawn without replacement with probability proportional to
/// exp(w_u.h_i + popularity_i) (Gumbel top-k), counts 1 + geometric. Popularity alone explains
/// part of it, the factors the rest: a model of the factors must beat the popularity ranking.
std::string implicit_interactions(int users, int items, int rank, int per_user, std::uint64_t seed);

/// The folder of the real data sets (DISTMF_DATA_DIR), if set and present.
std::optional<std::string> data_dir();

/// The message the tests print when DISTMF_DATA_DIR is missing (CTest reports them skipped).
std::string skip_message(const std::string& what);

/// The source tree's root (for configs/).
std::string source_dir();

/// The Python interpreter that has h5py, numpy and matplotlib (found when CMake configured the
/// tests: /usr/bin/python3 first, then python3 on PATH); empty if none had them.
std::string python_with_packages();

/// Collective. Rank 0 writes `options.out` with `distmf generate`'s generator; every rank
/// returns once the file is complete.
void generate_on_rank0(const Communicator& comm, const GenerateConfig& options);

/// Collective. The small data set of the training MPI tests, written by rank 0 to `path`:
/// 150 users x 90 items, 4000 ratings of a rank-3 model with noise 0.3 (seed 8).
void generate_small_ratings(const Communicator& comm, const std::string& path);

}  // namespace distmf::testing
