// io/checkpoint_file.cpp: one checkpoint file: the plan every rank agrees on, the collective write through a
// reserved temporary, and the verified serial read.
//
// File layout (format 1). Root attributes: `pel_checkpoint_format` ("1"), `sequence` (u64) and the caller's text
// attributes (fixed-length strings, so they sit in checksummed object headers). Datasets: `meta` (u8, rank 0's
// blob), `blobs` (u8, every rank's blob, concatenated in rank order), `blob_sizes` (u64 [ranks]) and `checksums`
// (u64 [2 + ranks]): piece 0 is the header (format, sequence, attributes and every size, as pel::OutArchive writes
// them), piece 1 meta, piece 2 + r the blob of rank r; checksums[i] = checksum(piece i, seed i).
#include "io/checkpoint_file.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

#include "io/checksum.hpp"
#include "io/h5.hpp"
#include "pel/archive.hpp"
#include "pel/durable_file.hpp"
#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

constexpr const char* kFormatAttribute = "pel_checkpoint_format";
constexpr const char* kFormat = "1";
constexpr const char* kSequenceAttribute = "sequence";
/// The most one rank may write per call: MPI-IO counts are ints, and HDF5 1.10 passes sizes as ints.
constexpr std::uint64_t kMaxPieceBytes = std::uint64_t{1} << 30;
/// Objects this large start on a boundary of this size (stripes and blocks of parallel file systems).
constexpr hsize_t kAlignment = hsize_t{1} << 20;
/// Room for HDF5's own structures beyond the data, when checking for free space.
constexpr std::uint64_t kMetadataAllowance = std::uint64_t{1} << 20;

// ---- records: the checksummed header, and rank 0's plan broadcast -----------------------------------------------

void save_attributes(OutArchive& out, const std::map<std::string, std::string>& attributes) {
    out(static_cast<std::uint64_t>(attributes.size()));
    for (const auto& [name, value] : attributes) out(name)(value);
}

std::map<std::string, std::string> load_attributes(InArchive& in) {
    std::uint64_t n = 0;
    in(n);
    if (n > in.remaining()) throw Error::Internal("checkpoint plan record is corrupt");
    std::map<std::string, std::string> attributes;
    for (; n > 0; --n) {
        std::string name, value;
        in(name)(value);
        attributes.emplace(std::move(name), std::move(value));
    }
    return attributes;
}

/// What every stored size and name depends on: checksummed as piece 0. Its bytes are pinned by the checkpoints
/// already on disk (tests/io/checkpoint_test.cpp): changing them needs a new format version.
std::vector<std::byte> header_record(std::uint64_t sequence, const std::map<std::string, std::string>& attributes,
                                     std::uint64_t meta_size, const std::vector<std::uint64_t>& blob_sizes) {
    OutArchive out;
    out(std::string(kFormat))(sequence);
    save_attributes(out, attributes);
    out(meta_size)(blob_sizes);
    return out.take();
}

/// What all ranks must know before the collective write: rank 0's attributes and meta, every blob's size and sum.
struct Plan {
    std::map<std::string, std::string> attributes;
    std::uint64_t meta_size = 0;
    std::vector<std::uint64_t> blob_sizes;
    std::vector<std::uint64_t> sums;  ///< the `checksums` dataset, header included
    std::vector<std::uint64_t> offsets;
    std::uint64_t total = 0;
};

