// io/checkpoint_file.hpp: one checkpoint file: written by all ranks together through a temporary that takes the
// final name only once complete and on disk, every stored piece covered by a checksum, and read back verified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "mpi/comm.hpp"

namespace pel::io {

/// One checkpoint as read back.
struct CheckpointData {
    std::filesystem::path path;                     ///< the file it came from
    std::uint64_t sequence = 0;                     ///< the number it was written with
    std::map<std::string, std::string> attributes;  ///< text metadata (job, job_version, options_hash, ...)
    std::vector<std::byte> meta;                    ///< rank 0's blob
    std::vector<std::vector<std::byte>> blobs;      ///< one per rank of the run that wrote it
};

/// Writes checkpoint `sequence` as `path`, through `temporary` (in the same directory, which must exist): every
/// rank passes its own blob `mine`, written in collective pieces of at most `piece_bytes`; rank 0's `attributes`
/// and `meta` are stored. `temporary` is renamed to `path` once complete and synced to disk, so `path` never holds
/// a partial file. On any failure every rank throws the same pel::Error (I/O) naming the file and the reason (with
/// the free space left, when a write fails), the temporary is removed and `path` is untouched. Attribute names must
/// be non-empty and other than `pel_checkpoint_format` and `sequence`. \note collective
void write_checkpoint_file(const mpi::Comm& comm, const std::filesystem::path& path,
                           const std::filesystem::path& temporary, std::uint64_t sequence,
                           const std::map<std::string, std::string>& attributes, std::span<const std::byte> meta,
                           std::span<const std::byte> mine, std::uint64_t piece_bytes);

/// Reads and verifies checkpoint `path`. Throws pel::Error (I/O) naming the file and what is wrong: it cannot be
/// opened or is truncated, a checksum does not match (saying which piece), or its format version is unknown.
/// Not collective.
CheckpointData read_checkpoint(const std::filesystem::path& path);

}  // namespace pel::io
