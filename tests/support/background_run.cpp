#include "background_run.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace distmf::testing {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double seconds) {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void pause_briefly() { std::this_thread::sleep_for(std::chrono::milliseconds(1)); }

/// A process as /proc/<pid>/stat describes it.
struct ProcessStatus {
    pid_t pid = 0;
    char state = '?';
    pid_t session = 0;
};

/// Every process of the system whose session is `session` (one /proc scan).
std::vector<ProcessStatus> session_members(pid_t session) {
    std::vector<ProcessStatus> members;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string line;
        if (!std::getline(in, line)) continue;  // ended in the meantime
        // "pid (comm) state ppid pgrp session ...": comm may hold blanks and parentheses.
        const std::size_t close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(line.substr(close + 1));
        ProcessStatus status;
        long parent = 0;
        long group = 0;
        long session_id = 0;
        fields >> status.state >> parent >> group >> session_id;
        if (!fields || session_id != session) continue;
        status.pid = static_cast<pid_t>(std::stol(name));
        status.session = static_cast<pid_t>(session_id);
        members.push_back(status);
    }
    return members;
}

bool alive(const ProcessStatus& process) {
    return process.state != 'Z' && process.state != 'X' && process.state != 'x';
}

}  // namespace

BackgroundRun::BackgroundRun(int ranks, const std::vector<std::string>& args,
                             const std::vector<std::string>& environment) {
    if (ranks < 1) throw std::invalid_argument("BackgroundRun needs mpiexec (ranks >= 1)");
    std::vector<std::string> variables = private_mpi_session(capture_);
    variables.push_back("OMPI_MCA_btl_vader_backing_directory=" + capture_.file("mpi"));
    variables.insert(variables.end(), environment.begin(), environment.end());
    // exec: the shell becomes env, then mpiexec, so leader_ is mpiexec itself.
    const std::string command = "exec " + distmf_command_line(ranks, args, variables);
    const std::string out = capture_.file("out");
    const std::string err = capture_.file("err");
    leader_ = ::fork();
    if (leader_ < 0) throw std::runtime_error("fork failed");
    if (leader_ == 0) {  // the child: async-signal-safe calls only, then exec
        ::setsid();
        const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out_fd < 0 || err_fd < 0) ::_exit(126);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        ::close(out_fd);
        ::close(err_fd);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
}

BackgroundRun::~BackgroundRun() {
    kill_all();
    if (!reaped_) reap(true);
    wait_until_gone(10.0);  // the ranks hold files in capture_'s folder
}

bool BackgroundRun::reap(bool block) {
    if (reaped_) return true;
    pid_t result = 0;
    do {
        result = ::waitpid(leader_, &status_, block ? 0 : WNOHANG);
    } while (result < 0 && errno == EINTR);
    if (result == leader_ || result < 0) reaped_ = true;
    return reaped_;
}

bool BackgroundRun::wait_until(const std::function<bool()>& condition, double timeout_seconds) {
    const auto deadline = deadline_after(timeout_seconds);
    while (Clock::now() < deadline) {
        if (condition()) return true;
        if (reap(false)) return condition();
        pause_briefly();
    }
    return false;
}

bool BackgroundRun::wait_for_file(const std::string& path, double timeout_seconds) {
    return wait_until([&path] { return std::filesystem::exists(path); }, timeout_seconds);
}

void BackgroundRun::signal_launcher(int signal_number) const {
    if (!reaped_) ::kill(leader_, signal_number);
}

int BackgroundRun::signal_ranks(int signal_number) const {
    int signalled = 0;
    for (const ProcessStatus& process : session_members(leader_)) {
        if (process.pid == leader_ || !alive(process)) continue;
        if (::kill(process.pid, signal_number) == 0) ++signalled;
    }
    return signalled;
}

int BackgroundRun::signal_all(int signal_number) const {
    int signalled = 0;
    for (const ProcessStatus& process : session_members(leader_)) {
        if (alive(process) && ::kill(process.pid, signal_number) == 0) ++signalled;
    }
    return signalled;
}

void BackgroundRun::kill_all() const {
    // Collect first, then kill, so mpiexec and the ranks die within microseconds of each
    // other; repeat in case a process was starting during the scan.
    for (int round = 0; round < 3; ++round) {
        const std::vector<ProcessStatus> members = session_members(leader_);
        if (members.empty()) return;
        for (const ProcessStatus& process : members) ::kill(process.pid, SIGKILL);
    }
}

CommandResult BackgroundRun::wait(double timeout_seconds) {
    const auto deadline = deadline_after(timeout_seconds);
    bool timed_out = false;
    while (!reap(false)) {
        if (Clock::now() >= deadline) {
            timed_out = true;
            kill_all();
            reap(true);
            break;
        }
        pause_briefly();
    }
    CommandResult result;
    if (timed_out) {
        result.exit_code = -1;
    } else if (WIFEXITED(status_)) {
        result.exit_code = WEXITSTATUS(status_);
    } else if (WIFSIGNALED(status_)) {
        result.exit_code = 128 + WTERMSIG(status_);
    }
    result.out = read_text(capture_.file("out"));
    result.err = read_text(capture_.file("err"));
    return result;
}

std::string BackgroundRun::output() const { return read_text(capture_.file("out")); }

std::vector<pid_t> BackgroundRun::live_processes() const {
    std::vector<pid_t> live;
    for (const ProcessStatus& process : session_members(leader_)) {
        if (alive(process)) live.push_back(process.pid);
    }
    return live;
}

bool BackgroundRun::wait_until_gone(double timeout_seconds) const {
    const auto deadline = deadline_after(timeout_seconds);
    while (!live_processes().empty()) {
        if (Clock::now() >= deadline) return false;
        pause_briefly();
    }
    return true;
}

}  // namespace distmf::testing