/// Gathers blob sizes and sums on rank 0 and broadcasts rank 0's view of the write. \note collective
Plan exchange_plan(const mpi::Comm& comm, std::uint64_t sequence, const std::map<std::string, std::string>& attributes,
                   std::span<const std::byte> meta, std::span<const std::byte> mine) {
    const auto ranks = static_cast<std::size_t>(comm.size());
    const std::array<std::uint64_t, 2> entry{mine.size(), checksum(mine, 2 + static_cast<std::uint64_t>(comm.rank()))};
    const auto entries = comm.gather_bytes(std::as_bytes(std::span{entry}), 0);
    std::vector<std::byte> record;
    if (comm.rank() == 0) {
        std::vector<std::uint64_t> sizes_and_sums;  // per rank: its blob's size, then its sum
        for (const auto& e : entries) {
            const std::size_t at = sizes_and_sums.size();
            sizes_and_sums.resize(at + 2);
            std::memcpy(sizes_and_sums.data() + at, e.data(), sizeof entry);
        }
        OutArchive out;
        out(static_cast<std::uint64_t>(meta.size()))(checksum(meta, 1))(sizes_and_sums);
        save_attributes(out, attributes);
        record = out.take();
    }
    comm.bcast_bytes(record, 0);

    InArchive in(record);
    Plan plan;
    std::uint64_t meta_sum = 0;
    std::vector<std::uint64_t> sizes_and_sums;
    in(plan.meta_size)(meta_sum)(sizes_and_sums);
    plan.attributes = load_attributes(in);
    if (sizes_and_sums.size() != 2 * ranks || !in.at_end()) throw Error::Internal("checkpoint plan record is corrupt");
    plan.sums.assign(2 + ranks, 0);
    plan.sums[1] = meta_sum;
    for (std::size_t r = 0; r < ranks; ++r) {
        plan.offsets.push_back(plan.total);
        plan.blob_sizes.push_back(sizes_and_sums[2 * r]);
        plan.sums[2 + r] = sizes_and_sums[2 * r + 1];
        plan.total += plan.blob_sizes.back();
    }
    plan.sums[0] = checksum(header_record(sequence, plan.attributes, plan.meta_size, plan.blob_sizes), 0);
    return plan;
}

std::uint64_t pieces(std::uint64_t bytes, std::uint64_t piece_bytes) { return (bytes + piece_bytes - 1) / piece_bytes; }

// ---- writing ----------------------------------------------------------------------------------------------------

/// A 1-d dataset of `size` elements with no fill pass (parallel HDF5 would otherwise write zeros over the whole
/// extent before the data). \note collective
h5::Handle create_vector(hid_t file, const char* name, ScalarType type, std::uint64_t size) {
    const hsize_t extent = size;
    h5::Handle space = h5::checked(H5Screate_simple(1, &extent, nullptr), "H5Screate_simple");
    h5::Handle dcpl = h5::checked(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)");
    h5::check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
    h5::check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
    return h5::checked(H5Dcreate2(file, name, h5::native_type(type), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                       std::string("creating dataset '") + name + "'");
}

/// Writes `data` at element `offset` of 1-d dataset `dataset`; an empty `data` takes part without writing.
/// \note collective (with `dxpl` collective)
void write_at(hid_t dataset, hid_t type, std::uint64_t offset, std::span<const std::byte> data, std::size_t element,
              hid_t dxpl, const std::string& what) {
    static const std::byte nothing[8]{};  // HDF5 wants a buffer even when it writes nothing
    const hsize_t count = data.size() / element;
    const hsize_t mem_extent = std::max<hsize_t>(count, 1);
    h5::Handle mem_space = h5::checked(H5Screate_simple(1, &mem_extent, nullptr), "H5Screate_simple");
    h5::Handle file_space = h5::checked(H5Dget_space(dataset), "H5Dget_space");
    if (count > 0) {
        const hsize_t start = offset;
        h5::check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                  "H5Sselect_hyperslab");
    } else {
        h5::check(H5Sselect_none(file_space.id()), "H5Sselect_none");
        h5::check(H5Sselect_none(mem_space.id()), "H5Sselect_none");
    }
    h5::check(H5Dwrite(dataset, type, mem_space.id(), file_space.id(), dxpl, count > 0 ? data.data() : nothing), what);
}

/// Open handles of the file being written, closed in a fixed order on every rank (closing is collective).
struct OpenFile {
    h5::Handle file;
    h5::Handle meta;
    h5::Handle blobs;
    h5::Handle blob_sizes;
    h5::Handle checksums;

    /// Closes every handle, in the same order on every rank (after a failure). \note collective
    void abandon() noexcept {
        checksums.reset();
        blob_sizes.reset();
        blobs.reset();
        meta.reset();
        file.reset();
    }
};

/// Starts the kernel writing a rank's newly written bytes to disk while the next piece is copied, so that the final
/// sync has little left to wait for (Linux; elsewhere, or where the file system does not take the hint, nothing).
class Writeback {
  public:
    explicit Writeback(const fs::path& file) : fd_(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) {}
    ~Writeback() {
        if (fd_ >= 0) ::close(fd_);
    }
    Writeback(const Writeback&) = delete;
    Writeback& operator=(const Writeback&) = delete;

