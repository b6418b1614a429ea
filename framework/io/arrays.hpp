// io/arrays.hpp: reading and writing whole arrays of input files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pel/types.hpp"

namespace pel::io {

/// Reads dataset `dataset` of HDF5 file `file`, converted to `type`; sets `dims`. Serial (one process).
std::vector<std::byte> read_array(const std::string& file, const std::string& dataset, ScalarType type,
                                  std::vector<std::uint64_t>& dims);

/// Reads attribute `name` of object `object` ("/" for the root, "stats", ...) of file `file` as text (numbers are
/// printed); nothing if the object or the attribute is missing. Serial (one process).
std::optional<std::string> read_attribute_text(const std::string& file, const std::string& object,
                                               const std::string& name);
/// The same for a numeric attribute, as a double.
std::optional<double> read_attribute_number(const std::string& file, const std::string& object,
                                            const std::string& name);

/// One dataset to write.
struct NamedArray {
    std::string name;
    ScalarType type;
    std::vector<std::uint64_t> dims;
    std::span<const std::byte> data;
};

/// Writes `data` with shape `dims` as dataset `dataset` of a new file `file`, durably (through a pel::DurableFile).
/// Serial (one process).
void write_array(const std::string& file, const std::string& dataset, ScalarType type,
                 const std::vector<std::uint64_t>& dims, std::span<const std::byte> data);
/// Writes several datasets into a new file `file`, durably (through a pel::DurableFile). Serial (one process).
void write_arrays(const std::string& file, const std::vector<NamedArray>& arrays);

}  // namespace pel::io
