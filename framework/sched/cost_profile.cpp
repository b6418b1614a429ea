// sched/cost_profile.cpp: cumulative cost over items.
#include "sched/cost_profile.hpp"

#include <algorithm>

namespace pel::sched {

namespace {
/// First item of bin b.
std::uint64_t bin_start(std::size_t b, std::uint64_t items, std::size_t bins) { return block_start(b, items, bins); }
}  // namespace

CostProfile::CostProfile(std::uint64_t items, std::vector<double> bin_seconds)
    : items_(items), bins_(std::move(bin_seconds)), prefix_(bins_.size() + 1, 0.0) {
    if (bins_.empty() || bins_.size() > items_) {
        bins_.clear();
        prefix_.assign(1, 0.0);
        return;
    }
    for (std::size_t b = 0; b < bins_.size(); ++b) prefix_[b + 1] = prefix_[b] + std::max(bins_[b], 0.0);
}

std::size_t CostProfile::bins_for(std::uint64_t items) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(items, 4096));
}

std::size_t CostProfile::bin_of(std::uint64_t item, std::uint64_t items, std::size_t bins) {
    // The last bin whose start is at or before `item` (bins are near-equal, so start from the proportional guess).
    auto b =
        static_cast<std::size_t>(static_cast<double>(item) / static_cast<double>(items) * static_cast<double>(bins));
    b = std::min(b, bins - 1);
    while (b + 1 < bins && bin_start(b + 1, items, bins) <= item) ++b;
    while (b > 0 && bin_start(b, items, bins) > item) --b;
    return b;
}

ItemRange CostProfile::bin_items(std::size_t b) const {
    return {bin_start(b, items_, bins_.size()), bin_start(b + 1, items_, bins_.size())};
}

double CostProfile::cumulative(std::uint64_t x) const {
    if (bins_.empty()) return 0;
    if (x >= items_) return total();
    const std::size_t b = bin_of(x, items_, bins_.size());
    const std::uint64_t lo = bin_start(b, items_, bins_.size());
    const std::uint64_t hi = bin_start(b + 1, items_, bins_.size());
    const double within = hi > lo ? static_cast<double>(x - lo) / static_cast<double>(hi - lo) : 0.0;
    return prefix_[b] + within * (prefix_[b + 1] - prefix_[b]);
}

std::uint64_t CostProfile::end_for_cost(std::uint64_t begin, double seconds) const {
    if (begin >= items_) return items_;
    const double goal = cumulative(begin) + seconds;
    // Binary search on items for the first x with cumulative(x) >= goal.
    std::uint64_t lo = begin + 1, hi = items_;
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        if (cumulative(mid) >= goal) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

}  // namespace pel::sched
