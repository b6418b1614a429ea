// io/results_file.hpp: the run's results file, written by all ranks together through MPI-IO.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "mpi/comm.hpp"
#include "pel/durable_file.hpp"

namespace pel::io {

/// Rows [first, first + count) of a per-item dataset, as one rank holds them.
struct RowBlock {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
    std::vector<std::byte> bytes;
};

/// One HDF5 file, written in parallel to `path + ".part"` (reserved by rank 0 as a pel::DurableFile: a link there
/// is never followed) and made durable and renamed to `path` by commit(), so a half-written file never carries the
/// final name. Every member function is collective.
class ResultsFile {
  public:
    /// Creates the file. Throws pel::Error if the path cannot be written (it is a directory, a device node or a
    /// FIFO, or its directory is missing or read-only); the caller agrees on it across ranks.
    ResultsFile(const mpi::Comm& comm, std::string path);
    /// Closes and removes the unfinished file if commit() was not reached.
    ~ResultsFile();
    ResultsFile(const ResultsFile&) = delete;
    ResultsFile& operator=(const ResultsFile&) = delete;

    /// The final path.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// The temporary written until commit(): path() + ".part".
    [[nodiscard]] const std::string& temporary_path() const noexcept { return part_path_; }

    void attribute(const std::string& name, const std::string& value);
    void attribute(const std::string& name, ScalarType type, const void* value);
    /// Attributes on an existing group or dataset `object` ("stats", "/stats").
    void attribute_on(const std::string& object, const std::string& name, const std::string& value);
    void attribute_on(const std::string& object, const std::string& name, ScalarType type, const void* value);

    /// Creates dataset `name`; rows of it are written later by write_rows. `fill`, when not empty, is one element's
    /// bytes: what rows never written and rows no rank gives to write_rows read as (else zero).
    void create_dataset(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                        std::span<const std::byte> fill = {});
    /// Writes this rank's rows of dataset `name` (rows of other ranks are written by them, at the same time).
    /// Rows no rank gives are the fill. Returns the rows this rank wrote: its block of the dataset, as written.
    RowBlock write_rows(const std::string& name, const std::vector<RowBlock>& blocks);
    /// Creates dataset `name` and writes `data`, the same on every rank, once (from rank 0).
    void write_whole(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                     std::span<const std::byte> data);

    /// Flushes, closes, syncs and renames the file to its final name.
    void commit();

  private:
    struct Dataset {
        h5::Handle handle;
        ScalarType type;
        std::vector<std::uint64_t> dims;
        std::vector<std::byte> fill;  ///< one element (empty: zero)
    };

    const mpi::Comm& comm_;
    std::string path_;
    std::string part_path_;
    std::optional<DurableFile> part_;  ///< rank 0's reservation of part_path_
    h5::Handle file_;
    std::map<std::string, Dataset> datasets_;
    bool committed_ = false;
};

}  // namespace pel::io
