// sched/prefetch.hpp: how many chunk requests a worker keeps in flight while it computes (--prefetch).
#pragma once

#include <algorithm>

namespace pel::sched {

/// A worker's prefetch depth: fixed, or (auto) learned from whether its chunks arrive in time. Auto starts at one,
/// goes one deeper each time a fresh chunk came late (its request's round trip was not hidden), and one shallower
/// after kPatience chunks in a row that were there when needed. Held-back and stolen grants do not count: their
/// wait is no latency that asking earlier would hide.
class PrefetchDepth {
  public:
    /// The deepest auto goes, and the run of chunks on time after which it asks one fewer ahead.
    static constexpr int kMaxAuto = 16;
    static constexpr int kPatience = 64;

    /// `setting`: a fixed depth (0: ask only when out of work), or -1 for auto.
    explicit PrefetchDepth(int setting) : auto_(setting < 0), depth_(setting < 0 ? 1 : setting) {}

    /// Requests to keep in flight (or answered and waiting) while the worker computes.
    [[nodiscard]] int depth() const noexcept { return depth_; }

    /// A chunk was there when the worker needed it.
    void on_time() noexcept {
        if (auto_ && ++on_time_ >= kPatience && depth_ > 1) {
            --depth_;
            on_time_ = 0;
        }
    }
    /// The worker waited for a fresh chunk it had asked for while computing.
    void late() noexcept {
        if (!auto_) return;
        depth_ = std::min(depth_ + 1, kMaxAuto);
        on_time_ = 0;
    }

  private:
    bool auto_;
    int depth_;
    int on_time_ = 0;
};

}  // namespace pel::sched
