#pragma once
// A distmf job under mpiexec started in the background, for tests that signal or kill a run
// while it trains. The job runs in a session of its own: Open MPI puts every rank in a process
// group of its own (so kill(-pgid) would miss them), but they all stay in mpiexec's session,
// which is how this class finds "the whole job" to signal or SIGKILL at once.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace distmf::testing {

class BackgroundRun {
  public:
    /// Starts `distmf <args...>` under `mpiexec -n ranks` (ranks >= 1) as run_distmf would
    /// (same environment plus `environment`), with stdout and stderr captured. Open MPI's
    /// session folder and shared-memory segments go to a private folder, so a killed job
    /// leaves nothing in /tmp or /dev/shm that outlives this object.
    BackgroundRun(int ranks, const std::vector<std::string>& args,
                  const std::vector<std::string>& environment = {});
    /// SIGKILLs whatever is left of the job and reaps mpiexec: a failed test leaves no orphan.
    ~BackgroundRun();
    BackgroundRun(const BackgroundRun&) = delete;  // owns the processes
    BackgroundRun& operator=(const BackgroundRun&) = delete;
    BackgroundRun(BackgroundRun&&) = delete;
    BackgroundRun& operator=(BackgroundRun&&) = delete;

    /// Polls (every millisecond) until `condition()` holds; false if mpiexec ended first (and
    /// it still does not hold) or `timeout_seconds` passed.
    bool wait_until(const std::function<bool()>& condition, double timeout_seconds);
    /// wait_until `path` exists.
    bool wait_for_file(const std::string& path, double timeout_seconds);
    /// Sends `signal_number` to mpiexec only (as a user or a script would).
    void signal_launcher(int signal_number) const;
    /// Sends `signal_number` to every rank, not to mpiexec (as a batch system does at its time
    /// limit); returns the number of ranks signalled.
    int signal_ranks(int signal_number) const;
    /// Sends `signal_number` to mpiexec and every rank in one pass (as a batch system does to
    /// every process of a job); returns the number of processes signalled.
    int signal_all(int signal_number) const;
    /// SIGKILLs mpiexec and every rank, all in one pass (kill -9 of the whole job).
    void kill_all() const;
    /// Waits up to `timeout_seconds` for mpiexec to end and returns what it printed and its exit
    /// code (128 + signal if killed). If it does not end in time, kills the job and returns
    /// exit code -1.
    CommandResult wait(double timeout_seconds);
    /// The processes of the job that still exist and are not zombies (mpiexec and ranks).
    std::vector<pid_t> live_processes() const;
    /// Polls until live_processes() is empty; false if `timeout_seconds` passed first.
    bool wait_until_gone(double timeout_seconds) const;
    /// What the job has written to stdout so far.
    std::string output() const;
    /// mpiexec's process ID (the session ID of every process of the job).
    pid_t pid() const noexcept { return leader_; }

  private:
    bool reap(bool block);

    TempDir capture_;
    pid_t leader_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

}  // namespace distmf::testing