    void start([[maybe_unused]] std::uint64_t offset, [[maybe_unused]] std::uint64_t size) const noexcept {
#ifdef __linux__
        if (fd_ >= 0 && size > 0) {
            ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(size), SYNC_FILE_RANGE_WRITE);
        }
#endif
    }

  private:
    int fd_;
};

/// Checks that `bytes` more fit beside `path`, so that a full disk is named before MPI-IO meets it. Rank 0 only.
void check_free_space(const fs::path& path, std::uint64_t bytes) {
    const fs::path dir = path.parent_path();
    std::error_code ec;
    const fs::space_info space = fs::space(dir, ec);
    if (!ec && space.available < bytes + kMetadataAllowance) {
        throw Error::Io("cannot write checkpoint '" + path.string() + "': not enough space in '" + dir.string() +
                        "' (" + std::to_string(bytes + kMetadataAllowance) + " bytes needed, " +
                        std::to_string(space.available) + " available)");
    }
}

/// `error` with the free space left in `dir`, for failed writes (a full disk is the likely cause).
Error with_free_space(const Error& error, const fs::path& dir) {
    std::error_code ec;
    const fs::space_info space = fs::space(dir, ec);
    if (ec) return error;
    return Error::Io(std::string(error.what()) + " (" + std::to_string(space.available) + " bytes free in '" +
                     dir.string() + "')");
}

// ---- reading ----------------------------------------------------------------------------------------------------

/// Reads one whole 1-d dataset of unsigned integers of `element` bytes (u8 or u64), checking its shape.
std::vector<std::byte> read_vector(hid_t file, const char* name, std::size_t element, const std::string& where) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) throw Error::Io(where + ": dataset '" + name + "' is missing");
    h5::Handle ds = h5::checked(H5Dopen2(file, name, H5P_DEFAULT), where + ": cannot open dataset '" + name + "'");
    h5::Handle type = h5::checked(H5Dget_type(ds.id()), where + ": H5Dget_type");
    h5::Handle space = h5::checked(H5Dget_space(ds.id()), where + ": H5Dget_space");
    if (H5Tget_class(type.id()) != H5T_INTEGER || H5Tget_size(type.id()) != element ||
        H5Sget_simple_extent_ndims(space.id()) != 1) {
        throw Error::Io(where + ": dataset '" + name + "' has the wrong type or shape");
    }
    hsize_t extent = 0;
    h5::check(H5Sget_simple_extent_dims(space.id(), &extent, nullptr), where + ": H5Sget_simple_extent_dims");
    std::vector<std::byte> data(extent * element);
    if (extent > 0) {
        const hid_t memory = element == 1 ? H5T_NATIVE_UINT8 : H5T_NATIVE_UINT64;
        h5::check(H5Dread(ds.id(), memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                  where + ": cannot read dataset '" + name + "'");
    }
    return data;
}

std::vector<std::uint64_t> as_u64(const std::vector<std::byte>& bytes) {
    std::vector<std::uint64_t> values(bytes.size() / sizeof(std::uint64_t));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(std::uint64_t));
    return values;
}

}  // namespace

