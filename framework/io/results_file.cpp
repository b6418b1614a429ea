// io/results_file.cpp: parallel HDF5 writing of results.
#include "io/results_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

/// Names what is wrong with writing `path`, before HDF5 gives a vaguer reason.
void check_writable(const std::string& path) {
    if (path.empty()) throw Error::Usage("--output: the output path is empty");
    h5::check_mpi_io_name(path + ".part");  // first: the checks below would quote a path of any length
    const fs::path p(path);
    std::error_code ec;
    if (fs::is_directory(p, ec)) throw Error::Io("cannot write output '" + path + "': it is a directory");
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) {
        throw Error::Io("cannot write output '" + path + "': directory '" + dir.string() + "' does not exist");
    }
    if (::access(dir.c_str(), W_OK) != 0) {
        throw Error::Io("cannot write output '" + path + "': directory '" + dir.string() + "' is not writable");
    }
}

h5::Handle collective_transfer() {
    h5::Handle dxpl = h5::checked(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate(transfer)");
    h5::check(H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
    return dxpl;
}

}  // namespace

ResultsFile::ResultsFile(const mpi::Comm& comm, std::string path)
    : comm_(comm), path_(std::move(path)), part_path_(path_ + ".part") {
    check_writable(path_);
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) part_.emplace(DurableFile::reserve(path_, part_path_));
    });
    h5::Handle fapl = h5::file_access(comm_.native());
    file_ = h5::checked(H5Fcreate(part_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()),
                        "cannot create output '" + part_path_ + "'");
}

ResultsFile::~ResultsFile() {
    if (committed_) return;
    datasets_.clear();
    file_.reset();
    part_.reset();  // removes the temporary
}

void ResultsFile::attribute(const std::string& name, const std::string& value) {
    h5::write_attribute(file_.id(), name, value);
}

void ResultsFile::attribute(const std::string& name, ScalarType type, const void* value) {
    h5::write_attribute(file_.id(), name, type, value);
}

void ResultsFile::attribute_on(const std::string& object, const std::string& name, const std::string& value) {
    h5::Handle target = h5::checked(H5Oopen(file_.id(), object.c_str(), H5P_DEFAULT), "opening '" + object + "'");
    h5::write_attribute(target.id(), name, value);
}

void ResultsFile::attribute_on(const std::string& object, const std::string& name, ScalarType type, const void* value) {
    h5::Handle target = h5::checked(H5Oopen(file_.id(), object.c_str(), H5P_DEFAULT), "opening '" + object + "'");
    h5::write_attribute(target.id(), name, type, value);
}

void ResultsFile::create_dataset(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                                 std::span<const std::byte> fill) {
    if (datasets_.contains(name)) throw Error::Failure("dataset '" + name + "' is written twice");
    if (!fill.empty() && fill.size() != scalar_size(type)) {
        throw Error::Internal("the fill of dataset '" + name + "' is not one element");
    }
    datasets_.emplace(
        name, Dataset{h5::create_dataset(file_.id(), name, type, dims, fill.empty() ? nullptr : fill.data()), type,
                      dims, std::vector<std::byte>(fill.begin(), fill.end())});
}

