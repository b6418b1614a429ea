// sched/cost_profile.hpp: what items cost, as measured: lets chunk sizes be chosen by expected time, not count.
#pragma once

#include <cstdint>
#include <vector>

#include "pel/types.hpp"

namespace pel::sched {

/// Measured seconds over an item space [0, items), kept in equal bins of items. The cost of a range is read from
/// the cumulative cost, linear within a bin.
class CostProfile {
  public:
    CostProfile() = default;
    /// `bin_seconds[b]` is the time spent on the items of bin b, which covers [b n / B, (b + 1) n / B).
    CostProfile(std::uint64_t items, std::vector<double> bin_seconds);

    /// How many bins a profile of `items` items has: one per item up to 4096, then 4096.
    static std::size_t bins_for(std::uint64_t items);
    /// The bin of `item` in a profile of `items` items with `bins` bins.
    static std::size_t bin_of(std::uint64_t item, std::uint64_t items, std::size_t bins);
    /// The items of bin `b` of this profile.
    [[nodiscard]] ItemRange bin_items(std::size_t b) const;

    [[nodiscard]] bool empty() const noexcept { return bins_.empty() || total() <= 0; }
    [[nodiscard]] std::uint64_t items() const noexcept { return items_; }
    [[nodiscard]] const std::vector<double>& bins() const noexcept { return bins_; }
    [[nodiscard]] double total() const noexcept { return prefix_.empty() ? 0 : prefix_.back(); }

    /// Expected seconds of items [0, x).
    [[nodiscard]] double cumulative(std::uint64_t x) const;
    /// The smallest end > begin at which [begin, end) is expected to cost at least `seconds` (at most items()).
    [[nodiscard]] std::uint64_t end_for_cost(std::uint64_t begin, double seconds) const;

  private:
    std::uint64_t items_ = 0;
    std::vector<double> bins_;
    std::vector<double> prefix_;  ///< prefix_[b] = cost of bins [0, b); size bins + 1
};

}  // namespace pel::sched
