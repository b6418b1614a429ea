// exec/progress.hpp: where a run is, as rank 0 knows it, readable from another thread while the run goes on; and
// the figures a person wants from it (percent, rate, ETA).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace pel::exec {

/// Rank 0's view of the run, updated by the run and read by a status or progress writer on another thread.
struct Progress {
    using Clock = std::chrono::steady_clock;

    std::atomic<int> phase{-1};  ///< index of the phase in progress (-1: not started)
    std::atomic<int> phases_done{0};
    std::atomic<std::uint64_t> items_total{0};  ///< of the phase in progress
    std::atomic<std::uint64_t> items_done{0};   ///< of the phase in progress, as reported to rank 0
    std::atomic<std::uint64_t> checkpoints{0};  ///< written so far

    /// One consistent reading of the fields, for a reader on another thread.
    struct Snapshot {
        int phase = -1;
        int phases_done = 0;
        std::string phase_name;
        std::uint64_t items_total = 0;
        std::uint64_t items_done = 0;
        std::uint64_t checkpoints = 0;
        Clock::time_point phase_started;  ///< when the phase in progress began
        std::uint64_t done_at_start = 0;  ///< its items done when it began (from a checkpoint)
    };

    void set_phase(int index, const std::string& name, std::uint64_t items, std::uint64_t done) {
        const std::lock_guard lock(mutex_);
        phase_name_ = name;
        phase_started_ = Clock::now();
        done_at_start_ = done;
        items_total = items;
        items_done = done;
        phase = index;
    }
    [[nodiscard]] std::string phase_name() const {
        const std::lock_guard lock(mutex_);
        return phase_name_;
    }
    [[nodiscard]] Snapshot snapshot() const {
        const std::lock_guard lock(mutex_);
        return {phase.load(),      phases_done.load(), phase_name_,    items_total.load(),
                items_done.load(), checkpoints.load(), phase_started_, done_at_start_};
    }

  private:
    mutable std::mutex mutex_;
    std::string phase_name_;
    Clock::time_point phase_started_;
    std::uint64_t done_at_start_ = 0;
};

/// What a progress report shows, worked out from readings of a Progress.
struct ProgressFigures {
    int phase = -1;  ///< -1: no phase has begun (the job is setting up)
    std::string phase_name;
    int phases_done = 0;
    std::uint64_t items_done = 0;   ///< of the phase in progress
    std::uint64_t items_total = 0;  ///< of the phase in progress
    std::uint64_t checkpoints = 0;
    bool phase_finished = false;  ///< the phase's items are all done (it may still be combining and writing)
    double percent = 0;           ///< of the phase's items done
    double rate = 0;              ///< items per second over the recent window (0: not known yet)
    double elapsed_s = 0;         ///< since the run started
    double eta_s = -1;            ///< seconds until the phase's items are done (-1: not known yet)
};

/// Turns readings of a Progress into figures; the rate is over the last `window_s` seconds (since the phase began,
/// when it is younger), so that it follows a run that speeds up or slows down. One reader each: not thread-safe.
class ProgressMeter {
  public:
    using Clock = Progress::Clock;

    explicit ProgressMeter(Clock::time_point run_started, double window_s = 20.0)
        : run_started_(run_started), window_s_(window_s) {}

    /// Reads `progress` now.
    ProgressFigures read(const Progress& progress) { return read(progress.snapshot(), Clock::now()); }

    /// The figures of a snapshot taken at `now`.
    ProgressFigures read(const Progress::Snapshot& s, Clock::time_point now) {
        ProgressFigures f;
        f.phase = s.phase;
        f.phase_name = s.phase_name;
        f.phases_done = s.phases_done;
        f.checkpoints = s.checkpoints;
        f.elapsed_s = seconds(now - run_started_);
        if (s.phase < 0) return f;
        f.phase_finished = s.phases_done > s.phase;
        f.items_total = s.items_total;
        f.items_done = f.phase_finished ? s.items_total : std::min(s.items_done, s.items_total);
        f.percent =
            s.items_total == 0 ? 100.0 : 100.0 * static_cast<double>(f.items_done) / static_cast<double>(s.items_total);
        if (s.phase != phase_) {  // a new phase: its rate starts from its beginning
            phase_ = s.phase;
            samples_.clear();
            samples_.push_back({s.phase_started, s.done_at_start});
        }
        samples_.push_back({now, f.items_done});
        // Keep one sample at or before the window's start, so that the rate spans the whole window.
        const Clock::time_point since =
            now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(window_s_));
        while (samples_.size() > 2 && samples_[1].at <= since) samples_.pop_front();
        const double span = seconds(now - samples_.front().at);
        if (span >= 0.5 && f.items_done >= samples_.front().done) {
            f.rate = static_cast<double>(f.items_done - samples_.front().done) / span;
        }
        if (f.phase_finished) {
            f.eta_s = 0;
        } else if (f.rate > 0) {
            f.eta_s = static_cast<double>(f.items_total - f.items_done) / f.rate;
        }
        return f;
    }

  private:
    struct Sample {
        Clock::time_point at;
        std::uint64_t done;
    };
    static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

    Clock::time_point run_started_;
    double window_s_;
    int phase_ = -1;
    std::deque<Sample> samples_;
};

}  // namespace pel::exec
