#pragma once
/// @file fault_injection.hpp
/// Test only. Faults the CLI tests inject through the environment variable DISTMF_FAULT, to
/// prove that a failure at an awkward moment is handled (no hang, no half-written file):
///
///   abort-during-checkpoint[:N]       every rank SIGKILLs itself while checkpoint N (or any)
///                                     is being written (checkpoint.cpp)
///   invalid-config-on-rank:R          rank R alone finds the configuration invalid (main.cpp)
///   stop-signal-after-ingest          every rank of `distmf train` raises SIGUSR1 on itself
///                                     once the data is loaded: a stop before the first
///                                     half-sweep ends, at a known point (train.cpp)
///   io-error-on-rank:R:POINT          rank R alone fails in the middle of the collective I/O
///                                     at POINT: model-write, checkpoint-write, model-read,
///                                     checkpoint-read (an exception between two collective
///                                     calls, model_io.cpp and checkpoint.cpp), output-write
///                                     (an MPI-IO write of recommend/predict --out returns an
///                                     error, ordered_output.cpp), data-read (a collective
///                                     H5Dread returns an error, hdf5_file.cpp) or share-read
///                                     (the independent H5Dread of a rank's share of a model
///                                     or checkpoint dataset fails, model_io.cpp)
///
/// Without DISTMF_FAULT every function here does nothing.

#include <optional>
#include <string>
#include <string_view>

namespace distmf {

/// Test only. Local. If DISTMF_FAULT requests the fault `kind` ("kind" or "kind:argument"),
/// its argument ("" without one); otherwise nullopt.
std::optional<std::string> requested_fault(std::string_view kind);

/// Test only. Local. True if DISTMF_FAULT is "<kind>:<rank>" or starts with "<kind>:<rank>:"
/// and, in the second case, continues with `point` (a fault meant for this rank only). The
/// rank is this process's in MPI_COMM_WORLD, also where a sub-communicator works (tune's
/// groups). Needs MPI initialized.
bool fault_requested_on_rank(std::string_view kind, std::string_view point = {});

/// Test only. Local. Throws std::runtime_error ("DISTMF_FAULT: injected I/O error at <point>")
/// if DISTMF_FAULT is io-error-on-rank:<rank>:<point> with this process's MPI_COMM_WORLD rank:
/// a failure of this rank alone, in the
/// middle of a collective I/O section (like bad_alloc or an I/O error seen by one aggregator).
void inject_io_error_if_requested(std::string_view point);

}  // namespace distmf
