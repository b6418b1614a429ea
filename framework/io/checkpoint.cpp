// io/checkpoint.cpp: the checkpoint store: a fast checksum, the collective write through a temporary file and an
// atomic rename, and the verified serial read.
//
// File layout (format 1). Root attributes: `pel_checkpoint_format` ("1"), `sequence` (u64) and the caller's text
// attributes (fixed-length strings, so they sit in checksummed object headers). Datasets: `meta` (u8, rank 0's
// blob), `blobs` (u8, every rank's blob, concatenated in rank order), `blob_sizes` (u64 [ranks]) and `checksums`
// (u64 [2 + ranks]): piece 0 is the header (format, sequence, attributes and every size), piece 1 meta, piece
// 2 + r the blob of rank r; checksums[i] = checksum(piece i, seed i).
#include "io/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string_view>
#include <unistd.h>

#include "io/h5.hpp"
#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

constexpr const char* kFormatAttribute = "pel_checkpoint_format";
constexpr const char* kFormat = "1";
constexpr const char* kSequenceAttribute = "sequence";
constexpr const char* kPrefix = "ckpt-";
constexpr const char* kSuffix = ".h5";
constexpr const char* kTemporarySuffix = ".part";
/// What one rank writes per collective call: small enough that the disk takes one piece while the next is copied
/// into the page cache, large enough that the calls cost nothing next to the copying.
constexpr std::uint64_t kPieceBytes = std::uint64_t{16} << 20;
/// The most one rank may write per call: MPI-IO counts are ints, and HDF5 1.10 passes sizes as ints.
constexpr std::uint64_t kMaxPieceBytes = std::uint64_t{1} << 30;
/// Objects this large start on a boundary of this size (stripes and blocks of parallel file systems).
constexpr hsize_t kAlignment = hsize_t{1} << 20;
/// Room for HDF5's own structures beyond the data, when checking for free space.
constexpr std::uint64_t kMetadataAllowance = std::uint64_t{1} << 20;

// ---- checksum -------------------------------------------------------------------------------------------------

constexpr std::uint64_t kMul1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kMul2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kMul3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kAdd = 0x85EBCA77C2B2AE63ULL;

inline std::uint64_t load_word(const std::byte* p) noexcept {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return word;
}

/// Folds one word into a lane: multiply, rotate, multiply, so every input bit reaches many lane bits.
inline std::uint64_t absorb(std::uint64_t lane, std::uint64_t word) noexcept {
    return std::rotl(lane + word * kMul2, 31) * kMul1;
}

/// Folds a finished lane or a tail word into the running state.
inline std::uint64_t fold(std::uint64_t state, std::uint64_t value) noexcept {
    return std::rotl(state ^ absorb(0, value), 27) * kMul1 + kAdd;
}

/// Makes every output bit depend on every state bit.
inline std::uint64_t avalanche(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= kMul2;
    h ^= h >> 29;
    h *= kMul3;
    h ^= h >> 32;
    return h;
}

// ---- byte records (the header checksummed, and rank 0's plan broadcast) ---------------------------------------

