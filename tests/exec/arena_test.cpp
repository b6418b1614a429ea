// tests/exec/arena_test.cpp: the arena that holds a phase's rows hands out zeroed, aligned pieces that never move.
#include "exec/arena.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <vector>

using pel::exec::Arena;

TEST_CASE("arena pieces are zeroed, aligned, disjoint and stay put", "[arena]") {
    Arena arena(256);
    std::vector<std::pair<std::byte*, std::size_t>> pieces;
    for (std::size_t i = 0; i < 200; ++i) {
        const std::size_t bytes = (i * 37) % 300;  // some larger than a block, some empty
        std::byte* p = arena.allocate(bytes);
        REQUIRE(reinterpret_cast<std::uintptr_t>(p) % Arena::kAlign == 0);
        for (std::size_t b = 0; b < bytes; ++b) REQUIRE(p[b] == std::byte{0});
        std::memset(p, static_cast<int>(i % 251) + 1, bytes);
        pieces.emplace_back(p, bytes);
    }
    // Every piece still holds what was written into it: none moved, none overlaps another.
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const auto [p, bytes] = pieces[i];
        for (std::size_t b = 0; b < bytes; ++b) REQUIRE(p[b] == static_cast<std::byte>(i % 251 + 1));
    }
}
