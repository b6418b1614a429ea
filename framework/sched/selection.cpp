// sched/selection.cpp: --schedule auto (see selection.hpp). A small discrete-event model of one phase around the real
// Scheduler: perf/simulate's model, cut down to what orders the techniques (chunks, requests sent ahead, steals,
// latency), so that it runs in-process in milliseconds.
#include "sched/selection.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <limits>
#include <queue>
#include <utility>

#include "sched/scheduler.hpp"

namespace pel::sched {

namespace {

/// Wall-clock seconds, for the budget (the model's own time is simulated).
double wall_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// One simulated phase.
class Model final : public OwnTeam {
  public:
    Model(const SelectionInput& input, Technique technique)
        : input_(input),
          ranks_(static_cast<std::size_t>(std::max(input.ranks, 1))),
          scheduler_(settings_for(input, technique), input.items, std::max(input.ranks, 1), todo_of(input), *this) {
        scheduler_.use_profile(input.profile);
    }

    /// Runs the phase; false if it needed more than input.max_events or ran past `deadline`.
    bool run(double deadline) {
        scheduler_.start(0);
        carry_out(0);
        while (!events_.empty()) {
            if (++events_run_ > input_.max_events) return false;
            if (events_run_ % 256 == 0 && wall_s() > deadline) return false;
            const Event e = events_.top();
            events_.pop();
            now_ = e.at;
            handle(e);
        }
        return true;
    }
    [[nodiscard]] double makespan() const noexcept { return last_done_; }

    // ----- OwnTeam: rank 0's current chunk, as its threads have claimed it by now -----

    std::uint64_t unclaimed() override {
        const Rank& r = ranks_[0];
        return r.busy ? r.chunk.end - claimed_end(r) : 0;
    }
    ItemRange split() override { return split_current(0); }
    [[nodiscard]] std::uint64_t unreported() const override { return 0; }  // rank 0 reports every chunk it ends

  private:
    enum class Kind : std::uint8_t { chunk_done, to_root, answer, control };
    struct Event {
        double at = 0;
        std::uint64_t order = 0;  ///< ties in time: first scheduled, first run (deterministic)
        Kind kind = Kind::chunk_done;
        int rank = 0;
        std::uint64_t version = 0;  ///< chunk_done: stale if the chunk was split since
        ToRoot to_root;
        Answer answer;
        Control control;
        bool operator>(const Event& o) const { return at != o.at ? at > o.at : order > o.order; }
    };
    struct Rank {
        bool busy = false;
        ItemRange chunk;
        double started = 0;
        std::uint64_t version = 0;
        std::deque<ItemRange> ready;  ///< granted, not started
        int pending = 0;              ///< requests not yet answered
        bool final = false;           ///< told the phase is over
        bool bye = false;
        Report unreported;
    };

    static SchedulerSettings settings_for(const SelectionInput& input, Technique technique) {
        SchedulerSettings s;
        s.schedule = input.settings;
        s.schedule.technique = technique;
        s.threads = std::max(input.threads, 1);
        return s;
    }
    static std::vector<ItemRange> todo_of(const SelectionInput& input) {
        return input.todo.empty() ? std::vector<ItemRange>{{0, input.items}} : input.todo;
    }

    [[nodiscard]] double cost(ItemRange r) const {
        return (input_.profile.cumulative(r.end) - input_.profile.cumulative(r.begin)) / std::max(input_.threads, 1);
    }
    /// The end of the items of rank `r`'s chunk its threads have started by now.
    [[nodiscard]] std::uint64_t claimed_end(const Rank& r) const {
        const double spent = (now_ - r.started) * std::max(input_.threads, 1);
        return std::min(r.chunk.end, input_.profile.end_for_cost(r.chunk.begin, spent));
    }

    void push(Event e) {
        e.order = order_++;
        events_.push(std::move(e));
    }
    void send_to_root(int from, ToRoot message) {
        Event e;
        e.at = now_ + input_.latency_s;
        e.kind = Kind::to_root;
        e.rank = from;
        e.to_root = message;
        push(std::move(e));
    }

