#pragma once
/// @file hdf5_file.hpp
/// A thin RAII layer over the HDF5 C API (the C++ API does not support parallel HDF5),
/// in the manner of HighFive: every call is checked and a failure throws Hdf5Error naming the
/// call, the file and HDF5's innermost reason; every hid_t has an owner that closes it. Files are
/// opened with the MPI-IO driver (collective metadata) for parallel use, or the default driver for
/// one process.
///
/// Parallel use (HDF5 "collective calling requirements"): every rank must create/open/close
/// the same files, groups, datasets and attributes, in the same order, with the same values;
/// dataset reads and writes with `collective = true` must be called by every rank (a rank
/// with nothing to transfer passes zero rows).

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "distmf/error.hpp"

namespace distmf {

/// Local. Turns off HDF5's automatic printing of error stacks (distmf reports errors itself).
void silence_hdf5_errors();

/// Owns one HDF5 identifier and closes it with the matching H5*close. Move-only.
class H5Handle {
  public:
    using Closer = herr_t (*)(hid_t);
    H5Handle() = default;
    /// Takes ownership of `id` (closed with `closer`); `file` names the file for messages.
    H5Handle(hid_t id, Closer closer, std::string file)
        : id_(id), closer_(closer), file_(std::move(file)) {}
    ~H5Handle() { reset(); }
    H5Handle(const H5Handle&) = delete;  // one owner per identifier
    H5Handle& operator=(const H5Handle&) = delete;
    H5Handle(H5Handle&& other) noexcept
        : id_(std::exchange(other.id_, H5I_INVALID_HID)),
          closer_(other.closer_),
          file_(std::move(other.file_)) {}
    H5Handle& operator=(H5Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
            closer_ = other.closer_;
            file_ = std::move(other.file_);
        }
        return *this;
    }

    /// The identifier.
    hid_t get() const noexcept { return id_; }
    /// The file this handle belongs to (for messages).
    const std::string& file() const noexcept { return file_; }
    /// Closes now, reporting failure (use for files, where close flushes data).
    void close();

  private:
    void reset() noexcept;

    hid_t id_ = H5I_INVALID_HID;
    Closer closer_ = nullptr;
    std::string file_;
};

/// Maps a C++ element type to its HDF5 memory type and its little-endian file type.
template <class T>
struct H5Type;
template <>
struct H5Type<float> {
    static hid_t memory() { return H5T_NATIVE_FLOAT; }
    static hid_t file() { return H5T_IEEE_F32LE; }
};
template <>
struct H5Type<double> {
    static hid_t memory() { return H5T_NATIVE_DOUBLE; }
    static hid_t file() { return H5T_IEEE_F64LE; }
};
template <>
struct H5Type<std::int32_t> {
    static hid_t memory() { return H5T_NATIVE_INT32; }
    static hid_t file() { return H5T_STD_I32LE; }
};
template <>
struct H5Type<std::int64_t> {
    static hid_t memory() { return H5T_NATIVE_INT64; }
    static hid_t file() { return H5T_STD_I64LE; }
};
template <>
struct H5Type<std::uint64_t> {
    static hid_t memory() { return H5T_NATIVE_UINT64; }
    static hid_t file() { return H5T_STD_U64LE; }
};

/// Collective over comm. Creates (truncates) `path` for parallel writing, in the HDF5 1.8
/// file format or later (checksummed metadata).
H5Handle create_parallel_file(MPI_Comm comm, const std::string& path);
/// Collective over comm. Opens `path` read-only for parallel reading. A folder or another
/// file that is not a regular file is an agreed Hdf5Error (before any MPI-IO call).
H5Handle open_parallel_file(MPI_Comm comm, const std::string& path);
/// Local. Opens `path` read-only with the default (serial) driver; a folder or another file
/// that is not a regular file is an Hdf5Error.
H5Handle open_serial_file(const std::string& path);

/// Flushes a file's buffers to storage (MPI_File_sync under the MPI-IO driver). Collective
/// for parallel files.
void flush_file(const H5Handle& file);

