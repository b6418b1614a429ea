// io/checkpoint.hpp: the checkpoint store. One HDF5 file per checkpoint, written by all ranks together, made
// visible by an atomic rename only once complete and on disk, and every stored piece covered by a checksum, so
// that a crash at any moment leaves the newest complete checkpoint readable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mpi/comm.hpp"

namespace pel::io {

/// A 64-bit checksum of `bytes`: four independent lanes of 8-byte words with multiply/rotate mixing, then the
/// tail and the length, then a final avalanche. Several GB/s; the same on every machine of the same endianness.
std::uint64_t checksum(std::span<const std::byte> bytes, std::uint64_t seed = 0);

/// One checkpoint as read back.
struct CheckpointData {
    std::filesystem::path path;                     ///< the file it came from
    std::uint64_t sequence = 0;                     ///< the number it was written with
    std::map<std::string, std::string> attributes;  ///< text metadata (job, job_version, options_hash, ...)
    std::vector<std::byte> meta;                    ///< rank 0's blob
    std::vector<std::vector<std::byte>> blobs;      ///< one per rank of the run that wrote it
};

/// The file name of checkpoint `sequence`: `ckpt-<sequence, at least 8 digits>.h5`.
std::string checkpoint_name(std::uint64_t sequence);

/// Writes checkpoint `sequence` into `dir` (created if missing) as checkpoint_name(sequence) and returns its path.
/// Every rank passes its own blob `mine`; rank 0's `attributes` and `meta` are stored. The file is written under a
/// temporary name in `dir` and renamed once it is complete and synced to disk, so the final name never holds a
/// partial file. Then the oldest checkpoints are deleted so that `keep` remain (`keep` <= 0 keeps all).
/// On any failure every rank throws the same pel::Error (I/O) naming the path and the reason, the temporary file is
/// removed, and earlier checkpoints are untouched. Attribute names must be non-empty and other than
/// `pel_checkpoint_format` and `sequence`. \note collective
std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, std::span<const std::byte> mine, int keep);

/// The checkpoints in `dir`, newest (highest sequence) first; none if `dir` does not exist. Temporaries and other
/// files are ignored. Not collective.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir);

/// Reads and verifies checkpoint `path`. Throws pel::Error (I/O) naming the file and what is wrong: it cannot be
/// opened or is truncated, a checksum does not match (saying which piece), or its format version is unknown.
/// Not collective.
CheckpointData read_checkpoint(const std::filesystem::path& path);

/// The newest checkpoint in `dir` that verifies, or nothing if none does (or none exists). Each damaged newer one
/// adds a line to `warnings` naming the file and the problem. Not collective.
std::optional<CheckpointData> read_newest_checkpoint(const std::filesystem::path& dir,
                                                     std::vector<std::string>& warnings);

namespace detail {
/// write_checkpoint with each rank's data written in collective pieces of at most `piece_bytes` (for tests; the
/// public call uses 16 MiB pieces). \note collective
std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, std::span<const std::byte> mine, int keep,
                                       std::uint64_t piece_bytes);
}  // namespace detail

}  // namespace pel::io
