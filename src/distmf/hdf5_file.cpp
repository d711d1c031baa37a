#include "distmf/hdf5_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "distmf/comm.hpp"
#include "distmf/fault_injection.hpp"

namespace distmf {
namespace {

[[noreturn]] void fail(const char* call, const std::string& file, const std::string& what = "") {
    throw Hdf5Error(std::string(call) + " failed for '" + file + "'" +
                    (what.empty() ? std::string() : " (" + what + ")"));
}

extern "C" herr_t keep_innermost_error(unsigned depth, const H5E_error2_t* error, void* reason) {
    if (depth == 0 && error->desc != nullptr) *static_cast<std::string*>(reason) = error->desc;
    return 0;
}

/// `what`, followed by what HDF5 says went wrong at the bottom of its error stack (for
/// example "incorrect metadata checksum after all read attempts"), after a failed HDF5 call.
std::string with_hdf5_reason(const std::string& what) {
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost_error, &reason);
    if (reason.empty()) return what;
    return what.empty() ? reason : what + ": " + reason;
}

hid_t checked(hid_t id, const char* call, const std::string& file, const std::string& what = "") {
    if (id < 0) fail(call, file, with_hdf5_reason(what));
    return id;
}

void checked_status(herr_t status, const char* call, const std::string& file,
                    const std::string& what = "") {
    if (status < 0) fail(call, file, with_hdf5_reason(what));
}

H5Handle file_access(MPI_Comm comm, const std::string& path) {
    H5Handle access(checked(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path), H5Pclose, path);
    checked_status(H5Pset_fapl_mpio(access.get(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio", path);
    checked_status(H5Pset_all_coll_metadata_ops(access.get(), true), "H5Pset_all_coll_metadata_ops",
                   path);
    checked_status(H5Pset_coll_metadata_write(access.get(), true), "H5Pset_coll_metadata_write",
                   path);
    return access;
}

/// Files are written in the HDF5 1.8 format or later: its superblock, object headers (with
/// their attributes) and group links carry checksums, so HDF5 itself rejects damaged metadata
/// (the 1.6 format that HDF5 writes by default has none).
H5Handle file_creation_access(MPI_Comm comm, const std::string& path) {
    H5Handle access = file_access(comm, path);
    checked_status(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
                   "H5Pset_libver_bounds", path);
    return access;
}

/// Objects keep up to this many attributes in their object header ("compact" storage, under
/// its checksum) instead of HDF5's default of 8: "dense" storage moves them to a fractal heap
/// whose blocks HDF5 writes without checksums.
constexpr unsigned max_compact_attributes = 64;

/// Creation properties (of the file, for its root group, or of a group) that keep attributes
/// compact.
H5Handle compact_attributes(hid_t property_class, const std::string& path) {
    H5Handle properties(checked(H5Pcreate(property_class), "H5Pcreate", path), H5Pclose, path);
    checked_status(H5Pset_attr_phase_change(properties.get(), max_compact_attributes,
                                            max_compact_attributes - 1),
                   "H5Pset_attr_phase_change", path);
    return properties;
}

/// What H5Fopen says of a file it cannot open.
constexpr const char* cannot_open = "missing, unreadable or not an HDF5 file";

/// Why `path` cannot be opened as an input file (missing, a folder, a device, ...); nothing
/// when it is a regular file.
std::optional<std::string> not_a_regular_file(const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
        return "H5Fopen failed for '" + path + "' (" + cannot_open + ": " + std::strerror(errno) +
               ")";
    }
    if (S_ISDIR(status.st_mode)) return "'" + path + "' is a folder, not a file";
    if (!S_ISREG(status.st_mode)) return "'" + path + "' is not a regular file";
    return std::nullopt;
}

/// The largest string attribute distmf reads (its own are at most a few kB: the config).
constexpr std::size_t max_string_attribute_bytes = std::size_t{1} << 24U;

H5Handle transfer_list(bool collective, const std::string& file) {
    H5Handle transfer(checked(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", file), H5Pclose, file);
    checked_status(
        H5Pset_dxpl_mpio(transfer.get(), collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
        "H5Pset_dxpl_mpio", file);
    return transfer;
}

/// File and memory dataspaces selecting rows [first_row, first_row + n_rows).
struct RowSelection {
    H5Handle file_space;
    H5Handle memory_space;
};

RowSelection select_rows(const H5Handle& dataset, std::int64_t first_row, std::int64_t n_rows,
                         const MemoryRows& memory) {
    const std::string& file = dataset.file();
    RowSelection selection;
    selection.file_space =
        H5Handle(checked(H5Dget_space(dataset.get()), "H5Dget_space", file), H5Sclose, file);
    const std::vector<std::uint64_t> shape = dataset_shape(dataset);
    if (shape.empty() || shape.size() > 2) fail("select_rows", file, "not a 1-D or 2-D dataset");
    const int dimensions = static_cast<int>(shape.size());
    const hsize_t width = dimensions == 2 ? shape[1] : 1;
    std::array<hsize_t, 2> start{static_cast<hsize_t>(first_row), 0};
    std::array<hsize_t, 2> count{static_cast<hsize_t>(n_rows), width};
    if (first_row < 0 || n_rows < 0 || static_cast<std::uint64_t>(first_row + n_rows) > shape[0]) {
        fail("select_rows", file, "rows outside the dataset");
    }
    // Memory: n_rows rows of `row_width` values, of which columns [first_column, + width) move.
    const hsize_t memory_width =
        memory.row_width > 0 ? static_cast<hsize_t>(memory.row_width) : width;
    const auto first_column = static_cast<hsize_t>(memory.first_column);
    if (first_column + width > memory_width) fail("select_rows", file, "memory rows too narrow");
    std::array<hsize_t, 2> memory_extent{static_cast<hsize_t>(n_rows), memory_width};
    selection.memory_space = H5Handle(
        checked(H5Screate_simple(2, memory_extent.data(), nullptr), "H5Screate_simple", file),
        H5Sclose, file);
    if (n_rows == 0) {  // still takes part in the collective transfer
        checked_status(H5Sselect_none(selection.file_space.get()), "H5Sselect_none", file);
        checked_status(H5Sselect_none(selection.memory_space.get()), "H5Sselect_none", file);
    } else {
        checked_status(H5Sselect_hyperslab(selection.file_space.get(), H5S_SELECT_SET, start.data(),
                                           nullptr, count.data(), nullptr),
                       "H5Sselect_hyperslab", file);
        const std::array<hsize_t, 2> memory_start{0, first_column};
        checked_status(H5Sselect_hyperslab(selection.memory_space.get(), H5S_SELECT_SET,
                                           memory_start.data(), nullptr, count.data(), nullptr),
                       "H5Sselect_hyperslab", file);
    }
    return selection;
}

/// A dataset of zero rows has no storage, and HDF5 1.10 fails a collective transfer to it
/// ("addr overflow"): there is nothing to move, and every rank sees the same shape, so every
/// rank skips the call.
bool has_no_rows(const H5Handle& dataset) {
    const std::vector<std::uint64_t> shape = dataset_shape(dataset);
    return !shape.empty() && shape[0] == 0;
}

/// Collective over the communicator of the dataset's file: every rank that made a collective
/// transfer on it passes the transfer's status. The lowest rank whose transfer failed, or -1 if
/// none did (test only: DISTMF_FAULT=io-error-on-rank:<rank>:<fault_point> fails it). A
/// transfer can fail on one rank only (an I/O error seen by that rank); all ranks must then
/// leave together, since the next HDF5 call, or closing the file, is collective.
int first_failed_rank(const H5Handle& dataset, herr_t status, std::string_view fault_point) {
    const std::string& file = dataset.file();
    // Closing these extra identifiers involves no other rank (the file stays open).
    const H5Handle file_id(checked(H5Iget_file_id(dataset.get()), "H5Iget_file_id", file), H5Fclose,
                           file);
    const H5Handle access(checked(H5Fget_access_plist(file_id.get()), "H5Fget_access_plist", file),
                          H5Pclose, file);
    if (H5Pget_driver(access.get()) != H5FD_MPIO) return -1;  // one process: nothing to agree
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Info info = MPI_INFO_NULL;
    checked_status(H5Pget_fapl_mpio(access.get(), &comm, &info), "H5Pget_fapl_mpio", file);
    int rank = 0;
    int size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (fault_requested_on_rank("io-error-on-rank", fault_point)) status = -1;
    const int mine = status < 0 ? rank : size;
    int first = size;
    const int reduced = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    MPI_Comm_free(&comm);
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    if (reduced != MPI_SUCCESS) fail("MPI_Allreduce", file, "agreeing on a transfer");
    return first < size ? first : -1;
}

/// A fixed-length UTF-8 string type of `bytes` bytes (at least 1), padded with NULs. Fixed
/// length keeps the text inside the attribute, in its object header (checksummed): a
/// variable-length string lives in HDF5's global heap, which has no checksum, and a damaged
/// length there makes H5Aread write past its buffer.
H5Handle string_type(const std::string& file, std::size_t bytes) {
    H5Handle type(checked(H5Tcopy(H5T_C_S1), "H5Tcopy", file), H5Tclose, file);
    checked_status(H5Tset_size(type.get(), std::max<std::size_t>(1, bytes)), "H5Tset_size", file);
    checked_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "H5Tset_strpad", file);
    checked_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset", file);
    return type;
}

}  // namespace

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void H5Handle::close() {
    if (id_ < 0) return;
    const herr_t status = closer_(std::exchange(id_, H5I_INVALID_HID));
    if (status < 0) fail("H5close", file_);
}

void H5Handle::reset() noexcept {
    if (id_ >= 0 && closer_ != nullptr && closer_(id_) < 0) {
        std::fprintf(stderr, "distmf: warning: closing an HDF5 object of '%s' failed\n",
                     file_.c_str());
    }
    id_ = H5I_INVALID_HID;
}

H5Handle create_parallel_file(MPI_Comm comm, const std::string& path) {
    const H5Handle access = file_creation_access(comm, path);
    const H5Handle creation = compact_attributes(H5P_FILE_CREATE, path);
    return H5Handle(checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, creation.get(), access.get()),
                            "H5Fcreate", path, "cannot create the file"),
                    H5Fclose, path);
}

H5Handle open_parallel_file(MPI_Comm comm, const std::string& path) {
    // Before H5Fopen: the MPI-IO driver prints a screen of errors for a folder.
    if (const auto error = Communicator(comm).first_error(not_a_regular_file(path), 0)) {
        throw Hdf5Error(*error);
    }
    const H5Handle access = file_access(comm, path);
    return H5Handle(
        checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()), "H5Fopen", path, cannot_open),
        H5Fclose, path);
}

