// perf/simulate/root.cpp: rank 0, as exec/root_link.cpp runs it: the real sched::Scheduler behind one lock, fed
// by whichever thread holds it. A compute thread serves between batches (a try-lock) and in fetch (it waits for the
// lock); the server thread looks in a loop: it stands by (1 ms naps) while a compute thread looked within the last
// 5 ms, otherwise it polls 64 times without sleeping after a message and then sleeps 20, 40, 80, 160 and 320 us
// between looks (8 of each but the last). Serving a message takes service_s; what the Scheduler decides leaves when
// the service ends.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "pel/error.hpp"
#include "simulation.hpp"

namespace pel::simulate {

namespace {

/// exec's kStandby and kStandbyNap (root_link.cpp).
constexpr double kStandby = 5e-3;
constexpr double kStandbyNap = 1e-3;
/// exec's server loop: looks without sleeping up to this many in a row, then sleeps 20 << min((n - 64) / 8, 4) us.
constexpr int kHotPolls = 64;

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};

}  // namespace

template <class F>
double Simulation::timed(F&& call) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sched_sum_s_ += spent;
    result_.sched_max_s = std::max(result_.sched_max_s, spent);
    ++sched_calls_;
    return config_.charge_scheduler ? spent : 0.0;
}

/// exec's RootLink::begin: rank 0's first chunk becomes its team's, every worker's first leaves unasked, in rank
/// order (one service time each); then rank 0's team and server thread start.
void Simulation::root_begin() {
    starting_ = true;
    timed([&] { scheduler_.start(0.0); });
    carry_out(0.0, true);
    starting_ = false;
    schedule(static_cast<double>(ranks_ - 1) * config_.service_s, EventKind::rank_starts, 0);
}

void Simulation::root_arrival(double t) {
    // Whoever holds the lock serves it before letting go; a sleeping server thread sees it at its next look.
    if (server_on_ && !server_done_ && sched_holder_ == kNobody && !server_waits_ && t <= hot_until_) {
        schedule_server_look(t);
    }
}

void Simulation::schedule_server_look(double t) {
    if (look_at_ >= 0 && look_at_ <= t) return;
    look_at_ = t;
    schedule(t, EventKind::server_looks);
}

/// One turn of exec's serve_until_all_done.
void Simulation::server_looks(double t) {
    if (t != look_at_) return;  // superseded by an earlier look
    look_at_ = -1;
    if (sched_holder_ != kNobody) {  // it waits for the lock, and looks once it has it
        server_waits_ = true;
        return;
    }
    sched_holder_ = kServer;
    double spent = timed([&] { scheduler_.tick(t, 0); });
    carry_out(t);
    if (scheduler_.all_acknowledged()) {
        sched_holder_ = kNobody;
        server_done_ = true;
        server_done_at_ = t;
        unlock_sched(t);
        return root_done(t);
    }
    if (message_waiting(t)) return serve_next(t);
    spent += timed([&] { scheduler_.recheck(); });  // rank 0's own threads may have moved on meanwhile
    carry_out(t);
    unlock_sched(t);
    ++idle_polls_;
    const double overshoot = config_.sleep_overshoot_s;
    if (t - last_compute_poll_ < kStandby) {
        schedule_server_look(t + spent + kStandbyNap + overshoot);
    } else if (idle_polls_ > kHotPolls) {
        const double nap = 20e-6 * static_cast<double>(1 << std::min((idle_polls_ - kHotPolls) / 8, 4));
        schedule_server_look(t + spent + nap + overshoot);
    } else {
        // The looks without sleep are not simulated one by one: until hot_until_ a message, or a batch of rank 0's
        // ending, brings a look at once (root_arrival, batch_done).
        hot_until_ = t + spent + static_cast<double>(kHotPolls + 1 - idle_polls_) * config_.poll_s;
        idle_polls_ = kHotPolls;
        schedule_server_look(hot_until_);
    }
}

/// exec's RootLink::between_batches: a try-lock, rank 0's report, then every message that has come.
void Simulation::root_between_batches(int tid, double t) {
    if (sched_holder_ != kNobody) return;  // another thread is serving already
    sched_holder_ = tid;
    serving_in_fetch_ = false;
    last_compute_poll_ = t;
    timed([&] {
        scheduler_.own_report(take_report(0));
        scheduler_.tick(t, 0);
    });
    carry_out(t);
    if (message_waiting(t)) return serve_next(t);
    unlock_sched(t);
}

/// exec's RootLink::fetch, under the team's lock: waits for the scheduling lock.
void Simulation::root_fetch(int tid, double t) {
    if (sched_holder_ != kNobody) {
        thread(0, tid).blocked = SimThread::Blocked::sched_lock;
        sched_waiters_.push_back(tid);
        return;
    }
    sched_holder_ = tid;
    root_fetch_locked(tid, t);
}

void Simulation::root_fetch_locked(int tid, double t) {
    serving_in_fetch_ = true;
    last_compute_poll_ = t;
    timed([&] { scheduler_.tick(t, 0); });
    carry_out(t);
    if (message_waiting(t)) return serve_next(t);
    root_fetch_served(tid, t);
}

/// fetch, once the messages that had come are served: rank 0's own request.
void Simulation::root_fetch_served(int tid, double t) {
    if (scheduler_.aborted() || scheduler_.pausing()) {
        unlock_sched(t);
        return fetched(0, tid, t, std::nullopt);
    }
    own_granted_ = false;
    own_waiter_ = tid;
    timed([&] { scheduler_.own_request(take_report(0), t); });
    carry_out(t);
    unlock_sched(t);
    if (own_granted_) {
        own_waiter_ = -1;
        own_granted_ = false;
        return fetched(0, tid, t, own_grant_);
    }
    // A steal for rank 0 is on its way (or it waits for news): whoever serves next answers it.
    thread(0, tid).blocked = SimThread::Blocked::own_grant;
}

