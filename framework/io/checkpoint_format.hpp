// io/checkpoint_format.hpp: the layout of a checkpoint file, shared by its writer and its readers (internal to io).
//
// Format 2. Root attributes: `pel_checkpoint_format` ("2"), `sequence` (u64) and the caller's text attributes
// (fixed-length strings, so they sit in checksummed object headers). Datasets (u8 unless said):
//   meta                rank 0's blob
//   records             every rank's record, concatenated in rank order; record_sizes (u64 [ranks])
//   bulk                every rank's bulk, concatenated in rank order; bulk_sizes (u64 [ranks])
//   segment_sums (u64)  each rank's bulk in segments of `segment_bytes` (its attribute, u64) from the start of that
//                       rank's bulk (the last one shorter): checksum(segment k of rank r, segment_seed(r, k)), in
//                       rank order
//   checksums (u64)     [3 + ranks]: piece 0 the header (format, sequence, attributes and every size, as
//                       pel::OutArchive writes header_record), 1 meta, 2 the bytes of segment_sums, 3 + r the
//                       record of rank r; checksums[i] = checksum(piece i, seed i)
// Format 1 (pel before ranks read their share of a resume) kept each rank's rows inside one blob: it is refused.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pel/archive.hpp"

namespace pel::io::checkpoint_format {

inline constexpr const char* kFormatAttribute = "pel_checkpoint_format";
inline constexpr const char* kFormat = "2";
inline constexpr const char* kSequenceAttribute = "sequence";
inline constexpr const char* kSegmentBytesAttribute = "segment_bytes";

inline constexpr const char* kMeta = "meta";
inline constexpr const char* kRecords = "records";
inline constexpr const char* kRecordSizes = "record_sizes";
inline constexpr const char* kBulk = "bulk";
inline constexpr const char* kBulkSizes = "bulk_sizes";
inline constexpr const char* kSegmentSums = "segment_sums";
inline constexpr const char* kChecksums = "checksums";

/// Seeds of the pieces in `checksums`.
inline constexpr std::uint64_t kHeaderSeed = 0;
inline constexpr std::uint64_t kMetaSeed = 1;
inline constexpr std::uint64_t kSegmentSumsSeed = 2;
inline std::uint64_t record_seed(std::uint64_t rank) { return 3 + rank; }
/// The seed of segment k of rank r's bulk: a segment moved to another place fails its checksum.
inline std::uint64_t segment_seed(std::uint64_t rank, std::uint64_t k) { return ((rank + 1) << 40) + k; }

/// The number of segments of `bytes` bytes.
inline std::uint64_t segments(std::uint64_t bytes, std::uint64_t segment_bytes) {
    return (bytes + segment_bytes - 1) / segment_bytes;
}

inline void save_attributes(OutArchive& out, const std::map<std::string, std::string>& attributes) {
    out(static_cast<std::uint64_t>(attributes.size()));
    for (const auto& [name, value] : attributes) out(name)(value);
}

inline std::map<std::string, std::string> load_attributes(InArchive& in) {
    std::uint64_t n = 0;
    in(n);
    if (n > in.remaining()) throw Error::Io("checkpoint attributes are corrupt");
    std::map<std::string, std::string> attributes;
    for (; n > 0; --n) {
        std::string name, value;
        in(name)(value);
        attributes.emplace(std::move(name), std::move(value));
    }
    return attributes;
}

/// What every stored size and name depends on: checksummed as piece 0.
inline std::vector<std::byte> header_record(std::uint64_t sequence,
                                            const std::map<std::string, std::string>& attributes,
                                            std::uint64_t meta_size, const std::vector<std::uint64_t>& record_sizes,
                                            const std::vector<std::uint64_t>& bulk_sizes, std::uint64_t segment_bytes) {
    OutArchive out;
    out(std::string(kFormat))(sequence);
    save_attributes(out, attributes);
    out(meta_size)(record_sizes)(bulk_sizes)(segment_bytes);
    return out.take();
}

}  // namespace pel::io::checkpoint_format
