// sched/scheduler.cpp: rank 0's decisions (see scheduler.hpp), one event at a time.
#include "sched/scheduler.hpp"

#include <algorithm>

namespace pel::sched {

Scheduler::Scheduler(SchedulerSettings settings, std::uint64_t items, int ranks, std::vector<ItemRange> todo,
                     OwnTeam& own)
    : settings_(settings),
      items_(items),
      ranks_(std::max(ranks, 1)),
      own_(own),
      dispenser_(settings.schedule, items, ranks_, std::move(todo)),
      ranks_state_(static_cast<std::size_t>(ranks_)) {
    actions_.reserve(16);
}

// ----- Events -----

void Scheduler::start(double now) {
    last_now_ = now;
    next_heartbeat_check_ = now + kHeartbeatCheck;
    for (RankState& r : ranks_state_) r.last_heard = now;
    // Every worker's first chunk is sent unasked: it does not wait for a request to travel, nor does rank 0 meet
    // every request of a large run at once. Rank 0 takes its own first, so that the first chunks go out in rank
    // order, as the results file's blocks of rows do (fewer rows to move).
    if (const auto chunk = next_chunk(0)) {
        if (past_time_limit(*chunk, now)) {
            start_pause(PauseReason::time_limit);
        } else {
            give(0, *chunk);
        }
    }
    for (int r = 1; r < ranks_; ++r) grant_work(r);
}

void Scheduler::receive(int from, const ToRoot& message, double now) {
    last_now_ = std::max(last_now_, now);
    RankState& rank = ranks_state_[static_cast<std::size_t>(from)];
    rank.last_heard = now;
    rank.skip = false;  // news: it may have work to give again
    struct Visit {
        Scheduler& s;
        int from;
        RankState& rank;
        void operator()(const WorkRequest& m) const {
            s.account(from, m.done);
            if (rank.deferred > 0 || (m.ahead && s.hold_back(from))) {
                ++rank.deferred;  // answered in order, once the rank has less in hand (release_deferred)
                ++s.deferred_;
                rank.idle_behind = rank.idle_behind || !m.ahead;
            } else {
                s.grant_work(from);
            }
        }
        void operator()(const Update& m) const { s.account(from, m.done); }
        void operator()(const Heartbeat& m) const { s.account(from, m.done); }
        void operator()(const StopSignal&) const {
            if (!s.pausing_) s.start_pause(PauseReason::signal);
        }
        void operator()(const ItemsFailed& m) const { s.take_failed(from, m.items); }
        void operator()(const ItemsReturned& m) const { s.take_returned(from, m.items); }
        void operator()(const ItemsGiven& m) const {
            if (rank.thieves.empty()) throw Error::Internal("rank " + std::to_string(from) + " gave up items unasked");
            --rank.steals_open;
            const int thief = rank.thieves.front();
            rank.thieves.pop_front();
            const ItemRange given = m.items;
            if (!given.empty()) {  // in a pause, given up and left undone
                rank.granted -= std::min(rank.granted, given.size());
                rank.expected_s -= s.dispenser_.expected_cost(given);
            }
            if (!given.empty() && !s.abort_ && !s.pausing_) {
                ++s.steals_;
                s.actions_.emplace_back(Stolen{given, from, thief});
                s.give(thief, given, Origin::stolen);
            } else {
                rank.skip = true;  // nothing to take there for now
                s.steal_for(thief);
            }
        }
        void operator()(const Goodbye& m) const {
            s.account(from, m.done);
            rank.said_bye = true;
            if (m.failed) s.abort_ = true;
        }
    };
    std::visit(Visit{*this, from, rank}, message);
    if (rank.deferred > 0) release_deferred(from);
    if (!parked_.empty() || deferred_ > 0) retry_parked();
    acknowledge_if_done(from);
}

void Scheduler::own_request(const Report& done, double now) {
    last_now_ = std::max(last_now_, now);
    account(0, done);
    grant_work(0);
    if (!parked_.empty()) retry_parked();  // rank 0's news may be what parked thieves wait for
}

void Scheduler::own_report(const Report& done) { account(0, done); }

void Scheduler::recheck() {
    if (!parked_.empty()) retry_parked();
}

void Scheduler::own_failed(ItemRange batch) { take_failed(0, batch); }

void Scheduler::own_return(ItemRange items) { take_returned(0, items); }

void Scheduler::abort() {
    abort_ = true;  // every further request is answered with Abort, and so are parked thieves
    retry_parked();
}

void Scheduler::tick(double now, int signal) {
    last_now_ = std::max(last_now_, now);
    if (!pausing_) {
        // A stop signal came, or a periodic checkpoint is due (also in the tail of a phase, when every chunk is out
        // but long ones still run: a pause takes what is still unclaimed).
        if (now >= settings_.stop_at && !time_limit_) {
            time_limit_ = true;
            actions_.emplace_back(TimeLimitReached{});
        }
        if (time_limit_) {
            start_pause(PauseReason::time_limit);
        } else if (signal != 0) {
            start_pause(PauseReason::signal);
        } else if (now >= settings_.pause_at && (items_reported_ > 0 || own_.unreported() > 0)) {
            // A periodic checkpoint waits for the round's first finished item: however short the interval, every
            // round moves the run forward (a signal or the time limit does not wait).
            start_pause(PauseReason::checkpoint);
        }
    }
    check_heartbeats(now);
}

// ----- Decisions -----

void Scheduler::account(int rank, const Report& work) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    r.skip = false;
    if (work.items == 0 && work.busy_s == 0) return;
    dispenser_.report(rank, work, last_now_);
    items_reported_ += work.items;
    busy_reported_ += work.busy_s;
    r.done += work.items;
    r.busy_s += work.busy_s;
}