void write_checkpoint_file(const mpi::Comm& comm, const std::filesystem::path& path,
                           const std::filesystem::path& temporary, std::uint64_t sequence,
                           const std::map<std::string, std::string>& attributes, std::span<const std::byte> meta,
                           std::span<const std::byte> mine, std::uint64_t piece_bytes) {
    const h5::QuietErrors quiet;
    const fs::path dir = path.parent_path();
    const std::string writing = "cannot write checkpoint '" + temporary.string() + "'";
    const bool root = comm.rank() == 0;
    piece_bytes = std::clamp<std::uint64_t>(piece_bytes, 1, kMaxPieceBytes);

    const Plan plan = exchange_plan(comm, sequence, attributes, meta, mine);
    mpi::agree(comm, [&] {
        for (const auto& [name, value] : plan.attributes) {
            if (name.empty() || name == kFormatAttribute || name == kSequenceAttribute) {
                throw Error::Internal("checkpoint attribute name '" + name + "' is empty or reserved");
            }
        }
    });

    std::optional<DurableFile> reserved;  // rank 0's: the temporary, made durable and renamed at the end
    OpenFile out;
    try {
        mpi::agree(comm, [&] {
            if (!root) return;
            check_free_space(path, plan.total + plan.meta_size);
            reserved.emplace(DurableFile::reserve(path, temporary));
        });
        mpi::agree(comm, [&] {
            h5::Handle fapl = h5::file_access(comm.native());
            h5::check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), "H5Pset_libver_bounds");
            h5::check(H5Pset_alignment(fapl.id(), kAlignment, kAlignment), "H5Pset_alignment");
            out.file = h5::checked(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()), writing);
            h5::write_fixed_text(out.file.id(), kFormatAttribute, kFormat);
            h5::write_attribute(out.file.id(), kSequenceAttribute, ScalarType::u64, &sequence);
            for (const auto& [name, value] : plan.attributes) h5::write_fixed_text(out.file.id(), name, value);
            out.meta = create_vector(out.file.id(), "meta", ScalarType::u8, plan.meta_size);
            out.blobs = create_vector(out.file.id(), "blobs", ScalarType::u8, plan.total);
            out.blob_sizes = create_vector(out.file.id(), "blob_sizes", ScalarType::u64, plan.blob_sizes.size());
            out.checksums = create_vector(out.file.id(), "checksums", ScalarType::u64, plan.sums.size());
            // Every structure of HDF5's own is now in place: written out here, the file has all its blocks and
            // its full length before any data, so closing it after a failed write (a full disk) has nothing left
            // to write. HDF5 1.10 cannot recover from a failed close: closing it again, even at exit, crashes.
            h5::check(H5Fflush(out.file.id(), H5F_SCOPE_LOCAL), writing);
        });

        h5::Handle dxpl = h5::checked(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate(transfer)");
        h5::check(H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
        // Each rank's piece is one contiguous run of bytes: collective buffering would only add copies.
        h5::check(H5Pset_dxpl_mpio_collective_opt(dxpl.id(), H5FD_MPIO_INDIVIDUAL_IO),
                  "H5Pset_dxpl_mpio_collective_opt");

        // Every rank takes part in as many collective calls as the largest blob needs, each agreed, so that a
        // failure on one rank stops all of them at the same call.
        const std::uint64_t blob_rounds =
            pieces(*std::max_element(plan.blob_sizes.begin(), plan.blob_sizes.end()), piece_bytes);
        const std::uint64_t base = plan.offsets[static_cast<std::size_t>(comm.rank())];
        const haddr_t blobs_at = H5Dget_offset(out.blobs.id());  // undefined when there are no blob bytes
        const Writeback writeback(temporary);
        for (std::uint64_t round = 0; round < blob_rounds; ++round) {
            const std::uint64_t from = std::min<std::uint64_t>(round * piece_bytes, mine.size());
            const auto part = mine.subspan(from, std::min<std::uint64_t>(piece_bytes, mine.size() - from));
            mpi::agree(comm, [&] {
                try {
                    write_at(out.blobs.id(), H5T_NATIVE_UINT8, base + from, part, 1, dxpl.id(), writing);
                } catch (const Error& e) {
                    throw with_free_space(e, dir);
                }
            });
            if (blobs_at != HADDR_UNDEF) writeback.start(blobs_at + base + from, part.size());
        }
        for (std::uint64_t round = 0; round < pieces(plan.meta_size, piece_bytes); ++round) {
            const std::uint64_t from = round * piece_bytes;
            const auto part = root ? meta.subspan(from, std::min<std::uint64_t>(piece_bytes, meta.size() - from))
                                   : std::span<const std::byte>{};
            mpi::agree(comm, [&] { write_at(out.meta.id(), H5T_NATIVE_UINT8, from, part, 1, dxpl.id(), writing); });
        }
        mpi::agree(comm, [&] {
            const auto sizes = std::as_bytes(std::span{plan.blob_sizes});
            const auto sums = std::as_bytes(std::span{plan.sums});
            write_at(out.blob_sizes.id(), H5T_NATIVE_UINT64, 0, root ? sizes : std::span<const std::byte>{}, 8,
                     dxpl.id(), writing);
            write_at(out.checksums.id(), H5T_NATIVE_UINT64, 0, root ? sums : std::span<const std::byte>{}, 8, dxpl.id(),
                     writing);
        });

        mpi::agree(comm, [&] {
            // A global flush makes every rank sync what it wrote (MPI_File_sync); the close writes the last
            // metadata, which rank 0's commit syncs below.
            try {
                h5::check(H5Fflush(out.file.id(), H5F_SCOPE_GLOBAL), writing + " (flushing)");
            } catch (const Error& e) {
                throw with_free_space(e, dir);
            }
            out.checksums.close(writing);
            out.blob_sizes.close(writing);
            out.blobs.close(writing);
            out.meta.close(writing);
            out.file.close(writing + " (closing)");
        });

        mpi::agree(comm, [&] {
            if (root) reserved->commit();
        });
    } catch (...) {
        out.abandon();  // the same handles on every rank, as every rank throws at the same agreed step
        if (reserved) reserved->discard();
        throw;
    }
}

