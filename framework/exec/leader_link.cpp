// exec/leader_link.cpp: a group leader's side of the top level (see leader_link.hpp).
#include "exec/leader_link.hpp"

#include <algorithm>

#include "exec/clock.hpp"
#include "exec/signals.hpp"

namespace pel::exec {

namespace {

/// A leader passes on what its group finished at most this often (seconds), and at once when its group has finished
/// all it was given: rank 0 weights leaders by group size (no measured speeds), so it needs the news only to pick a
/// victim to steal from and to end the phase; every millisecond would load rank 0 at 10^5 ranks (perf/levels).
constexpr double kUpdatePeriod = 10e-3;
/// The longest a leader goes without a message to rank 0 while heartbeats are on (seconds), as a worker.
constexpr double kBeatPeriod = 2.0;

}  // namespace

LeaderLink::LeaderLink(const mpi::Comm& top, const RunConfig& config, Team& team)
    : top_(top),
      config_(config),
      team_(team),
      beat_period_s_(config.heartbeat_s > 0 ? std::min(config.heartbeat_s / 4, kBeatPeriod) : 0) {}

void LeaderLink::begin() {
    sent_ = now_s();
    pending_.emplace_back().post(top_);  // the chunk rank 0 sends unasked
}

void LeaderLink::send(const sched::ToRoot& message, double now) {
    channel::send(top_, message);
    sent_ = now;
}

/// What the group finished since the last report: rank 0 counts it against what it granted this leader.
sched::Report LeaderLink::report(const sched::Scheduler& group) {
    const sched::Report r{group.items_reported() - reported_items_, group.busy_reported() - reported_busy_};
    reported_items_ = group.items_reported();
    reported_busy_ = group.busy_reported();
    return r;
}

/// Takes in rank 0's oldest answer (arrived). `group`: null once the group is over (a chunk then stays undone).
void LeaderLink::take_answer(sched::Scheduler* group) {
    const sched::Answer answer = pending_.front().answer();
    pending_.pop_front();
    if (const auto* grant = std::get_if<sched::Grant>(&answer)) {
        last_chunk_ = grant->items.size();
        supplied_ += grant->items.size();
        // In a pause or an abort the chunk stays undone: what is done is gathered from the ranks, not from grants.
        if (group != nullptr && !group->pausing() && !group->aborted()) group->supply(grant->items);
        return;
    }
    if (std::holds_alternative<sched::GoodbyeAck>(answer)) {
        throw Error::Internal("rank 0 acknowledged a goodbye this leader did not say");
    }
    final_ = true;
    if (group == nullptr) return;
    if (std::holds_alternative<sched::Abort>(answer)) group->abort();
    group->close_supply();
}

/// Rank 0's control messages: a steal gives up the chunk supplied last and not yet started by the group; a pause
/// notice pauses the group.
void LeaderLink::answer_control(sched::Scheduler* group) {
    while (top_.iprobe(0, channel::kControl).has_value()) {
        const sched::Control control = channel::receive_control(top_);
        if (std::holds_alternative<sched::PauseNotice>(control)) {
            notice_seen_ = true;
            if (group != nullptr) group->pause_from_above();
            continue;
        }
        const ItemRange given = group != nullptr && !group->pausing() ? group->take_back_supply() : ItemRange{};
        supplied_ -= given.size();
        send(sched::ItemsGiven{given}, now_s());
    }
}

void LeaderLink::poll(sched::Scheduler& group, double now) {
    while (!pending_.empty() && pending_.front().request.test()) take_answer(&group);
    answer_control(&group);
    // A stop signal here, or a pause the group began itself (a member's signal, the time limit): rank 0 pauses all.
    if (!signal_sent_ && !notice_seen_ && (stop_signal() != 0 || group.pausing())) {
        signal_sent_ = true;
        send(sched::StopSignal{}, now);
    }
    if (group.pausing() || group.aborted()) return;
    // The next chunk is asked for as soon as the group holds no more than the last one's worth not yet handed out,
    // so that it comes before the group runs dry: rank 0's answer takes a round trip, and longer while the leader's
    // threads are inside long items (asking at half of it left members waiting: 9 ranks, pareto 300 us items).
    if (!final_ && pending_.empty() && group.supply_left() <= last_chunk_) {
        send(sched::WorkRequest{report(group), group.supply_left() > 0}, now);
        pending_.emplace_back().post(top_);
        return;
    }
    // Rate-limited, but at once when the group has finished all it was given: rank 0 waits for that to end the phase.
    if (group.items_reported() > reported_items_ &&
        (now - sent_ >= kUpdatePeriod || group.items_reported() == supplied_)) {
        send(sched::Update{report(group)}, now);
    } else if (beat_period_s_ > 0 && now - sent_ >= beat_period_s_) {
        send(sched::Heartbeat{report(group)}, now);
    }
}

void LeaderLink::end(const sched::Scheduler& group) {
    Backoff backoff(config_.oversubscribed);
    const auto beat_if_due = [&] {
        if (beat_period_s_ > 0 && now_s() - sent_ >= beat_period_s_) send(sched::Heartbeat{report(group)}, now_s());
    };
    while (!pending_.empty()) {  // only after a pause or an abort: rank 0 answers with PhaseOver, Abort or a chunk
        if (pending_.front().request.test()) {
            take_answer(nullptr);
            continue;
        }
        answer_control(nullptr);
        beat_if_due();
        backoff.pause();
    }
    send(sched::Goodbye{report(group), team_.failure().has_value() || group.aborted()}, now_s());
    channel::PendingAnswer ack;
    ack.post(top_);
    while (!ack.request.test()) {
        answer_control(nullptr);
        beat_if_due();
        backoff.pause();
    }
    const sched::Answer answer = ack.answer();
    const auto* acked = std::get_if<sched::GoodbyeAck>(&answer);
    if (acked == nullptr) throw Error::Internal("rank 0 answered a leader's goodbye with something else");
    if (acked->pause_notice_sent && !notice_seen_) {
        // Sent before the ack on the other channel: taken now, so that it cannot leak into a later phase.
        if (!std::holds_alternative<sched::PauseNotice>(channel::receive_control(top_))) {
            throw Error::Internal("a steal request after a leader's goodbye");
        }
        notice_seen_ = true;
    }
}

}  // namespace pel::exec
