// perf/simulate/worker.cpp: a worker's side of the protocol, as exec/worker_link.cpp runs it.
#include <algorithm>
#include <cmath>

#include "pel/error.hpp"
#include "pel/random.hpp"
#include "simulation.hpp"

namespace pel::simulate {

namespace {

/// exec's kStealPoll: a worker's threads look for steal requests between batches at most this often.
constexpr double kStealPoll = 20e-6;

}  // namespace

/// exec's WorkerLink::begin and the team's start: the phase's first chunk is on its way (sent unasked), the helper
/// thread starts, and every thread goes to fetch it.
void Simulation::worker_starts(int w, double t) {
    team(w).entered = t;
    SimWorker& k = worker(w);
    if (beat_period_s_ > 0) {
        k.next_beat = t + beat_period_s_;
        arm_helper(w, k.next_beat);
    }
    if (!k.controls.empty()) arm_helper(w, k.controls.front().arrival);
    for (int tid = 0; tid < threads_per_rank_; ++tid) thread_loop(w, tid, t);
}

/// exec's WorkerLink::fetch, under the team's lock.
void Simulation::worker_fetch(int w, int tid, double t) {
    SimWorker& k = worker(w);
    if (k.ready.empty()) collect_arrived(w, t);
    if (!k.ready.empty()) {
        const ItemRange chunk = k.ready.front();
        k.ready.erase(k.ready.begin());
        k.depth.on_time();
        top_up(w, k.depth.depth(), true, t);
        ++k.fetched;
        return fetched(w, tid, t, chunk);
    }
    answer_steals(w, t);
    if (k.final && k.pending == 0) return fetched(w, tid, t, std::nullopt);
    k.late = k.pending > 0 && k.fetched > 0;  // the phase's first chunk is never late
    top_up(w, std::max(k.depth.depth(), 1), false, t);
    begin_wait(w, tid, SimWorker::Wait::front, t);
}

/// exec's WorkerLink::between_batches: at most every kStealPoll, if the team's lock is free.
void Simulation::worker_between_batches(int w, double t) {
    SimWorker& k = worker(w);
    if (t - k.polled < kStealPoll) return;
    k.polled = t;
    if (team(w).lock_holder < 0) answer_steals(w, t);
}

void Simulation::top_up(int w, int depth, bool ahead, double t) {
    SimWorker& k = worker(w);
    while (!k.final && k.pending + static_cast<int>(k.ready.size()) < depth) {
        send_to_root(w, sched::WorkRequest{take_report(w), ahead}, t);
        ++k.pending;
    }
}

void Simulation::collect_arrived(int w, double t) {
    SimWorker& k = worker(w);
    while (k.pending > 0 && !k.answers.empty() && k.answers.front().arrival <= t) accept_front(w);
}

void Simulation::accept_front(int w) {
    SimWorker& k = worker(w);
    const sched::Answer answer = k.answers.front().message;
    k.answers.erase(k.answers.begin());
    --k.pending;
    k.last_fresh = false;
    if (const auto* grant = std::get_if<sched::Grant>(&answer)) {
        k.last_fresh = grant->origin == sched::Origin::fresh;
        k.tail = k.tail || grant->origin == sched::Origin::stolen;
        k.ready.push_back(grant->items);
        return;
    }
    if (std::holds_alternative<sched::GoodbyeAck>(answer)) {
        throw Error::Internal("simulate: rank 0 acknowledged a goodbye worker " + std::to_string(w) + " did not say");
    }
    if (std::holds_alternative<sched::Abort>(answer)) throw Error::Internal("simulate: rank 0 aborted the phase");
    k.final = true;
}

/// exec's WorkerLink::answer_steals: a steal request gives up the last granted chunk not yet started, else the back
/// half of what the threads have not claimed of the current chunk.
void Simulation::answer_steals(int w, double t) {
    SimWorker& k = worker(w);
    while (!k.controls.empty() && k.controls.front().arrival <= t) {
        const sched::Control control = k.controls.front().message;
        k.controls.erase(k.controls.begin());
        if (std::holds_alternative<sched::PauseNotice>(control)) {
            throw Error::Internal("simulate: the model does not simulate pauses");
        }
        collect_arrived(w, t);  // a chunk granted ahead may be here, not yet taken in: it is the first to give
        ItemRange given;
        if (!k.ready.empty()) {
            given = k.ready.back();
            k.ready.pop_back();
        } else {
            given = split_current(w);
        }
        send_to_root(w, sched::ItemsGiven{given}, t);
    }
}

void Simulation::send_to_root(int w, const sched::ToRoot& message, double t) {
    if (beat_period_s_ > 0) worker(w).next_beat = t + beat_period_s_;  // exec counts a beat from any message
    inbox_.push_back({t + config_.latency_s, w, message});
    schedule(t + config_.latency_s, EventKind::root_arrival);
}

void Simulation::begin_wait(int w, int tid, SimWorker::Wait wait, double t) {
    SimWorker& k = worker(w);
    k.wait = wait;
    k.waiter = tid;
    k.wait_since = t;
    k.poll_at = -1;
    worker_looks(w, t);
}

void Simulation::worker_polls(int w, double t) {
    SimWorker& k = worker(w);
    if (t != k.poll_at) return;  // superseded by an earlier look, or the wait is over
    k.poll_at = -1;
    worker_looks(w, t);
}

/// One look of exec's wait_for_front (or of end()'s wait for the acknowledgement).
void Simulation::worker_looks(int w, double t) {
    SimWorker& k = worker(w);
    const bool arrived = !k.answers.empty() && k.answers.front().arrival <= t;
    if (k.wait == SimWorker::Wait::front && arrived && k.pending > 0) {
        accept_front(w);
        k.wait = SimWorker::Wait::none;
        k.poll_at = -1;
        k.wait_s += t - k.wait_since;
        // A fresh chunk came late (not one held back, nor one stolen in the tail): ask further ahead.
        if (k.late && k.last_fresh && !k.tail) k.depth.late();
        return worker_fetch(w, k.waiter, t);
    }
    if (k.wait == SimWorker::Wait::ack && arrived) {
        const sched::Answer answer = k.answers.front().message;
        k.answers.erase(k.answers.begin());
        const auto* ack = std::get_if<sched::GoodbyeAck>(&answer);
        if (ack == nullptr) throw Error::Internal("simulate: rank 0 answered a goodbye with something else");
        if (ack->pause_notice_sent) throw Error::Internal("simulate: the model does not simulate pauses");
        k.wait = SimWorker::Wait::none;
        k.poll_at = -1;
        k.wait_s += t - k.wait_since;
        k.acked = true;
        team(w).ended = t + config_.end_spread_s * Rng(config_.start_seed, static_cast<std::uint64_t>(w), 8).uniform();
        return;
    }
    answer_steals(w, t);
    if (k.wait == SimWorker::Wait::front && k.pending == 0) {  // the steal answer took the answer in: wait no more
        k.wait = SimWorker::Wait::none;
        k.poll_at = -1;
        k.wait_s += t - k.wait_since;
        if (k.late && k.last_fresh && !k.tail) k.depth.late();
        return worker_fetch(w, k.waiter, t);
    }
    // Idle here: tell rank 0 what is finished, so that it does not wait for work this rank no longer has.
    if (k.wait == SimWorker::Wait::front && team(w).unreported_items > 0) {
        send_to_root(w, sched::Update{take_report(w)}, t);
    }
    // A long wait beats itself (the helper cannot take the lock this thread holds).
    if (beat_period_s_ > 0 && t >= k.next_beat) send_to_root(w, sched::Heartbeat{take_report(w)}, t);
    arm_poll(w, t);
}

void Simulation::arm_poll(int w, double t) {
    SimWorker& k = worker(w);
    if (k.wait == SimWorker::Wait::none) return;
    double earliest = std::numeric_limits<double>::infinity();
    if (!k.answers.empty() && (k.wait == SimWorker::Wait::ack || k.pending > 0)) earliest = k.answers.front().arrival;
    if (!k.controls.empty()) earliest = std::min(earliest, k.controls.front().arrival);
    // Another thread finished a batch meanwhile: the next look reports it.
    if (k.wait == SimWorker::Wait::front && team(w).unreported_items > 0) earliest = std::min(earliest, t);
    if (beat_period_s_ > 0) earliest = std::min(earliest, k.next_beat);
    if (earliest == std::numeric_limits<double>::infinity()) return;
    const double at = backoff_look(k.wait_since, std::max(earliest, t));
    if (k.poll_at >= 0 && k.poll_at <= at) return;
    k.poll_at = at;
    schedule(at, EventKind::worker_polls, w, k.waiter);
}

/// The helper thread wakes every 10 ms (and the sleep's overshoot) from the worker's start. Only the wakes that
/// find something to do are simulated: a steal request that came, or a heartbeat that is due.
void Simulation::arm_helper(int w, double at) {
    SimWorker& k = worker(w);
    const double origin = team(w).entered;
    if (k.bye_sent || origin < 0) return;  // gone, or not started yet (worker_starts arms it)
    // Wakes are counted from the start, so that rounding never brings one back to the same moment.
    const double after_now = std::floor((now_ - origin) / helper_period_s_) + 1;
    const auto n = static_cast<std::int64_t>(std::max(std::max(after_now, std::ceil((at - origin) / helper_period_s_)),
                                                      static_cast<double>(k.helper_wakes + 1)));
    const double wake = origin + static_cast<double>(n) * helper_period_s_;
    if (k.helper_at >= 0 && k.helper_at <= wake) return;
    k.helper_at = wake;
    k.helper_next = n;
    schedule(wake, EventKind::helper_wakes, w);
}

/// exec's WorkerLink::help, one wake: answers steal requests (unless a thread holds the team's lock, which answers
/// them itself), and sends a heartbeat when one is due (waiting for the lock if it must).
void Simulation::helper_wakes(int w, double t) {
    SimWorker& k = worker(w);
    if (t != k.helper_at) return;
    k.helper_at = -1;
    k.helper_wakes = k.helper_next;
    if (k.bye_sent) return;
    if (team(w).lock_holder < 0) return helper_works(w, t);
    if (t >= k.next_beat) {  // it waits for the lock (unlock_team)
        k.helper_blocked = true;
        return;
    }
    if (!k.controls.empty()) arm_helper(w, k.controls.front().arrival);
    if (beat_period_s_ > 0) arm_helper(w, k.next_beat);
}

void Simulation::helper_works(int w, double t) {
    SimWorker& k = worker(w);
    k.helper_blocked = false;
    if (k.bye_sent) return;
    answer_steals(w, t);
    if (t >= k.next_beat) send_to_root(w, sched::Heartbeat{take_report(w)}, t);
    if (!k.controls.empty()) arm_helper(w, k.controls.front().arrival);
    if (beat_period_s_ > 0) arm_helper(w, k.next_beat);
}

/// exec's WorkerLink::end, once every thread is out of its loop: the goodbye, then steal answers until rank 0
/// acknowledges it.
void Simulation::worker_end(int w, double t) {
    SimWorker& k = worker(w);
    if (k.pending > 0) throw Error::Internal("simulate: worker " + std::to_string(w) + " ended with answers pending");
    send_to_root(w, sched::Goodbye{take_report(w), false}, t);
    k.bye_sent = true;
    begin_wait(w, 0, SimWorker::Wait::ack, t);
}

}  // namespace pel::simulate
