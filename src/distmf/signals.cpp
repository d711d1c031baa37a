#include "distmf/signals.hpp"

#include <unistd.h>

#include <csignal>
#include <initializer_list>

namespace distmf {
namespace {

volatile std::sig_atomic_t requested_signal = 0;  // written only by the handler

extern "C" void on_stop_signal(int signal_number) {
    if (signal_number == SIGINT && requested_signal == SIGINT) ::_exit(130);  // second Ctrl-C
    requested_signal = signal_number;
}

}  // namespace

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (const int signal_number : {SIGTERM, SIGINT, SIGUSR1}) {
        sigaction(signal_number, &action, nullptr);
    }
}

int stop_signal() noexcept { return requested_signal; }

bool stop_agreed(const Communicator& comm) { return comm.all_reduce_max(stop_signal()) != 0; }

}  // namespace distmf
