// exec/root_link.cpp: rank 0's transport of the scheduler's decisions (see root_link.hpp).
#include "exec/root_link.hpp"

#include <chrono>
#include <cstdio>

#include "exec/channel.hpp"
#include "exec/clock.hpp"
#include "exec/log.hpp"
#include "exec/signals.hpp"
#include "exec/trace.hpp"
#include "mpi/environment.hpp"

namespace pel::exec {

namespace {

/// Rank 0's server thread stands by (wakes every kStandbyNap) while a compute thread has looked for requests within
/// kStandby: each look of its own costs a wake-up and an MPI progress poll on the compute threads' core, which
/// measured 8% of a core when it looked every 160 us.
constexpr double kStandby = 5e-3;  // seconds
constexpr auto kStandbyNap = std::chrono::milliseconds(1);

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};

sched::SchedulerSettings settings_of(const RunConfig& config, double pause_at) {
    sched::SchedulerSettings s;
    s.schedule = config.schedule;
    s.threads = config.threads;
    s.steal = config.steal;
    s.max_retries = config.max_retries;
    s.skip_failed = config.skip_failed;
    s.heartbeat_s = config.heartbeat_s;
    s.stop_at = config.stop_at;
    s.pause_at = pause_at;
    return s;
}

}  // namespace

RootLink::RootLink(const mpi::Comm& comm, const RunConfig& config, Team& team, const Phase& phase, int phase_index,
                   std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts)
    : comm_(comm),
      config_(config),
      team_(team),
      phase_(phase),
      phase_index_(phase_index),
      hosts_(hosts),
      scheduler_(settings_of(config, pause_at), phase.items, comm.size(), std::move(todo), *this) {}

RootLink::~RootLink() {
    quit_ = true;
    if (server_.joinable()) server_.join();
}

void RootLink::begin() {
    {
        const std::scoped_lock lock(team_.lock(), sched_mutex_);
        starting_ = true;
        scheduler_.start(now_s());
        carry_out();
        starting_ = false;
    }
    // A leader's server also follows rank 0, even with a group of one.
    if (comm_.size() > 1 || upstream_ != nullptr) server_ = std::thread([this] { serve_until_all_done(); });
}

void RootLink::end() {
    {
        // What rank 0's threads finished after the last of them fetched: no fetch reports it otherwise.
        const std::lock_guard lock(sched_mutex_);
        scheduler_.own_report(team_.take_report());
        carry_out();
        team_done_ = true;
    }
    if (server_.joinable()) server_.join();
    if (server_error_) std::rethrow_exception(server_error_);
}

// ----- Rank 0's team -----

std::optional<ItemRange> RootLink::fetch() {
    std::unique_lock lock(sched_mutex_);
    serve(now_s());
    if (scheduler_.aborted() || scheduler_.pausing()) return std::nullopt;
    own_granted_ = false;
    scheduler_.own_request(team_.take_report(), now_s());
    carry_out();
    if (!own_granted_) {  // a steal for rank 0 is on its way (or it waits for news): the server thread answers
        const double t0 = now_s();
        own_grant_ready_.wait(lock, [this] { return own_granted_ || broken_; });
        wait_s_ += now_s() - t0;
        if (!own_granted_) return std::nullopt;
    }
    own_granted_ = false;
    return own_grant_;
}

void RootLink::between_batches(double now) {
    const std::unique_lock lock(sched_mutex_, std::try_to_lock);  // another thread is serving already
    if (!lock.owns_lock()) return;
    scheduler_.own_report(team_.take_report());
    serve(now);
}

void RootLink::hand_back(ItemRange batch) {
    const std::lock_guard lock(sched_mutex_);
    scheduler_.own_failed(batch);
    carry_out();
}

void RootLink::failed() noexcept {
    try {
        const std::lock_guard lock(sched_mutex_);
        scheduler_.abort();
        carry_out();
    } catch (...) {  // the run ends either way; what failed first is already recorded
    }
}

