// exec/worker_link.cpp: a worker's side of the protocol (see worker_link.hpp).
#include "exec/worker_link.hpp"

#include <chrono>
#include <mutex>

#include "exec/clock.hpp"
#include "exec/signals.hpp"
#include "exec/trace.hpp"

namespace pel::exec {

namespace {

/// A worker's threads look for steal requests between batches at most this often (seconds): a probe costs about as
/// much as a tiny item.
constexpr double kStealPoll = 20e-6;
/// How often the helper thread wakes to answer steal requests and send heartbeats.
constexpr auto kHelperNap = std::chrono::milliseconds(10);
/// The longest a worker goes without a message to rank 0 while heartbeats are on (seconds).
constexpr double kBeatPeriod = 2.0;

}  // namespace

WorkerLink::WorkerLink(const mpi::Comm& comm, const RunConfig& config, Team& team)
    : comm_(comm),
      config_(config),
      team_(team),
      depth_(config.prefetch),
      beat_period_s_(config.heartbeat_s > 0 ? std::min(config.heartbeat_s / 4, kBeatPeriod) : 0) {}

/// Every message to rank 0 goes through here (under the team's lock), so that heartbeats count from the last one.
void WorkerLink::send(const sched::ToRoot& message) {
    channel::send(comm_, message);
    sent_.store(now_s(), std::memory_order_relaxed);
}

/// With heartbeats on, tells rank 0 this rank is alive (and what it finished) when it has said nothing for a beat
/// period. Under the team's lock.
void WorkerLink::beat_if_due() {
    if (beat_period_s_ > 0 && now_s() - sent_.load(std::memory_order_relaxed) >= beat_period_s_) {
        send(sched::Heartbeat{team_.take_report()});
    }
}

WorkerLink::~WorkerLink() {
    quit_ = true;
    if (helper_.joinable()) helper_.join();
}

void WorkerLink::begin() {
    sent_ = now_s();
    pending_.emplace_back().post(comm_);  // the chunk rank 0 sends unasked
    helper_ = std::thread([this] { help(); });
}

std::optional<ItemRange> WorkerLink::fetch() {
    while (true) {
        // A failure here or elsewhere, or a pause: end() settles what is in flight.
        if (team_.stopped() || team_.paused()) return std::nullopt;
        if (ready_.empty()) collect_arrived();
        if (!ready_.empty()) {
            const ItemRange chunk = ready_.front();
            ready_.pop_front();
            depth_.on_time();
            top_up(depth_.depth(), true);
            ++fetched_;
            return chunk;
        }
        answer_steals(true);
        if (team_.stopped() || team_.paused()) return std::nullopt;
        // Answering a steal takes in the answers that have come, and may keep part of a grant: start it. (Going on
        // instead lost that part when a PhaseOver came with it, and waited on an empty pending_ otherwise.)
        if (!ready_.empty()) continue;
        if (final_ && pending_.empty()) return std::nullopt;
        const bool late = !pending_.empty() && fetched_ > 0;  // the phase's first chunk is never late
        top_up(std::max(depth_.depth(), 1), false);
        const double t0 = now_s();
        wait_for_front();
        wait_s_ += now_s() - t0;
        // A fresh chunk came late (not one held back, nor one stolen in the tail, where the wait is no latency to
        // hide): ask further ahead.
        if (late && last_fresh_ && !tail_) depth_.late();
    }
}

/// Sends requests until `depth` chunks are asked for or waiting. `ahead`: this rank has a chunk in hand (rank 0 may
/// hold the request back until it has less).
void WorkerLink::top_up(int depth, bool ahead) {
    while (!final_ && !team_.stopped() && pending_.size() + ready_.size() < static_cast<std::size_t>(depth)) {
        send(sched::WorkRequest{team_.take_report(), ahead});
        pending_.emplace_back().post(comm_);
    }
}

/// Takes in the answers that have arrived (they arrive in the order asked).
void WorkerLink::collect_arrived() {
    while (!pending_.empty() && pending_.front().request.test()) accept_front();
}

/// Waits for the oldest outstanding answer, answering steals meanwhile, and takes it in; returns early once a chunk
/// is ready (answering a steal takes in what has come, and may keep part of a grant). The wait may be long (rank 0
/// parks a request while another rank still has work): heartbeats go on from here, since the helper thread cannot
/// take the team's lock meanwhile.
void WorkerLink::wait_for_front() {
    Backoff backoff(config_.oversubscribed);
    while (!pending_.empty() && !pending_.front().request.test()) {
        answer_steals(true);  // may take answers in itself (to give part of one away)
        if (!ready_.empty() || pending_.empty()) return;
        if (team_.unreported() > 0) {
            // Idle here: tell rank 0 what is finished, so that it does not wait for work this rank no longer has.
            send(sched::Update{team_.take_report()});
        }
        beat_if_due();
        backoff.pause();
    }
    if (!pending_.empty()) accept_front();
}

void WorkerLink::accept_front() {
    const sched::Answer answer = pending_.front().answer();
    pending_.pop_front();
    last_fresh_ = false;
    if (const auto* grant = std::get_if<sched::Grant>(&answer)) {
        last_fresh_ = grant->origin == sched::Origin::fresh;
        tail_ = tail_ || grant->origin == sched::Origin::stolen;
        if (!team_.stopped() && !team_.paused()) ready_.push_back(grant->items);
        return;
    }
    if (std::holds_alternative<sched::GoodbyeAck>(answer)) {
        throw Error::Internal("rank 0 acknowledged a goodbye this rank did not say");
    }
    final_ = true;
    if (std::holds_alternative<sched::Abort>(answer)) team_.stop();
}

void WorkerLink::between_batches(double now) {
    // Short batches look for steal requests at most every kStealPoll: a thief waits a little longer, the worker
    // does not pay a probe per item.
    if (now - polled_.load(std::memory_order_relaxed) < kStealPoll) return;
    polled_.store(now, std::memory_order_relaxed);
    const std::unique_lock lock(team_.lock(), std::try_to_lock);  // the holder answers them itself
    if (lock.owns_lock()) answer_steals();
}

/// Passes on a stop signal, and answers rank 0's control messages: a steal request gives up the last granted chunk
/// not yet started, else the back half of what the threads have not claimed of the current chunk. `idle`: a thread
/// waits for work here and starts the first granted chunk at once, so a thief gets the back half of it, not all of
/// it (which would leave this rank to steal in turn, and a chunk passed on from thief to thief unstarted). Under the
/// team's lock.
void WorkerLink::answer_steals(bool idle) {
    if (!signal_sent_ && stop_signal() != 0) {
        signal_sent_ = true;
        if (config_.trace != nullptr) {
            config_.trace->instant(config_.threads, now_s(), "signal",
                                   "signal " + std::to_string(stop_signal()) + " on this rank: told rank 0");
        }
        send(sched::StopSignal{});
    }
    while (channel::control_waiting(comm_)) {
        const sched::Control control = channel::receive_control(comm_);
        if (std::holds_alternative<sched::PauseNotice>(control)) {
            take_pause_notice();
            continue;
        }
        collect_arrived();  // a chunk granted ahead may be here, not yet taken in: it is the first to give
        ItemRange given;
        if (ready_.size() > (idle ? 1U : 0U)) {
            given = ready_.back();
            ready_.pop_back();
        } else if (!ready_.empty()) {
            ItemRange& kept = ready_.front();
            if (kept.size() >= 2) {
                given = {kept.begin + (kept.size() + 1) / 2, kept.end};
                kept.end = given.begin;
            }
        } else if (Chunk* chunk = team_.current()) {
            given = chunk->split();
        }
        send(sched::ItemsGiven{given});
    }
}

/// Every thread is inside a long item: the chunks granted ahead and the unclaimed rest of the current chunk go back
/// to rank 0, which grants them to the next rank that asks, instead of leaving them behind the long items while other
/// ranks take later ones. Only with every request answered (and the phase not over for this rank): then no PhaseOver
/// is on its way, and the requests this rank sends later find the items at rank 0 if no other rank took them. Under
/// the team's lock.
void WorkerLink::give_back() {
    collect_arrived();
    if (!pending_.empty() || final_) return;
    for (const ItemRange& chunk : ready_) send(sched::ItemsReturned{chunk});
    ready_.clear();
    if (Chunk* chunk = team_.current()) {
        if (const ItemRange rest = chunk->take_rest(); !rest.empty()) send(sched::ItemsReturned{rest});
    }
}

/// Rank 0 pauses the phase: no more claims here; chunks granted but not started stay undone.
void WorkerLink::take_pause_notice() {
    notice_seen_ = true;
    team_.pause();
    ready_.clear();
}

void WorkerLink::hand_back(ItemRange batch) {
    const std::lock_guard lock(team_.lock());
    send(sched::ItemsFailed{batch});
}

/// The helper thread, awake every kHelperNap while the compute threads may all be inside long items:
/// - it answers steal requests (and pause notices, and passes on a stop signal), so that a chunk granted ahead and
///   not started does not wait behind a long item while other ranks idle;
/// - when every compute thread is inside a long item (Team::stuck), it gives back what this rank holds unstarted;
/// - with heartbeats on, it tells rank 0 that this rank is alive (every quarter of the timeout, at most kBeatPeriod
///   apart) and what it finished since its last message, so that rank 0's progress figures move.
/// Stops at the goodbye. An error stops the team and is thrown again by end().
void WorkerLink::help() noexcept {
    try {
        while (true) {
            std::this_thread::sleep_for(kHelperNap);
            if (bye_sent_ || quit_) return;
            const bool beat_due =
                beat_period_s_ > 0 && now_s() - sent_.load(std::memory_order_relaxed) >= beat_period_s_;
            std::unique_lock lock(team_.lock(), std::try_to_lock);  // a thread holding it answers steals itself
            if (!lock.owns_lock()) {
                if (!beat_due) continue;
                lock.lock();
            }
            if (bye_sent_ || quit_) return;
            answer_steals();
            if (!final_ && !team_.paused() && !team_.stopped() && team_.stuck(now_s())) give_back();
            if (beat_due) beat_if_due();
        }
    } catch (...) {
        helper_error_ = std::current_exception();
        team_.stop();
    }
}

void WorkerLink::end() {
    {
        const std::lock_guard lock(team_.lock());
        const double t0 = now_s();
        while (!pending_.empty()) wait_for_front();  // after a failure, chunks still arriving are dropped
        send(sched::Goodbye{team_.take_report(), team_.failure().has_value()});
        bye_sent_ = true;
        channel::PendingAnswer ack;
        ack.post(comm_);
        Backoff backoff(config_.oversubscribed);
        while (!ack.request.test()) {
            answer_steals();
            beat_if_due();
            backoff.pause();
        }
        const sched::Answer answer = ack.answer();
        const auto* acked = std::get_if<sched::GoodbyeAck>(&answer);
        if (acked == nullptr) throw Error::Internal("rank 0 answered a goodbye with something else");
        if (acked->pause_notice_sent && !notice_seen_) {
            // Sent before the ack on the other channel: take it now, so that it cannot leak into a later phase.
            if (!std::holds_alternative<sched::PauseNotice>(channel::receive_control(comm_))) {
                throw Error::Internal("a steal request after a worker's goodbye");
            }
            take_pause_notice();
        }
        wait_s_ += now_s() - t0;
    }
    if (helper_.joinable()) helper_.join();
    if (helper_error_) std::rethrow_exception(helper_error_);
}

}  // namespace pel::exec
