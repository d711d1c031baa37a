#pragma once
/// @file error.hpp
/// distmf's exception hierarchy. Every error carries enough context (operation, file, line,
/// option, rank, row) to be printed as one line that a user can act on.
///
/// Two failure paths (as in LAMMPS): ConfigError and InputError are *agreed* errors: code that
/// throws them under MPI makes sure every rank throws the same one (the configuration is the
/// same everywhere, and ingest exchanges its errors before anyone acts), so `main` exits with
/// code 2 on every rank and rank 0 prints. Every other error is *local*: `main` prints it with
/// the rank and calls MPI_Abort so no rank is left waiting in a collective.

#include <stdexcept>
#include <string>

namespace distmf {

/// Base of every distmf error.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// An option or configuration value is unknown, malformed or impossible.
class ConfigError : public Error {
  public:
    using Error::Error;
};

/// An input file is missing, unreadable or malformed.
class InputError : public Error {
  public:
    using Error::Error;
};

/// An MPI call returned an error code.
class MpiError : public Error {
  public:
    /// @param code the MPI error code, @param operation the MPI function that failed.
    MpiError(int code, const std::string& operation);
    /// The MPI error code returned by the failed call.
    int code() const noexcept { return code_; }

  private:
    int code_;
};

/// An HDF5 call failed.
class Hdf5Error : public Error {
  public:
    using Error::Error;
};

/// A numerical kernel failed (for example, a Cholesky factorization of a row's system).
class NumericalError : public Error {
  public:
    using Error::Error;
};

}  // namespace distmf