H5Handle open_serial_file(const std::string& path) {
    if (const auto error = not_a_regular_file(path)) throw Hdf5Error(*error);
    return H5Handle(
        checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", path, cannot_open),
        H5Fclose, path);
}

void flush_file(const H5Handle& file) {
    checked_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", file.file());
}

H5Handle create_group(const H5Handle& parent, const std::string& name) {
    const H5Handle creation = compact_attributes(H5P_GROUP_CREATE, parent.file());
    return H5Handle(
        checked(H5Gcreate2(parent.get(), name.c_str(), H5P_DEFAULT, creation.get(), H5P_DEFAULT),
                "H5Gcreate2", parent.file(), name),
        H5Gclose, parent.file());
}

H5Handle open_group(const H5Handle& parent, const std::string& name) {
    if (!has_object(parent, name)) fail("H5Gopen2", parent.file(), "no group " + name);
    return H5Handle(
        checked(H5Gopen2(parent.get(), name.c_str(), H5P_DEFAULT), "H5Gopen2", parent.file(), name),
        H5Gclose, parent.file());
}

H5Handle create_dataset(const H5Handle& parent, const std::string& name, hid_t file_type,
                        const std::vector<std::uint64_t>& dims) {
    const std::vector<hsize_t> extent(dims.begin(), dims.end());
    const H5Handle space(
        checked(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr),
                "H5Screate_simple", parent.file(), name),
        H5Sclose, parent.file());
    return H5Handle(checked(H5Dcreate2(parent.get(), name.c_str(), file_type, space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            "H5Dcreate2", parent.file(), name),
                    H5Dclose, parent.file());
}