void put_u64(std::vector<std::byte>& out, std::uint64_t value) {
    const auto bytes = std::as_bytes(std::span{&value, 1});
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_text(std::vector<std::byte>& out, const std::string& text) {
    put_u64(out, text.size());
    const auto bytes = std::as_bytes(std::span{text.data(), text.size()});
    out.insert(out.end(), bytes.begin(), bytes.end());
}

/// Reads back what put_u64 and put_text wrote.
class RecordReader {
  public:
    explicit RecordReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
    std::uint64_t u64() {
        std::uint64_t value = 0;
        std::memcpy(&value, take(sizeof value).data(), sizeof value);
        return value;
    }
    std::string text() {
        const std::uint64_t size = u64();
        const auto bytes = take(size);
        return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
    }

  private:
    std::span<const std::byte> take(std::uint64_t size) {
        if (size > bytes_.size() - at_) throw Error::Internal("checkpoint plan record is short");
        const auto part = bytes_.subspan(at_, size);
        at_ += size;
        return part;
    }
    std::span<const std::byte> bytes_;
    std::size_t at_ = 0;
};

/// What every stored size and name depends on: checksummed as piece 0.
std::vector<std::byte> header_record(std::uint64_t sequence, const std::map<std::string, std::string>& attributes,
                                     std::uint64_t meta_size, std::span<const std::uint64_t> blob_sizes) {
    std::vector<std::byte> out;
    put_text(out, kFormat);
    put_u64(out, sequence);
    put_u64(out, attributes.size());
    for (const auto& [name, value] : attributes) {
        put_text(out, name);
        put_text(out, value);
    }
    put_u64(out, meta_size);
    put_u64(out, blob_sizes.size());
    for (const std::uint64_t size : blob_sizes) put_u64(out, size);
    return out;
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
        put_u64(record, meta.size());
        put_u64(record, checksum(meta, 1));
        for (const auto& e : entries) record.insert(record.end(), e.begin(), e.end());
        put_u64(record, attributes.size());
        for (const auto& [name, value] : attributes) {
            put_text(record, name);
            put_text(record, value);
        }
    }
    comm.bcast_bytes(record, 0);

    RecordReader in(record);
    Plan plan;
    plan.meta_size = in.u64();
    plan.sums.assign(2 + ranks, 0);
    plan.sums[1] = in.u64();
    for (std::size_t r = 0; r < ranks; ++r) {
        plan.offsets.push_back(plan.total);
        plan.blob_sizes.push_back(in.u64());
        plan.sums[2 + r] = in.u64();
        plan.total += plan.blob_sizes.back();
    }
    for (std::uint64_t n = in.u64(); n > 0; --n) {
        std::string name = in.text();
        plan.attributes.emplace(std::move(name), in.text());
    }
    plan.sums[0] = checksum(header_record(sequence, plan.attributes, plan.meta_size, plan.blob_sizes), 0);
    return plan;
}

std::uint64_t pieces(std::uint64_t bytes, std::uint64_t piece_bytes) { return (bytes + piece_bytes - 1) / piece_bytes; }

// ---- HDF5 pieces ------------------------------------------------------------------------------------------------

