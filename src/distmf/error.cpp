#include "distmf/error.hpp"

#include <mpi.h>

namespace distmf {
namespace {

std::string describe_mpi_error(int code, const std::string& operation) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
        return operation + " failed with MPI error code " + std::to_string(code);
    }
    return operation + " failed: " + std::string(text, static_cast<std::size_t>(length));
}

}  // namespace

MpiError::MpiError(int code, const std::string& operation)
    : Error(describe_mpi_error(code, operation)), code_(code) {}

}  // namespace distmf