/// Creates group `name` under `parent`.
H5Handle create_group(const H5Handle& parent, const std::string& name);
/// Opens an existing group.
H5Handle open_group(const H5Handle& parent, const std::string& name);
/// Creates a dataset of file type `file_type` and shape `dims` (1 or 2 dimensions).
H5Handle create_dataset(const H5Handle& parent, const std::string& name, hid_t file_type,
                        const std::vector<std::uint64_t>& dims);
/// Opens an existing dataset.
H5Handle open_dataset(const H5Handle& parent, const std::string& name);
/// True if `name` (a path relative to `parent`) exists; a damaged group is an Hdf5Error.
bool has_object(const H5Handle& parent, const std::string& name);
/// The shape of a dataset.
std::vector<std::uint64_t> dataset_shape(const H5Handle& dataset);

/// Where a block of rows lies in memory: rows of `row_width` values (0: as wide as the
/// dataset's rows), of which the dataset's columns are [first_column, first_column + width).
/// Lets a rank write part of each row of a wider table without copying it first.
struct MemoryRows {
    std::int64_t row_width = 0;
    std::int64_t first_column = 0;
};

/// Writes rows [first_row, first_row + n_rows) of a 1-D or 2-D dataset (its row width: the
/// number of columns, 1 for 1-D) from `data`, laid out as `memory` says. Collective transfer
/// when `collective`.
void write_rows_raw(const H5Handle& dataset, hid_t memory_type, std::int64_t first_row,
                    std::int64_t n_rows, const void* data, bool collective,
                    const MemoryRows& memory = {});
/// Reads rows [first_row, first_row + n_rows) into `data`. Collective transfer when `collective`.
void read_rows_raw(const H5Handle& dataset, hid_t memory_type, std::int64_t first_row,
                   std::int64_t n_rows, void* data, bool collective);

/// Typed write_rows_raw.
template <class T>
void write_rows(const H5Handle& dataset, std::int64_t first_row, std::int64_t n_rows, const T* data,
                bool collective, const MemoryRows& memory = {}) {
    write_rows_raw(dataset, H5Type<T>::memory(), first_row, n_rows, data, collective, memory);
}
/// Typed read_rows_raw.
template <class T>
void read_rows(const H5Handle& dataset, std::int64_t first_row, std::int64_t n_rows, T* data,
               bool collective) {
    read_rows_raw(dataset, H5Type<T>::memory(), first_row, n_rows, data, collective);
}

/// Writes a scalar numeric attribute on `object` (a file, group or dataset).
void write_attribute_raw(const H5Handle& object, const std::string& name, hid_t memory_type,
                         hid_t file_type, const void* value);
/// Reads a scalar numeric attribute, converting to `memory_type`.
void read_attribute_raw(const H5Handle& object, const std::string& name, hid_t memory_type,
                        void* value);
template <class T>
void write_attribute(const H5Handle& object, const std::string& name, T value) {
    write_attribute_raw(object, name, H5Type<T>::memory(), H5Type<T>::file(), &value);
}
template <class T>
T read_attribute(const H5Handle& object, const std::string& name) {
    T value{};
    read_attribute_raw(object, name, H5Type<T>::memory(), &value);
    return value;
}
/// Writes a fixed-length UTF-8 string attribute (NUL-padded, at least one byte; h5py reads
/// it as bytes): the text is stored in the object header, under its checksum.
void write_string_attribute(const H5Handle& object, const std::string& name,
                            const std::string& value);
/// Reads a fixed-length string attribute (up to its first NUL) into a buffer of the stored
/// size; a variable-length string (whose text lives outside the checksummed object header)
/// or an implausible size is an Hdf5Error.
std::string read_string_attribute(const H5Handle& object, const std::string& name);
/// True if `object` has an attribute `name`; a damaged object header is an Hdf5Error.
bool has_attribute(const H5Handle& object, const std::string& name);

}  // namespace distmf