std::uint64_t Scheduler::outstanding(std::size_t rank) const {
    const RankState& r = ranks_state_[rank];
    std::uint64_t done = r.done;
    if (rank == 0) done += own_.unreported();
    return r.granted > done ? r.granted - done : 0;
}

/// Answers a work request from `rank`: items to retry, else items a busy rank gave back (they were granted before
/// anything the dispenser still has), else the dispenser's next chunk, else a steal.
void Scheduler::grant_work(int rank, Origin origin) {
    if (abort_) return finish(rank, true);
    if (pausing_) return finish(rank, false);
    if (const auto retry = take_retry(rank)) return give(rank, *retry, origin);
    if (const auto items = next_returned()) return give(rank, *items, origin);
    if (const auto chunk = next_chunk(rank)) {
        if (past_time_limit(*chunk, last_now_)) {  // the chunk stays undone: the checkpoint has it to do
            start_pause(PauseReason::time_limit);
            return finish(rank, false);
        }
        return give(rank, *chunk, origin);
    }
    steal_for(rank);
}

/// With known costs, a request a worker sends ahead (while it computes) is held back when the work it has in hand
/// is expected to last longer than kAheadShare of an even share of what is not yet granted: a chunk queued behind a
/// long item would start late, and the rank that is free first should get it instead (longest processing time
/// first assigns each item to the least loaded machine).
///
/// While items given back wait, a request sent ahead by a rank with more than kReturnedInHand items per thread in
/// hand is held back too, whatever the costs: the items would only wait there behind a chunk in progress (measured:
/// 13 tasks of 0.37 s, so a 30 s task given back started 12 s late). They go to ranks about to be idle instead.
bool Scheduler::hold_back(int rank) const {
    if (!returned_.empty() && !abort_ && !pausing_ &&
        outstanding(static_cast<std::size_t>(rank)) > kReturnedInHand * static_cast<std::uint64_t>(settings_.threads)) {
        return true;
    }
    if (!dispenser_.has_profile() || settings_.schedule.technique == Technique::static_block) return false;
    if (abort_ || pausing_ || outstanding(static_cast<std::size_t>(rank)) == 0) return false;
    const RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    const double in_hand = r.expected_s - r.busy_s;
    return in_hand > kAheadShare * dispenser_.remaining_cost() / static_cast<double>(ranks_);
}

/// Answers `rank`'s held-back requests, oldest first, as far as hold_back() allows (all of them once the rank said
/// it has nothing in hand, or in a pause or an abort).
void Scheduler::release_deferred(int rank) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    while (r.deferred > 0 && (r.idle_behind || !hold_back(rank))) {
        r.idle_behind = false;  // the chunk granted now is in hand
        --r.deferred;
        --deferred_;
        grant_work(rank, Origin::held);
    }
}

