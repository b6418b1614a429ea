// tests/support/h5same.cpp: `pel_h5same A B [--attr NAME]...` exits 0 if every dataset of A and B has the same
// shape, type and bytes (and each named root attribute the same bytes); otherwise prints the first difference
// and exits 1. Provenance attributes (times, ranks) are ignored unless named.
#include <cstdio>
#include <cstring>
#include <hdf5.h>
#include <map>
#include <string>
#include <vector>

namespace {

struct Blob {
    std::vector<hsize_t> dims;
    std::string type;
    std::vector<unsigned char> bytes;
};

std::string type_text(hid_t type) {
    return std::to_string(H5Tget_class(type)) + ":" + std::to_string(H5Tget_size(type)) + ":" +
           std::to_string(H5Tget_sign(type));
}

herr_t collect(hid_t file, const char* name, const H5O_info_t* info, void* data) {
    if (info->type != H5O_TYPE_DATASET) return 0;
    auto& out = *static_cast<std::map<std::string, Blob>*>(data);
    const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    const hid_t type = H5Dget_type(ds);
    const hid_t space = H5Dget_space(ds);
    Blob b;
    b.dims.resize(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, b.dims.data(), nullptr);
    b.type = type_text(type);
    b.bytes.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)) * H5Tget_size(type));
    if (!b.bytes.empty()) H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, b.bytes.data());
    out[name] = std::move(b);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(ds);
    return 0;
}

bool read_file(const char* path, std::map<std::string, Blob>& datasets) {
    const hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        std::fprintf(stderr, "h5same: cannot open %s\n", path);
        return false;
    }
    H5Ovisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &datasets);
    H5Fclose(file);
    return true;
}

bool read_attribute(const char* path, const std::string& name, Blob& out) {
    const hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return false;
    bool ok = false;
    if (H5Aexists(file, name.c_str()) > 0) {
        const hid_t attr = H5Aopen(file, name.c_str(), H5P_DEFAULT);
        const hid_t type = H5Aget_type(attr);
        out.type = type_text(type);
        out.bytes.resize(H5Tget_size(type));
        H5Aread(attr, type, out.bytes.data());
        H5Tclose(type);
        H5Aclose(attr);
        ok = true;
    }
    H5Fclose(file);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: pel_h5same A.h5 B.h5 [--attr NAME]... [--ignore DATASET]...\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    std::vector<std::string> attrs, ignored;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--attr") == 0) attrs.emplace_back(argv[i + 1]);
        if (std::strcmp(argv[i], "--ignore") == 0) ignored.emplace_back(argv[i + 1] + (argv[i + 1][0] == '/' ? 1 : 0));
    }
    std::map<std::string, Blob> a, b;
    if (!read_file(argv[1], a) || !read_file(argv[2], b)) return 1;
    for (const auto& name : ignored) {
        for (auto* m : {&a, &b}) {
            for (auto it = m->begin(); it != m->end();)
                it = it->first.rfind(name, 0) == 0 ? m->erase(it) : std::next(it);
        }
    }
    if (a.empty() && attrs.empty()) {  // a job whose results are attributes only (uts) is compared by those
        std::fprintf(stderr, "h5same: %s has no datasets\n", argv[1]);
        return 1;
    }
    for (const auto& [name, blob] : a) {
        const auto other = b.find(name);
        if (other == b.end()) {
            std::fprintf(stderr, "h5same: dataset %s is only in %s\n", name.c_str(), argv[1]);
            return 1;
        }
        if (blob.dims != other->second.dims || blob.type != other->second.type) {
            std::fprintf(stderr, "h5same: dataset %s differs in shape or type\n", name.c_str());
            return 1;
        }
        if (blob.bytes != other->second.bytes) {
            std::size_t at = 0;
            while (blob.bytes[at] == other->second.bytes[at]) ++at;
            std::fprintf(stderr, "h5same: dataset %s differs (first at byte %zu)\n", name.c_str(), at);
            return 1;
        }
    }
    if (b.size() != a.size()) {
        std::fprintf(stderr, "h5same: %s has datasets that %s lacks\n", argv[2], argv[1]);
        return 1;
    }
    for (const auto& name : attrs) {
        Blob x, y;
        if (!read_attribute(argv[1], name, x) || !read_attribute(argv[2], name, y)) {
            std::fprintf(stderr, "h5same: attribute %s is missing\n", name.c_str());
            return 1;
        }
        if (x.type != y.type || x.bytes != y.bytes) {
            std::fprintf(stderr, "h5same: attribute %s differs\n", name.c_str());
            return 1;
        }
    }
    std::printf("h5same: %zu datasets and %zu attributes identical\n", a.size(), attrs.size());
    return 0;
}
