// io/checkpoint_file.hpp: one checkpoint file: written by all ranks together through a temporary that takes the
// final name only once complete and on disk, every stored piece covered by a checksum; read back in two steps, so
// that no rank ever holds the whole of it: the small parts (header, meta, every rank's record) verified on one rank,
// then any byte range of any rank's bulk, each segment verified as it is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "mpi/comm.hpp"

namespace pel::io {

/// What one rank stores in a checkpoint.
struct CheckpointPart {
    std::span<const std::byte> record;             ///< small: read whole, with every other rank's, on opening
    std::vector<std::span<const std::byte>> bulk;  ///< large: stored as one run of bytes, read back by ranges
};

/// The small parts of a checkpoint, verified: all a reader needs to find and check any byte of the bulk.
struct CheckpointIndex {
    std::filesystem::path path;                     ///< the file it came from
    std::uint64_t sequence = 0;                     ///< the number it was written with
    std::map<std::string, std::string> attributes;  ///< text metadata (job, job_version, options_hash, ...)
    std::vector<std::byte> meta;                    ///< rank 0's blob
    std::vector<std::vector<std::byte>> records;    ///< one per rank of the run that wrote it
    std::vector<std::uint64_t> bulk_sizes;          ///< one per rank of the run that wrote it
    std::uint64_t segment_bytes = 0;                ///< each rank's bulk is checksummed in segments of this size
    std::vector<std::uint64_t> segment_sums;        ///< every rank's segments, in rank order

    /// The index as bytes, to send to other ranks; from_bytes() reads them back (it trusts them).
    [[nodiscard]] std::vector<std::byte> to_bytes() const;
    static CheckpointIndex from_bytes(std::span<const std::byte> bytes);
};

/// A checkpoint as read back whole (tests and tools; a resume reads only its share, with CheckpointReader).
struct CheckpointData {
    CheckpointIndex index;
    std::vector<std::vector<std::byte>> bulks;  ///< one per rank of the run that wrote it
};

/// The size of the segments a rank's bulk is checksummed in (the most a range read reads beyond the range, at
/// each end).
inline constexpr std::uint64_t kCheckpointSegmentBytes = std::uint64_t{1} << 20;

/// Writes checkpoint `sequence` as `path`, through `temporary` (in the same directory, which must exist): every
/// rank passes its own `part`, its bulk written in collective pieces of at most `piece_bytes` and checksummed in
/// segments of `segment_bytes`; rank 0's `attributes` and `meta` are stored. `temporary` is renamed to `path` once
/// complete and synced to disk, so `path` never holds a partial file. On any failure every rank throws the same
/// pel::Error (I/O) naming the file and the reason (with the free space left, when a write fails), the temporary is
/// removed and `path` is untouched. Attribute names must be non-empty and other than `pel_checkpoint_format` and
/// `sequence`. \note collective
void write_checkpoint_file(const mpi::Comm& comm, const std::filesystem::path& path,
                           const std::filesystem::path& temporary, std::uint64_t sequence,
                           const std::map<std::string, std::string>& attributes, std::span<const std::byte> meta,
                           const CheckpointPart& part, std::uint64_t piece_bytes,
                           std::uint64_t segment_bytes = kCheckpointSegmentBytes);

/// Reads and verifies the small parts of checkpoint `path` (never its bulk). Throws pel::Error (I/O) naming the file
/// and what is wrong: it cannot be opened or is truncated, a checksum does not match (saying which piece), or its
/// format version is unknown. Not collective.
CheckpointIndex read_checkpoint_index(const std::filesystem::path& path);

/// Reads ranges of the bulk of a checkpoint whose index was read (on any rank): each segment a range touches is
/// read whole and checked against its checksum, once per run of reads that go forward. Not collective.
class CheckpointReader {
  public:
    /// Opens the file of `index` (which must outlive the reader). Throws pel::Error (I/O) if it cannot, or if its
    /// bulk is not the size the index says.
    explicit CheckpointReader(const CheckpointIndex& index);

    /// Copies bytes [from, from + into.size()) of the bulk of writing rank `rank` into `into`. Throws pel::Error
    /// (I/O) naming the file, the rank and the segment if a segment cannot be read or its checksum does not match.
    void read(std::size_t rank, std::uint64_t from, std::span<std::byte> into);
    /// Bytes read from the file so far (whole segments).
    [[nodiscard]] std::uint64_t bytes_read() const noexcept { return bytes_read_; }

  private:
    /// Makes segment `segment` of rank `rank` the one held, reading and checking it unless it already is.
    void hold(std::size_t rank, std::uint64_t segment);

    const CheckpointIndex& index_;
    std::string where_;
    h5::Handle file_;
    h5::Handle bulk_;
    std::vector<std::uint64_t> offsets_;        ///< of each rank's bulk in the dataset
    std::vector<std::uint64_t> first_segment_;  ///< index in segment_sums of each rank's first segment
    std::size_t held_rank_ = 0;
    std::uint64_t held_segment_ = ~std::uint64_t{0};
    std::vector<std::byte> held_;
    std::uint64_t bytes_read_ = 0;
};

/// Reads and verifies the whole of checkpoint `path`: read_checkpoint_index, then every rank's bulk. Not collective.
CheckpointData read_checkpoint(const std::filesystem::path& path);

}  // namespace pel::io