/// Finds work for idle `thief` with the rank holding the most unfinished items: rank 0's own chunk is split at once,
/// a worker is asked (its answer comes back as ItemsGiven). While some rank still has unfinished items that cannot be
/// taken yet, the thief waits (parked) for news; when no rank has any, the thief is done.
void Scheduler::steal_for(int thief) {
    if (abort_) return finish(thief, true);
    if (pausing_) return finish(thief, false);
    if (const auto retry = take_retry(thief)) return give(thief, *retry);
    if (const auto items = next_returned()) return give(thief, *items);
    if (!settings_.steal && retries_.empty() && !supply_open_) return finish(thief, false);
    while (true) {
        int victim = -1;
        std::uint64_t most = 1;  // a victim must have at least two items left
        bool work_left = false;
        for (std::size_t r = 0; r < ranks_state_.size(); ++r) {
            const RankState& v = ranks_state_[r];
            if (static_cast<int>(r) == thief || v.said_bye) continue;
            work_left = work_left || outstanding(r) > 0 || v.steals_open > 0;
            if (v.skip) continue;
            const std::uint64_t left = r == 0 ? own_.unclaimed() : outstanding(r);
            if (left > most) {
                most = left;
                victim = static_cast<int>(r);
            }
        }
        if (!settings_.steal) victim = -1;
        work_left = work_left || !retries_.empty();  // another rank may have to run them
        work_left = work_left || supply_open_;       // the level above may send more
        if (victim < 0) {
            if (!work_left) return finish(thief, false);
            parked_.push_back(thief);  // once per unanswered request: a worker may have several in flight
            return;
        }
        if (victim == 0) {
            const ItemRange given = own_.split();
            if (given.empty()) continue;  // rank 0's threads claimed it meanwhile: unclaimed() is now smaller
            RankState& own = ranks_state_[0];
            own.granted -= std::min(own.granted, given.size());
            own.expected_s -= dispenser_.expected_cost(given);
            ++steals_;
            actions_.emplace_back(Stolen{given, 0, thief});
            return give(thief, given, Origin::stolen);
        }
        RankState& v = ranks_state_[static_cast<std::size_t>(victim)];
        ++v.steals_open;
        v.thieves.push_back(thief);
        actions_.emplace_back(Order{victim, StealRequest{thief}});
        return;
    }
}

/// Tries again for every parked thief, after news that may have freed or finished work.
void Scheduler::retry_parked() {
    if (!parked_.empty() && !settle_parked_quickly()) {
        std::vector<int> waiting;
        waiting.swap(parked_);
        for (int thief : waiting) steal_for(thief);
    }
    for (int r = 1; deferred_ > 0 && r < ranks_; ++r) release_deferred(r);
}

/// The common case of the tail, in one pass over the ranks instead of one per parked thief: when no rank has two
/// unclaimed items a steal could take (and no retries wait), every parked thief either waits on (another rank still
/// has unfinished work) or is done. Returns false, deciding nothing, when a steal may be possible: steal_for then
/// looks for each thief.
bool Scheduler::settle_parked_quickly() {
    if (abort_ || pausing_ || !retries_.empty() || !returned_.empty() || !settings_.steal) return false;
    int with_work = 0;  // ranks in the phase with unfinished items or an open steal
    for (std::size_t r = 0; r < ranks_state_.size(); ++r) {
        const RankState& v = ranks_state_[r];
        if (v.said_bye) continue;
        if (!v.skip && (r == 0 ? own_.unclaimed() : outstanding(r)) > 1) return false;
        with_work += outstanding(r) > 0 || v.steals_open > 0 ? 1 : 0;
    }
    std::vector<int> waiting;
    waiting.swap(parked_);
    for (int thief : waiting) {
        const RankState& t = ranks_state_[static_cast<std::size_t>(thief)];
        const bool own_work = !t.said_bye && (outstanding(static_cast<std::size_t>(thief)) > 0 || t.steals_open > 0);
        if (with_work - (own_work ? 1 : 0) > 0 || supply_open_) {
            parked_.push_back(thief);
        } else {
            finish(thief, false);
        }
    }
    return true;
}

