// io/arrays.cpp: serial HDF5 array input and output.
#include "io/arrays.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "io/h5.hpp"
#include "pel/durable_file.hpp"
#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

std::vector<std::byte> read_array(const std::string& file, const std::string& dataset, ScalarType type,
                                  std::vector<std::uint64_t>& dims) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw Error::Io("input file '" + file + "' does not exist");
    if (!fs::is_regular_file(file, ec)) throw Error::Io("input '" + file + "' is not a file");
    if (H5Fis_hdf5(file.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error::Io("input file '" + file + "' is not an HDF5 file");
    }
    h5::Handle f = h5::checked(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open input '" + file + "'");
    if (dataset.empty() || !h5::path_exists(f.id(), dataset)) {
        throw Error::Io("dataset '" + dataset + "' not found in '" + file + "'");
    }
    h5::Handle ds = h5::checked(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT),
                                "cannot open '" + dataset + "' in '" + file + "' as a dataset");
    h5::Handle stored = h5::checked(H5Dget_type(ds.id()), "H5Dget_type");
    const H5T_class_t cls = H5Tget_class(stored.id());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        throw Error::Io("dataset '" + dataset + "' in '" + file + "' does not hold numbers");
    }
    h5::Handle space = h5::checked(H5Dget_space(ds.id()), "H5Dget_space");
    const int rank = static_cast<int>(h5::check(H5Sget_simple_extent_ndims(space.id()), "H5Sget_simple_extent_ndims"));
    std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
    h5::check(H5Sget_simple_extent_dims(space.id(), extent.data(), nullptr), "H5Sget_simple_extent_dims");
    dims.assign(extent.begin(), extent.end());
    std::uint64_t elements = 1;
    for (auto d : dims) elements *= d;
    std::vector<std::byte> data(elements * scalar_size(type));
    if (elements > 0) {
        h5::check(H5Dread(ds.id(), h5::native_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                  "reading '" + dataset + "' from '" + file + "'");
    }
    return data;
}

void write_array(const std::string& file, const std::string& dataset, ScalarType type,
                 const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) {
    write_arrays(file, {{dataset, type, dims, data}});
}

void write_arrays(const std::string& file, const std::vector<NamedArray>& arrays) {
    DurableFile out = DurableFile::create(file);
    const std::string tmp = out.temporary_path().string();
    {
        h5::Handle f =
            h5::checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "cannot create '" + tmp + "'");
        for (const auto& a : arrays) {
            h5::Handle ds = h5::create_dataset(f.id(), a.name, a.type, a.dims);
            if (!a.data.empty()) {
                h5::check(H5Dwrite(ds.id(), h5::native_type(a.type), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data()),
                          "writing '" + a.name + "' to '" + tmp + "'");
            }
            ds.close("closing '" + a.name + "'");
        }
        f.close("closing '" + tmp + "'");
    }
    out.commit();
}

}  // namespace pel::io

namespace pel::io {

namespace {

/// The attribute `name` of `object` in `file`, opened; an invalid handle when the file, object or attribute is
/// missing. Throws for a file that is not HDF5.
h5::Handle open_attribute(const std::string& file, const std::string& object, const std::string& name, h5::Handle& f) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw Error::Io("'" + file + "' is not a file");
    if (H5Fis_hdf5(file.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error::Io("'" + file + "' is not an HDF5 file");
    }
    f = h5::checked(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open '" + file + "'");
    if (object != "/" && !h5::path_exists(f.id(), object)) return {};
    if (H5Aexists_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return {};
    return h5::checked(H5Aopen_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                       "cannot open attribute '" + name + "' of '" + object + "' in '" + file + "'");
}

}  // namespace

std::optional<double> read_attribute_number(const std::string& file, const std::string& object,
                                            const std::string& name) {
    h5::Handle f;
    const h5::Handle attr = open_attribute(file, object, name, f);
    if (!attr.valid()) return std::nullopt;
    const h5::Handle type = h5::checked(H5Aget_type(attr.id()), "H5Aget_type");
    const H5T_class_t cls = H5Tget_class(type.id());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return std::nullopt;
    double value = 0;
    h5::check(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &value), "reading attribute '" + name + "' of '" + file + "'");
    return value;
}

std::optional<std::string> read_attribute_text(const std::string& file, const std::string& object,
                                               const std::string& name) {
    h5::Handle f;
    const h5::Handle attr = open_attribute(file, object, name, f);
    if (!attr.valid()) return std::nullopt;
    const h5::Handle type = h5::checked(H5Aget_type(attr.id()), "H5Aget_type");
    if (H5Tget_class(type.id()) != H5T_STRING) {
        f.reset();
        if (const auto number = read_attribute_number(file, object, name)) {
            char text[64];
            std::snprintf(text, sizeof text, "%.10g", *number);
            return std::string(text);
        }
        return std::nullopt;
    }
    if (H5Tis_variable_str(type.id()) > 0) {
        char* text = nullptr;
        h5::check(H5Aread(attr.id(), type.id(), &text), "reading attribute '" + name + "' of '" + file + "'");
        std::string value = text != nullptr ? text : "";
        const h5::Handle space = h5::checked(H5Aget_space(attr.id()), "H5Aget_space");
        H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, &text);
        return value;
    }
    std::string value(H5Tget_size(type.id()), '\0');
    h5::check(H5Aread(attr.id(), type.id(), value.data()), "reading attribute '" + name + "' of '" + file + "'");
    value.resize(std::strlen(value.c_str()));
    return value;
}

}  // namespace pel::io
