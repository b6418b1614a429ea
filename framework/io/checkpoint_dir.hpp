// io/checkpoint_dir.hpp: the checkpoint directory: one file per checkpoint, named by its sequence number; writing
// the next one and pruning old ones, listing them, finding the newest that verifies, removing them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/checkpoint_file.hpp"
#include "mpi/comm.hpp"

namespace pel::io {

/// The file name of checkpoint `sequence`: `ckpt-<sequence, at least 8 digits>.h5`.
std::string checkpoint_name(std::uint64_t sequence);

/// The sequence number of checkpoint file `path` (by its name), or nothing if it is not named as one.
std::optional<std::uint64_t> checkpoint_sequence(const std::filesystem::path& path);

/// Writes checkpoint `sequence` into `dir` (created if missing) as checkpoint_name(sequence) and returns its path:
/// see write_checkpoint_file (every rank passes its `part`); its temporary is that name + `.part`. Then the oldest
/// checkpoints are deleted so that `keep` remain (`keep` <= 0 keeps all), with the temporaries of earlier writes that
/// were killed. On any failure every rank throws the same pel::Error (I/O) naming the path and the reason, and earlier
/// checkpoints are untouched. \note collective
std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, const CheckpointPart& part, int keep);

/// The checkpoints in `dir`, newest (highest sequence) first; none if `dir` does not exist. Temporaries and other
/// files are ignored. Not collective.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir);

/// Deletes every checkpoint in `dir` and the temporaries of killed writes, then `dir` itself if nothing else is
/// left in it. Throws pel::Error (I/O) if `dir` cannot be listed; a file that cannot be deleted stays. Not
/// collective.
void remove_checkpoints(const std::filesystem::path& dir);

namespace detail {
/// write_checkpoint with each rank's data written in collective pieces of at most `piece_bytes` and its bulk
/// checksummed in segments of `segment_bytes` (for tests; the public call uses 16 MiB pieces and
/// kCheckpointSegmentBytes). \note collective
std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, const CheckpointPart& part, int keep,
                                       std::uint64_t piece_bytes, std::uint64_t segment_bytes);
}  // namespace detail

}  // namespace pel::io
