// exec/root_link.hpp: rank 0's side of a phase. It owns the phase's sched::Scheduler and carries its actions over
// MPI: rank 0's threads answer the requests that have come between their batches (a try-lock, so at most one
// serves), and a server thread, asleep when there is nothing to do, answers whatever they leave (one long item would
// otherwise leave every worker waiting) and gives back what rank 0 holds unstarted while its threads are all inside
// long items. Rank 0's own team gets its chunks from the same scheduler.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exec/team.hpp"
#include "mpi/comm.hpp"
#include "sched/scheduler.hpp"

namespace pel::exec {

/// The level above a group leader's root (exec/leader_link.hpp): polled wherever the root serves, under its lock.
class Upstream {
  public:
    virtual ~Upstream() = default;
    /// Takes in what rank 0 sent, passes it to `scheduler`, and tells rank 0 what the group needs; the root carries
    /// out the scheduler's actions afterwards.
    virtual void poll(sched::Scheduler& scheduler, double now) = 0;
};

class RootLink final : public Link, private sched::OwnTeam {
  public:
    /// Schedules `todo` (sorted, disjoint ranges of the phase's items) until done, or until the phase pauses at
    /// `pause_at` (now_s() clock), at the time limit or on a stop signal. `hosts`: every rank's host, for messages.
    RootLink(const mpi::Comm& comm, const RunConfig& config, Team& team, const Phase& phase, int phase_index,
             std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts);
    /// Stops the server thread if end() was not reached (an error on the way out).
    ~RootLink() override;
    RootLink(const RootLink&) = delete;
    RootLink& operator=(const RootLink&) = delete;

    /// Sizes chunks by measured costs. Before begin().
    void use_profile(sched::CostProfile profile) { scheduler_.use_profile(std::move(profile)); }
    /// Serves a group whose items come from `upstream` (a leader's link to rank 0), which outlives this. Before
    /// begin().
    void lead(Upstream& upstream) {
        upstream_ = &upstream;
        scheduler_.expect_supply();
    }
    /// Before the team runs: rank 0's first chunk becomes the team's, every worker gets its first, and the server
    /// thread starts.
    void begin();
    /// After the team ran: returns once every worker has said goodbye and been acknowledged. Throws what broke the
    /// server thread, if anything did (rank 0 can no longer follow the protocol).
    void end();

    std::optional<ItemRange> fetch() override;
    void between_batches(double now) override;
    void hand_back(ItemRange batch) override;
    void failed() noexcept override;

    /// Items given up after their retries.
    [[nodiscard]] const std::vector<sched::SkippedItem>& skipped() const noexcept { return scheduler_.skipped(); }
    /// The scheduler, for a leader's goodbye to rank 0 after end().
    [[nodiscard]] const sched::Scheduler& scheduler() const noexcept { return scheduler_; }
    /// The phase paused before all its items were done.
    [[nodiscard]] bool paused() const noexcept { return scheduler_.pausing(); }
    [[nodiscard]] double wait_s() const noexcept { return wait_s_; }
    [[nodiscard]] double serve_s() const noexcept { return serve_s_; }
    [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
    [[nodiscard]] std::uint64_t steals() const noexcept { return scheduler_.steals(); }

  private:
    // sched::OwnTeam: rank 0's current chunk, for thieves.
    std::uint64_t unclaimed() override;
    ItemRange split() override;
    [[nodiscard]] std::uint64_t unreported() const override { return team_.unreported(); }

    void serve(double now);
    void poll_upstream(double now);
    void answer(int source, double probed);
    void carry_out();
    void serve_until_all_done() noexcept;
    void give_back_if_stuck(double now);
    void note(std::string name, std::string detail);

    const mpi::Comm& comm_;
    const RunConfig& config_;
    Team& team_;
    const Phase& phase_;
    const int phase_index_;
    const std::vector<std::string>& hosts_;

    std::mutex sched_mutex_;  ///< guards the scheduler and serialises rank 0's MPI calls
    sched::Scheduler scheduler_;
    std::vector<sched::Action> actions_;  ///< being carried out (keeps its memory: no allocation per answer)
    std::uint64_t reported_ = 0;          ///< the scheduler's items_reported() last passed on to the progress figures
    double serve_s_ = 0;
    std::uint64_t requests_ = 0;
    double wait_s_ = 0;
    std::atomic<double> last_compute_poll_s_{0};  ///< when a compute thread last looked for requests (now_s())
    bool starting_ = false;                       ///< begin() is carrying out the first grants
    std::optional<ItemRange> own_grant_;          ///< rank 0's team's next chunk, once own_granted_
    bool own_granted_ = false;
    bool broken_ = false;  ///< the server thread failed: nobody will answer rank 0's team
    std::condition_variable own_grant_ready_;
    std::thread server_;
    std::atomic<bool> quit_{false};
    std::exception_ptr server_error_;
    Upstream* upstream_ = nullptr;  ///< a leader's link to rank 0 (null on rank 0 itself)
    bool team_done_ = false;        ///< end() was reached: the team asks for nothing more (under sched_mutex_)
};

}  // namespace pel::exec