std::uint64_t RootLink::unclaimed() {
    Chunk* chunk = team_.current();
    return chunk != nullptr ? chunk->unclaimed() : 0;
}

ItemRange RootLink::split() {
    Chunk* chunk = team_.current();
    return chunk != nullptr ? chunk->split() : ItemRange{};
}

// ----- Serving -----

/// A compute thread of rank 0 looks for requests (at `now`) and answers them. Under sched_mutex_.
void RootLink::serve(double now) {
    last_compute_poll_s_.store(now, std::memory_order_relaxed);
    scheduler_.tick(now, stop_signal());
    carry_out();
    poll_upstream(now);
    if (comm_.size() == 1) return;
    for (double probed = now;; probed = now_s()) {
        const std::optional<int> source = channel::probe_to_root(comm_);
        if (!source) return;
        answer(*source, probed);
    }
}

/// A leader: what rank 0 sent goes to the scheduler. Under sched_mutex_.
void RootLink::poll_upstream(double now) {
    if (upstream_ == nullptr) return;
    upstream_->poll(scheduler_, now);
    carry_out();
}

/// Receives one message from worker `source` and hands it to the scheduler, counting its time from when the probe
/// that found it began (`probed`). Under sched_mutex_.
void RootLink::answer(int source, double probed) {
    const sched::ToRoot message = channel::receive_to_root(comm_, source);
    scheduler_.receive(source, message, probed);
    carry_out();
    serve_s_ += now_s() - probed;
    ++requests_;
}

/// Carries out what the scheduler decided. Under sched_mutex_.
void RootLink::carry_out() {
    scheduler_.take_actions(actions_);
    for (const sched::Action& action : actions_) {
        std::visit(
            Overloaded{
                [&](const sched::Reply& a) { channel::send(comm_, a.to, a.answer); },
                [&](const sched::Order& a) { channel::send(comm_, a.to, a.control); },
                [&](const sched::OwnGrant& a) {
                    if (starting_) {  // begin() holds the team's lock
                        if (a.chunk) team_.set_current(*a.chunk);
                        return;
                    }
                    own_grant_ = a.chunk;
                    own_granted_ = true;
                    own_grant_ready_.notify_all();
                },
                [&](const sched::Pausing& a) {
                    switch (a.reason) {
                        case sched::PauseReason::time_limit:
                            note("time limit", "stopping for a checkpoint before the time limit");
                            break;
                        case sched::PauseReason::signal:
                            note("signal",
                                 stop_signal() != 0 && stop_signal() != kTimeLimitStop
                                     ? "signal " + std::to_string(stop_signal()) + ": stopping for a checkpoint"
                                     : std::string("a rank got a stop signal: stopping for a checkpoint"));
                            break;
                        case sched::PauseReason::checkpoint:
                            note("pause", "phase " + std::to_string(phase_index_) + " pauses for a checkpoint");
                            break;
                    }
                    team_.pause();
                },
                [&](const sched::TimeLimitReached&) { request_stop(kTimeLimitStop); },
                [&](const sched::Stolen& a) {
                    if (config_.trace == nullptr) return;
                    note("steal", "items [" + std::to_string(a.items.begin) + ", " + std::to_string(a.items.end) +
                                      ") from rank " + std::to_string(a.victim) + " to rank " +
                                      std::to_string(a.thief));
                },
                [&](const sched::Returned& a) {
                    if (config_.trace == nullptr) return;
                    note("return", "items [" + std::to_string(a.items.begin) + ", " + std::to_string(a.items.end) +
                                       ") given back by rank " + std::to_string(a.rank) +
                                       ", its threads all inside long items");
                },
                [&](const sched::ItemGaveUp& a) {
                    team_.fail(Error::Failure("job '" + config_.job_name + "' failed on item " +
                                              std::to_string(a.item) + " of phase '" + phase_.name + "' " +
                                              std::to_string(a.failures) + (a.failures == 1 ? " time" : " times") +
                                              ", last on rank " + std::to_string(a.rank) + " (see its warning)"));
                },
                [&](const sched::Silent& a) {
                    // Open MPI cannot go on without the silent rank: the run ends here, naming it.
                    const auto r = static_cast<std::size_t>(a.rank);
                    char line[400];
                    std::snprintf(line, sizeof line,
                                  "rank %d on host %s sent nothing for %.0f s (--heartbeat-timeout): ending the run; "
                                  "its last checkpoint stays usable with --resume",
                                  a.rank, r < hosts_.size() ? hosts_[r].c_str() : "?", a.silent_s);
                    report_error(0, line);
                    mpi::Environment::abort(static_cast<int>(ExitCode::failure));
                },
            },
            action);
    }
    if (const std::uint64_t reported = scheduler_.items_reported();
        config_.progress != nullptr && reported != reported_) {
        config_.progress->items_done += reported - reported_;
        reported_ = reported;
    }
}

