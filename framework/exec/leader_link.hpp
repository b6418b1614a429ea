// exec/leader_link.hpp: a group leader's link to rank 0, with two scheduling levels (exec/levels.hpp). Towards rank
// 0 a leader is a worker: it asks for chunks (large ones: rank 0 weights each leader by its group's size), gives up
// a chunk not yet started when rank 0 steals for another group, passes on stop signals and pauses, and says goodbye.
// Towards its group it is a root: its RootLink runs a sched::Scheduler fed with those chunks (Scheduler::supply),
// so that stealing happens inside the group first, and between groups through rank 0.
#pragma once

#include <deque>

#include "exec/channel.hpp"
#include "exec/root_link.hpp"

namespace pel::exec {

class LeaderLink final : public Upstream {
  public:
    /// `top`: rank 0 and the leaders; `team`: this leader's own team (for its failure).
    LeaderLink(const mpi::Comm& top, const RunConfig& config, Team& team);

    /// Before the group's root begins: posts the receive of the phase's first chunk (rank 0 sends it unasked).
    void begin();
    /// Under the group root's lock, wherever it serves: supplies chunks that came, answers rank 0's steal requests
    /// and pause notice, passes a stop signal or a pause of the group on, asks for the next chunk when the group
    /// is about to run out, and tells rank 0 what the group finished.
    void poll(sched::Scheduler& group, double now) override;
    /// After the group's root ended (every member acknowledged): every request answered, goodbye said, rank 0's
    /// acknowledgement taken. `group` is the root's scheduler.
    void end(const sched::Scheduler& group);

  private:
    void send(const sched::ToRoot& message, double now);
    sched::Report report(const sched::Scheduler& group);
    void take_answer(sched::Scheduler* group);
    void answer_control(sched::Scheduler* group);

    const mpi::Comm& top_;
    const RunConfig& config_;
    Team& team_;
    std::deque<channel::PendingAnswer> pending_;  ///< requests to rank 0 whose answer is awaited
    bool final_ = false;                          ///< rank 0 said PhaseOver or Abort
    bool notice_seen_ = false;                    ///< rank 0's PauseNotice came
    bool signal_sent_ = false;                    ///< rank 0 was told of a stop signal or a pause here
    std::uint64_t last_chunk_ = 0;                ///< items in the last chunk rank 0 granted
    std::uint64_t supplied_ = 0;                  ///< items rank 0 granted, less those given back
    std::uint64_t reported_items_ = 0;            ///< the group's items already reported to rank 0
    double reported_busy_ = 0;
    double sent_ = 0;           ///< when rank 0 was last told anything (now_s())
    double beat_period_s_ = 0;  ///< with heartbeats on: the longest the leader goes without a message
};

}  // namespace pel::exec
