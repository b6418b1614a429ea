// perf/simulate/simulation.hpp: the state and events of one simulated phase (private to perf/simulate). Its parts
// live by concept, as exec's do:
// - team.cpp: a rank's threads, claiming batches from the current chunk (exec/team.cpp, Chunk::claim), and the
//   team's lock, which one thread at a time holds to fetch the next chunk;
// - root.cpp: rank 0 (exec/root_link.cpp): the real sched::Scheduler, its messages served one at a time by a
//   compute thread between batches or in fetch, or by the server thread (standby naps, hot polls, sleeps);
// - worker.cpp: a worker's link (exec/worker_link.cpp): prefetch, waiting with Backoff, Update, steal answers,
//   the helper thread, goodbye and acknowledgement;
// - simulation.cpp: the event loop, the start, and the checks at the end.
// Every message to rank 0 and to a worker travels in order on its channel and arrives `latency_s` after it left.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "model.hpp"
#include "sched/prefetch.hpp"
#include "sched/scheduler.hpp"

namespace pel::simulate {

/// What happens at a moment of simulated time.
enum class EventKind : std::uint8_t {
    rank_starts,     ///< a worker enters the phase
    batch_done,      ///< a thread has finished its batch
    thread_resumes,  ///< a thread blocked in its loop goes on (it got a lock, or rank 0's own grant came)
    root_arrival,    ///< a message has reached rank 0
    root_served,     ///< rank 0 has served the message it was serving
    server_looks,    ///< rank 0's server thread looks at its messages
    worker_polls,    ///< a worker thread waiting for rank 0 looks again (Backoff)
    helper_wakes,    ///< a worker's helper thread wakes
};

struct Event {
    double t;
    std::uint64_t seq;  ///< order of scheduling: ties in time are broken by it, so every run is the same
    std::int32_t rank;
    std::int32_t thread;
    EventKind kind;
};

struct Later {
    bool operator()(const Event& a, const Event& b) const { return a.t != b.t ? a.t > b.t : a.seq > b.seq; }
};

/// A message on its way, or arrived and not yet taken.
template <class M>
struct InFlight {
    double arrival;
    M message;
};

/// A chunk a rank received: the cursor its threads claim from (exec's Chunk).
struct SimChunk {
    std::uint64_t next;
    std::uint64_t end;
};

/// One compute thread.
struct SimThread {
    /// What a blocked thread waits for.
    enum class Blocked : std::uint8_t { nothing, team_lock, sched_lock, own_grant };
    std::int32_t chunk = -1;  ///< the chunk it claims from (index into Simulation::chunks_)
    bool drained = true;      ///< nothing left to claim in it
    bool computing = false;
    bool done = false;
    Blocked blocked = Blocked::nothing;
    double busy_s = 0;  ///< its kernel time, for the batch size (exec: per thread)
    std::uint64_t items = 0;
    ItemRange batch;
    double batch_s = 0;
    double debt_s = 0;  ///< rank 0's thread 0: time the server thread took from its core during the batch
};

/// A rank's team (exec's Team).
struct SimTeam {
    std::int32_t current = -1;      ///< the chunk its threads join
    std::int32_t lock_holder = -1;  ///< the thread holding the team's lock
    std::vector<std::int32_t> lock_waiters;
    bool finished = false;  ///< the link had no more
    int running = 0;        ///< threads not yet out of their loop
    std::uint64_t unreported_items = 0;
    double unreported_busy_s = 0;
    double entered = -1;  ///< when the rank entered the phase (negative: not yet)
    double ended = -1;    ///< when the rank's part of the phase ended (its makespan is ended - entered)
    std::uint64_t chunks = 0;
};

/// A worker's link (exec's WorkerLink).
struct SimWorker {
    std::vector<InFlight<sched::Answer>> answers;    ///< sent by rank 0, not yet taken
    std::vector<InFlight<sched::Control>> controls;  ///< sent by rank 0, not yet taken
    std::vector<ItemRange> ready;                    ///< granted chunks not yet started
    sched::PrefetchDepth depth{1};
    int pending = 1;  ///< requests whose answer is awaited (the phase's first chunk comes unasked)
    std::uint64_t fetched = 0;
    bool last_fresh = false;
    bool tail = false;
    bool final = false;
    bool bye_sent = false;
    bool acked = false;
    bool notice_seen = false;
    double polled = -std::numeric_limits<double>::infinity();  ///< last look for steals between batches
    /// A thread waiting for rank 0 (Backoff): for the oldest answer in fetch, or for the goodbye's answer.
    enum class Wait : std::uint8_t { none, front, ack } wait = Wait::none;
    std::int32_t waiter = -1;
    bool late = false;  ///< the wait in fetch is for a chunk asked for ahead of time
    double wait_since = 0;
    double poll_at = -1;            ///< the next look scheduled (negative: none)
    double helper_at = -1;          ///< the helper's next wake that does something (negative: none)
    std::int64_t helper_next = 0;   ///< its number, counted from the worker's start
    std::int64_t helper_wakes = 0;  ///< the number of the last wake that did something
    bool helper_blocked = false;    ///< a heartbeat is due and the helper waits for the team's lock
    double next_beat = std::numeric_limits<double>::infinity();
    double wait_s = 0;
};

/// A message waiting for rank 0.
struct Inbound {
    double arrival;
    std::int32_t from;
    sched::ToRoot message;
};

class Simulation final : private sched::OwnTeam {
  public:
    Simulation(const Config& config, std::span<const float> cost_s);
    Result run();