/// Restores HDF5's error printing as it was, after silencing it for the reads of possibly damaged files.
class QuietHdf5 {
  public:
    QuietHdf5() {
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
    QuietHdf5(const QuietHdf5&) = delete;
    QuietHdf5& operator=(const QuietHdf5&) = delete;

  private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

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

/// A text attribute as a fixed-length string of exactly its bytes (an empty one has a null dataspace).
/// \note collective on parallel files
void write_text(hid_t object, const std::string& name, const std::string& value) {
    h5::Handle type = h5::checked(H5Tcopy(H5T_C_S1), "H5Tcopy");
    h5::check(H5Tset_size(type.id(), std::max<std::size_t>(value.size(), 1)), "H5Tset_size");
    h5::check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
    h5::check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
    h5::Handle space = h5::checked(value.empty() ? H5Screate(H5S_NULL) : H5Screate(H5S_SCALAR), "H5Screate");
    h5::Handle attr = h5::checked(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                                  "creating attribute '" + name + "'");
    if (!value.empty()) h5::check(H5Awrite(attr.id(), type.id(), value.data()), "writing attribute '" + name + "'");
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

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

/// fsync of a file or directory, named in the error.
void sync_path(const fs::path& path, bool directory) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    if (fd < 0) throw Error::Io(system_error("cannot open '" + path.string() + "' to sync it"));
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    if (rc != 0) throw Error::Io(system_error("cannot sync '" + path.string() + "' to disk"));
}

/// Starts the kernel writing a rank's newly written bytes to disk while the next piece is copied, so that the final
/// sync has little left to wait for (Linux; elsewhere, or where the file system does not take the hint, nothing).
class Writeback {
  public:
    explicit Writeback(const fs::path& file) : fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {}
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

/// Makes `dir`, checks that `bytes` more fit in it and creates `temporary` empty, so that what stands in the way
/// is named here rather than by MPI-IO. Rank 0 only.
void prepare_directory(const fs::path& dir, const fs::path& temporary, const fs::path& target, std::uint64_t bytes) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error::Io("cannot create checkpoint directory '" + dir.string() + "': " + ec.message());
    if (!fs::is_directory(dir, ec)) {
        throw Error::Io("cannot write checkpoint '" + target.string() + "': '" + dir.string() + "' is not a directory");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw Error::Io(system_error("cannot write checkpoint '" + target.string() + "' into '" + dir.string() + "'"));
    }
    const fs::space_info space = fs::space(dir, ec);
    if (!ec && space.available < bytes + kMetadataAllowance) {
        throw Error::Io("cannot write checkpoint '" + target.string() + "': not enough space in '" + dir.string() +
                        "' (" + std::to_string(bytes + kMetadataAllowance) + " bytes needed, " +
                        std::to_string(space.available) + " available)");
    }
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error::Io(system_error("cannot write checkpoint '" + temporary.string() + "'"));
    ::close(fd);
}

/// `error` with the free space left in `dir`, for failed writes (a full disk is the likely cause).
Error with_free_space(const Error& error, const fs::path& dir) {
    std::error_code ec;
    const fs::space_info space = fs::space(dir, ec);
    if (ec) return error;
    return Error::Io(std::string(error.what()) + " (" + std::to_string(space.available) + " bytes free in '" +
                     dir.string() + "')");
}

/// The sequence number of a checkpoint file name, or nothing if `name` is not one (temporaries included).
std::optional<std::uint64_t> parse_name(const std::string& name, const char* suffix) {
    const std::string_view prefix = kPrefix;
    const std::string_view end = suffix;
    if (name.size() <= prefix.size() + end.size() || !name.starts_with(prefix) || !name.ends_with(end)) return {};
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size() - end.size();
    if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return {};
    std::uint64_t sequence = 0;
    const auto [ptr, err] = std::from_chars(first, last, sequence);
    if (err != std::errc() || ptr != last) return {};
    return sequence;
}

/// Deletes all but the newest `keep` checkpoints (never `written`) and leftover temporaries of earlier writes.
/// Best effort, and never throws: the new checkpoint is safe already, so a file that cannot be deleted stays.
void prune(const fs::path& dir, const fs::path& written, int keep) noexcept {
    try {
        std::error_code ec;
        if (keep > 0) {
            const auto all = list_checkpoints(dir);
            for (std::size_t i = static_cast<std::size_t>(keep); i < all.size(); ++i) {
                if (all[i] != written) fs::remove(all[i], ec);
            }
        }
        const std::string temporary_suffix = std::string(kSuffix) + kTemporarySuffix;
        std::vector<fs::path> leftovers;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            // A temporary, or a file named after one (an MPI-IO lock file left by a write killed midway).
            const auto part = name.find(temporary_suffix);
            if (part != std::string::npos &&
                parse_name(name.substr(0, part + temporary_suffix.size()), temporary_suffix.c_str())) {
                leftovers.push_back(it->path());
            }
        }
        for (const fs::path& leftover : leftovers) fs::remove(leftover, ec);
    } catch (...) {
        // Nothing to undo: whatever could not be deleted is deleted by a later write.
    }
}

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

/// The text of a string attribute written by write_text.
std::string read_text(hid_t attr, const std::string& name, const std::string& where) {
    h5::Handle type = h5::checked(H5Aget_type(attr), where + ": H5Aget_type");
    h5::Handle space = h5::checked(H5Aget_space(attr), where + ": H5Aget_space");
    if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) != 0) {
        throw Error::Io(where + ": attribute '" + name + "' is not fixed-length text");
    }
    if (H5Sget_simple_extent_type(space.id()) == H5S_NULL) return {};
    if (H5Sget_simple_extent_npoints(space.id()) != 1) {
        throw Error::Io(where + ": attribute '" + name + "' is not a single string");
    }
    std::string value(H5Tget_size(type.id()), '\0');
    h5::check(H5Aread(attr, type.id(), value.data()), where + ": cannot read attribute '" + name + "'");
    return value;
}

herr_t collect_name(hid_t /*object*/, const char* name, const H5A_info_t* /*info*/, void* names) {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
}

}  // namespace

std::uint64_t checksum(std::span<const std::byte> bytes, std::uint64_t seed) {
    const std::byte* p = bytes.data();
    std::size_t left = bytes.size();
    std::uint64_t state = seed + kAdd;
    if (left >= 32) {
        std::uint64_t lane0 = seed + kMul1 + kMul2;
        std::uint64_t lane1 = seed + kMul2;
        std::uint64_t lane2 = seed;
        std::uint64_t lane3 = seed - kMul1;
        for (; left >= 32; p += 32, left -= 32) {
            lane0 = absorb(lane0, load_word(p));
            lane1 = absorb(lane1, load_word(p + 8));
            lane2 = absorb(lane2, load_word(p + 16));
            lane3 = absorb(lane3, load_word(p + 24));
        }
        state = std::rotl(lane0, 1) + std::rotl(lane1, 7) + std::rotl(lane2, 12) + std::rotl(lane3, 18);
        state = fold(fold(fold(fold(state, lane0), lane1), lane2), lane3);
    }
    state += bytes.size();
    for (; left >= 8; p += 8, left -= 8) state = fold(state, load_word(p));
    if (left > 0) {
        std::uint64_t tail = 0;  // the length, folded in above, tells these zero bytes from data
        std::memcpy(&tail, p, left);
        state = fold(state, tail);
    }
    return avalanche(state);
}