void Scheduler::give(int rank, ItemRange chunk, Origin origin) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    r.granted += chunk.size();
    r.expected_s += dispenser_.expected_cost(chunk);
    if (rank == 0) {
        actions_.emplace_back(OwnGrant{chunk});
        return;
    }
    actions_.emplace_back(Reply{rank, Grant{chunk, origin}});
}

void Scheduler::finish(int rank, bool abort) {
    if (rank == 0) {
        actions_.emplace_back(OwnGrant{std::nullopt});
        return;
    }
    actions_.emplace_back(Reply{rank, abort ? Answer{Abort{}} : Answer{PhaseOver{}}});
}

/// True if `chunk` is expected (at the measured mean cost per item) to end after the time limit; then the run stops
/// for a checkpoint instead.
bool Scheduler::past_time_limit(ItemRange chunk, double now) {
    if (settings_.stop_at == std::numeric_limits<double>::infinity()) return false;
    const double per_item = items_reported_ > 0 ? busy_reported_ / static_cast<double>(items_reported_) : 0.0;
    if (now + per_item * static_cast<double>(chunk.size()) / settings_.threads < settings_.stop_at) return false;
    if (!time_limit_) {
        time_limit_ = true;
        actions_.emplace_back(TimeLimitReached{});
    }
    return true;
}

/// Pauses the phase (for a checkpoint): no more grants or steals; every worker still at work is told to stop
/// claiming, finishes the batches it has started and says goodbye.
void Scheduler::start_pause(PauseReason reason) {
    if (pausing_) return;
    pausing_ = true;
    actions_.emplace_back(Pausing{reason});
    for (int r = 1; r < ranks_; ++r) {
        RankState& state = ranks_state_[static_cast<std::size_t>(r)];
        if (state.said_bye) continue;
        state.notified = true;
        actions_.emplace_back(Order{r, PauseNotice{}});
    }
    retry_parked();  // parked thieves, rank 0's team among them, are told the phase is over for them
}

/// Items of `batch` failed on `rank`. A batch of several items runs again item by item; an item that failed alone
/// runs again up to max_retries times, then is skipped or ends the run.
void Scheduler::take_failed(int rank, ItemRange batch) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    r.granted -= std::min(r.granted, batch.size());  // not done there, so not stealable there either
    for (std::uint64_t item = batch.begin; item < batch.end; ++item) {
        if (batch.size() > 1) {  // which item threw is unknown: each runs again alone
            retries_.emplace_back(item, rank);
            continue;
        }
        const int failures = ++attempts_[item];
        if (failures <= settings_.max_retries) {
            retries_.emplace_back(item, rank);
            continue;
        }
        if (settings_.skip_failed) {
            skipped_.push_back({item, rank});
            continue;
        }
        actions_.emplace_back(ItemGaveUp{item, failures, rank});
        abort_ = true;
    }
    retry_parked();
}

/// Rank `rank` gave back `items` it had not started, its threads all inside long items: they go to the next rank
/// that asks, parked thieves first. A worker gives back only with no request of its unanswered, so that each of its
/// later requests, sent after this, finds them here if no other rank took them; no PhaseOver is sent while any wait
/// here. In a pause they stay undone, as a steal's would: the checkpoint has them to do.
void Scheduler::take_returned(int rank, ItemRange items) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    r.granted -= std::min(r.granted, items.size());
    r.expected_s -= dispenser_.expected_cost(items);
    r.skip = true;  // it has nothing left to steal
    if (items.empty() || abort_ || pausing_) return;
    returned_.push_back(items);
    returned_items_ += items.size();
    ++returns_;
    actions_.emplace_back(Returned{items, rank});
    retry_parked();
}

/// The next piece of the items given back, from the front: half of an even share of all that is left to grant (as
/// fac2 cuts), so that a long item among them does not start late at the end of one rank's large piece.
std::optional<ItemRange> Scheduler::next_returned() {
    if (returned_.empty()) return std::nullopt;
    ItemRange& front = returned_.front();
    const std::uint64_t left = dispenser_.remaining() + returned_items_;
    const auto share = 2 * static_cast<std::uint64_t>(ranks_);
    const std::uint64_t piece = std::max<std::uint64_t>((left + share - 1) / share, 1);
    const ItemRange items{front.begin, std::min(front.end, front.begin + piece)};
    front.begin = items.end;
    if (front.empty()) returned_.pop_front();
    returned_items_ -= items.size();
    return items;
}

