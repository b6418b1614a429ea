// io/checksum.hpp: the 64-bit checksum that covers every stored piece of a checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pel::io {

/// A 64-bit checksum of `bytes`: four independent lanes of 8-byte words with multiply/rotate mixing, then the
/// tail and the length, then a final avalanche. Several GB/s; the same on every machine of the same endianness.
/// Stored checkpoints depend on its values: they must never change.
std::uint64_t checksum(std::span<const std::byte> bytes, std::uint64_t seed = 0);

}  // namespace pel::io
