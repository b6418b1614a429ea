// io/checksum.cpp: the checkpoint checksum (see checksum.hpp); its values are pinned by tests/io/checksum_test.cpp.
#include "io/checksum.hpp"

#include <bit>
#include <cstring>

namespace pel::io {

namespace {

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

}  // namespace pel::io