H5Handle open_dataset(const H5Handle& parent, const std::string& name) {
    if (!has_object(parent, name)) fail("H5Dopen2", parent.file(), "no dataset " + name);
    return H5Handle(
        checked(H5Dopen2(parent.get(), name.c_str(), H5P_DEFAULT), "H5Dopen2", parent.file(), name),
        H5Dclose, parent.file());
}

bool has_object(const H5Handle& parent, const std::string& name) {
    // Check each component, as H5Lexists requires the intermediate groups to exist.
    std::size_t end = name.front() == '/' ? 1 : 0;
    while (end != std::string::npos) {
        end = name.find('/', end + 1);
        const std::string prefix = name.substr(0, end);
        // A failure (not "no such link": a damaged group) is an error, not a missing object.
        const htri_t exists = H5Lexists(parent.get(), prefix.c_str(), H5P_DEFAULT);
        checked_status(exists, "H5Lexists", parent.file(), prefix);
        if (exists == 0) return false;
    }
    return true;
}

std::vector<std::uint64_t> dataset_shape(const H5Handle& dataset) {
    const H5Handle space(checked(H5Dget_space(dataset.get()), "H5Dget_space", dataset.file()),
                         H5Sclose, dataset.file());
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("H5Sget_simple_extent_ndims", dataset.file());
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    checked_status(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr),
                   "H5Sget_simple_extent_dims", dataset.file());
    return {dims.begin(), dims.end()};
}

