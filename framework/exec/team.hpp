// exec/team.hpp: a rank's OpenMP team in one phase. Its threads share the rank's current chunk through the chunk's
// cursor, each claiming a batch of items at a time and running the job's kernel on it; the thread that finds the
// chunk used up asks the rank's Link (to rank 0's scheduler) for the next one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "exec/chunk.hpp"
#include "exec/job_context.hpp"
#include "exec/runner.hpp"
#include "pel/job.hpp"
#include "sched/policy.hpp"

namespace pel::exec {

/// A rank's link to the scheduler: where its team gets chunks, and what it says between batches. RootLink on rank
/// 0 (the scheduler itself), WorkerLink on the others.
class Link {
  public:
    virtual ~Link() = default;
    /// The next chunk for this rank, or nothing when the phase is over for it. Called under the team's lock.
    virtual std::optional<ItemRange> fetch() = 0;
    /// A thread finished a batch at `now`, with more of its chunk left: rank 0 answers the requests that came, a
    /// worker the steal requests. Not under the team's lock.
    virtual void between_batches(double now) = 0;
    /// A batch threw and its items go back to rank 0 to run again or be skipped (retries on). Any thread.
    virtual void hand_back(ItemRange batch) = 0;
    /// This rank failed and its team stops: rank 0 answers every request with Abort from now on. Never throws.
    virtual void failed() noexcept = 0;
};

/// A rank's team of threads for one phase (or one round of it, between checkpoints).
class Team {
  public:
    Team(JobBase& job, RunContext& ctx, const RunConfig& config, const Phase& phase, int phase_index, Chunks& chunks);

    /// Processes chunks with config.threads threads until `link` has no more or the team stops. An exception
    /// anywhere in a thread (the kernel without retries, the link, the job's partials) stops the team and is kept
    /// as failure(), with `link` told; it never leaves the parallel region.
    void run(Link& link);

    // ----- Shared with the link -----

    /// Serialises fetching, adding chunks and, on a worker, its MPI calls.
    std::mutex& lock() noexcept { return lock_; }
    /// The chunk the threads claim from (null before the first).
    [[nodiscard]] Chunk* current() const noexcept { return current_.load(std::memory_order_acquire); }
    /// Makes `range` the current chunk. Under lock().
    void set_current(ItemRange range) { current_.store(&chunks_.add(range), std::memory_order_release); }
    /// Stop claiming items: the phase pauses (chunks not started stay undone).
    void pause() noexcept { pause_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool paused() const noexcept { return pause_.load(std::memory_order_relaxed); }
    /// Stop: the run ends (rank 0 said Abort, or this rank failed).
    void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool stopped() const noexcept { return stop_.load(std::memory_order_relaxed); }
    /// What the team finished since the last call: the report rank 0 learns from.
    sched::Report take_report();
    /// Every thread is inside a batch it began longer than long_batch_s() ago, at `now` (now_s()): items this rank
    /// holds and has not started would wait behind them. Thread-safe.
    [[nodiscard]] bool stuck(double now) const;
    /// How long a batch must have run to count as long: kLongBatchFactor times this rank's typical batch (the
    /// geometric mean of those finished, which a few long ones do not pull up), and at least kLongBatchFloor;
    /// kFirstBatchFloor while none is finished.
    [[nodiscard]] double long_batch_s() const;
    /// The floor: long beside a round trip to rank 0 even on a loaded or oversubscribed machine, so that what a
    /// stuck rank gives back is not wanted back a moment later; short beside the items that hold others hostage.
    static constexpr double kLongBatchFloor = 0.1;
    static constexpr double kLongBatchFactor = 4.0;
    /// Before any batch is measured, items of a few tenths of a second (a task farm's) would all count as long and
    /// every rank would give back its chunks at the start (measured: six ranks of 0.2 s tasks all did).
    static constexpr double kFirstBatchFloor = 0.5;
    /// Items finished and not yet taken by take_report().
    [[nodiscard]] std::uint64_t unreported() const noexcept {
        return unreported_items_.load(std::memory_order_relaxed);
    }
    /// Records `error` as this rank's failure (the first one wins) and stops the team. Thread-safe; never throws.
    void fail(const Error& error) noexcept;
    /// The first error on this rank, if any.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }

    // ----- After run() -----

    /// This rank's partial of the phase, merged over its threads.
    std::unique_ptr<AnyPartial> take_partial();
    [[nodiscard]] std::uint64_t items() const;
    [[nodiscard]] double busy_s() const;
    /// Seconds this rank spent per bin of items (see sched::CostProfile), summed over its threads.
    [[nodiscard]] std::vector<double> measured_bins() const;

  private:
    void thread_main(int tid, Link& link);
    void record_cost(std::vector<double>& bins, ItemRange batch, double seconds) const;
    void kernel_failed(ItemRange batch, const std::exception& e, Link& link);

    JobBase& job_;
    RunContext& ctx_;
    const RunConfig& config_;
    const Phase& phase_;
    const int phase_index_;
    Chunks& chunks_;

    std::mutex lock_;
    std::atomic<Chunk*> current_{nullptr};
    bool finished_ = false;  ///< the link had no more (under lock_)
    std::atomic<bool> stop_{false};
    std::atomic<bool> pause_{false};
    std::atomic<std::uint64_t> unreported_items_{0};
    std::atomic<std::uint64_t> unreported_ns_{0};
    std::mutex failure_mutex_;
    std::optional<Error> failure_;

    std::vector<std::unique_ptr<AnyPartial>> partials_;
    std::vector<double> thread_busy_;
    std::vector<std::uint64_t> thread_items_;
    std::vector<std::vector<double>> thread_bins_;  ///< per thread: seconds per bin of items

    /// Per thread, written by it alone and read by stuck(): when its batch in progress began (0: none in progress),
    /// and the count and the sum of the logarithms of the durations of its finished batches.
    struct alignas(64) BatchClock {
        std::atomic<double> started{0};
        std::atomic<std::uint64_t> batches{0};
        std::atomic<double> log_sum{0};
    };
    std::unique_ptr<BatchClock[]> clocks_;
};

}  // namespace pel::exec
