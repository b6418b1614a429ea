// pel/exact_sum.hpp: a floating-point sum whose result does not depend on the order of its terms.
//
// Each double is added exactly into a fixed-point accumulator that spans the whole double range (a Kulisch
// accumulator in 32-bit digits held in 64-bit limbs, so carries are deferred). The sum of any set of terms,
// added and merged in any order, is the same exact number, and value() rounds it once, correctly, to a double.
// This is what lets a job's floating-point reductions come out bit-identical on any ranks x threads x chunking.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace pel {

class OutArchive;

namespace detail {
__extension__ typedef unsigned __int128 uint128;  // GCC and Clang; __extension__ keeps -Wpedantic quiet
}  // namespace detail

/// An order-independent, exact sum of doubles. Trivially copyable; 584 bytes.
class ExactSum {
  public:
    ExactSum() = default;

    /// Adds `x` exactly. NaN and infinities are remembered and propagate to value() as IEEE addition would.
    void add(double x) noexcept {
        if (!std::isfinite(x)) {
            flags_ |= std::isnan(x) ? kNan : (x > 0 ? kPosInf : kNegInf);
            return;
        }
        if (x == 0.0) return;
        int exp = 0;
        const double frac = std::frexp(x, &exp);                      // x = frac * 2^exp, 0.5 <= |frac| < 1
        auto mant = static_cast<std::int64_t>(std::ldexp(frac, 53));  // exact: x = mant * 2^(exp - 53)
        int shift = exp - 53 + kBias;
        if (shift < 0) {  // subnormal input: its low bits are zero, so this shift is exact
            mant /= (std::int64_t{1} << -shift);
            shift = 0;
        }
        const bool negative = mant < 0;
        const auto magnitude = static_cast<detail::uint128>(negative ? -mant : mant) << (shift % kDigitBits);
        const int limb = shift / kDigitBits;
        for (int i = 0; i < 3; ++i) {
            const auto digit = static_cast<std::int64_t>((magnitude >> (kDigitBits * i)) & kDigitMask);
            limbs_[static_cast<std::size_t>(limb + i)] += negative ? -digit : digit;
        }
        if (++pending_ >= kMaxPending) normalize();
    }

    ExactSum& operator+=(double x) noexcept {
        add(x);
        return *this;
    }

    /// Adds another exact sum into this one. Merging is exact, so its order never matters.
    void merge(const ExactSum& other) noexcept {
        ExactSum rhs = other;
        if (pending_ + rhs.pending_ + 2 >= kMaxPending) {
            normalize();
            rhs.normalize();
        }
        for (std::size_t i = 0; i < kLimbs; ++i) limbs_[i] += rhs.limbs_[i];
        pending_ += rhs.pending_ + 1;
        flags_ |= rhs.flags_;
    }

    /// The sum, correctly rounded to the nearest double (ties to even).
    [[nodiscard]] double value() const noexcept {
        if ((flags_ & kNan) != 0 || (flags_ & (kPosInf | kNegInf)) == (kPosInf | kNegInf)) {
            return std::numeric_limits<double>::quiet_NaN();
        }
        if ((flags_ & kPosInf) != 0) return std::numeric_limits<double>::infinity();
        if ((flags_ & kNegInf) != 0) return -std::numeric_limits<double>::infinity();

        ExactSum c = *this;
        c.normalize();
        const bool negative = c.limbs_[kLimbs - 1] < 0;
        if (negative) {
            for (auto& l : c.limbs_) l = -l;
            c.normalize();
        }
        int top = static_cast<int>(kLimbs) - 1;
        while (top >= 0 && c.limbs_[static_cast<std::size_t>(top)] == 0) --top;
        if (top < 0) return 0.0;
        if (c.limbs_[static_cast<std::size_t>(top)] > static_cast<std::int64_t>(kDigitMask)) {
            return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
        }
        // Gather the top four digits (128 bits), then fold everything below into a sticky bit.
        detail::uint128 bits = 0;
        for (int j = 0; j < 4; ++j) {
            const int i = top - j;
            bits =
                (bits << kDigitBits) | (i >= 0 ? static_cast<std::uint64_t>(c.limbs_[static_cast<std::size_t>(i)]) : 0);
        }
        bool sticky = false;
        for (int i = 0; i < top - 3; ++i) sticky = sticky || c.limbs_[static_cast<std::size_t>(i)] != 0;
        const auto high = static_cast<std::uint64_t>(bits >> 64);
        const auto low = static_cast<std::uint64_t>(bits);
        const int lead = high != 0 ? std::countl_zero(high) : 64 + std::countl_zero(low);
        bits <<= lead;
        std::uint64_t head = static_cast<std::uint64_t>(bits >> 64);
        if (static_cast<std::uint64_t>(bits) != 0 || sticky) head |= 1;  // below the rounding bit: exact rounding
        const int exponent = kDigitBits * (top - 3) - kBias - lead + 64;
        const double magnitude = std::ldexp(static_cast<double>(head), exponent);
        return negative ? -magnitude : magnitude;
    }

    /// Lists the state for pel's archives (checkpoints and partial-result transfer). Saved carried (normalized), so
    /// that equal sums save equal bytes however they were added and merged (what --check-merge compares).
    template <class Archive>
    void fields(Archive& a) {
        if constexpr (std::is_same_v<Archive, OutArchive>) {
            ExactSum carried = *this;
            carried.normalize();
            a("limbs", carried.limbs_)("pending", carried.pending_)("flags", carried.flags_);
        } else {
            a("limbs", limbs_)("pending", pending_)("flags", flags_);
        }
    }

  private:
    static constexpr int kDigitBits = 32;
    static constexpr std::uint64_t kDigitMask = 0xffffffffu;
    static constexpr int kBias = 1074;         // weight of limb 0's lowest bit is 2^-1074, the smallest subnormal
    static constexpr std::size_t kLimbs = 72;  // 72 * 32 bits reach 2^1230, far past DBL_MAX
    static constexpr std::uint32_t kMaxPending = 1u << 30;  // digits < 2^32, so limbs stay below 2^62
    static constexpr std::uint8_t kNan = 1, kPosInf = 2, kNegInf = 4;

    /// Propagates carries so every limb but the top one holds a digit in [0, 2^32).
    void normalize() noexcept {
        for (std::size_t i = 0; i + 1 < kLimbs; ++i) {
            const std::int64_t carry = limbs_[i] >> kDigitBits;  // arithmetic shift: floor division
            limbs_[i] -= carry * (std::int64_t{1} << kDigitBits);
            limbs_[i + 1] += carry;
        }
        pending_ = 0;
    }

    std::array<std::int64_t, kLimbs> limbs_{};
    std::uint32_t pending_ = 0;
    std::uint8_t flags_ = 0;
};

}  // namespace pel
