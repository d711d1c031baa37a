#pragma once
/// @file signals.hpp
/// Stop requests from the outside world. SIGTERM, SIGINT and SIGUSR1 set a flag that training
/// polls after every ALS half-sweep and DSGD sub-epoch (then every rank agrees on it, writes a
/// checkpoint and exits with code 75); a second SIGINT ends the process at once (exit 130). The
/// flag is the one piece of global mutable state in distmf: a signal handler can reach nothing
/// else.

#include "distmf/comm.hpp"

namespace distmf {

/// Exit code of a run that wrote a checkpoint and stopped before finishing (EX_TEMPFAIL):
/// job scripts requeue on it.
constexpr int exit_checkpointed = 75;

/// Local. Installs the handlers for SIGTERM, SIGINT and SIGUSR1.
void install_stop_handlers();

/// Local. The signal that requested a stop on this process, or 0.
int stop_signal() noexcept;

/// Collective: every rank of comm must call. True on every rank when a stop signal arrived on
/// any rank.
bool stop_agreed(const Communicator& comm);

}  // namespace distmf