std::string checkpoint_name(std::uint64_t sequence) {
    std::string digits = std::to_string(sequence);
    if (digits.size() < 8) digits.insert(0, 8 - digits.size(), '0');
    return kPrefix + digits + kSuffix;
}

std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, std::span<const std::byte> mine, int keep) {
    return detail::write_checkpoint(comm, dir, sequence, attributes, meta, mine, keep, kPieceBytes);
}

std::filesystem::path detail::write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir,
                                               std::uint64_t sequence,
                                               const std::map<std::string, std::string>& attributes,
                                               std::span<const std::byte> meta, std::span<const std::byte> mine,
                                               int keep, std::uint64_t piece_bytes) {
    const QuietHdf5 quiet;
    fs::path target = dir / checkpoint_name(sequence);
    const fs::path temporary = dir / (checkpoint_name(sequence) + kTemporarySuffix);
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

    OpenFile out;
    try {
        mpi::agree(comm, [&] {
            if (root) prepare_directory(dir, temporary, target, plan.total + plan.meta_size);
        });
        mpi::agree(comm, [&] {
            h5::Handle fapl = h5::file_access(comm.native());
            h5::check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), "H5Pset_libver_bounds");
            h5::check(H5Pset_alignment(fapl.id(), kAlignment, kAlignment), "H5Pset_alignment");
            out.file = h5::checked(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()), writing);
            write_text(out.file.id(), kFormatAttribute, kFormat);
            h5::write_attribute(out.file.id(), kSequenceAttribute, ScalarType::u64, &sequence);
            for (const auto& [name, value] : plan.attributes) write_text(out.file.id(), name, value);
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
            // metadata, which rank 0 syncs below.
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
            if (!root) return;
            sync_path(temporary, false);
            if (::rename(temporary.c_str(), target.c_str()) != 0) {
                throw Error::Io(
                    system_error("cannot rename checkpoint '" + temporary.string() + "' to '" + target.string() + "'"));
            }
            sync_path(dir, true);
        });
    } catch (...) {
        out.abandon();  // the same handles on every rank, as every rank throws at the same agreed step
        if (root) {
            std::error_code ec;
            fs::remove(temporary, ec);
        }
        throw;
    }
    if (root) prune(dir, target, keep);
    comm.barrier();
    return target;
}

std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir) {
    std::vector<std::pair<std::uint64_t, fs::path>> found;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {};
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error::Io("cannot list checkpoint directory '" + dir.string() + "': " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const auto sequence = parse_name(it->path().filename().string(), kSuffix);
        if (sequence && it->is_regular_file(ec)) found.emplace_back(*sequence, it->path());
    }
    if (ec) throw Error::Io("cannot list checkpoint directory '" + dir.string() + "': " + ec.message());
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<fs::path> paths;
    paths.reserve(found.size());
    for (auto& [sequence, path] : found) paths.push_back(std::move(path));
    return paths;
}

CheckpointData read_checkpoint(const std::filesystem::path& path) {
    const QuietHdf5 quiet;
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
    std::vector<std::string> names;
    hsize_t at = 0;
    h5::check(H5Aiterate2(file.id(), H5_INDEX_NAME, H5_ITER_INC, &at, collect_name, &names),
              where + ": cannot list attributes");
    for (const std::string& name : names) {
        h5::Handle attr = h5::checked(H5Aopen(file.id(), name.c_str(), H5P_DEFAULT),
                                      where + ": cannot open attribute '" + name + "'");
        if (name == kFormatAttribute) {
            const std::string format = read_text(attr.id(), name, where);
            if (format != kFormat) throw Error::Io(where + " has unknown format version '" + format + "'");
        } else if (name == kSequenceAttribute) {
            h5::check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &data.sequence),
                      where + ": cannot read attribute 'sequence'");
            have_sequence = true;
        } else {
            data.attributes.emplace(name, read_text(attr.id(), name, where));
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

std::optional<CheckpointData> read_newest_checkpoint(const std::filesystem::path& dir,
                                                     std::vector<std::string>& warnings) {
    for (const fs::path& path : list_checkpoints(dir)) {
        try {
            return read_checkpoint(path);
        } catch (const Error& e) {
            warnings.push_back(std::string(e.what()) + "; skipped");
        }
    }
    return std::nullopt;
}

}  // namespace pel::io