void write_rows_raw(const H5Handle& dataset, hid_t memory_type, std::int64_t first_row,
                    std::int64_t n_rows, const void* data, bool collective,
                    const MemoryRows& memory) {
    if (n_rows == 0 && has_no_rows(dataset)) return;
    const RowSelection selection = select_rows(dataset, first_row, n_rows, memory);
    const H5Handle transfer = transfer_list(collective, dataset.file());
    checked_status(H5Dwrite(dataset.get(), memory_type, selection.memory_space.get(),
                            selection.file_space.get(), transfer.get(), data),
                   "H5Dwrite", dataset.file());
}

void read_rows_raw(const H5Handle& dataset, hid_t memory_type, std::int64_t first_row,
                   std::int64_t n_rows, void* data, bool collective) {
    const MemoryRows memory;
    if (n_rows == 0 && has_no_rows(dataset)) return;
    const RowSelection selection = select_rows(dataset, first_row, n_rows, memory);
    const H5Handle transfer = transfer_list(collective, dataset.file());
    const herr_t status = H5Dread(dataset.get(), memory_type, selection.memory_space.get(),
                                  selection.file_space.get(), transfer.get(), data);
    if (collective) {
        const int failed = first_failed_rank(dataset, status, "data-read");
        if (failed >= 0) fail("H5Dread", dataset.file(), "on rank " + std::to_string(failed));
    }
    checked_status(status, "H5Dread", dataset.file());
}

void write_attribute_raw(const H5Handle& object, const std::string& name, hid_t memory_type,
                         hid_t file_type, const void* value) {
    const std::string& file = object.file();
    const H5Handle space(checked(H5Screate(H5S_SCALAR), "H5Screate", file), H5Sclose, file);
    const H5Handle attribute(checked(H5Acreate2(object.get(), name.c_str(), file_type, space.get(),
                                                H5P_DEFAULT, H5P_DEFAULT),
                                     "H5Acreate2", file, name),
                             H5Aclose, file);
    checked_status(H5Awrite(attribute.get(), memory_type, value), "H5Awrite", file, name);
}

void read_attribute_raw(const H5Handle& object, const std::string& name, hid_t memory_type,
                        void* value) {
    const std::string& file = object.file();
    if (!has_attribute(object, name)) fail("H5Aopen", file, "no attribute " + name);
    const H5Handle attribute(
        checked(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "H5Aopen", file, name), H5Aclose,
        file);
    checked_status(H5Aread(attribute.get(), memory_type, value), "H5Aread", file, name);
}

void write_string_attribute(const H5Handle& object, const std::string& name,
                            const std::string& value) {
    const H5Handle type = string_type(object.file(), value.size());
    std::string padded = value;
    padded.resize(std::max<std::size_t>(1, value.size()), '\0');
    write_attribute_raw(object, name, type.get(), type.get(), padded.data());
}

std::string read_string_attribute(const H5Handle& object, const std::string& name) {
    const std::string& file = object.file();
    if (!has_attribute(object, name)) fail("H5Aopen", file, "no attribute " + name);
    const H5Handle attribute(
        checked(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "H5Aopen", file, name), H5Aclose,
        file);
    const H5Handle stored(checked(H5Aget_type(attribute.get()), "H5Aget_type", file, name),
                          H5Tclose, file);
    if (H5Tget_class(stored.get()) != H5T_STRING) fail("H5Aread", file, name + " is not a string");
    if (H5Tis_variable_str(stored.get()) != 0) {
        fail("H5Aread", file, name + " is a variable-length string (an older distmf's file)");
    }
    // One string of `size` bytes, all of it stored in the attribute: read into a buffer of
    // exactly that size, so no stored length can make the read go further.
    const H5Handle space(checked(H5Aget_space(attribute.get()), "H5Aget_space", file, name),
                         H5Sclose, file);
    const std::size_t size = H5Tget_size(stored.get());
    if (H5Sget_simple_extent_npoints(space.get()) != 1 || size == 0 ||
        size > max_string_attribute_bytes || H5Aget_storage_size(attribute.get()) != size) {
        fail("H5Aread", file, name + " is not a string of a valid size");
    }
    const H5Handle type = string_type(file, size);
    std::string result(size, '\0');
    checked_status(H5Aread(attribute.get(), type.get(), result.data()), "H5Aread", file, name);
    result.resize(std::min(size, result.find('\0')));
    return result;
}

bool has_attribute(const H5Handle& object, const std::string& name) {
    // A failure (a damaged object header) is an error, not a missing attribute.
    const htri_t exists = H5Aexists(object.get(), name.c_str());
    checked_status(exists, "H5Aexists", object.file(), name);
    return exists > 0;
}

}  // namespace distmf
