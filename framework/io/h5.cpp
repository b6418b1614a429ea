// io/h5.cpp: checked HDF5 calls.
#include "io/h5.hpp"

#include <algorithm>
#include <filesystem>

#include "pel/durable_file.hpp"
#include "pel/error.hpp"

namespace pel::h5 {

namespace {

herr_t collect_name(hid_t /*object*/, const char* name, const H5A_info_t* /*info*/, void* names) {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
}

herr_t innermost_reason(unsigned /*n*/, const H5E_error2_t* err, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (out->empty() && err->desc != nullptr) *out = err->desc;
    return 0;
}

}  // namespace

void silence_library_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

QuietErrors::QuietErrors() noexcept {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

std::int64_t check(std::int64_t status, const std::string& what) {
    if (status >= 0) return status;
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_reason, &reason);
    H5Eclear2(H5E_DEFAULT);
    throw Error::Io(what + (reason.empty() ? "" : ": " + reason));
}

void Handle::reset() noexcept {
    if (id_ < 0) return;
    if (H5Iis_valid(id_) > 0) H5Idec_ref(id_);
    id_ = H5I_INVALID_HID;
}

void Handle::close(const std::string& what) {
    if (id_ < 0) return;
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    herr_t status = 0;
    switch (H5Iget_type(id)) {
        case H5I_FILE:
            status = H5Fclose(id);
            break;
        case H5I_DATASET:
            status = H5Dclose(id);
            break;
        case H5I_GROUP:
            status = H5Gclose(id);
            break;
        case H5I_DATASPACE:
            status = H5Sclose(id);
            break;
        case H5I_ATTR:
            status = H5Aclose(id);
            break;
        case H5I_DATATYPE:
            status = H5Tclose(id);
            break;
        case H5I_GENPROP_LST:
            status = H5Pclose(id);
            break;
        default:
            status = H5Idec_ref(id);
            break;
    }
    check(status, what);
}

hid_t native_type(ScalarType type) {
    switch (type) {
        case ScalarType::u8:
            return H5T_NATIVE_UINT8;
        case ScalarType::i32:
            return H5T_NATIVE_INT32;
        case ScalarType::u32:
            return H5T_NATIVE_UINT32;
        case ScalarType::i64:
            return H5T_NATIVE_INT64;
        case ScalarType::u64:
            return H5T_NATIVE_UINT64;
        case ScalarType::f32:
            return H5T_NATIVE_FLOAT;
        case ScalarType::f64:
            return H5T_NATIVE_DOUBLE;
    }
    throw Error::Internal("unknown scalar type");
}

// Open MPI 4.1's limits on a file name given to MPI_File_open, measured here (tests/app/hostile_files.sh):
// - sharedfp/lockedfile formats "<path>.locktest.<rank>" into a 256-byte stack buffer: a path of 245 characters
//   aborts every rank with "buffer overflow detected" on rank 0, 244 works. With ranks numbered up to 7 digits the
//   path may have 255 - strlen(".locktest.") - 7 = 238 characters.
// - sharedfp/sm creates "<session dir>/<last component>_cid-<cid>-<pid>.sm": a last component of 242 characters
//   fails (4-digit pids here), 241 works. With a cid of up to 10 characters and pids of up to 7 digits the last
//   component may have 255 - strlen("_cid--.sm") - 17 = 229.
constexpr std::size_t kMpiIoPathMax = 238;
constexpr std::size_t kMpiIoNameMax = 229;

void check_mpi_io_name(const std::string& path) {
    DurableFile::check_name_length(path);
    const std::size_t name = std::filesystem::path(path).filename().native().size();
    if (path.size() > kMpiIoPathMax) {
        throw Error::Io("cannot write '" + DurableFile::shown(path) + "': its path is " + std::to_string(path.size()) +
                        " characters, more than the " + std::to_string(kMpiIoPathMax) +
                        " that Open MPI's MPI-IO takes; choose a shorter path (or a relative one)");
    }
    if (name > kMpiIoNameMax) {
        throw Error::Io("cannot write '" + DurableFile::shown(path) + "': its file name is " + std::to_string(name) +
                        " characters, more than the " + std::to_string(kMpiIoNameMax) +
                        " that Open MPI's MPI-IO takes; choose a shorter name");
    }
}

Handle file_access(MPI_Comm comm) {
    Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(file access)");
    if (comm != MPI_COMM_NULL) {
        check(H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
        check(H5Pset_all_coll_metadata_ops(fapl.id(), true), "H5Pset_all_coll_metadata_ops");
        check(H5Pset_coll_metadata_write(fapl.id(), true), "H5Pset_coll_metadata_write");
    }
    return fapl;
}

bool path_exists(hid_t file, const std::string& name) {
    std::string prefix;
    std::size_t start = name.front() == '/' ? 1 : 0;
    while (start <= name.size()) {
        const std::size_t slash = name.find('/', start);
        prefix = name.substr(0, slash);
        if (check(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), "H5Lexists(" + prefix + ")") <= 0) return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
    return true;
}

void write_attribute(hid_t object, const std::string& name, ScalarType type, const void* value) {
    Handle space = checked(H5Screate(H5S_SCALAR), "H5Screate");
    Handle attr = checked(H5Acreate2(object, name.c_str(), native_type(type), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                          "creating attribute '" + name + "'");
    check(H5Awrite(attr.id(), native_type(type), value), "writing attribute '" + name + "'");
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
    // Variable-length UTF-8, so h5py reads it as str and h5dump shows it whole.
    Handle type = checked(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(type.id(), H5T_VARIABLE), "H5Tset_size");
    check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
    Handle space = checked(H5Screate(H5S_SCALAR), "H5Screate");
    Handle attr = checked(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                          "creating attribute '" + name + "'");
    const char* text = value.c_str();
    check(H5Awrite(attr.id(), type.id(), &text), "writing attribute '" + name + "'");
}

void write_fixed_text(hid_t object, const std::string& name, const std::string& value) {
    Handle type = checked(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(type.id(), std::max<std::size_t>(value.size(), 1)), "H5Tset_size");
    check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
    check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
    Handle space = checked(value.empty() ? H5Screate(H5S_NULL) : H5Screate(H5S_SCALAR), "H5Screate");
    Handle attr = checked(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                          "creating attribute '" + name + "'");
    if (!value.empty()) check(H5Awrite(attr.id(), type.id(), value.data()), "writing attribute '" + name + "'");
}

std::string read_fixed_text(hid_t attr, const std::string& name, const std::string& where) {
    Handle type = checked(H5Aget_type(attr), where + ": H5Aget_type");
    Handle space = checked(H5Aget_space(attr), where + ": H5Aget_space");
    if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) != 0) {
        throw Error::Io(where + ": attribute '" + name + "' is not fixed-length text");
    }
    if (H5Sget_simple_extent_type(space.id()) == H5S_NULL) return {};
    if (H5Sget_simple_extent_npoints(space.id()) != 1) {
        throw Error::Io(where + ": attribute '" + name + "' is not a single string");
    }
    std::string value(H5Tget_size(type.id()), '\0');
    check(H5Aread(attr, type.id(), value.data()), where + ": cannot read attribute '" + name + "'");
    return value;
}

std::vector<std::string> attribute_names(hid_t object, const std::string& where) {
    std::vector<std::string> names;
    hsize_t at = 0;
    check(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &at, collect_name, &names),
          where + ": cannot list attributes");
    return names;
}

Handle create_dataset(hid_t file, const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                      const void* fill) {
    const std::vector<hsize_t> extent(dims.begin(), dims.end());
    Handle space =
        checked(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), "H5Screate_simple");
    Handle links = checked(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link create)");
    check(H5Pset_create_intermediate_group(links.id(), 1), "H5Pset_create_intermediate_group");
    Handle creation = checked(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)");
    if (fill != nullptr) check(H5Pset_fill_value(creation.id(), native_type(type), fill), "H5Pset_fill_value");
    return checked(
        H5Dcreate2(file, name.c_str(), native_type(type), space.id(), links.id(), creation.id(), H5P_DEFAULT),
        "creating dataset '" + name + "'");
}

}  // namespace pel::h5