void Simulation::serve_next(double t) {
    in_service_ = std::move(inbox_.front());
    inbox_.pop_front();
    const double queued = t - in_service_->arrival;
    queue_sum_s_ += queued;
    result_.queue_max_s = std::max(result_.queue_max_s, queued);
    service_start_ = t;
    // The decision is taken as the service begins (nobody else can call the scheduler meanwhile); what it sends
    // leaves as the service ends.
    const sched::ToRoot& message = in_service_->message;
    result_.requests += std::holds_alternative<sched::WorkRequest>(message) ? 1 : 0;
    result_.updates += std::holds_alternative<sched::Update>(message) ? 1 : 0;
    result_.givens += std::holds_alternative<sched::ItemsGiven>(message) ? 1 : 0;
    result_.goodbyes += std::holds_alternative<sched::Goodbye>(message) ? 1 : 0;
    const double spent = timed([&] { scheduler_.receive(in_service_->from, message, t); });
    const double service = config_.service_s + spent;
    if (sched_holder_ == kServer && config_.server_shares_core) {
        SimThread& own = thread(0, 0);
        if (own.computing) own.debt_s += service;
    }
    schedule(t + service, EventKind::root_served);
}

void Simulation::root_served(double t) {
    carry_out(t);
    result_.serve_s += t - service_start_;
    ++result_.messages;
    in_service_.reset();
    if (sched_holder_ == kServer) {  // the server's loop goes on at once, after a compute thread waiting in fetch
        idle_polls_ = 0;
        sched_holder_ = kNobody;
        if (!sched_waiters_.empty()) {
            server_waits_ = true;
            return unlock_sched(t);
        }
        look_at_ = -1;
        schedule_server_look(t);
        return;
    }
    const int tid = sched_holder_;
    if (message_waiting(t)) return serve_next(t);
    if (serving_in_fetch_) return root_fetch_served(tid, t);
    unlock_sched(t);
    thread_loop(0, tid, t);
}

void Simulation::unlock_sched(double t) {
    sched_holder_ = kNobody;
    if (!sched_waiters_.empty()) {
        sched_holder_ = sched_waiters_.front();
        sched_waiters_.erase(sched_waiters_.begin());
        schedule(t, EventKind::thread_resumes, 0, sched_holder_);
        return;
    }
    if (server_waits_) {
        server_waits_ = false;
        schedule_server_look(t);
    }
}

void Simulation::carry_out(double t, bool spaced) {
    scheduler_.take_actions(actions_);
    double at = t;
    for (const sched::Action& action : actions_) {
        std::visit(
            Overloaded{
                [&](const sched::Reply& a) {
                    if (spaced) at += config_.service_s;
                    if (const auto* grant = std::get_if<sched::Grant>(&a.answer)) {
                        result_.held += grant->origin == sched::Origin::held ? 1 : 0;
                    }
                    SimWorker& k = worker(a.to);
                    k.answers.push_back({at + config_.latency_s, a.answer});
                    arm_poll(a.to, at);
                },
                [&](const sched::Order& a) {
                    if (std::holds_alternative<sched::PauseNotice>(a.control)) {
                        throw Error::Internal("simulate: the model does not simulate pauses");
                    }
                    worker(a.to).controls.push_back({at + config_.latency_s, a.control});
                    arm_poll(a.to, at);
                    arm_helper(a.to, at + config_.latency_s);
                },
                [&](const sched::OwnGrant& a) {
                    if (starting_) {
                        if (a.chunk) set_current(0, *a.chunk);
                        return;
                    }
                    if (own_waiter_ < 0) throw Error::Internal("simulate: rank 0 got a grant unasked");
                    own_grant_ = a.chunk;
                    own_granted_ = true;
                    if (thread(0, own_waiter_).blocked == SimThread::Blocked::own_grant) {
                        schedule(at, EventKind::thread_resumes, 0, own_waiter_);
                    }
                },
                [&](const sched::Pausing&) { throw Error::Internal("simulate: the model does not simulate pauses"); },
                [&](const sched::TimeLimitReached&) {
                    throw Error::Internal("simulate: the model sets no time limit");
                },
                [&](const sched::Stolen&) {},
                [&](const sched::Returned&) {},
                [&](const sched::ItemGaveUp& a) {
                    throw Error::Internal("simulate: the scheduler gave up on item " + std::to_string(a.item) +
                                          ", but no item fails in the model");
                },
                [&](const sched::Silent& a) {
                    throw Error::Internal("simulate: rank 0 found worker " + std::to_string(a.rank) + " silent for " +
                                          std::to_string(a.silent_s) + " s at t = " + std::to_string(t) +
                                          " s (--heartbeat-timeout-s)");
                },
            },
            action);
    }
}

void Simulation::root_done(double t) {
    const bool server_gone = !server_on_ || server_done_;
    if (team_done_at_ < 0 || !server_gone) return;
    team(0).ended = std::max(team_done_at_, server_on_ ? server_done_at_ : t);
}

std::uint64_t Simulation::unclaimed() {
    const SimTeam& tm = team(0);
    if (tm.current < 0) return 0;
    const SimChunk& chunk = chunks_[static_cast<std::size_t>(tm.current)];
    return chunk.end - chunk.next;
}

}  // namespace pel::simulate
