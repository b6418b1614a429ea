// exec/progress.hpp: where a run is, as rank 0 knows it, readable from another thread while the run goes on.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace pel::exec {

/// Rank 0's view of the run, updated by the run and read by a status or progress writer on another thread.
struct Progress {
    std::atomic<int> phase{-1};  ///< index of the phase in progress (-1: not started)
    std::atomic<int> phases_done{0};
    std::atomic<std::uint64_t> items_total{0};  ///< of the phase in progress
    std::atomic<std::uint64_t> items_done{0};   ///< of the phase in progress, as reported to rank 0
    std::atomic<std::uint64_t> checkpoints{0};  ///< written so far

    void set_phase(int index, const std::string& name, std::uint64_t items, std::uint64_t done) {
        const std::lock_guard lock(mutex_);
        phase_name_ = name;
        items_total = items;
        items_done = done;
        phase = index;
    }
    [[nodiscard]] std::string phase_name() const {
        const std::lock_guard lock(mutex_);
        return phase_name_;
    }

  private:
    mutable std::mutex mutex_;
    std::string phase_name_;
};

}  // namespace pel::exec
