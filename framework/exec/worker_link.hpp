// exec/worker_link.hpp: a worker rank's link to rank 0's scheduler. It keeps --prefetch requests in flight while
// the team computes, answers rank 0's steal requests and pause notice (from the team's threads between batches, or
// from a helper thread that also sends heartbeats while every thread is inside a long item), gives back what it holds
// unstarted when every thread is inside a long item, and says goodbye at the end of the phase.
#pragma once

#include <atomic>
#include <deque>
#include <exception>
#include <thread>

#include "exec/channel.hpp"
#include "exec/team.hpp"
#include "sched/prefetch.hpp"

namespace pel::exec {

class WorkerLink final : public Link {
  public:
    WorkerLink(const mpi::Comm& comm, const RunConfig& config, Team& team);
    /// Stops the helper thread if end() was not reached (an error on the way out).
    ~WorkerLink() override;
    WorkerLink(const WorkerLink&) = delete;
    WorkerLink& operator=(const WorkerLink&) = delete;

    /// Before the team runs: posts the receive of the phase's first chunk (sent unasked) and starts the helper.
    void begin();
    /// After the team ran: every request answered, goodbye said, steals answered until rank 0 acknowledges. Throws
    /// what broke the helper thread, if anything did (this rank can no longer follow the protocol).
    void end();

    std::optional<ItemRange> fetch() override;
    void between_batches(double now) override;
    void hand_back(ItemRange batch) override;
    void failed() noexcept override {}

    /// Seconds the team waited for rank 0.
    [[nodiscard]] double wait_s() const noexcept { return wait_s_; }

  private:
    void send(const sched::ToRoot& message);
    void beat_if_due();
    void top_up(int depth, bool ahead);
    void collect_arrived();
    void wait_for_front();
    void accept_front();
    void answer_steals(bool idle = false);
    void give_back();
    void take_pause_notice();
    void help() noexcept;

    const mpi::Comm& comm_;
    const RunConfig& config_;
    Team& team_;
    std::deque<channel::PendingAnswer> pending_;  ///< requests whose answer is awaited (deque: never moves)
    std::deque<ItemRange> ready_;                 ///< granted chunks not yet started
    sched::PrefetchDepth depth_;
    std::uint64_t fetched_ = 0;  ///< chunks handed to the team
    bool last_fresh_ = false;    ///< the last answer taken in was a fresh chunk (not held back, nor stolen)
    bool tail_ = false;          ///< a stolen chunk came: rank 0 has no fresh ones left
    bool final_ = false;         ///< rank 0 said PhaseOver or Abort
    bool notice_seen_ = false;   ///< rank 0's PauseNotice was received
    bool signal_sent_ = false;   ///< rank 0 was told of a stop signal here
    double wait_s_ = 0;
    std::atomic<double> polled_{0};  ///< when a thread last looked for steal requests between batches
    std::atomic<double> sent_{0};    ///< when this rank last sent rank 0 anything (now_s())
    double beat_period_s_ = 0;       ///< with heartbeats on: the longest it goes without (0: heartbeats off)
    std::atomic<bool> bye_sent_{false};
    std::atomic<bool> quit_{false};
    std::thread helper_;
    std::exception_ptr helper_error_;
};

}  // namespace pel::exec
