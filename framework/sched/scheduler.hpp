// sched/scheduler.hpp: rank 0's decisions during one phase, without MPI. Who gets which chunk, when a request sent
// ahead is held back, whom an idle rank steals from, which items run again, when the phase pauses. Fed events (a
// worker's message, rank 0's own team asking, the clock), it answers with actions for the transport to carry out.
//
// The same Scheduler runs inside `pel run` (exec/root_link.cpp carries its actions over MPI) and inside
// perf/simulate (a discrete-event model carries them in simulated time), and is unit-tested with plain sequences of
// events (tests/sched/scheduler_test.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "sched/cost_profile.hpp"
#include "sched/policy.hpp"
#include "sched/protocol.hpp"

namespace pel::sched {

/// Rank 0 computes too: what the scheduler may ask of its team's current chunk while it decides.
class OwnTeam {
  public:
    virtual ~OwnTeam() = default;
    /// Items of rank 0's current chunk that its threads have not claimed yet.
    [[nodiscard]] virtual std::uint64_t unclaimed() = 0;
    /// Gives up the back half of those items to a thief (empty when fewer than two are left).
    virtual ItemRange split() = 0;
    /// Items rank 0 has finished and not yet reported (in own_report or own_request).
    [[nodiscard]] virtual std::uint64_t unreported() const = 0;
};

/// How the scheduler decides, for one phase.
struct SchedulerSettings {
    Params schedule;
    int threads = 1;           ///< per rank: a chunk is expected to take its cost / threads
    bool steal = true;         ///< idle ranks take work from busy ones once none is left to grant
    int max_retries = 0;       ///< an item that failed alone runs again up to this many more times
    bool skip_failed = false;  ///< an item still failing then is skipped instead of ending the run
    double heartbeat_s = 0;    ///< a worker that sends nothing this long has hung (0: never)
    /// The run's time limit, on the clock of the events: no chunk is started that is expected to end later.
    double stop_at = std::numeric_limits<double>::infinity();
    /// A periodic checkpoint falls due then: the phase pauses.
    double pause_at = std::numeric_limits<double>::infinity();
};

// ----- Actions -----

/// Send `answer` to worker `to` on the answer channel.
struct Reply {
    int to = 0;
    Answer answer;
};
/// Send `control` to worker `to` on the control channel.
struct Order {
    int to = 0;
    Control control;
};
/// Rank 0's own team gets its next chunk (nothing: the phase is over for it).
struct OwnGrant {
    std::optional<ItemRange> chunk;
};
/// Why the phase pauses.
enum class PauseReason : std::uint8_t {
    checkpoint,  ///< a periodic checkpoint is due
    signal,      ///< a rank got a stop signal
    time_limit,  ///< the next chunk would end past the time limit
};
/// The phase pauses: no more grants or steals; every worker still at work has been told.
struct Pausing {
    PauseReason reason = PauseReason::checkpoint;
};
/// The time limit is reached: the run should checkpoint and stop (issued once, before the Pausing it causes).
struct TimeLimitReached {};
/// Items moved from a busy rank to an idle one (for the trace).
struct Stolen {
    ItemRange items;
    int victim = 0;
    int thief = 0;
};
/// Rank `rank`'s threads were all inside long items: it gave back `items`, not started, to be granted elsewhere (for
/// the trace).
struct Returned {
    ItemRange items;
    int rank = 0;
};
/// An item failed alone `failures` times, the last on `rank`, with no retries left and skipping off: the run ends.
struct ItemGaveUp {
    std::uint64_t item = 0;
    int failures = 0;
    int rank = 0;
};
/// Worker `rank` sent nothing for `silent_s` seconds: the run cannot go on without it.
struct Silent {
    int rank = 0;
    double silent_s = 0;
};
using Action = std::variant<Reply, Order, OwnGrant, Pausing, TimeLimitReached, Stolen, Returned, ItemGaveUp, Silent>;

/// An item given up after its retries (--on-error skip), and the rank it failed on last.
struct SkippedItem {
    std::uint64_t item = 0;
    int rank = 0;
};

/// Rank 0's scheduling of one phase. Not thread-safe: the transport calls it under one lock. After each event, the
/// actions it took are in actions(), in the order they must be carried out; the transport takes them.
class Scheduler {
  public:
    /// Schedules the items of `todo` (sorted, disjoint ranges of [0, items): the rest of a phase paused or resumed)
    /// over `ranks` ranks; `own` is rank 0's team.
    Scheduler(SchedulerSettings settings, std::uint64_t items, int ranks, std::vector<ItemRange> todo, OwnTeam& own);

