// pel/random.hpp: counter-based random numbers drawn per item, so results never depend on layout.
//
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC'11): a keyed
// bijection of a 128-bit counter. pel::Rng keys it with the job's seed and counts with (item, stream, draw), so
// item i gets the same numbers whichever rank or thread runs it, in whatever order.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace pel {

/// The Philox4x32-10 block function.
constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr,
                                                  std::array<std::uint32_t, 2> key) noexcept {
    constexpr std::uint64_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
    constexpr std::uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            key[0] += kW0;
            key[1] += kW1;
        }
        const std::uint64_t p0 = kM0 * ctr[0];
        const std::uint64_t p1 = kM1 * ctr[2];
        ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
               static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    }
    return ctr;
}

/// A stream of random numbers owned by one item: Rng(seed, item, stream) always yields the same sequence.
class Rng {
  public:
    constexpr Rng(std::uint64_t seed, std::uint64_t item, std::uint32_t stream = 0) noexcept
        : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
          item_(item),
          stream_(stream) {}

    /// 64 uniformly random bits.
    constexpr std::uint64_t next_u64() noexcept {
        if (have_ == 0) {
            block_ = philox4x32(
                {static_cast<std::uint32_t>(item_), static_cast<std::uint32_t>(item_ >> 32), stream_, draw_++}, key_);
            have_ = 2;
        }
        const auto i = static_cast<std::size_t>(2 - have_--);
        return (static_cast<std::uint64_t>(block_[2 * i]) << 32) | block_[2 * i + 1];
    }

    /// Uniform in [0, 1), 53 random bits.
    constexpr double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

    /// Uniform in (0, 1], never zero, for logarithms.
    constexpr double uniform_open() noexcept { return (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53; }

    /// Standard normal (Box-Muller; uses one fresh pair of uniforms per call, so draws stay reproducible).
    double normal() noexcept {
        const double r = std::sqrt(-2.0 * std::log(uniform_open()));
        return r * std::cos(2.0 * std::numbers::pi * uniform());
    }

    /// Exponential with mean 1.
    double exponential() noexcept { return -std::log(uniform_open()); }

  private:
    std::array<std::uint32_t, 2> key_;
    std::uint64_t item_;
    std::uint32_t stream_;
    std::uint32_t draw_ = 0;
    std::array<std::uint32_t, 4> block_{};
    int have_ = 0;
};

}  // namespace pel
