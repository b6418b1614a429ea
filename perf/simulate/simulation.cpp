// perf/simulate/simulation.cpp: the event loop of one simulated phase, its start, and the checks at its end.
#include "simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "pel/error.hpp"
#include "pel/random.hpp"

namespace pel::simulate {

namespace {

/// exec's Backoff when ranks outnumber cores: 15 yields (taken as instant), then sleeps of 10, 20, 40, 80, 160 and
/// then 200 us.
constexpr double kBackoffSleepsUs[] = {10, 20, 40, 80, 160};
constexpr double kBackoffPeriodUs = 200;
/// exec's kHelperNap and kBeatPeriod (worker_link.cpp).
constexpr double kHelperNap = 10e-3;
constexpr double kBeatPeriod = 2.0;

sched::SchedulerSettings settings_of(const Config& c) {
    sched::SchedulerSettings s;
    s.schedule = c.schedule;
    s.threads = std::max(c.threads, 1);
    s.steal = c.steal;
    s.heartbeat_s = c.heartbeat_timeout_s;
    return s;
}

}  // namespace

Simulation::Simulation(const Config& config, std::span<const float> cost_s)
    : config_(config),
      cost_(cost_s),
      ranks_(std::max(config.ranks, 1)),
      threads_per_rank_(std::max(config.threads, 1)),
      helper_period_s_(kHelperNap + config.sleep_overshoot_s),
      beat_period_s_(config.heartbeat_timeout_s > 0 ? std::min(config.heartbeat_timeout_s / 4, kBeatPeriod) : 0),
      teams_(static_cast<std::size_t>(ranks_)),
      threads_(static_cast<std::size_t>(ranks_) * static_cast<std::size_t>(threads_per_rank_)),
      workers_(static_cast<std::size_t>(ranks_)),
      done_(cost_s.size(), 0),
      scheduler_(settings_of(config), cost_s.size(), ranks_, {{0, cost_s.size()}}, *this) {
    if (!config.profile.empty()) scheduler_.use_profile(config.profile);
    for (SimTeam& t : teams_) t.running = threads_per_rank_;
    for (SimWorker& k : workers_) k.depth = sched::PrefetchDepth(config.prefetch);
}

Result Simulation::run() {
    const auto started = std::chrono::steady_clock::now();
    root_begin();
    for (int w = 1; w < ranks_; ++w) {
        const double at = config_.start_spread_s * Rng(config_.start_seed, static_cast<std::uint64_t>(w), 7).uniform();
        schedule(at, EventKind::rank_starts, w);
    }
    // A phase that runs on for ever (a livelock of the protocol) is stopped and described.
    const std::uint64_t most_events = 10000 * (cost_.size() + static_cast<std::uint64_t>(ranks_)) + 10000000;
    while (!events_.empty()) {
        const Event e = events_.top();
        events_.pop();
        now_ = e.t;
        if (++result_.events > most_events) {
            throw Error::Internal("simulate: the phase never ended: " + std::to_string(most_events) +
                                  " events by t = " + std::to_string(now_) + " s, the last of kind " +
                                  std::to_string(static_cast<int>(e.kind)) + " on rank " + std::to_string(e.rank) +
                                  state());
        }
        dispatch(e);
    }
    check_complete();

    double sum = 0, largest = 0;
    for (const float c : cost_) {
        const double item = c > 0 ? static_cast<double>(c) + config_.item_overhead_s : 0.0;
        sum += item;
        largest = std::max(largest, item);
    }
    result_.lower_bound_s = std::max(sum / (static_cast<double>(ranks_) * threads_per_rank_), largest);
    double wait = 0;
    for (int r = 0; r < ranks_; ++r) {
        const SimTeam& tm = team(r);
        result_.makespan_s = std::max(result_.makespan_s, tm.ended - tm.entered);
        if (r > 0) wait += worker(r).wait_s;
    }
    result_.worker_wait_s = ranks_ > 1 ? wait / (ranks_ - 1) : 0;
    result_.queue_mean_s = result_.messages > 0 ? queue_sum_s_ / static_cast<double>(result_.messages) : 0;
    result_.sched_mean_s = sched_calls_ > 0 ? sched_sum_s_ / static_cast<double>(sched_calls_) : 0;
    result_.steals = scheduler_.steals();
    result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result_;
}

void Simulation::schedule(double t, EventKind kind, int rank, int thread) {
    events_.push({t, seq_++, rank, thread, kind});
}

void Simulation::dispatch(const Event& e) {
    switch (e.kind) {
        case EventKind::rank_starts:
            if (e.rank != 0) return worker_starts(e.rank, e.t);
            // Rank 0's team starts on the first chunk it took; its server thread starts beside it.
            team(0).entered = 0;
            for (int tid = 0; tid < threads_per_rank_; ++tid) {
                thread(0, tid).chunk = team(0).current;
                thread(0, tid).drained = false;
            }
            if (ranks_ > 1) {
                server_on_ = true;
                schedule_server_look(e.t);
            }
            for (int tid = 0; tid < threads_per_rank_; ++tid) thread_loop(0, tid, e.t);
            return;
        case EventKind::batch_done:
            return batch_done(e.rank, e.thread, e.t);
        case EventKind::thread_resumes:
            return thread_resumes(e.rank, e.thread, e.t);
        case EventKind::root_arrival:
            return root_arrival(e.t);
        case EventKind::root_served:
            return root_served(e.t);
        case EventKind::server_looks:
            return server_looks(e.t);
        case EventKind::worker_polls:
            return worker_polls(e.rank, e.t);
        case EventKind::helper_wakes:
            return helper_wakes(e.rank, e.t);
    }
}

double Simulation::cost_of(int rank, ItemRange batch) const {
    const double factor = rank == config_.slow_rank ? config_.slow_factor : 1.0;
    double sum = 0;
    for (std::uint64_t i = batch.begin; i < batch.end; ++i) {
        const double c = cost_[i];
        if (c > 0) sum += c * factor + config_.item_overhead_s;  // synthetic spends nothing on an item of cost 0
    }
    return sum;
}

double Simulation::backoff_look(double since, double at) const {
    if (!config_.oversubscribed || at <= since) return at;  // it spins (or still yields): it sees it as it comes
    double t = since;
    for (const double us : kBackoffSleepsUs) {
        t += us * 1e-6 + config_.sleep_overshoot_s;
        if (t >= at) return t;
    }
    const double period = kBackoffPeriodUs * 1e-6 + config_.sleep_overshoot_s;
    return t + std::ceil((at - t) / period) * period;
}

/// The model ran pel's protocol to its end: every item processed exactly once, every worker acknowledged, nothing
/// left on the way.
void Simulation::check_complete() const {
    const std::uint64_t items = cost_.size();
    std::uint64_t once = 0;
    for (const std::uint8_t d : done_) once += d == 1 ? 1 : 0;
    bool over = team(0).ended >= 0 && scheduler_.all_acknowledged() && inbox_.empty();
    for (int r = 1; r < ranks_; ++r) {
        const SimWorker& k = workers_[static_cast<std::size_t>(r)];
        over = over && k.acked && k.answers.empty() && k.controls.empty() && team(r).ended >= 0;
    }
    // Rank 0 reports its last batches to nobody: its other threads may still compute after it was told the phase is
    // over for it (exec's RootLink has no report after the team).
    const std::uint64_t reported = scheduler_.items_reported() + team(0).unreported_items;
    if (over && once == items && items_done_ == items && reported == items) return;
    throw Error::Internal("simulate: the phase " + std::string(over ? "ended" : "never ended") + " with " +
                          std::to_string(once) + " of " + std::to_string(items) + " items processed exactly once (" +
                          std::to_string(items_done_) + " processings, " + std::to_string(scheduler_.items_reported()) +
                          " reported to rank 0)" + state());
}

/// What every rank was doing, for an error message.
std::string Simulation::state() const {
    std::string s = "; rank 0: team " + std::string(team(0).ended >= 0 ? "done" : "running") + ", server " +
                    (server_done_ ? "done" : "running") + ", " + std::to_string(inbox_.size()) +
                    " messages unserved, lock holder " + std::to_string(sched_holder_) + ", own waiter " +
                    std::to_string(own_waiter_);
    const auto team_state = [&](int r) {
        const SimTeam& tm = team(r);
        std::string t = ", unreported " + std::to_string(tm.unreported_items) + ", lock " +
                        std::to_string(tm.lock_holder) + ", current ";
        if (tm.current >= 0) {
            const SimChunk& c = chunks_[static_cast<std::size_t>(tm.current)];
            t += std::to_string(c.next) + ".." + std::to_string(c.end);
        }
        for (int tid = 0; tid < threads_per_rank_; ++tid) {
            const SimThread& th = threads_[static_cast<std::size_t>(r) * threads_per_rank_ + tid];
            t += ", thread " + std::to_string(tid) +
                 (th.done        ? " done"
                  : th.computing ? " computing"
                                 : "") +
                 " blocked " + std::to_string(static_cast<int>(th.blocked)) + " chunk " + std::to_string(th.chunk) +
                 (th.drained ? " drained" : "");
        }
        return t;
    };
    s += team_state(0);
    int shown = 0;
    for (int r = 1; r < ranks_ && shown < 8; ++r) {
        const SimWorker& k = workers_[static_cast<std::size_t>(r)];
        if (k.acked) continue;
        ++shown;
        s += "; worker " + std::to_string(r) + ": pending " + std::to_string(k.pending) + ", ready " +
             std::to_string(k.ready.size()) + ", answers " + std::to_string(k.answers.size()) + ", controls " +
             std::to_string(k.controls.size()) + ", final " + std::to_string(k.final) + ", bye " +
             std::to_string(k.bye_sent) + ", wait " + std::to_string(static_cast<int>(k.wait)) + ", threads running " +
             std::to_string(team(r).running) + team_state(r);
    }
    return s;
}

Result simulate(const Config& config, std::span<const float> cost_s) { return Simulation(config, cost_s).run(); }

}  // namespace pel::simulate
