// perf/levels/main.cpp: pel_levels, one scheduling level against two at 10^3-10^5 ranks, in simulated time. Every
// scheduling decision is pel's own sched::Scheduler: with one level, rank 0's over every rank; with two, rank 0's
// over the group leaders (weighted factoring by group size, as exec/levels.cpp sets it) and one per group, fed
// chunk by chunk (Scheduler::supply) as exec/leader_link.cpp feeds it. What the model adds is a deliberately plain
// machine: one thread per rank, a one-way latency per message, and a serial server per scheduler taking a fixed
// service time per message (the cost that makes one master a bottleneck). See README.md for what is left out.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <queue>
#include <random>
#include <variant>
#include <vector>

#include "sched/scheduler.hpp"

namespace {

using namespace pel::sched;
using pel::ItemRange;

struct Config {
    int ranks = 1000;
    int levels = 1;
    int group_size = 64;  ///< ranks per group with two levels (a node's worth)
    std::uint64_t items_per_rank = 100;
    double mean_s = 1e-3;       ///< items cost uniformly 0.5-1.5 times this
    double latency_s = 1.5e-6;  ///< one way
    double service_s = 0.3e-6;  ///< a scheduler's time per message (its serial server)
    Technique technique = Technique::awf;
    bool steal = true;
    std::uint64_t seed = 1;
};

struct Result {
    double makespan_s = 0;
    double lower_s = 0;
    std::uint64_t top_messages = 0;  ///< messages rank 0 served
    std::uint64_t max_messages = 0;  ///< the busiest scheduler's messages
    double wall_s = 0;
};

/// Something a scheduler's serial server takes from its inbox.
struct OwnRequest {};  ///< its own rank's team asks (no message travels)
struct FromAbove {     ///< a leader: rank 0's answer or control arrived
    std::variant<Answer, Control> message;
};
struct Inbound {
    int from = 0;  ///< index in this scheduler
    std::variant<ToRoot, OwnRequest, FromAbove> what;
};

/// One level: node 0 over every rank. Two: node 0 over rank 0 and the leaders (index g is group g's node), node g
/// over its group (index 0 is the leader's own team).
struct Node;

struct Rank {
    int node = 0;   ///< the scheduler it asks
    int index = 0;  ///< its index there (0: that scheduler's own team)
    std::deque<ItemRange> ready;
    ItemRange current;
    double started = 0;
    std::uint64_t version = 0;
    bool computing = false;
    int pending = 0;
    bool final = false;
    bool bye = false;
    double done_at = -1;
    std::uint64_t unreported = 0;
    double unreported_busy = 0;
};

class Model;

struct Node final : OwnTeam {
    Model* model = nullptr;
    int id = 0;
    std::vector<int> ranks_of;  ///< index -> rank (node 0 with two levels: index g >= 1 -> the leader of group g)
    std::unique_ptr<Scheduler> scheduler;
    std::deque<Inbound> inbox;
    double busy_until = 0;
    bool serve_armed = false;
    std::uint64_t messages = 0;
    // A leader's link to rank 0 (exec/leader_link.cpp).
    int pending_up = 1;  ///< rank 0's first chunk comes unasked
    bool final_up = false;
    bool bye_up = false;
    std::uint64_t last_chunk = 0;
    std::uint64_t supplied = 0;  ///< items rank 0 granted, less those given back
    std::uint64_t reported_items = 0;
    double reported_busy = 0;
    double sent_up = 0;
    bool poll_armed = false;