  private:
    // ----- simulation.cpp -----
    void schedule(double t, EventKind kind, int rank = 0, int thread = 0);
    void dispatch(const Event& e);
    void check_complete() const;
    [[nodiscard]] std::string state() const;
    /// How long `rank` takes over `batch`.
    [[nodiscard]] double cost_of(int rank, ItemRange batch) const;
    /// When a thread that began Backoff at `since` first looks at or after `at`.
    [[nodiscard]] double backoff_look(double since, double at) const;

    // ----- team.cpp -----
    SimThread& thread(int rank, int tid) {
        return threads_[static_cast<std::size_t>(rank) * static_cast<std::size_t>(threads_per_rank_) +
                        static_cast<std::size_t>(tid)];
    }
    SimTeam& team(int rank) { return teams_[static_cast<std::size_t>(rank)]; }
    [[nodiscard]] const SimTeam& team(int rank) const { return teams_[static_cast<std::size_t>(rank)]; }
    /// The top of exec's Team::thread_main loop: claim a batch, or take the team's lock to fetch.
    void thread_loop(int rank, int tid, double t);
    void batch_done(int rank, int tid, double t);
    void thread_resumes(int rank, int tid, double t);
    /// `tid` holds the team's lock: join a newer chunk, stop, or fetch.
    void team_locked(int rank, int tid, double t);
    /// The link answered `tid`'s fetch (under the team's lock).
    void fetched(int rank, int tid, double t, std::optional<ItemRange> chunk);
    void unlock_team(int rank, double t);
    void thread_exits(int rank, int tid, double t);
    void set_current(int rank, ItemRange chunk);
    /// exec's Team::take_report.
    sched::Report take_report(int rank);
    /// exec's Chunk::split on a team's current chunk.
    ItemRange split_current(int rank);