    /// Sizes chunks by measured costs of this phase's items (see Dispenser::set_profile). Before start().
    void use_profile(CostProfile profile) { dispenser_.set_profile(std::move(profile)); }

    // ----- A group leader's scheduler: items supplied from the level above (see exec/leader_link.hpp) -----

    /// The items come from above, chunk by chunk (supply()), until close_supply(): meanwhile an idle rank with
    /// nothing to steal waits (parked) instead of being told the phase is over. Before start().
    void expect_supply() { supply_open_ = true; }
    /// A chunk from the level above: handed out, after what is already supplied, by a dispenser of its own (the
    /// technique sizes chunks of it for this group's ranks).
    void supply(ItemRange chunk);
    /// No more chunks will come from above.
    void close_supply();
    /// Gives back the chunk supplied last and not yet handed to the dispenser, else the back half of what the
    /// dispenser has not granted of the current one (empty if neither): the level above moves it to another group.
    ItemRange take_back_supply();
    /// Supplied chunks not yet handed out, and items of the current one the dispenser has not granted.
    [[nodiscard]] std::uint64_t supply_left() const noexcept;
    /// The level above pauses the phase: as a stop signal would.
    void pause_from_above() { start_pause(PauseReason::signal); }

    // ----- Events -----

    /// The phase begins: rank 0 takes its first chunk, then every worker gets one unasked, in rank order.
    void start(double now);
    /// A message from worker `from` arrived (at `now`).
    void receive(int from, const ToRoot& message, double now);
    /// Rank 0's team needs a chunk and finished `done` since its last report. Answered with an OwnGrant, at once or
    /// once a steal for it is answered.
    void own_request(const Report& done, double now);
    /// Rank 0's team finished `done` since its last report (between batches).
    void own_report(const Report& done);
    /// Rank 0's own team may have moved on without reporting (items claimed, a chunk finished): parked thieves try
    /// again.
    void recheck();
    /// Rank 0's threads are all inside long items: `items`, the unclaimed rest of its current chunk, go to the next
    /// rank that asks (as a worker's ItemsReturned does).
    void own_return(ItemRange items);
    /// A batch of rank 0's threw (with retries on): its items run again elsewhere.
    void own_failed(ItemRange batch);
    /// Rank 0 failed in a way that ends the run: every further request is answered with Abort.
    void abort();
    /// The clock moved on: pauses the phase when a checkpoint is due or `signal` (a stop signal rank 0 got, 0:
    /// none) asks, and looks for silent workers.
    void tick(double now, int signal);

    // ----- Actions -----

    /// The actions taken since they were last taken, in order.
    [[nodiscard]] std::span<const Action> actions() const noexcept { return actions_; }
    /// Moves the actions into `into` (cleared first); both vectors keep their memory, so that the grant path does not
    /// allocate.
    void take_actions(std::vector<Action>& into) noexcept {
        into.clear();
        into.swap(actions_);
    }

    // ----- State -----

    /// Every worker said goodbye and was answered: the phase is over on rank 0's side.
    [[nodiscard]] bool all_acknowledged() const noexcept { return acks_ == ranks_ - 1; }
    /// The phase pauses: nothing more is granted.
    [[nodiscard]] bool pausing() const noexcept { return pausing_; }
    [[nodiscard]] bool aborted() const noexcept { return abort_; }
    /// Items given up after their retries.
    [[nodiscard]] const std::vector<SkippedItem>& skipped() const noexcept { return skipped_; }
    /// Chunks taken from a busy rank for an idle one.
    [[nodiscard]] std::uint64_t steals() const noexcept { return steals_; }
    /// Ranges of items given back by ranks whose threads were all inside long items.
    [[nodiscard]] std::uint64_t returns() const noexcept { return returns_; }
    /// Items reported done over all ranks, and their kernel thread-seconds.
    [[nodiscard]] std::uint64_t items_reported() const noexcept { return items_reported_; }
    [[nodiscard]] double busy_reported() const noexcept { return busy_reported_; }
    [[nodiscard]] const Dispenser& dispenser() const noexcept { return dispenser_; }