    std::uint64_t unclaimed() override;
    ItemRange split() override;
    [[nodiscard]] std::uint64_t unreported() const override;
};

enum class Kind { serve, to_node, answer, control, chunk_done, leader_poll };
struct Event {
    double t;
    std::uint64_t seq;
    Kind kind;
    int a;  ///< node or rank
    int b;  ///< index, or version
    std::variant<std::monostate, ToRoot, Answer, Control> message;
};
struct Later {
    bool operator()(const Event& x, const Event& y) const { return x.t != y.t ? x.t > y.t : x.seq > y.seq; }
};

/// A leader asks for more when its group holds no more than the last chunk's worth, and reports at most every 10 ms
/// (exec/leader_link.cpp's kUpdatePeriod).
constexpr double kUpdatePeriod = 10e-3;

class Model {
  public:
    explicit Model(const Config& c) : c_(c), ranks_(static_cast<std::size_t>(c.ranks)) {
        const std::uint64_t items = c.items_per_rank * static_cast<std::uint64_t>(c.ranks);
        prefix_.resize(items + 1);
        std::mt19937_64 rng(c.seed);
        std::uniform_real_distribution<double> u(0.5, 1.5);
        double largest = 0;
        for (std::uint64_t i = 0; i < items; ++i) {
            const double cost = u(rng) * c.mean_s;
            largest = std::max(largest, cost);
            prefix_[i + 1] = prefix_[i] + cost;
        }
        done_.assign(items, 0);
        result_.lower_s = std::max(prefix_.back() / c.ranks, largest);
        build(items);
    }

    Result run() {
        const auto wall = std::chrono::steady_clock::now();
        for (auto& n : nodes_) {
            n->scheduler->start(0.0);
            carry_out(*n, 0.0, true);
        }
        // A group's own team has nothing at the start: it asks, and waits for the first chunk from rank 0.
        for (std::size_t g = 1; c_.levels == 2 && g < nodes_.size(); ++g) next(nodes_[g]->ranks_of[0]);
        const std::uint64_t limit = 10000 * (prefix_.size() + 100);
        for (std::uint64_t n = 0; !events_.empty(); ++n) {
            Event e = events_.top();
            events_.pop();
            now_ = e.t;
            if (n > limit || std::getenv("PEL_LEVELS_TRACE") != nullptr) {
                std::fprintf(stderr, "t=%.9f kind=%d a=%d b=%d msg=%zu\n", e.t, static_cast<int>(e.kind), e.a, e.b,
                             e.message.index());
                if (n > limit + 40) throw std::runtime_error("the phase does not end (a livelock)");
            }
            dispatch(e);
        }
        for (std::size_t r = 0; r < ranks_.size(); ++r) {
            if (ranks_[r].done_at < 0) throw std::runtime_error("rank " + std::to_string(r) + " never finished");
            result_.makespan_s = std::max(result_.makespan_s, ranks_[r].done_at);
        }
        for (std::uint8_t d : done_) {
            if (d != 1) throw std::runtime_error("an item was not done exactly once");
        }
        result_.top_messages = nodes_[0]->messages;
        for (const auto& n : nodes_) result_.max_messages = std::max(result_.max_messages, n->messages);
        result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
        return result_;
    }

    double now() const { return now_; }
    Rank& rank(int r) { return ranks_[static_cast<std::size_t>(r)]; }
    ItemRange split_current(int r) {
        Rank& k = rank(r);
        if (!k.computing) return {};
        // Items whose start is past now are unclaimed (one thread: the item in progress is claimed).
        const std::uint64_t claimed_end = claimed_until(k);
        const std::uint64_t left = k.current.end - claimed_end;
        if (left < 2) return {};
        const ItemRange given{claimed_end + (left + 1) / 2, k.current.end};
        k.current.end = given.begin;
        ++k.version;
        schedule(k.started + cost(k.current), Kind::chunk_done, r, static_cast<int>(k.version));
        return given;
    }
    std::uint64_t unclaimed_of(int r) {
        Rank& k = rank(r);
        return k.computing ? k.current.end - claimed_until(k) : 0;
    }

