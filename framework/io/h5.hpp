// io/h5.hpp: thin RAII over the HDF5 C API. Each call is checked; failures become pel::Error with HDF5's reason.
#pragma once

#include <cstdint>
#include <hdf5.h>
#include <string>
#include <utility>
#include <vector>

#include "pel/types.hpp"

namespace pel::h5 {

/// Turns off HDF5's automatic error printing; pel reports errors itself. Call once per process.
void silence_library_errors();

/// Silences HDF5's error printing while it lives (for reading possibly damaged files), then restores it as it was.
class QuietErrors {
  public:
    QuietErrors() noexcept;
    ~QuietErrors();
    QuietErrors(const QuietErrors&) = delete;
    QuietErrors& operator=(const QuietErrors&) = delete;

  private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

/// Throws pel::Error (I/O) naming `what` and HDF5's innermost reason if `status` is negative; returns it otherwise.
std::int64_t check(std::int64_t status, const std::string& what);

/// An owned HDF5 identifier, closed with the right H5?close on destruction. Never throws from the destructor.
class Handle {
  public:
    Handle() = default;
    /// Takes `id`, which must be valid (check() it first).
    explicit Handle(hid_t id) noexcept : id_(id) {}
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    [[nodiscard]] hid_t id() const noexcept { return id_; }
    [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
    /// Closes now and throws if closing fails (a file's close flushes it).
    void close(const std::string& what);
    void reset() noexcept;

  private:
    hid_t id_ = H5I_INVALID_HID;
};

/// Wraps the id returned by an HDF5 call after checking it.
inline Handle checked(hid_t id, const std::string& what) { return Handle(static_cast<hid_t>(check(id, what))); }

/// The native HDF5 type of a pel scalar type (owned by the library, not to be closed).
hid_t native_type(ScalarType type);

/// File access properties: MPI-IO over `comm` when given, else the default driver.
Handle file_access(MPI_Comm comm);

/// Throws pel::Error (I/O) naming `path` if Open MPI's MPI-IO cannot take it as a file name: its shared file
/// pointer components build names from it in fixed buffers, and crash (a buffer overflow, abort on every rank) or
/// hang instead of failing. Besides the system's own limits (pel::DurableFile::check_name_length), `path` as given
/// must stay under 239 characters and its last component under 230 (see kMpiIoPathMax in h5.cpp).
void check_mpi_io_name(const std::string& path);

/// True if `name` is an existing link in `file` (intermediate groups are checked one by one).
bool path_exists(hid_t file, const std::string& name);

/// Writes a scalar or text attribute on `object`. \note collective on parallel files
void write_attribute(hid_t object, const std::string& name, ScalarType type, const void* value);
void write_attribute(hid_t object, const std::string& name, const std::string& value);

/// Writes a text attribute as a fixed-length string of exactly its bytes (any bytes, NULs included; an empty one
/// has a null dataspace), so it sits in the object's header rather than in a global heap. \note collective on
/// parallel files
void write_fixed_text(hid_t object, const std::string& name, const std::string& value);
/// Reads back what write_fixed_text wrote to attribute `attr` (called `name`); `where` begins every error message.
std::string read_fixed_text(hid_t attr, const std::string& name, const std::string& where);

/// The names of `object`'s attributes, in name order.
std::vector<std::string> attribute_names(hid_t object, const std::string& where);

/// Creates dataset `name` (and its parent groups) with `dims`. \note collective on parallel files
/// `fill`, when given, is one element's bytes: what a part of the dataset never written reads as (else zero).
Handle create_dataset(hid_t file, const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                      const void* fill = nullptr);

}  // namespace pel::h5
