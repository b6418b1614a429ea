// io/arrays.hpp: reading and writing whole arrays of input files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pel/types.hpp"

namespace pel::io {

/// Reads dataset `dataset` of HDF5 file `file`, converted to `type`; sets `dims`. Serial (one process).
std::vector<std::byte> read_array(const std::string& file, const std::string& dataset, ScalarType type,
                                  std::vector<std::uint64_t>& dims);

/// One dataset to write.
struct NamedArray {
    std::string name;
    ScalarType type;
    std::vector<std::uint64_t> dims;
    std::span<const std::byte> data;
};

/// Writes `data` with shape `dims` as dataset `dataset` of a new file `file` (via a temporary and a rename).
/// Serial (one process).
void write_array(const std::string& file, const std::string& dataset, ScalarType type,
                 const std::vector<std::uint64_t>& dims, std::span<const std::byte> data);
/// Writes several datasets into a new file `file` (via a temporary and a rename). Serial (one process).
void write_arrays(const std::string& file, const std::vector<NamedArray>& arrays);

}  // namespace pel::io
