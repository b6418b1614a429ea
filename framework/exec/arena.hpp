// exec/arena.hpp: zeroed memory handed out in pieces that never move and are freed together.
//
// A rank's per-item output rows live here for the length of a phase: one allocation per megabyte instead of one
// (or three) per chunk, which matters when chunks are single items granted a million times a second.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace pel::exec {

class Arena {
  public:
    static constexpr std::size_t kAlign = 16;

    explicit Arena(std::size_t block_bytes = std::size_t{1} << 20) : block_bytes_(block_bytes) {}

    /// `bytes` of zeroed memory, aligned to kAlign, valid until the arena is destroyed. Not thread-safe: one thread
    /// at a time, the caller sees to it.
    std::byte* allocate(std::size_t bytes) {
        bytes = (std::max<std::size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
        if (bytes > block_bytes_ / 4) {  // a large piece gets a block of its own; the current one stays in use
            return blocks_.emplace_back(std::make_unique<std::byte[]>(bytes)).get();
        }
        if (bytes > left_) {
            next_ = blocks_.emplace_back(std::make_unique<std::byte[]>(block_bytes_)).get();
            left_ = block_bytes_;
        }
        std::byte* piece = next_;
        next_ += bytes;
        left_ -= bytes;
        return piece;
    }

  private:
    const std::size_t block_bytes_;
    std::vector<std::unique_ptr<std::byte[]>> blocks_;  // make_unique<T[]> value-initialises: zeroed
    std::byte* next_ = nullptr;
    std::size_t left_ = 0;
};

}  // namespace pel::exec
