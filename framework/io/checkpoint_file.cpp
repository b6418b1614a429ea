// io/checkpoint_file.cpp: writing one checkpoint file: the plan every rank agrees on, and the collective write
// through a reserved temporary. The layout is in io/checkpoint_format.hpp; reading is in checkpoint_reader.cpp.
#include "io/checkpoint_file.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

#include "io/checkpoint_format.hpp"
#include "io/checksum.hpp"
#include "io/h5.hpp"
#include "pel/archive.hpp"
#include "pel/durable_file.hpp"
#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

using namespace checkpoint_format;

/// The most one rank may write per call: MPI-IO counts are ints, and HDF5 1.10 passes sizes as ints.
constexpr std::uint64_t kMaxPieceBytes = std::uint64_t{1} << 30;
/// Objects this large start on a boundary of this size (stripes and blocks of parallel file systems).
constexpr hsize_t kAlignment = hsize_t{1} << 20;
/// Room for HDF5's own structures beyond the data, when checking for free space.
constexpr std::uint64_t kMetadataAllowance = std::uint64_t{1} << 20;

// ---- a rank's bulk: spans read as one run of bytes --------------------------------------------------------------

/// The spans of a rank's bulk as one run of bytes, without copying them into one buffer first.
class Scattered {
  public:
    explicit Scattered(const std::vector<std::span<const std::byte>>& spans) : spans_(spans) {
        for (const auto& s : spans_) {
            starts_.push_back(size_);
            size_ += s.size();
        }
    }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    /// Bytes [from, from + count): a view into one span when they lie in one, else copied into `scratch`.
    std::span<const std::byte> range(std::uint64_t from, std::uint64_t count, std::vector<std::byte>& scratch) const {
        if (count == 0) return {};
        auto at =
            static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end(), from) - starts_.begin() - 1);
        while (spans_[at].empty()) ++at;  // empty spans share their start with the next
        if (from - starts_[at] + count <= spans_[at].size()) return spans_[at].subspan(from - starts_[at], count);
        scratch.resize(count);
        std::uint64_t done = 0;
        for (; done < count; ++at) {
            const std::uint64_t offset = from + done - starts_[at];
            const std::uint64_t take = std::min<std::uint64_t>(spans_[at].size() - offset, count - done);
            std::memcpy(scratch.data() + done, spans_[at].data() + offset, take);
            done += take;
        }
        return scratch;
    }

  private:
    const std::vector<std::span<const std::byte>>& spans_;
    std::vector<std::uint64_t> starts_;
    std::uint64_t size_ = 0;
};

// ---- rank 0's plan, broadcast -----------------------------------------------------------------------------------

/// What all ranks must know before the collective write: rank 0's attributes and meta, every rank's sizes and sums.
struct Plan {
    std::map<std::string, std::string> attributes;
    std::uint64_t meta_size = 0;
    std::vector<std::uint64_t> record_sizes;
    std::vector<std::uint64_t> bulk_sizes;
    std::vector<std::uint64_t> segment_sums;  ///< the `segment_sums` dataset
    std::vector<std::uint64_t> sums;          ///< the `checksums` dataset
    std::vector<std::uint64_t> record_offsets;
    std::vector<std::uint64_t> bulk_offsets;
    std::uint64_t records_total = 0;
    std::uint64_t bulk_total = 0;
};

/// Checksums a rank's record and each segment of its bulk.
std::vector<std::byte> own_entry(int rank, const CheckpointPart& part, std::uint64_t segment_bytes) {
    const auto r = static_cast<std::uint64_t>(rank);
    const Scattered bulk(part.bulk);
    std::vector<std::uint64_t> sums;
    std::vector<std::byte> scratch;
    for (std::uint64_t k = 0; k < segments(bulk.size(), segment_bytes); ++k) {
        const std::uint64_t from = k * segment_bytes;
        sums.push_back(
            checksum(bulk.range(from, std::min(segment_bytes, bulk.size() - from), scratch), segment_seed(r, k)));
    }
    OutArchive out;
    out(static_cast<std::uint64_t>(part.record.size()))(checksum(part.record, record_seed(r)))(bulk.size())(sums);
    return out.take();
}

