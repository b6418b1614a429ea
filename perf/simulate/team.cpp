// perf/simulate/team.cpp: a rank's threads and their chunks, as exec/team.cpp and exec/chunk.cpp run them.
#include <algorithm>
#include <utility>

#include "pel/error.hpp"
#include "simulation.hpp"

namespace pel::simulate {

void Simulation::thread_loop(int rank, int tid, double t) {
    SimThread& th = thread(rank, tid);
    if (th.chunk >= 0 && !th.drained) {
        // exec: a batch lasts about kServeInterval by this thread's mean item time so far (one item before any is
        // measured when items are long), and is a share of what is left for one of the team's threads.
        SimChunk& chunk = chunks_[static_cast<std::size_t>(th.chunk)];
        std::uint64_t cap = UINT64_MAX;
        if (ranks_ > 1) {
            const double per_item = th.items > 0 ? th.busy_s / static_cast<double>(th.items) : config_.serve_interval_s;
            cap = per_item > 0 ? static_cast<std::uint64_t>(config_.serve_interval_s / per_item) : UINT64_MAX;
        }
        const auto threads = static_cast<std::uint64_t>(threads_per_rank_);
        const std::uint64_t grain =
            std::clamp<std::uint64_t>((chunk.end - chunk.next) / (2 * threads), 1, std::max<std::uint64_t>(cap, 1));
        const ItemRange batch{chunk.next, std::min(chunk.next + grain, chunk.end)};
        chunk.next = batch.end;
        th.drained = chunk.next == chunk.end;
        if (!batch.empty()) {
            th.batch = batch;
            th.batch_s = cost_of(rank, batch);
            th.computing = true;
            schedule(t + th.batch_s, EventKind::batch_done, rank, tid);
            return;
        }
    }
    SimTeam& tm = team(rank);
    if (tm.lock_holder >= 0) {
        th.blocked = SimThread::Blocked::team_lock;
        tm.lock_waiters.push_back(tid);
        return;
    }
    tm.lock_holder = tid;
    team_locked(rank, tid, t);
}

void Simulation::batch_done(int rank, int tid, double t) {
    SimThread& th = thread(rank, tid);
    if (th.debt_s > 0) {  // the server thread had this core for a while: the batch ends that much later
        th.batch_s += th.debt_s;
        schedule(t + std::exchange(th.debt_s, 0.0), EventKind::batch_done, rank, tid);
        return;
    }
    th.computing = false;
    const ItemRange batch = th.batch;
    th.busy_s += th.batch_s;
    th.items += batch.size();
    SimTeam& tm = team(rank);
    tm.unreported_items += batch.size();
    tm.unreported_busy_s += th.batch_s;
    for (std::uint64_t i = batch.begin; i < batch.end; ++i) ++done_[i];
    items_done_ += batch.size();
    result_.last_batch_s = std::max(result_.last_batch_s, t);
    if (config_.batches != nullptr) config_.batches->push_back({rank, tid, batch.begin, batch.end, t - th.batch_s, t});
    if (rank > 0) arm_poll(rank, t);  // a thread of this rank waiting for rank 0 reports it at its next look
    if (rank == 0) {
        result_.root_items += batch.size();
        // Rank 0's unreported work changed: a parked thief may now be told the phase is over.
        if (server_on_ && !server_done_ && t < hot_until_ && sched_holder_ == kNobody) schedule_server_look(t);
    }
    // A drained chunk goes to fetch, which looks at the messages anyway.
    if (!th.drained) {
        if (rank == 0) {
            root_between_batches(tid, t);
            if (sched_holder_ == tid) return;  // serving: it goes on when the queue is empty
        } else {
            worker_between_batches(rank, t);
        }
    }
    thread_loop(rank, tid, t);
}

void Simulation::thread_resumes(int rank, int tid, double t) {
    SimThread& th = thread(rank, tid);
    const SimThread::Blocked blocked = std::exchange(th.blocked, SimThread::Blocked::nothing);
    switch (blocked) {
        case SimThread::Blocked::team_lock:
            return team_locked(rank, tid, t);
        case SimThread::Blocked::sched_lock:
            return root_fetch_locked(tid, t);
        case SimThread::Blocked::own_grant:
            own_waiter_ = -1;
            own_granted_ = false;
            return fetched(0, tid, t, own_grant_);
        case SimThread::Blocked::nothing:
            throw Error::Internal("simulate: a thread resumed that was not blocked");
    }
}

void Simulation::team_locked(int rank, int tid, double t) {
    SimTeam& tm = team(rank);
    SimThread& th = thread(rank, tid);
    if (tm.current != th.chunk) {  // another thread fetched one: share it
        th.chunk = tm.current;
        th.drained = false;
        unlock_team(rank, t);
        return thread_loop(rank, tid, t);
    }
    if (tm.finished) {
        unlock_team(rank, t);
        return thread_exits(rank, tid, t);
    }
    if (rank == 0) return root_fetch(tid, t);
    worker_fetch(rank, tid, t);
}

void Simulation::fetched(int rank, int tid, double t, std::optional<ItemRange> chunk) {
    SimTeam& tm = team(rank);
    if (!chunk) {
        tm.finished = true;
        unlock_team(rank, t);
        return thread_exits(rank, tid, t);
    }
    set_current(rank, *chunk);
    SimThread& th = thread(rank, tid);
    th.chunk = tm.current;
    th.drained = false;
    unlock_team(rank, t);
    thread_loop(rank, tid, t);
}

void Simulation::unlock_team(int rank, double t) {
    SimTeam& tm = team(rank);
    if (tm.lock_waiters.empty()) {
        tm.lock_holder = -1;
        if (rank > 0 && worker(rank).helper_blocked) helper_works(rank, t);  // the helper waited for the lock
        return;
    }
    tm.lock_holder = tm.lock_waiters.front();
    tm.lock_waiters.erase(tm.lock_waiters.begin());
    schedule(t, EventKind::thread_resumes, rank, tm.lock_holder);
}

void Simulation::thread_exits(int rank, int tid, double t) {
    thread(rank, tid).done = true;
    SimTeam& tm = team(rank);
    if (--tm.running > 0) return;
    if (rank == 0) {
        team_done_at_ = t;
        return root_done(t);
    }
    worker_end(rank, t);
}

void Simulation::set_current(int rank, ItemRange chunk) {
    SimTeam& tm = team(rank);
    tm.current = static_cast<std::int32_t>(chunks_.size());
    chunks_.push_back({chunk.begin, chunk.end});
    ++tm.chunks;
    ++result_.chunks;
    result_.max_chunk = std::max(result_.max_chunk, chunk.size());
}

sched::Report Simulation::take_report(int rank) {
    SimTeam& tm = team(rank);
    return {std::exchange(tm.unreported_items, 0), std::exchange(tm.unreported_busy_s, 0.0)};
}

ItemRange Simulation::split_current(int rank) {
    const SimTeam& tm = team(rank);
    if (tm.current < 0) return {};
    SimChunk& chunk = chunks_[static_cast<std::size_t>(tm.current)];
    const std::uint64_t left = chunk.end - chunk.next;
    if (left < 2) return {};
    const ItemRange given{chunk.next + (left + 1) / 2, chunk.end};
    chunk.end = given.begin;
    return given;
}

}  // namespace pel::simulate