  private:
    void build(std::uint64_t items) {
        const auto settings = [&](int n, bool top) {
            SchedulerSettings s;
            s.schedule.technique = c_.technique;
            s.steal = c_.steal;
            s.heartbeat_s = 0;
            if (top && c_.levels == 2) {  // weighted factoring by group size, as exec/levels.cpp
                s.schedule.technique = Technique::wf;
                s.schedule.weights.assign(static_cast<std::size_t>(n), 1.0);
            }
            return s;
        };
        if (c_.levels == 1) {
            auto& n = add_node();
            for (int r = 0; r < c_.ranks; ++r) {
                n.ranks_of.push_back(r);
                rank(r).index = r;
            }
            n.scheduler = std::make_unique<Scheduler>(settings(c_.ranks, true), items, c_.ranks,
                                                      std::vector<ItemRange>{{0, items}}, n);
        } else {
            auto& top = add_node();
            top.ranks_of.push_back(0);
            rank(0).index = 0;
            std::vector<double> weights{1.0};
            for (int first = 1; first < c_.ranks; first += c_.group_size) {
                const int last = std::min(c_.ranks, first + c_.group_size);
                auto& g = add_node();
                for (int r = first; r < last; ++r) {
                    rank(r).node = g.id;
                    rank(r).index = r - first;
                    g.ranks_of.push_back(r);
                }
                top.ranks_of.push_back(first);
                weights.push_back(last - first);
                g.scheduler = std::make_unique<Scheduler>(settings(last - first, false), items, last - first,
                                                          std::vector<ItemRange>{}, g);
                g.scheduler->expect_supply();
            }
            SchedulerSettings s = settings(static_cast<int>(weights.size()), true);
            s.schedule.weights = weights;
            top.scheduler = std::make_unique<Scheduler>(s, items, static_cast<int>(weights.size()),
                                                        std::vector<ItemRange>{{0, items}}, top);
        }
        for (auto& r : ranks_) r.pending = r.index == 0 ? 0 : 1;  // a worker's first chunk comes unasked
    }

    Node& add_node() {
        nodes_.push_back(std::make_unique<Node>());
        Node& n = *nodes_.back();
        n.model = this;
        n.id = static_cast<int>(nodes_.size()) - 1;
        return n;
    }

    [[nodiscard]] double cost(ItemRange r) const { return prefix_[r.end] - prefix_[r.begin]; }
    std::uint64_t claimed_until(const Rank& k) const {
        const double spent = now_ - k.started;
        // The first item whose start lies after now.
        const auto it = std::upper_bound(prefix_.begin() + static_cast<std::ptrdiff_t>(k.current.begin),
                                         prefix_.begin() + static_cast<std::ptrdiff_t>(k.current.end),
                                         prefix_[k.current.begin] + spent);
        return std::min<std::uint64_t>(k.current.end, static_cast<std::uint64_t>(it - prefix_.begin()));
    }

    void schedule(double t, Kind kind, int a, int b, std::variant<std::monostate, ToRoot, Answer, Control> m = {}) {
        events_.push(Event{t, seq_++, kind, a, b, std::move(m)});
    }

    // ----- Schedulers -----

    void deliver(Node& n, Inbound in) {
        n.inbox.push_back(std::move(in));
        arm_serve(n, now_);
    }
    void arm_serve(Node& n, double t) {
        if (n.serve_armed || n.inbox.empty()) return;
        n.serve_armed = true;
        schedule(std::max(t, n.busy_until), Kind::serve, n.id, 0);
    }

    /// The node's server takes one message: the Scheduler decides at once, what it sends leaves a service later.
    void serve(Node& n) {
        n.serve_armed = false;
        if (n.inbox.empty()) return;
        if (n.busy_until > now_) return arm_serve(n, n.busy_until);
        Inbound in = std::move(n.inbox.front());
        n.inbox.pop_front();
        ++n.messages;
        const double end = now_ + c_.service_s;
        n.busy_until = end;
        Scheduler& s = *n.scheduler;
        if (auto* m = std::get_if<ToRoot>(&in.what)) {
            s.receive(in.from, *m, now_);
        } else if (std::holds_alternative<OwnRequest>(in.what)) {
            Rank& own = rank(n.ranks_of[0]);
            s.own_request(take_report(own), now_);
        } else {
            from_above(n, std::get<FromAbove>(in.what));
        }
        s.recheck();
        carry_out(n, end, false);
        if (c_.levels == 2 && n.id != 0) leader_poll(n, end);
        arm_serve(n, end);
    }