    void start_chunk(int rank, ItemRange chunk) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        r.busy = true;
        r.chunk = chunk;
        r.started = now_;
        schedule_done(rank);
        if (rank != 0 && !r.final && r.pending == 0 && r.ready.empty()) {
            ++r.pending;  // one request in flight while computing, as pel's --prefetch auto starts
            send_to_root(rank, WorkRequest{std::exchange(r.unreported, {}), true});
        }
    }
    void schedule_done(int rank) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        Event e;
        e.at = r.started + cost(r.chunk);
        e.kind = Kind::chunk_done;
        e.rank = rank;
        e.version = ++r.version;
        push(std::move(e));
    }
    ItemRange split_current(int rank) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        if (!r.busy) return {};
        const std::uint64_t next = claimed_end(r);
        const std::uint64_t left = r.chunk.end - next;
        if (left < 2) return {};
        const ItemRange given{next + (left + 1) / 2, r.chunk.end};
        r.chunk.end = given.begin;
        schedule_done(rank);
        return given;
    }

    void handle(const Event& e) {
        Rank& r = ranks_[static_cast<std::size_t>(e.rank)];
        switch (e.kind) {
            case Kind::chunk_done:
                if (e.version == r.version && r.busy) chunk_done(e.rank);
                return;
            case Kind::to_root:
                scheduler_.receive(e.rank, e.to_root, now_);
                carry_out(now_);
                return;
            case Kind::answer:
                answered(e.rank, e.answer);
                return;
            case Kind::control:
                if (std::holds_alternative<StealRequest>(e.control)) {
                    ItemRange given;
                    if (!r.ready.empty()) {
                        given = r.ready.back();
                        r.ready.pop_back();
                    } else {
                        given = split_current(e.rank);
                    }
                    send_to_root(e.rank, ItemsGiven{given});
                }
                return;
        }
    }

    void chunk_done(int rank) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        r.busy = false;
        last_done_ = std::max(last_done_, now_);
        r.unreported.items += r.chunk.size();
        r.unreported.busy_s += cost(r.chunk) * std::max(input_.threads, 1);
        if (rank == 0) {
            scheduler_.own_request(std::exchange(r.unreported, {}), now_);
            carry_out(now_);
            return;
        }
        if (!r.ready.empty()) {
            const ItemRange next = r.ready.front();
            r.ready.pop_front();
            start_chunk(rank, next);
        } else if (r.pending > 0) {
            send_to_root(rank, Update{std::exchange(r.unreported, {})});  // idle: tell rank 0 what is done
        } else if (r.final) {
            say_bye(rank);
        } else {
            ++r.pending;
            send_to_root(rank, WorkRequest{std::exchange(r.unreported, {}), false});
        }
    }

    void answered(int rank, const Answer& answer) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        if (const auto* grant = std::get_if<Grant>(&answer)) {
            if (r.pending > 0) --r.pending;  // every grant but a phase's first (sent unasked) answers a request
            if (r.busy) {
                r.ready.push_back(grant->items);
            } else {
                start_chunk(rank, grant->items);
            }
            return;
        }
        if (std::holds_alternative<GoodbyeAck>(answer)) return;
        r.pending = std::max(r.pending - 1, 0);
        r.final = true;
        if (!r.busy && r.ready.empty() && r.pending == 0) say_bye(rank);
    }

    void say_bye(int rank) {
        Rank& r = ranks_[static_cast<std::size_t>(rank)];
        if (r.bye) return;
        r.bye = true;
        send_to_root(rank, Goodbye{std::exchange(r.unreported, {}), false});
    }

    void carry_out(double now) {
        scheduler_.take_actions(actions_);
        for (const Action& action : actions_) {
            if (const auto* reply = std::get_if<Reply>(&action)) {
                Event e;
                e.at = now + input_.latency_s;
                e.kind = Kind::answer;
                e.rank = reply->to;
                e.answer = reply->answer;
                push(std::move(e));
            } else if (const auto* order = std::get_if<Order>(&action)) {
                Event e;
                e.at = now + input_.latency_s;
                e.kind = Kind::control;
                e.rank = order->to;
                e.control = order->control;
                push(std::move(e));
            } else if (const auto* own = std::get_if<OwnGrant>(&action)) {
                if (own->chunk) start_chunk(0, *own->chunk);
            }
        }
    }

    const SelectionInput& input_;
    std::vector<Rank> ranks_;
    Scheduler scheduler_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    std::vector<Action> actions_;
    std::uint64_t order_ = 0;
    std::uint64_t events_run_ = 0;
    double now_ = 0;
    double last_done_ = 0;
};

