#pragma once
/// @file collective_section.hpp
/// A collective I/O section: the calls between opening and closing a parallel HDF5 file, each
/// of which every rank makes (HDF5's collective calling requirements). A rank that fails in
/// the middle cannot simply unwind: the destructors on its way out close the file, and closing
/// is collective too, so it would wait forever for the ranks still inside the section, which
/// in turn wait for it in their next collective call -- and main's MPI_Abort would never come.
/// run_collective_section catches the failure at the section's edge instead (the section's
/// caller owns the open file, so nothing collective is destroyed on the way), prints one line
/// naming the rank, the operation and the error, and aborts the job.
///
/// Only the HDF5 objects opened inside the section (groups, datasets, attributes, dataspaces,
/// property lists) are closed while its exception unwinds. HDF5 counts H5Dclose, H5Gclose and
/// H5Aclose as collective only when they release the file's last identifier ("Collective
/// Calling Requirements in Parallel HDF5 Applications", note 2); the file stays open here, so
/// closing them involves no other rank.
///
/// Why a function taking the section's body rather than an RAII guard: a guard's destructor
/// can tell that an exception is unwinding (std::uncaught_exceptions) but not which one, and
/// the line printed must say what failed.

#include <functional>
#include <string>

#include "distmf/comm.hpp"

namespace distmf {

/// Which failures inside a collective section end it for every rank alike.
enum class SectionFailures {
    /// None: any failure is this rank's alone (writing: a full disk or an I/O error at one
    /// aggregator, bad_alloc) and aborts the job.
    local,
    /// InputError and Hdf5Error leave the section as usual (reading: every rank reads every
    /// byte of the file, through HDF5's collective metadata reads, so a damaged file fails the
    /// same check at the same call on every rank, and they all leave together, close the file
    /// and agree on the error); any other failure (bad_alloc, an MPI error, ...) aborts.
    agreed_file_errors,
};

/// What a collective section does, for its error message and its clean-up.
struct CollectiveSection {
    /// The operation and the file, as the error line names them ("writing model 'm.h5'").
    std::string operation;
    SectionFailures failures = SectionFailures::local;
    /// A file this rank removes before aborting (the temporary file being written), or "".
    std::string remove_on_abort;
};

/// Collective: every rank of comm must call (`body` makes the section's collective calls).
/// Runs `body`. If it throws a failure that `section.failures` does not let through, prints
/// "[rank r] distmf: error: <operation>: <what>" (r: the rank in MPI_COMM_WORLD) to stderr, removes
/// section.remove_on_abort and calls MPI_Abort(comm, 1): it does not return, and closes nothing the
/// caller owns.
void run_collective_section(const Communicator& comm, const CollectiveSection& section,
                            const std::function<void()>& body);

}  // namespace distmf