/// Rank 0's server thread: answers every worker until each has said goodbye and been acknowledged. An error stops
/// the team, wakes rank 0's team if it waits for a grant, and is thrown again by end().
void RootLink::serve_until_all_done() noexcept {
    try {
        std::unique_lock lock(sched_mutex_, std::defer_lock);
        int idle_polls = 0;
        while (!quit_) {
            lock.lock();
            const double now = now_s();
            scheduler_.tick(now, stop_signal());
            give_back_if_stuck(now);
            carry_out();
            poll_upstream(now);
            // A leader's server follows rank 0 until its own team is done too.
            const bool all_gone = scheduler_.all_acknowledged() && (upstream_ == nullptr || team_done_);
            const std::optional<int> source =
                all_gone || comm_.size() == 1 ? std::nullopt : channel::probe_to_root(comm_);
            if (source) {
                answer(*source, now);
            } else {
                scheduler_.recheck();  // rank 0's own threads may have moved on meanwhile
                carry_out();
            }
            lock.unlock();
            if (all_gone) return;
            idle_polls = source ? 0 : idle_polls + 1;
            if (source) continue;
            // While rank 0's threads look between their batches, this thread only stands by: it shares their core.
            if (now_s() - last_compute_poll_s_.load(std::memory_order_relaxed) < kStandby) {
                std::this_thread::sleep_for(kStandbyNap);
                continue;
            }
            // Requests come in bursts: poll hard just after one, then sleep longer and longer (to 320 us).
            if (idle_polls > 64) {
                std::this_thread::sleep_for(std::chrono::microseconds(20 << std::min((idle_polls - 64) / 8, 4)));
            }
        }
    } catch (...) {
        server_error_ = std::current_exception();
        {
            const std::lock_guard lock(sched_mutex_);
            broken_ = true;
        }
        own_grant_ready_.notify_all();
        team_.stop();
    }
}

/// When every thread of rank 0 is inside a long item, the unclaimed rest of its current chunk goes to the next rank
/// that asks, instead of waiting behind them (rank 0 asks for nothing ahead: that is all it holds). Under
/// sched_mutex_, not the team's lock, and safe so: take_rest() takes the chunk's own lock, as claims and steals do,
/// so an item is claimed here or given back, never both; the current chunk is the only one with unclaimed items (a
/// thread fetches only once it found its chunk drained); and while every thread is inside a batch none is between
/// fetch() and set_current(), so the chunk cannot change under us.
void RootLink::give_back_if_stuck(double now) {
    if (scheduler_.pausing() || scheduler_.aborted() || !team_.stuck(now)) return;
    if (Chunk* chunk = team_.current()) {
        if (const ItemRange rest = chunk->take_rest(); !rest.empty()) scheduler_.own_return(rest);
    }
}

/// An instant event in the trace, from rank 0's scheduling (the trace's extra thread).
void RootLink::note(std::string name, std::string detail) {
    if (config_.trace != nullptr) config_.trace->instant(config_.threads, now_s(), std::move(name), std::move(detail));
}

}  // namespace pel::exec