    void carry_out(Node& n, double t, bool spaced) {
        n.scheduler->take_actions(actions_);
        double leave = t;
        for (const Action& a : actions_) {
            if (spaced) leave += c_.service_s;  // the start's grants go out one service time apart
            if (const auto* reply = std::get_if<Reply>(&a)) {
                send_down(n, reply->to, reply->answer, leave);
            } else if (const auto* order = std::get_if<Order>(&a)) {
                send_down(n, order->to, order->control, leave);
            } else if (const auto* own = std::get_if<OwnGrant>(&a)) {
                own_granted(n.ranks_of[0], own->chunk, leave);
            }
        }
        if (spaced) n.busy_until = leave;
    }

    template <class M>
    void send_down(Node& n, int index, const M& message, double t) {
        if (n.id == 0 && c_.levels == 2) {  // to group `index`'s leader: its server takes it in
            schedule(t + c_.latency_s, Kind::to_node, index, -1, message);
            return;
        }
        schedule(t + c_.latency_s, std::is_same_v<M, Answer> ? Kind::answer : Kind::control, n.ranks_of[index], 0,
                 message);
    }

    // ----- A leader's link to rank 0 -----

    void from_above(Node& g, const FromAbove& m) {
        Scheduler& s = *g.scheduler;
        if (const auto* answer = std::get_if<Answer>(&m.message)) {
            --g.pending_up;
            if (const auto* grant = std::get_if<Grant>(answer)) {
                g.last_chunk = grant->items.size();
                g.supplied += grant->items.size();
                s.supply(grant->items);
            } else {
                g.final_up = true;
                s.close_supply();
            }
            return;
        }
        // A steal for another group: the chunk supplied last and not started.
        const ItemRange given = s.take_back_supply();
        g.supplied -= given.size();
        up(g, ItemsGiven{given}, now_ + c_.service_s);
    }

    void up(Node& g, const ToRoot& message, double t) {
        g.sent_up = t;
        schedule(t + c_.latency_s, Kind::to_node, 0, g.id, message);
    }

    Report group_report(Node& g) {
        const Scheduler& s = *g.scheduler;
        const Report r{s.items_reported() - g.reported_items, s.busy_reported() - g.reported_busy};
        g.reported_items = s.items_reported();
        g.reported_busy = s.busy_reported();
        return r;
    }

    void leader_poll(Node& g, double t) {
        Scheduler& s = *g.scheduler;
        if (!g.final_up && g.pending_up == 0 && s.supply_left() <= g.last_chunk) {
            ++g.pending_up;
            up(g, WorkRequest{group_report(g), s.supply_left() > 0}, t);
            return;
        }
        if (s.all_acknowledged() && rank(g.ranks_of[0]).done_at >= 0 && g.final_up && g.pending_up == 0) {
            if (!g.bye_up) {
                g.bye_up = true;
                up(g, Goodbye{group_report(g), false}, t);
            }
            return;
        }
        if (s.items_reported() > g.reported_items) {
            // Rate-limited, but at once when the group has finished all it was given: rank 0 waits for that.
            if (t - g.sent_up >= kUpdatePeriod * (1 - 1e-9) ||
                s.items_reported() == g.supplied) {  // a poll armed for then: rounding aside
                up(g, Update{group_report(g)}, t);
            } else if (!g.poll_armed) {
                g.poll_armed = true;
                schedule(g.sent_up + kUpdatePeriod, Kind::leader_poll, g.id, 0);
            }
        }
    }