/// An item to run again that `rank` may take (not where it failed last, unless every other rank is gone), as a
/// chunk of one.
std::optional<ItemRange> Scheduler::take_retry(int rank) {
    for (auto it = retries_.begin(); it != retries_.end(); ++it) {
        bool others = false;
        for (std::size_t r = 0; r < ranks_state_.size() && !others; ++r) {
            others = static_cast<int>(r) != it->second && !ranks_state_[r].said_bye;
        }
        if (it->second == rank && others) continue;
        const ItemRange chunk{it->first, it->first + 1};
        retries_.erase(it);
        return chunk;
    }
    return std::nullopt;
}

/// A worker still in the phase that has sent nothing for heartbeat_s has hung (stopped, swapping, lost in the
/// network): the run cannot go on without it.
void Scheduler::check_heartbeats(double now) {
    if (settings_.heartbeat_s <= 0 || now < next_heartbeat_check_) return;
    next_heartbeat_check_ = now + kHeartbeatCheck;
    for (std::size_t r = 1; r < ranks_state_.size(); ++r) {
        const RankState& state = ranks_state_[r];
        if (state.acked || now - state.last_heard < settings_.heartbeat_s) continue;
        actions_.emplace_back(Silent{static_cast<int>(r), now - state.last_heard});
    }
}

// ----- Items from the level above -----

/// The dispenser's next chunk for `rank`; once it has none, the next supplied chunk gets a dispenser of its own.
std::optional<ItemRange> Scheduler::next_chunk(int rank) {
    while (true) {
        if (auto chunk = dispenser_.next(rank)) return chunk;
        if (supplied_.empty()) return std::nullopt;
        // A fresh dispenser per chunk from above: its technique sizes chunks of it for this group (fac2's first batch
        // is half of it over the group's ranks), as it would size a phase of that many items.
        dispenser_ = Dispenser(settings_.schedule, items_, ranks_, {supplied_.front()});
        current_supply_ = supplied_.front();
        supplied_.pop_front();
    }
}

void Scheduler::supply(ItemRange chunk) {
    if (chunk.empty()) return;
    supplied_.push_back(chunk);
    if (abort_ || pausing_ || parked_.empty()) return;
    // Parked ranks (rank 0's team among them) get fresh chunks of it before anyone steals.
    std::vector<int> waiting;
    waiting.swap(parked_);
    for (int rank : waiting) grant_work(rank);
}

void Scheduler::close_supply() {
    supply_open_ = false;
    retry_parked();  // ranks waiting for more are done once nothing is left to steal
}

ItemRange Scheduler::take_back_supply() {
    if (!supplied_.empty()) {
        const ItemRange chunk = supplied_.back();
        supplied_.pop_back();
        return chunk;
    }
    // Else the back half of what the current chunk's dispenser has not granted yet, so that an idle group gets work
    // while this one still has some to hand out. Without a profile, and but for static's blocks, a dispenser grants
    // its one range front to back: what it has not granted is the range's end.
    const std::uint64_t left = dispenser_.remaining();
    if (left < 2 || current_supply_.empty() || dispenser_.has_profile() ||
        settings_.schedule.technique == Technique::static_block) {
        return {};
    }
    const ItemRange kept{current_supply_.end - left, current_supply_.end - left / 2};
    const ItemRange given{kept.end, current_supply_.end};
    current_supply_ = kept;
    dispenser_ = Dispenser(settings_.schedule, items_, ranks_, {kept});
    return given;
}

std::uint64_t Scheduler::supply_left() const noexcept {
    std::uint64_t left = dispenser_.remaining();
    for (const ItemRange& c : supplied_) left += c.size();
    return left;
}

/// A worker that said goodbye, with no steal from it still open, is answered: the phase is over for it.
void Scheduler::acknowledge_if_done(int rank) {
    RankState& r = ranks_state_[static_cast<std::size_t>(rank)];
    if (!r.said_bye || r.steals_open != 0 || r.acked) return;
    r.acked = true;
    ++acks_;
    actions_.emplace_back(Reply{rank, GoodbyeAck{r.notified}});
}

}  // namespace pel::sched
