// io/item_input.cpp: reading an input dataset by ranges of items (see item_input.hpp).
#include "io/item_input.hpp"

#include <filesystem>

#include "pel/error.hpp"

namespace pel::io {

ItemInputFile::ItemInputFile(const std::string& file, const std::string& dataset, ScalarType type,
                             std::uint64_t rows_per_item, std::uint64_t items)
    : file_(file), dataset_(dataset), type_(type), rows_per_item_(rows_per_item) {
    const std::string where = "item input '" + dataset + "' in '" + file + "'";
    if (rows_per_item == 0) throw Error::Failure(where + ": 0 rows per item");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) throw Error::Io("input file '" + file + "' does not exist");
    if (!std::filesystem::is_regular_file(file, ec)) throw Error::Io("input '" + file + "' is not a file");
    if (H5Fis_hdf5(file.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error::Io("input file '" + file + "' is not an HDF5 file");
    }
    f_ = h5::checked(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open input '" + file + "'");
    if (dataset.empty() || !h5::path_exists(f_.id(), dataset)) {
        throw Error::Io("dataset '" + dataset + "' not found in '" + file + "'");
    }
    ds_ = h5::checked(H5Dopen2(f_.id(), dataset.c_str(), H5P_DEFAULT), "cannot open " + where + " as a dataset");
    const h5::Handle stored = h5::checked(H5Dget_type(ds_.id()), "H5Dget_type");
    const H5T_class_t cls = H5Tget_class(stored.id());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw Error::Io(where + " does not hold numbers");
    const h5::Handle space = h5::checked(H5Dget_space(ds_.id()), "H5Dget_space");
    const auto rank = h5::check(H5Sget_simple_extent_ndims(space.id()), "H5Sget_simple_extent_ndims");
    if (rank < 1) throw Error::Io(where + " is a scalar; it needs a row per item (at least 1-D)");
    std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
    h5::check(H5Sget_simple_extent_dims(space.id(), extent.data(), nullptr), "H5Sget_simple_extent_dims");
    shape_.dims.assign(extent.begin(), extent.end());
    const std::uint64_t rows = shape_.dims[0];
    if (rows % rows_per_item != 0) {
        throw Error::Io(where + " has " + std::to_string(rows) + " rows, not a multiple of " +
                        std::to_string(rows_per_item) + " rows per item");
    }
    shape_.items = rows / rows_per_item;
    if (items > 0) {
        if (shape_.items < items) {
            throw Error::Io(where + " has " + std::to_string(rows) + " rows, fewer than the " + std::to_string(items) +
                            " items x " + std::to_string(rows_per_item) + " rows per item the job needs");
        }
        shape_.items = items;
    }
    std::uint64_t per_row = 1;
    for (std::size_t d = 1; d < shape_.dims.size(); ++d) per_row *= shape_.dims[d];
    shape_.values_per_item = per_row * rows_per_item;
    item_bytes_ = static_cast<std::size_t>(shape_.values_per_item) * scalar_size(type);
}

void ItemInputFile::read(std::uint64_t first, std::uint64_t count, std::span<std::byte> into) const {
    if (count == 0) return;
    if (first + count > shape_.items) {
        throw Error::Failure("item input '" + dataset_ + "' in '" + file_ + "': items [" + std::to_string(first) +
                             ", " + std::to_string(first + count) + ") asked for, it has " +
                             std::to_string(shape_.items));
    }
    if (into.size() != count * item_bytes_) throw Error::Internal("item input read into a buffer of the wrong size");
    if (item_bytes_ == 0) return;  // rows of no values (a dimension of 0): nothing to read
    const h5::Handle file_space = h5::checked(H5Dget_space(ds_.id()), "H5Dget_space");
    std::vector<hsize_t> start(shape_.dims.size(), 0);
    std::vector<hsize_t> block(shape_.dims.begin(), shape_.dims.end());
    start[0] = first * rows_per_item_;
    block[0] = count * rows_per_item_;
    h5::check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr),
              "selecting items of '" + dataset_ + "'");
    const h5::Handle mem_space =
        h5::checked(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), "H5Screate_simple");
    h5::check(H5Dread(ds_.id(), h5::native_type(type_), mem_space.id(), file_space.id(), H5P_DEFAULT, into.data()),
              "reading items [" + std::to_string(first) + ", " + std::to_string(first + count) + ") of '" + dataset_ +
                  "' from '" + file_ + "'");
}

}  // namespace pel::io