    // ----- Ranks -----

    Report take_report(Rank& k) {
        const Report r{k.unreported, k.unreported_busy};
        k.unreported = 0;
        k.unreported_busy = 0;
        return r;
    }

    void to_root(int r, const ToRoot& message) {
        const Rank& k = rank(r);
        schedule(now_ + c_.latency_s, Kind::to_node, k.node, k.index, message);
    }

    void start_chunk(int r, ItemRange chunk) {
        Rank& k = rank(r);
        k.current = chunk;
        k.started = now_;
        k.computing = true;
        ++k.version;
        schedule(now_ + cost(chunk), Kind::chunk_done, r, static_cast<int>(k.version));
        // A worker asks ahead as its chunk starts (prefetch 1); an own team asks when it runs out.
        if (k.index != 0 && !k.final && k.pending == 0 && k.ready.empty()) {
            ++k.pending;
            to_root(r, WorkRequest{take_report(k), true});
        }
    }

    void chunk_done(int r, std::uint64_t version) {
        Rank& k = rank(r);
        if (version != k.version || !k.computing) return;  // split since: a later event ends it
        k.computing = false;
        for (std::uint64_t i = k.current.begin; i < k.current.end; ++i) ++done_[i];
        k.unreported += k.current.size();
        k.unreported_busy += cost(k.current);
        next(r);
    }

    /// A rank with nothing in progress: the next chunk, a request, or its goodbye.
    void next(int r) {
        Rank& k = rank(r);
        if (k.computing || k.done_at >= 0) return;
        if (!k.ready.empty()) {
            const ItemRange c = k.ready.front();
            k.ready.pop_front();
            return start_chunk(r, c);
        }
        if (k.index == 0) {  // an own team: its scheduler's server takes its request
            if (k.pending == 0) {
                k.pending = 1;
                deliver(*nodes_[static_cast<std::size_t>(k.node)], Inbound{0, OwnRequest{}});
            }
            return;
        }
        if (k.pending > 0) {
            if (k.unreported > 0) to_root(r, Update{take_report(k)});
            return;
        }
        if (k.final) {
            if (!k.bye) {
                k.bye = true;
                to_root(r, Goodbye{take_report(k), false});
            }
            return;
        }
        ++k.pending;
        to_root(r, WorkRequest{take_report(k), false});
    }

    void own_granted(int r, std::optional<ItemRange> chunk, double t) {
        Rank& k = rank(r);
        k.pending = 0;
        if (!chunk) {
            k.done_at = t;
            return;
        }
        schedule(t, Kind::answer, r, 1, Answer{Grant{*chunk}});
    }

    void answer(int r, const Answer& a, bool own) {
        Rank& k = rank(r);
        if (!own) --k.pending;
        if (const auto* grant = std::get_if<Grant>(&a)) {
            k.ready.push_back(grant->items);
        } else if (std::holds_alternative<GoodbyeAck>(a)) {
            ++k.pending;  // not a request
            k.done_at = now_;
            return;
        } else {
            k.final = true;
        }
        next(r);
    }

    void control(int r) {
        Rank& k = rank(r);
        ItemRange given;
        if (!k.ready.empty()) {
            given = k.ready.back();
            k.ready.pop_back();
        } else {
            given = split_current(r);
        }
        to_root(r, ItemsGiven{given});
    }