/// Gathers every rank's sizes and sums on rank 0 and broadcasts rank 0's view of the write. \note collective
Plan exchange_plan(const mpi::Comm& comm, std::uint64_t sequence, const std::map<std::string, std::string>& attributes,
                   std::span<const std::byte> meta, const CheckpointPart& part, std::uint64_t segment_bytes) {
    const auto ranks = static_cast<std::size_t>(comm.size());
    const auto entries = comm.gather_bytes(own_entry(comm.rank(), part, segment_bytes), 0);
    std::vector<std::byte> record;
    if (comm.rank() == 0) {
        OutArchive out;
        out(static_cast<std::uint64_t>(meta.size()))(checksum(meta, kMetaSeed));
        save_attributes(out, attributes);
        for (const auto& e : entries) out.write_bytes(e.data(), e.size());
        record = out.take();
    }
    comm.bcast_bytes(record, 0);

    InArchive in(record);
    Plan plan;
    std::uint64_t meta_sum = 0;
    in(plan.meta_size)(meta_sum);
    plan.attributes = load_attributes(in);
    plan.sums.assign(3 + ranks, 0);
    plan.sums[kMetaSeed] = meta_sum;
    for (std::size_t r = 0; r < ranks; ++r) {
        std::uint64_t record_size = 0, bulk_size = 0;
        std::vector<std::uint64_t> sums;
        in(record_size)(plan.sums[record_seed(r)])(bulk_size)(sums);
        plan.record_offsets.push_back(plan.records_total);
        plan.bulk_offsets.push_back(plan.bulk_total);
        plan.record_sizes.push_back(record_size);
        plan.bulk_sizes.push_back(bulk_size);
        plan.records_total += record_size;
        plan.bulk_total += bulk_size;
        plan.segment_sums.insert(plan.segment_sums.end(), sums.begin(), sums.end());
    }
    if (!in.at_end()) throw Error::Internal("checkpoint plan record is corrupt");
    plan.sums[kSegmentSumsSeed] = checksum(std::as_bytes(std::span(plan.segment_sums)), kSegmentSumsSeed);
    plan.sums[kHeaderSeed] = checksum(
        header_record(sequence, plan.attributes, plan.meta_size, plan.record_sizes, plan.bulk_sizes, segment_bytes),
        kHeaderSeed);
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
    h5::Handle records;
    h5::Handle record_sizes;
    h5::Handle bulk;
    h5::Handle bulk_sizes;
    h5::Handle segment_sums;
    h5::Handle checksums;

    /// Closes every dataset, in the same order on every rank; `what` names the file in the error. \note collective
    void close_datasets(const std::string& what) {
        for (h5::Handle* h : {&checksums, &segment_sums, &bulk_sizes, &bulk, &record_sizes, &records, &meta}) {
            h->close(what);
        }
    }
    /// Closes every handle, in the same order on every rank (after a failure). \note collective
    void abandon() noexcept {
        for (h5::Handle* h : {&checksums, &segment_sums, &bulk_sizes, &bulk, &record_sizes, &records, &meta, &file}) {
            h->reset();
        }
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

}  // namespace

void write_checkpoint_file(const mpi::Comm& comm, const std::filesystem::path& path,
                           const std::filesystem::path& temporary, std::uint64_t sequence,
                           const std::map<std::string, std::string>& attributes, std::span<const std::byte> meta,
                           const CheckpointPart& part, std::uint64_t piece_bytes, std::uint64_t segment_bytes) {
    const h5::QuietErrors quiet;
    const fs::path dir = path.parent_path();
    const std::string writing = "cannot write checkpoint '" + temporary.string() + "'";
    const bool root = comm.rank() == 0;
    const auto me = static_cast<std::size_t>(comm.rank());
    piece_bytes = std::clamp<std::uint64_t>(piece_bytes, 1, kMaxPieceBytes);
    segment_bytes = std::max<std::uint64_t>(segment_bytes, 1);

    const Plan plan = exchange_plan(comm, sequence, attributes, meta, part, segment_bytes);
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
            h5::check_mpi_io_name(temporary.string());
            if (!root) return;
            check_free_space(path, plan.records_total + plan.bulk_total + plan.meta_size);
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
            out.meta = create_vector(out.file.id(), kMeta, ScalarType::u8, plan.meta_size);
            out.records = create_vector(out.file.id(), kRecords, ScalarType::u8, plan.records_total);
            out.record_sizes = create_vector(out.file.id(), kRecordSizes, ScalarType::u64, plan.record_sizes.size());
            out.bulk_sizes = create_vector(out.file.id(), kBulkSizes, ScalarType::u64, plan.bulk_sizes.size());
            out.segment_sums = create_vector(out.file.id(), kSegmentSums, ScalarType::u64, plan.segment_sums.size());
            h5::write_attribute(out.segment_sums.id(), kSegmentBytesAttribute, ScalarType::u64, &segment_bytes);
            out.checksums = create_vector(out.file.id(), kChecksums, ScalarType::u64, plan.sums.size());
            // The bulk last, so that all of HDF5's own structures sit before it, near the start of the file: the
            // metadata flushes write there, from any rank, and a rank that cannot write them hangs the others.
            out.bulk = create_vector(out.file.id(), kBulk, ScalarType::u8, plan.bulk_total);
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

        // Every rank takes part in as many collective calls as the largest part needs, each agreed, so that a
        // failure on one rank stops all of them at the same call.
        const Scattered bulk(part.bulk);
        std::vector<std::byte> scratch;
        const std::uint64_t bulk_rounds =
            pieces(*std::max_element(plan.bulk_sizes.begin(), plan.bulk_sizes.end()), piece_bytes);
        const haddr_t bulk_at = H5Dget_offset(out.bulk.id());  // undefined when there are no bulk bytes
        const Writeback writeback(temporary);
        for (std::uint64_t round = 0; round < bulk_rounds; ++round) {
            const std::uint64_t from = std::min<std::uint64_t>(round * piece_bytes, bulk.size());
            const auto piece = bulk.range(from, std::min<std::uint64_t>(piece_bytes, bulk.size() - from), scratch);
            mpi::agree(comm, [&] {
                try {
                    write_at(out.bulk.id(), H5T_NATIVE_UINT8, plan.bulk_offsets[me] + from, piece, 1, dxpl.id(),
                             writing);
                } catch (const Error& e) {
                    throw with_free_space(e, dir);
                }
            });
            if (bulk_at != HADDR_UNDEF) writeback.start(bulk_at + plan.bulk_offsets[me] + from, piece.size());
        }
        scratch = {};
        const std::uint64_t record_rounds =
            pieces(*std::max_element(plan.record_sizes.begin(), plan.record_sizes.end()), piece_bytes);
        for (std::uint64_t round = 0; round < record_rounds; ++round) {
            const std::uint64_t from = std::min<std::uint64_t>(round * piece_bytes, part.record.size());
            const auto piece =
                part.record.subspan(from, std::min<std::uint64_t>(piece_bytes, part.record.size() - from));
            mpi::agree(comm, [&] {
                write_at(out.records.id(), H5T_NATIVE_UINT8, plan.record_offsets[me] + from, piece, 1, dxpl.id(),
                         writing);
            });
        }
        for (std::uint64_t round = 0; round < pieces(plan.meta_size, piece_bytes); ++round) {
            const std::uint64_t from = round * piece_bytes;
            const auto piece = root ? meta.subspan(from, std::min<std::uint64_t>(piece_bytes, meta.size() - from))
                                    : std::span<const std::byte>{};
            mpi::agree(comm, [&] { write_at(out.meta.id(), H5T_NATIVE_UINT8, from, piece, 1, dxpl.id(), writing); });
        }
        mpi::agree(comm, [&] {
            // Rank 0 writes the small vectors (the others take part in each collective call with nothing).
            const auto of_root = [&](const std::vector<std::uint64_t>& values) {
                return root ? std::as_bytes(std::span(values)) : std::span<const std::byte>{};
            };
            write_at(out.record_sizes.id(), H5T_NATIVE_UINT64, 0, of_root(plan.record_sizes), 8, dxpl.id(), writing);
            write_at(out.bulk_sizes.id(), H5T_NATIVE_UINT64, 0, of_root(plan.bulk_sizes), 8, dxpl.id(), writing);
            // 8 bytes per 1 MiB segment: far below the most one call may write, for any checkpoint. An empty
            // dataset has no storage to write into (the same on every rank).
            if (!plan.segment_sums.empty()) {
                write_at(out.segment_sums.id(), H5T_NATIVE_UINT64, 0, of_root(plan.segment_sums), 8, dxpl.id(),
                         writing);
            }
            write_at(out.checksums.id(), H5T_NATIVE_UINT64, 0, of_root(plan.sums), 8, dxpl.id(), writing);
        });

        mpi::agree(comm, [&] {
            // A global flush makes every rank sync what it wrote (MPI_File_sync); the close writes the last
            // metadata, which rank 0's commit syncs below.
            try {
                h5::check(H5Fflush(out.file.id(), H5F_SCOPE_GLOBAL), writing + " (flushing)");
            } catch (const Error& e) {
                throw with_free_space(e, dir);
            }
            out.close_datasets(writing);
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

}  // namespace pel::io
