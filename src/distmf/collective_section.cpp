#include "distmf/collective_section.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "distmf/error.hpp"

namespace distmf {
namespace {

[[noreturn]] void abort_section(const Communicator& comm, const CollectiveSection& section,
                                const char* what) {
    int world_rank = comm.rank();  // the job's rank, also inside a group (tune)
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    std::fprintf(stderr, "[rank %d] distmf: error: %s: %s\n", world_rank, section.operation.c_str(),
                 what);
    std::fflush(stderr);
    if (!section.remove_on_abort.empty()) std::remove(section.remove_on_abort.c_str());
    MPI_Abort(comm.get(), 1);
    std::abort();  // MPI_Abort does not return; if it ever did, still never unwind
                   // from here
}

}  // namespace

void run_collective_section(const Communicator& comm, const CollectiveSection& section,
                            const std::function<void()>& body) {
    const bool let_file_errors_through = section.failures == SectionFailures::agreed_file_errors;
    try {
        body();
    } catch (const InputError& e) {
        if (let_file_errors_through) throw;
        abort_section(comm, section, e.what());
    } catch (const Hdf5Error& e) {
        if (let_file_errors_through) throw;
        abort_section(comm, section, e.what());
    } catch (const std::exception& e) {
        abort_section(comm, section, e.what());
    } catch (...) {
        abort_section(comm, section, "unknown exception");
    }
}

}  // namespace distmf