    // ----- root.cpp -----
    void root_begin();
    void root_arrival(double t);
    void server_looks(double t);
    void schedule_server_look(double t);
    void root_between_batches(int tid, double t);
    void root_fetch(int tid, double t);
    void root_fetch_locked(int tid, double t);
    void root_fetch_served(int tid, double t);
    /// The holder of rank 0's scheduling lock serves the oldest message that has arrived.
    void serve_next(double t);
    void root_served(double t);
    void unlock_sched(double t);
    [[nodiscard]] bool message_waiting(double t) const { return !inbox_.empty() && inbox_.front().arrival <= t; }
    /// Carries out the Scheduler's actions at `t`; at the start, the k-th message leaves k service times later.
    void carry_out(double t, bool spaced = false);
    void root_done(double t);
    /// Times a Scheduler call when charge_scheduler is set: returns the seconds it took.
    template <class F>
    double timed(F&& call);
    // sched::OwnTeam: rank 0's current chunk, for thieves.
    std::uint64_t unclaimed() override;
    ItemRange split() override { return split_current(0); }
    [[nodiscard]] std::uint64_t unreported() const override { return teams_[0].unreported_items; }

    // ----- worker.cpp -----
    SimWorker& worker(int rank) { return workers_[static_cast<std::size_t>(rank)]; }
    [[nodiscard]] const SimWorker& worker(int rank) const { return workers_[static_cast<std::size_t>(rank)]; }
    void worker_starts(int w, double t);
    void worker_fetch(int w, int tid, double t);
    void worker_between_batches(int w, double t);
    void top_up(int w, int depth, bool ahead, double t);
    void collect_arrived(int w, double t);
    void accept_front(int w);
    void answer_steals(int w, double t);
    void send_to_root(int w, const sched::ToRoot& message, double t);
    void begin_wait(int w, int tid, SimWorker::Wait wait, double t);
    /// A waiting worker looks: takes in what has arrived, answers steals, and tells rank 0 what it finished.
    void worker_polls(int w, double t);
    void worker_looks(int w, double t);
    /// Schedules the waiting worker's next look for the earliest message on its way to it.
    void arm_poll(int w, double t);
    void arm_helper(int w, double at);
    void helper_wakes(int w, double t);
    void helper_works(int w, double t);
    void worker_end(int w, double t);

    const Config& config_;
    std::span<const float> cost_;
    const int ranks_;
    const int threads_per_rank_;
    double helper_period_s_;
    double beat_period_s_;

    std::priority_queue<Event, std::vector<Event>, Later> events_;
    std::uint64_t seq_ = 0;
    double now_ = 0;

    std::vector<SimTeam> teams_;
    std::vector<SimThread> threads_;
    std::vector<SimChunk> chunks_;
    std::vector<SimWorker> workers_;  ///< index 0 unused
    std::vector<std::uint8_t> done_;  ///< per item: times it was processed

    // Rank 0.
    sched::Scheduler scheduler_;
    std::vector<sched::Action> actions_;
    std::deque<Inbound> inbox_;
    /// Who holds rank 0's scheduling lock: nobody (-2), the server thread (-1), or a compute thread.
    static constexpr int kNobody = -2;
    static constexpr int kServer = -1;
    int sched_holder_ = kNobody;
    std::vector<std::int32_t> sched_waiters_;  ///< compute threads in fetch waiting for the lock
    bool server_waits_ = false;                ///< the server thread waits for the lock to look
    std::optional<Inbound> in_service_;
    double service_start_ = 0;
    bool serving_in_fetch_ = false;  ///< the compute thread holding the lock serves from fetch (not between batches)
    bool starting_ = false;
    bool server_on_ = false;
    bool server_done_ = false;
    int idle_polls_ = 0;
    double hot_until_ = -1;         ///< the server thread polls without sleeping until then
    double look_at_ = -1;           ///< the server thread's next look (negative: none)
    double last_compute_poll_ = 0;  ///< when a compute thread of rank 0 last looked for messages
    std::int32_t own_waiter_ = -1;  ///< the compute thread in fetch waiting for rank 0's own grant
    bool own_granted_ = false;
    std::optional<ItemRange> own_grant_;
    double team_done_at_ = -1;
    double server_done_at_ = -1;

    // Figures.
    std::uint64_t items_done_ = 0;
    double queue_sum_s_ = 0;
    double sched_sum_s_ = 0;
    std::uint64_t sched_calls_ = 0;
    Result result_;
};

}  // namespace pel::simulate