    /// With known costs, a request sent ahead is held back while the work its rank has in hand is expected to last
    /// longer than this share of an even split of what is not yet granted (see hold_back).
    static constexpr double kAheadShare = 0.5;
    /// While items given back wait, a request sent ahead is held back if its rank has more than this many items per
    /// thread in hand (see hold_back).
    static constexpr std::uint64_t kReturnedInHand = 2;
    /// How often silent workers are looked for, at most (seconds).
    static constexpr double kHeartbeatCheck = 0.1;

  private:
    /// What rank 0 knows of a rank in this phase.
    struct RankState {
        std::uint64_t granted = 0;  ///< items given to it (less items stolen from it)
        std::uint64_t done = 0;     ///< items it reported done
        int steals_open = 0;        ///< steal requests sent to it, not yet answered
        std::deque<int> thieves;    ///< who each open steal request is for, in order
        bool said_bye = false;
        bool acked = false;
        bool notified = false;     ///< a PauseNotice was sent to it
        bool skip = false;         ///< a steal found nothing: not a victim again until it sends news
        double expected_s = 0;     ///< expected cost of the items granted to it (with a profile)
        double busy_s = 0;         ///< thread-seconds it reported
        int deferred = 0;          ///< its work requests held back, unanswered
        bool idle_behind = false;  ///< a request sent with nothing in hand waits behind them
        double last_heard = 0;     ///< when its last message came
    };

    void account(int rank, const Report& work);
    [[nodiscard]] std::uint64_t outstanding(std::size_t rank) const;
    void grant_work(int rank, Origin origin = Origin::fresh);
    [[nodiscard]] bool hold_back(int rank) const;
    void release_deferred(int rank);
    void steal_for(int thief);
    void retry_parked();
    bool settle_parked_quickly();
    void give(int rank, ItemRange chunk, Origin origin = Origin::fresh);
    void finish(int rank, bool abort);
    [[nodiscard]] bool past_time_limit(ItemRange chunk, double now);
    void start_pause(PauseReason reason);
    void take_failed(int rank, ItemRange batch);
    void take_returned(int rank, ItemRange items);
    std::optional<ItemRange> next_returned();
    std::optional<ItemRange> take_retry(int rank);
    void check_heartbeats(double now);
    void acknowledge_if_done(int rank);
    std::optional<ItemRange> next_chunk(int rank);

    SchedulerSettings settings_;
    std::uint64_t items_;
    int ranks_;
    OwnTeam& own_;
    Dispenser dispenser_;
    std::vector<RankState> ranks_state_;
    std::vector<Action> actions_;
    bool abort_ = false;
    bool pausing_ = false;
    bool time_limit_ = false;  ///< TimeLimitReached was issued
    int acks_ = 0;
    std::uint64_t steals_ = 0;
    std::uint64_t returns_ = 0;
    std::deque<ItemRange> returned_;                     ///< items given back unstarted, granted before the dispenser's
    std::uint64_t returned_items_ = 0;                   ///< the number of them
    std::vector<int> parked_;                            ///< requests (by rank) waiting for work not stealable yet
    int deferred_ = 0;                                   ///< work requests held back, over all ranks
    std::deque<std::pair<std::uint64_t, int>> retries_;  ///< items to run again, and where each failed last
    std::map<std::uint64_t, int> attempts_;              ///< per item: times it failed alone
    std::vector<SkippedItem> skipped_;
    std::uint64_t items_reported_ = 0;
    double busy_reported_ = 0;
    double last_now_ = 0;  ///< the latest clock reading any event brought
    double next_heartbeat_check_ = 0;
    bool supply_open_ = false;        ///< more chunks may come from the level above
    std::deque<ItemRange> supplied_;  ///< chunks from above, not yet handed to the dispenser
    ItemRange current_supply_;        ///< the chunk from above the dispenser hands out (its granted part too)
};

}  // namespace pel::sched