/// The techniques auto tries, in order: the cold one first (it wins ties), then those that differ most from it and
/// from each other on known costs (with a profile, the factoring family mostly ties), so that a short budget still
/// compares the distinct ones.
std::vector<Technique> candidates() {
    std::vector<Technique> list{kColdTechnique, Technique::static_block, Technique::gss, Technique::fac2,
                                Technique::ss,  Technique::tss,          Technique::fsc, Technique::af};
    for (const std::string& name : technique_names()) {
        const Technique t = parse_technique(name);
        if (t != Technique::automatic && std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
    }
    return list;
}

}  // namespace

double budget_for(const CostProfile& profile, int ranks, int threads) {
    const double phase_s = profile.total() / std::max(1.0, static_cast<double>(ranks) * std::max(threads, 1));
    return std::min(kMaxBudget, 0.01 * phase_s);
}

Candidate simulate_phase(const SelectionInput& input, Technique technique, double deadline) {
    Candidate c;
    c.technique = technique;
    if (input.items == 0 || input.profile.empty() || input.profile.items() != input.items) return c;
    Model model(input, technique);
    c.simulated = model.run(deadline);
    c.makespan_s = c.simulated ? model.makespan() : 0;
    return c;
}

Selection select_technique(const SelectionInput& input) {
    Selection s;
    s.technique = kColdTechnique;
    if (input.profile.empty() || input.profile.items() != input.items) {
        s.why = technique_name(kColdTechnique) + " (cold: no measured costs yet, the best cold technique)";
        return s;
    }
    if (input.budget_s < kMinBudget) {
        char budget[96];
        std::snprintf(budget, sizeof budget, " (a phase too short to simulate: %.3g ms allowed)", input.budget_s * 1e3);
        s.why = technique_name(kColdTechnique) + budget;
        return s;
    }
    const Candidate* best = nullptr;
    const double deadline = wall_s() + input.budget_s;
    for (const Technique t : candidates()) {
        s.candidates.push_back(simulate_phase(input, t, deadline));
    }
    for (const Candidate& c : s.candidates) {
        if (c.simulated && (best == nullptr || c.makespan_s < best->makespan_s)) best = &c;
    }
    // The model is not the machine: a technique replaces the cold one only if it is clearly shorter.
    const Candidate& cold = s.candidates.front();
    if (best != nullptr && cold.simulated && best->makespan_s > cold.makespan_s * (1 - kSelectionMargin)) best = &cold;
    if (best == nullptr) {
        s.why = technique_name(kColdTechnique) + " (no technique could be simulated within the budget)";
        return s;
    }
    s.technique = best->technique;
    // "fac2 (simulated 0.301 s; awf-c 0.305 s, gss 0.310 s, ...)": the choice, then the others as simulated.
    char figure[64];
    std::snprintf(figure, sizeof figure, "%.6g s", best->makespan_s);
    s.why = technique_name(best->technique) + " (simulated on the measured costs: " + figure;
    for (const Candidate& c : s.candidates) {
        if (&c == best) continue;
        if (c.simulated) {
            std::snprintf(figure, sizeof figure, "%.6g s", c.makespan_s);
        } else {
            std::snprintf(figure, sizeof figure, "not simulated within the budget");
        }
        s.why += std::string("; ") + technique_name(c.technique) + " " + figure;
    }
    s.why += ")";
    return s;
}

}  // namespace pel::sched
