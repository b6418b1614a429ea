// exec/dynamic_phase.hpp: a dynamic phase (pel::Phase::spawn_bytes > 0) on every rank. Spawned items stay on the
// rank that spawned them, in its Frontier, where its threads take them from each other; ranks work in epochs, and
// between two epochs exchange one count each (a collective) that says exactly when the phase is over (no item
// queued or running anywhere), moves the oldest items from ranks with many to ranks with few, and agrees on a
// checkpoint or a stop. An epoch ends for everyone as soon as one rank runs dry, after a time slice, or at a stop
// or a checkpoint falling due: that rank tells the others with a small message. Rank 0 sees no item it did not run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "exec/frontier.hpp"
#include "exec/job_context.hpp"
#include "exec/runner.hpp"
#include "mpi/comm.hpp"

namespace pel::exec {

class DynamicPhase {
  public:
    /// Why run() returned.
    enum class Outcome : std::uint8_t {
        done,        ///< no item is left on any rank
        checkpoint,  ///< a checkpoint fell due on rank 0: save partial_copy() and frontier(), then run() again
        stop,        ///< a rank was asked to stop (signal, time limit): checkpoint, then end the run
        failed,      ///< a rank failed (failure() on that rank says why)
    };

    DynamicPhase(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase);

    /// The job's first items (rank 0, once per phase).
    void seed();
    /// What a checkpoint keeps of this rank in the partial's place: `so_far` (the partial of the items run) and the
    /// queued items.
    [[nodiscard]] std::vector<std::byte> saved_progress(const AnyPartial& so_far) const;
    /// Merges the partial of a rank's saved_progress() into `into` and queues its items (empty `saved`: nothing).
    void load_progress(std::span<const std::byte> saved, AnyPartial& into);

    /// Runs epochs until the phase is over or paused; the same outcome on every rank. A checkpoint falls due when
    /// rank 0's clock (now_s()) passes `checkpoint_at`. \note collective
    Outcome run(double checkpoint_at);

    /// Items queued on this rank (between epochs).
    [[nodiscard]] std::uint64_t queued() const { return frontier_.queued(); }
    /// This rank's partial so far, merged over its threads (a copy; the threads' partials go on).
    [[nodiscard]] std::unique_ptr<AnyPartial> partial_copy() const;
    /// The first error on this rank, if any.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }
    /// Items run on this rank.
    [[nodiscard]] std::uint64_t items() const;
    /// Seconds this rank's threads spent in the kernel, summed.
    [[nodiscard]] double busy_s() const;
    /// Epochs so far.
    [[nodiscard]] std::uint64_t epochs() const noexcept { return epochs_; }

  private:
    /// What a rank says at the end of an epoch.
    struct EpochEnd {
        std::uint64_t queued = 0;
        std::uint8_t ended_here = 0;  ///< this rank ended the epoch and told the others
        std::uint8_t failed = 0;
        std::uint8_t stop = 0;            ///< a stop was asked here
        std::uint8_t checkpoint_due = 0;  ///< rank 0 only
    };

    /// The exchange between two epochs: agrees what happens next (nothing: another epoch) and moves items.
    std::optional<Outcome> exchange();
    void rebalance(const std::vector<EpochEnd>& ends);
    void epoch();
    void thread_main(int t);
    /// Thread 0, during an epoch: the other ranks' ends of it, the slice, the stop signal, the checkpoint.
    void poll(double now);
    void end_epoch_here() noexcept;
    void fail(const Error& error) noexcept;

    JobBase& job_;
    RunContext& ctx_;
    const mpi::Comm& comm_;
    const RunConfig& config_;
    const Phase& phase_;
    Frontier frontier_;
    std::vector<std::unique_ptr<AnyPartial>> partials_;  ///< one per thread
    std::vector<double> busy_;
    std::vector<std::uint64_t> items_;
    double checkpoint_at_ = 0;
    double epoch_start_ = 0;
    double slice_end_ = 0;
    double dry_wait_ = 0;  ///< how long this rank, dry, waits before it ends an epoch (see exchange())
    std::uint64_t epochs_ = 0;
    std::atomic<bool> over_{false};        ///< the epoch is over on this rank
    std::atomic<bool> ended_here_{false};  ///< ... because of something here (not another rank's message)
    std::vector<bool> got_end_;            ///< ranks whose end of this epoch has been received
    std::mutex failure_mutex_;
    std::optional<Error> failure_;
};

}  // namespace pel::exec