    void dispatch(const Event& e) {
        switch (e.kind) {
            case Kind::serve:
                return serve(*nodes_[static_cast<std::size_t>(e.a)]);
            case Kind::to_node: {
                Node& n = *nodes_[static_cast<std::size_t>(e.a)];
                if (e.b < 0) {  // rank 0's answer or control for a leader
                    if (const auto* a = std::get_if<Answer>(&e.message)) {
                        if (std::holds_alternative<GoodbyeAck>(*a)) {
                            return;  // the group is done
                        }
                        return deliver(n, Inbound{0, FromAbove{*a}});
                    }
                    return deliver(n, Inbound{0, FromAbove{std::get<Control>(e.message)}});
                }
                return deliver(n, Inbound{e.b, std::get<ToRoot>(e.message)});
            }
            case Kind::answer:
                return answer(e.a, std::get<Answer>(e.message), e.b == 1);
            case Kind::control:
                return control(e.a);
            case Kind::chunk_done:
                return chunk_done(e.a, static_cast<std::uint64_t>(e.b));
            case Kind::leader_poll: {
                Node& g = *nodes_[static_cast<std::size_t>(e.a)];
                g.poll_armed = false;
                return leader_poll(g, now_);
            }
        }
    }

    const Config& c_;
    std::vector<Rank> ranks_;
    std::vector<std::unique_ptr<Node>> nodes_;
    std::vector<double> prefix_;
    std::vector<std::uint8_t> done_;
    std::priority_queue<Event, std::vector<Event>, Later> events_;
    std::uint64_t seq_ = 0;
    double now_ = 0;
    std::vector<Action> actions_;
    Result result_;
};

std::uint64_t Node::unclaimed() { return model->unclaimed_of(ranks_of[0]); }
ItemRange Node::split() { return model->split_current(ranks_of[0]); }
std::uint64_t Node::unreported() const { return model->rank(ranks_of[0]).unreported; }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("pel_levels: one scheduling level against two, pel's Scheduler at every level, in simulated time");
    std::vector<int> ranks{1000, 10000, 100000};
    std::vector<double> means_us{10, 100, 1000};
    std::vector<int> levels{1, 2};
    Config c;
    std::string technique = "awf";
    app.add_option("--ranks", ranks, "rank counts")->delimiter(',');
    app.add_option("--mean-us", means_us, "mean item costs (items cost 0.5-1.5 times the mean)")->delimiter(',');
    app.add_option("--levels", levels, "1, 2 or both")->delimiter(',');
    app.add_option("--group-size", c.group_size, "ranks per group with two levels")->check(CLI::Range(2, 1 << 20));
    app.add_option("--items-per-rank", c.items_per_rank, "items per rank")->check(CLI::Range(1, 100000));
    app.add_option("--latency-us", c.latency_s, "one-way latency (us)")->transform([](std::string v) {
        return std::to_string(std::stod(v) * 1e-6);
    });
    app.add_option("--service-us", c.service_s, "a scheduler's time per message (us)")->transform([](std::string v) {
        return std::to_string(std::stod(v) * 1e-6);
    });
    app.add_option("--schedule", technique, "the technique (with two levels: inside groups)");
    app.add_flag(
        "--no-steal", [&](std::int64_t) { c.steal = false; }, "no stealing");
    CLI11_PARSE(app, argc, argv);
    try {
        c.technique = parse_technique(technique);
        std::printf("%-8s %-8s %-6s %-10s %-10s %-10s %-9s %-9s %-8s\n", "ranks", "mean_us", "levels", "makespan_s",
                    "lower_s", "efficiency", "top_msgs", "max_msgs", "sim_s");
        for (const int p : ranks) {
            for (const double m : means_us) {
                for (const int l : levels) {
                    Config run = c;
                    run.ranks = p;
                    run.mean_s = m * 1e-6;
                    run.levels = l;
                    const Result r = Model(run).run();
                    std::printf("%-8d %-8g %-6d %-10.4g %-10.4g %-10.3f %-9llu %-9llu %-8.1f\n", p, m, l, r.makespan_s,
                                r.lower_s, r.lower_s / r.makespan_s, static_cast<unsigned long long>(r.top_messages),
                                static_cast<unsigned long long>(r.max_messages), r.wall_s);
                    std::fflush(stdout);
                }
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pel_levels: %s\n", e.what());
        return 1;
    }
    return 0;
}
