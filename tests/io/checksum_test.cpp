// tests/io/checksum_test.cpp: the checkpoint checksum: stable values, and every byte, the length, the seed and the
// position of the data change it.
#include "io/checksum.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <vector>

using pel::io::checksum;

namespace {

std::vector<std::byte> pattern(std::size_t size, unsigned salt = 0) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 131 + std::size_t{salt} * 29 + 7) & 0xff);
    return bytes;
}

}  // namespace

TEST_CASE("the checksum of the same bytes is the same, and pinned (stored checkpoints depend on it)", "[io]") {
    const auto a = pattern(1000);
    CHECK(checksum(a) == checksum(pattern(1000)));
    CHECK(checksum(a, 5) == checksum(pattern(1000), 5));
    CHECK(checksum({}) == 0x8A3CF4470D20F1A9ULL);
    CHECK(checksum(pattern(3)) == 0x20395CF760E99255ULL);
    CHECK(checksum(a) == 0x4DA2A62011E4BAA7ULL);
    CHECK(checksum(a, 2) == 0x13FDBEF990CA3F6FULL);
}

TEST_CASE("the checksum sees every byte, at every tail length", "[io]") {
    // Lengths 0..15 and 32..47 cover every tail after the 32-byte lanes; each byte of each is flipped in turn.
    for (std::size_t size : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 32, 33, 39, 40, 41, 47, 64, 100}) {
        auto bytes = pattern(size);
        const std::uint64_t base = checksum(bytes);
        for (std::size_t i = 0; i < size; ++i) {
            for (unsigned bit : {0u, 7u}) {
                bytes[i] ^= static_cast<std::byte>(1u << bit);
                CHECK(checksum(bytes) != base);
                bytes[i] ^= static_cast<std::byte>(1u << bit);
            }
        }
        CHECK(checksum(bytes) == base);
    }
}

TEST_CASE("the checksum depends on the length, the seed and nothing else", "[io]") {
    std::set<std::uint64_t> seen;
    for (std::size_t size = 0; size <= 80; ++size) {
        // All-zero inputs differ only in length: a padded tail must not collide with a longer input.
        seen.insert(checksum(std::vector<std::byte>(size)));
    }
    CHECK(seen.size() == 81);
    const auto bytes = pattern(257);
    CHECK(checksum(bytes, 0) != checksum(bytes, 1));
    CHECK(checksum(bytes) != checksum(pattern(257, 1)));
    // The same bytes at an odd address give the same value.
    std::vector<std::byte> shifted(bytes.size() + 3);
    std::copy(bytes.begin(), bytes.end(), shifted.begin() + 3);
    CHECK(checksum(std::span(shifted).subspan(3)) == checksum(bytes));
    // Swapping two words in different lanes changes it.
    auto swapped = bytes;
    std::swap_ranges(swapped.begin(), swapped.begin() + 8, swapped.begin() + 8);
    CHECK(checksum(swapped) != checksum(bytes));
}