CheckpointData read_checkpoint(const std::filesystem::path& path) {
    const h5::QuietErrors quiet;
    const std::string where = "checkpoint '" + path.string() + "'";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error::Io(where + " does not exist or is not a file");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error::Io(where + " is not an HDF5 file (damaged or truncated)");
    }
    h5::Handle file = h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + where);

    CheckpointData data;
    data.path = path;
    if (H5Aexists(file.id(), kFormatAttribute) <= 0) throw Error::Io(where + " is not a pel checkpoint (no format)");
    bool have_sequence = false;
    for (const std::string& name : h5::attribute_names(file.id(), where)) {
        h5::Handle attr = h5::checked(H5Aopen(file.id(), name.c_str(), H5P_DEFAULT),
                                      where + ": cannot open attribute '" + name + "'");
        if (name == kFormatAttribute) {
            const std::string format = h5::read_fixed_text(attr.id(), name, where);
            if (format != kFormat) throw Error::Io(where + " has unknown format version '" + format + "'");
        } else if (name == kSequenceAttribute) {
            h5::check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &data.sequence),
                      where + ": cannot read attribute 'sequence'");
            have_sequence = true;
        } else {
            data.attributes.emplace(name, h5::read_fixed_text(attr.id(), name, where));
        }
    }

    if (!have_sequence) throw Error::Io(where + ": attribute 'sequence' is missing");
    const auto sums = as_u64(read_vector(file.id(), "checksums", 8, where));
    const auto sizes = as_u64(read_vector(file.id(), "blob_sizes", 8, where));
    if (sums.size() != 2 + sizes.size()) throw Error::Io(where + ": 'checksums' and 'blob_sizes' do not match");
    // The header holds every size: verified first, so no damaged size is ever trusted.
    h5::Handle meta = h5::checked(H5Dopen2(file.id(), "meta", H5P_DEFAULT), where + ": cannot open dataset 'meta'");
    h5::Handle meta_space = h5::checked(H5Dget_space(meta.id()), where + ": H5Dget_space");
    const auto meta_size = static_cast<std::uint64_t>(H5Sget_simple_extent_npoints(meta_space.id()));
    if (checksum(header_record(data.sequence, data.attributes, meta_size, sizes), 0) != sums[0]) {
        throw Error::Io(where + ": checksum mismatch in the header (attributes, sequence or sizes)");
    }
    meta.reset();

    data.meta = read_vector(file.id(), "meta", 1, where);
    if (checksum(data.meta, 1) != sums[1]) throw Error::Io(where + ": checksum mismatch in meta");

    h5::Handle blobs = h5::checked(H5Dopen2(file.id(), "blobs", H5P_DEFAULT), where + ": cannot open dataset 'blobs'");
    h5::Handle file_space = h5::checked(H5Dget_space(blobs.id()), where + ": H5Dget_space");
    std::uint64_t total = 0;
    for (const std::uint64_t size : sizes) total += size;
    if (static_cast<std::uint64_t>(H5Sget_simple_extent_npoints(file_space.id())) != total) {
        throw Error::Io(where + ": the blob sizes do not add up to the 'blobs' dataset");
    }
    data.blobs.resize(sizes.size());
    std::uint64_t offset = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
        auto& blob = data.blobs[r];
        blob.resize(sizes[r]);
        if (sizes[r] > 0) {
            const hsize_t start = offset;
            const hsize_t count = sizes[r];
            h5::Handle mem_space = h5::checked(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
            h5::check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                      "H5Sselect_hyperslab");
            h5::check(H5Dread(blobs.id(), H5T_NATIVE_UINT8, mem_space.id(), file_space.id(), H5P_DEFAULT, blob.data()),
                      where + ": cannot read the blob of rank " + std::to_string(r));
        }
        if (checksum(blob, 2 + r) != sums[2 + r]) {
            throw Error::Io(where + ": checksum mismatch in the blob of rank " + std::to_string(r));
        }
        offset += sizes[r];
    }
    return data;
}

}  // namespace pel::io