RowBlock ResultsFile::write_rows(const std::string& name, const std::vector<RowBlock>& blocks) {
    const auto found = datasets_.find(name);
    if (found == datasets_.end()) throw Error::Internal("rows written to undeclared dataset '" + name + "'");
    const Dataset& ds = found->second;
    std::uint64_t width = 1;
    for (std::size_t d = 1; d < ds.dims.size(); ++d) width *= ds.dims[d];
    const std::size_t row_bytes = width * scalar_size(ds.type);
    const std::uint64_t rows = ds.dims[0];

    // Two-phase write: rows travel to the rank that owns their part of the dataset (rank r owns a contiguous
    // block), then each rank writes its block as one hyperslab. A rank's chunks are scattered over the dataset;
    // selecting them one by one would cost time quadratic in their number.
    const auto ranks = static_cast<std::uint64_t>(comm_.size());
    const auto block_start = [&](std::uint64_t r) { return pel::block_start(r, rows, ranks); };
    const auto me = static_cast<std::uint64_t>(comm_.rank());
    const std::uint64_t lo = block_start(me);
    const std::uint64_t hi = block_start(me + 1);
    std::vector<std::byte> buffer((hi - lo) * row_bytes);  // rows nobody gives hold the fill, as if never written
    if (!ds.fill.empty()) {
        for (std::size_t at = 0; at < buffer.size(); at += ds.fill.size()) {
            std::memcpy(buffer.data() + at, ds.fill.data(), ds.fill.size());
        }
    }
    std::vector<std::vector<std::byte>> outgoing(static_cast<std::size_t>(ranks));
    const auto append = [](std::vector<std::byte>& to, const void* data, std::size_t size) {
        const auto* p = static_cast<const std::byte*>(data);
        to.insert(to.end(), p, p + size);
    };
    // Each block in pieces, one per owning rank: first counted (so each message is allocated once), then packed.
    const auto for_each_piece = [&](auto&& piece) {
        for (const RowBlock& block : blocks) {
            std::uint64_t first = block.first;
            std::uint64_t left = block.count;
            while (left > 0) {
                std::uint64_t owner = 0;  // the last rank whose block starts at or before `first`
                for (std::uint64_t step = std::bit_floor(ranks); step > 0; step /= 2) {
                    if (owner + step < ranks && block_start(owner + step) <= first) owner += step;
                }
                const std::uint64_t take = std::min(left, block_start(owner + 1) - first);
                piece(owner, first, take, block.bytes.data() + (first - block.first) * row_bytes);
                first += take;
                left -= take;
            }
        }
    };
    std::vector<std::size_t> outgoing_bytes(static_cast<std::size_t>(ranks));
    for (const RowBlock& block : blocks) {
        if (block.bytes.size() != block.count * row_bytes || block.first + block.count > rows) {
            throw Error::Internal("a row block of '" + name + "' has the wrong size or position");
        }
    }
    // No elements (a run of zero items): nothing to write, and HDF5 has no storage to write into (a collective write
    // of nothing fails with "addr overflow"). The same on every rank, so no rank waits in the exchange below.
    if (rows == 0 || width == 0) return {lo, 0, std::move(buffer)};
    for_each_piece([&](std::uint64_t owner, std::uint64_t, std::uint64_t take, const std::byte*) {
        if (owner != me) outgoing_bytes[owner] += 2 * sizeof(std::uint64_t) + take * row_bytes;
    });
    for (std::uint64_t r = 0; r < ranks; ++r) outgoing[r].reserve(outgoing_bytes[r]);
    for_each_piece([&](std::uint64_t owner, std::uint64_t first, std::uint64_t take, const std::byte* rows_from) {
        if (owner == me) {  // already home
            std::memcpy(buffer.data() + (first - lo) * row_bytes, rows_from, take * row_bytes);
            return;
        }
        auto& to = outgoing[owner];
        append(to, &first, sizeof first);
        append(to, &take, sizeof take);
        append(to, rows_from, take * row_bytes);
    });
    const auto incoming = comm_.alltoall_bytes(outgoing);
    outgoing.clear();

    for (const auto& message : incoming) {
        for (std::size_t at = 0; at < message.size();) {
            std::uint64_t first = 0, count = 0;
            std::memcpy(&first, message.data() + at, sizeof first);
            std::memcpy(&count, message.data() + at + sizeof first, sizeof count);
            at += sizeof first + sizeof count;
            if (first < lo || first + count > hi)
                throw Error::Internal("rows of '" + name + "' sent to the wrong rank");
            std::memcpy(buffer.data() + (first - lo) * row_bytes, message.data() + at, count * row_bytes);
            at += count * row_bytes;
        }
    }

    h5::Handle file_space = h5::checked(H5Dget_space(ds.handle.id()), "H5Dget_space(" + name + ")");
    const hsize_t elements = std::max<hsize_t>((hi - lo) * width, 1);
    h5::Handle mem_space = h5::checked(H5Screate_simple(1, &elements, nullptr), "H5Screate_simple");
    if (hi > lo) {
        std::vector<hsize_t> start(ds.dims.size(), 0);
        std::vector<hsize_t> extent(ds.dims.begin(), ds.dims.end());
        start[0] = lo;
        extent[0] = hi - lo;
        h5::check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
                  "H5Sselect_hyperslab(" + name + ")");
    } else {
        h5::check(H5Sselect_none(file_space.id()), "H5Sselect_none");
        h5::check(H5Sselect_none(mem_space.id()), "H5Sselect_none");
    }
    h5::Handle dxpl = collective_transfer();
    h5::check(H5Dwrite(ds.handle.id(), h5::native_type(ds.type), mem_space.id(), file_space.id(), dxpl.id(),
                       buffer.empty() ? nullptr : buffer.data()),
              "writing dataset '" + name + "'");
    return {lo, hi - lo, std::move(buffer)};
}

void ResultsFile::write_whole(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                              std::span<const std::byte> data) {
    std::uint64_t elements = 1;
    for (auto d : dims) elements *= d;
    if (data.size() != elements * scalar_size(type)) {
        throw Error::Failure("dataset '" + name + "': " + std::to_string(data.size()) + " bytes given for " +
                             std::to_string(elements) + " elements of " + scalar_name(type));
    }
    create_dataset(name, type, dims);
    if (elements == 0) return;  // nothing to write (and HDF5 has no storage to write into); the same on every rank
    const Dataset& ds = datasets_.at(name);
    h5::Handle file_space = h5::checked(H5Dget_space(ds.handle.id()), "H5Dget_space(" + name + ")");
    h5::Handle mem_space = h5::checked(H5Dget_space(ds.handle.id()), "H5Dget_space(" + name + ")");
    if (comm_.rank() != 0) {
        h5::check(H5Sselect_none(file_space.id()), "H5Sselect_none");
        h5::check(H5Sselect_none(mem_space.id()), "H5Sselect_none");
    }
    h5::Handle dxpl = collective_transfer();
    h5::check(H5Dwrite(ds.handle.id(), h5::native_type(type), mem_space.id(), file_space.id(), dxpl.id(),
                       data.empty() ? nullptr : data.data()),
              "writing dataset '" + name + "'");
}

void ResultsFile::commit() {
    datasets_.clear();
    file_.close("closing output '" + part_path_ + "'");
    comm_.barrier();
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) part_->commit();
    });
    committed_ = true;
}

}  // namespace pel::io
