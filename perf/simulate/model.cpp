// perf/simulate/model.cpp: the event loop of the model described in model.hpp.
#include "model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <optional>
#include <queue>

#include "pel/error.hpp"
#include "pel/random.hpp"

namespace pel::simulate {

Distribution parse_distribution(const std::string& name) {
    if (name == "uniform") return Distribution::uniform;
    if (name == "normal") return Distribution::normal;
    if (name == "bimodal") return Distribution::bimodal;
    if (name == "pareto") return Distribution::pareto;
    throw Error::Usage("--distribution: unknown distribution '" + name + "' (known: uniform, normal, bimodal, pareto)");
}

std::vector<float> draw_costs(Distribution distribution, double mean_us, std::uint64_t seed, std::uint64_t begin,
                              std::uint64_t end) {
    std::vector<float> cost(end > begin ? end - begin : 0);
    const double m = mean_us * 1e-6;
    for (std::uint64_t i = begin; i < end; ++i) {
        // The formulas of jobs/synthetic's cost_us, term for term (see there for why each has mean m).
        Rng rng(seed, i);
        double c = m;
        switch (distribution) {
            case Distribution::uniform:
                c = 2.0 * m * rng.uniform();
                break;
            case Distribution::normal:
                c = std::max(0.0, m + 0.25 * m * rng.normal());
                break;
            case Distribution::bimodal:
                c = rng.uniform() < 0.2 ? 3.0 * m : 0.5 * m;
                break;
            case Distribution::pareto:
                c = std::min((m / 3.0) * std::pow(rng.uniform_open(), -1.0 / 1.5), 100.0 * m);
                break;
        }
        cost[i - begin] = static_cast<float>(c);
    }
    return cost;
}

namespace {

enum class EventKind : std::uint8_t {
    root_starts,      ///< rank 0 enters the phase (Config::root_start_s after the workers)
    arrive_at_root,   ///< a worker's request or goodbye reaches rank 0
    root_served,      ///< rank 0 has finished serving one message (its grant leaves now)
    root_batch_done,  ///< rank 0's compute thread has finished a batch of its own items
    server_looks,     ///< rank 0's sleeping server thread (or, with `batches`, idle rank 0) looks at its queue
    grant_arrives,    ///< a grant reaches its worker
    worker_wakes,     ///< a waiting worker, backing off, looks for its grant
    chunk_done,       ///< a worker has finished a chunk
};

enum class Grant : std::uint8_t { chunk, done, none };

/// One event. `begin`, `end` and `busy` carry a chunk, a batch or a report, depending on the kind.
struct Event {
    double t;
    std::uint64_t seq;  ///< order of scheduling: ties in time are broken by it, so every run is the same
    std::uint64_t begin;
    std::uint64_t end;
    double busy;
    std::int32_t rank;
    EventKind kind;
    bool bye;  ///< arrive_at_root, root_served: the message is a goodbye
    Grant grant;
};

struct Later {
    bool operator()(const Event& a, const Event& b) const { return a.t != b.t ? a.t > b.t : a.seq > b.seq; }
};

/// `count` sleeps of `us` microseconds.
struct Sleeps {
    int count;
    double us;
};

/// When a thread that starts sleeping between looks at `since` first looks at or after `at`: it sleeps each of
/// `steps` in turn and then `period_us` for ever, every sleep waking `overshoot_s` late.
double first_look(double since, double at, std::span<const Sleeps> steps, double period_us, double overshoot_s) {
    if (at <= since) return at;
    double t = since;
    for (const Sleeps& s : steps) {
        for (int k = 0; k < s.count; ++k) {
            t += s.us * 1e-6 + overshoot_s;
            if (t >= at) return t;
        }
    }
    const double period = period_us * 1e-6 + overshoot_s;
    return t + std::ceil((at - t) / period) * period;
}

/// exec's Backoff when ranks outnumber cores: 15 yields (taken as instant), then 10, 20, 40, 80, 160, 200... us.
constexpr Sleeps kBackoff[] = {{1, 10}, {1, 20}, {1, 40}, {1, 80}, {1, 160}};
constexpr double kBackoffPeriodUs = 200;
/// exec's serve_until_all_done after 64 empty polls: 7 sleeps of 20 us, 8 of 40, 8 of 80, then 160 us.
constexpr Sleeps kServerSleeps[] = {{7, 20}, {8, 40}, {8, 80}};
constexpr double kServerPeriodUs = 160;
constexpr int kServerHotPolls = 64;

class Simulation {
  public:
    Simulation(const Config& config, std::span<const float> cost_s)
        : config_(config),
          cost_(cost_s),
          ranks_(std::max(config.ranks, 1)),
          depth_(std::max(config.prefetch, 1)),
          serving_(ranks_ > 1),
          threaded_(serving_ && config.root_server == RootServer::thread),
          dispenser_(config.schedule, cost_s.size(), ranks_),
          workers_(static_cast<std::size_t>(ranks_)),
          ready_(static_cast<std::size_t>(ranks_) * static_cast<std::size_t>(depth_)) {}

    Result run() {
        const auto started = std::chrono::steady_clock::now();
        // Rank 0 first (at equal times): with no start delay it takes its first chunk before any request arrives.
        schedule({config_.root_start_s, 0, 0, 0, 0, 0, EventKind::root_starts, false, Grant::none});
        for (int w = 1; w < ranks_; ++w) {
            if (config_.start_spread_s > 0) {
                const double at =
                    config_.start_spread_s * Rng(config_.start_seed, static_cast<std::uint64_t>(w), 7).uniform();
                schedule({at, 0, 0, 0, 0, w, EventKind::worker_wakes, false, Grant::none});
            } else {
                worker_fetch(w, 0.0);
            }
        }
        while (!events_.empty()) {
            const Event e = events_.top();
            events_.pop();
            ++result_.events;
            dispatch(e);
        }
        check_complete();

        double sum = 0, largest = 0;
        for (const float c : cost_) {
            const double item = static_cast<double>(c) + config_.item_overhead_s;
            sum += item;
            largest = std::max(largest, item);
        }
        result_.lower_bound_s = std::max(sum / ranks_, largest);
        result_.makespan_s = std::max(root_end_s_, last_bye_s_);
        result_.queue_mean_s = result_.messages > 0 ? queue_sum_s_ / static_cast<double>(result_.messages) : 0;
        result_.worker_wait_s = ranks_ > 1 ? wait_sum_s_ / (ranks_ - 1) : 0;
        result_.dispenser_mean_s = dispenser_calls_ > 0 ? dispenser_sum_s_ / static_cast<double>(dispenser_calls_) : 0;
        result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result_;
    }

  private:
    /// A message waiting in rank 0's queue.
    struct Message {
        double arrived;
        std::int32_t rank;
        bool bye;
        sched::Report report;
    };

    /// A worker's side of the protocol (exec's fetch, top_up and wait_for_front). Its granted chunks not yet
    /// started sit in ready_[rank * depth_ ...], a ring of depth_ places.
    struct Worker {
        std::uint32_t pending = 0;  ///< requests sent whose grant has not arrived
        std::uint32_t head = 0;     ///< ring position of the oldest ready chunk
        std::uint32_t ready = 0;    ///< chunks granted and not started
        bool computing = false;
        bool final = false;     ///< told "done"
        bool finished = false;  ///< goodbye sent
        bool wake_scheduled = false;
        double waiting_since = -1;  ///< when it began waiting for a grant (negative: not waiting)
        double backoff_since = 0;   ///< when its current Backoff began
        sched::Report unreported;   ///< work done since its last request
    };

    /// Who holds rank 0's scheduling lock, serving the queue until it is empty.
    enum class Holder { none, server, compute };
    /// Rank 0's compute thread.
    enum class Compute { not_started, in_batch, serving, waiting_for_lock, done };

    void dispatch(const Event& e) {
        switch (e.kind) {
            case EventKind::root_starts:
                return root_starts(e.t);
            case EventKind::arrive_at_root:
                return root_arrive(e);
            case EventKind::root_served:
                return root_served(e);
            case EventKind::root_batch_done:
                return root_batch_done(e);
            case EventKind::server_looks:
                return server_looks(e.t);
            case EventKind::grant_arrives:
                return grant_arrives(e);
            case EventKind::worker_wakes:
                workers_[static_cast<std::size_t>(e.rank)].wake_scheduled = false;
                return worker_fetch(e.rank, e.t);
            case EventKind::chunk_done:
                return chunk_done(e);
        }
    }

    void schedule(Event e) {
        e.seq = seq_++;
        events_.push(e);
    }

    /// How long `rank` takes over `items`.
    [[nodiscard]] double cost_of(int rank, ItemRange items) const {
        double sum = 0;
        for (std::uint64_t i = items.begin; i < items.end; ++i) sum += static_cast<double>(cost_[i]);
        sum += config_.item_overhead_s * static_cast<double>(items.size());
        return rank == config_.slow_rank ? sum * config_.slow_factor : sum;
    }

    /// Runs the real Dispenser for one message: report() then, for a request, next(). Times the pair.
    std::optional<ItemRange> dispense(int rank, const sched::Report& report, bool want_chunk, double& spent_s) {
        const auto t0 = std::chrono::steady_clock::now();
        dispenser_.report(rank, report);
        std::optional<ItemRange> chunk;
        if (want_chunk) chunk = dispenser_.next(rank);
        spent_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        dispenser_sum_s_ += spent_s;
        result_.dispenser_max_s = std::max(result_.dispenser_max_s, spent_s);
        ++dispenser_calls_;
        if (chunk) {
            ++result_.chunks;
            result_.max_chunk = std::max(result_.max_chunk, chunk->size());
        }
        return chunk;
    }

    // Rank 0.

    void root_starts(double t) {
        started_ = true;
        server_hot_until_ = t + kServerHotPolls * config_.poll_s;
        compute_continue(t);  // exec's first fetch: serve what has arrived, then take a chunk
    }

    void root_arrive(const Event& e) {
        queue_.push_back({e.t, e.rank, e.bye, {e.begin, e.busy}});
        if (!started_ || holder_ != Holder::none) return;  // whoever holds the lock drains the queue
        if (threaded_) {
            if (e.t <= server_hot_until_) return serve_as(Holder::server, e.t);  // still polling hard
            if (!look_scheduled_) {
                look_scheduled_ = true;
                schedule({first_look(server_hot_until_, e.t, kServerSleeps, kServerPeriodUs, config_.sleep_overshoot_s),
                          0, 0, 0, 0, 0, EventKind::server_looks, false, Grant::none});
            }
            return;
        }
        if (compute_ != Compute::done) return;  // batches: it looks when its current batch ends
        if (!config_.oversubscribed) return serve_as(Holder::compute, e.t);  // spinning
        if (!look_scheduled_) {
            look_scheduled_ = true;
            schedule({first_look(idle_since_, e.t, kBackoff, kBackoffPeriodUs, config_.sleep_overshoot_s), 0, 0, 0, 0,
                      0, EventKind::server_looks, false, Grant::none});
        }
    }

    /// The sleeping server thread (or idle rank 0 backing off) looks: serves if nobody else has.
    void server_looks(double t) {
        look_scheduled_ = false;
        if (holder_ != Holder::none || queue_.empty()) return;
        serve_as(threaded_ ? Holder::server : Holder::compute, t);
    }

    void serve_as(Holder holder, double t) {
        holder_ = holder;
        if (holder == Holder::compute && compute_ != Compute::done) compute_ = Compute::serving;
        serve_next(t);
    }

    void serve_next(double t) {
        const Message m = queue_.front();
        queue_.pop_front();
        queue_sum_s_ += t - m.arrived;
        result_.queue_max_s = std::max(result_.queue_max_s, t - m.arrived);
        double spent = 0;
        const std::optional<ItemRange> chunk = dispense(m.rank, m.report, !m.bye, spent);
        const Grant grant = m.bye ? Grant::none : chunk ? Grant::chunk : Grant::done;
        const double service = config_.service_s + (config_.charge_dispenser ? spent : 0.0);
        result_.serve_s += service;
        ++result_.messages;
        if (m.bye) ++byes_;
        // The server thread takes its serving time from the compute thread's core.
        if (holder_ == Holder::server && compute_ == Compute::in_batch && config_.server_shares_core) {
            batch_debt_s_ += service;
        }
        const ItemRange range = chunk.value_or(ItemRange{});
        schedule({t + service, 0, range.begin, range.end, 0, m.rank, EventKind::root_served, m.bye, grant});
    }

    void root_served(const Event& e) {
        if (e.grant != Grant::none) {
            schedule({e.t + config_.latency_s, 0, e.begin, e.end, 0, e.rank, EventKind::grant_arrives, false, e.grant});
        }
        if (e.bye) last_bye_s_ = e.t;
        if (!queue_.empty()) return serve_next(e.t);  // exec drains its queue (iprobe until nothing is left)
        const Holder was = holder_;
        holder_ = Holder::none;
        if (was == Holder::server) {
            server_hot_until_ = e.t + kServerHotPolls * config_.poll_s;
            if (compute_ == Compute::waiting_for_lock) compute_continue(e.t);
            return;
        }
        if (compute_ == Compute::done) {
            idle_since_ = e.t;  // batches: rank 0 with no work of its own, waiting for messages
            return;
        }
        compute_proceed(e.t);
    }

    /// The compute thread between batches: exec's serve_pending (a try-lock) or, when its chunk is used up,
    /// fetch (a blocking lock, then serve everything queued, then take its own next chunk).
    void compute_continue(double t) {
        const bool chunk_used_up = own_next_ >= own_.end;
        if (holder_ == Holder::server) {
            if (chunk_used_up) {
                compute_ = Compute::waiting_for_lock;
                return;
            }
            return root_start_batch(t);
        }
        if (serving_ && !queue_.empty()) return serve_as(Holder::compute, t);
        compute_proceed(t);
    }

    /// The compute thread with nothing to serve: computes on, or takes its own next chunk, or stops.
    void compute_proceed(double t) {
        if (own_next_ < own_.end) return root_start_batch(t);
        double spent = 0;
        const std::optional<ItemRange> chunk = dispense(0, own_unreported_, true, spent);
        own_unreported_ = {};
        if (chunk) {
            own_ = *chunk;
            own_next_ = chunk->begin;
            if (config_.charge_dispenser) {
                result_.serve_s += spent;
                t += spent;
            }
            return root_start_batch(t);
        }
        compute_ = Compute::done;
        root_end_s_ = t;
        idle_since_ = t;
    }

    /// exec's thread_main on rank 0: a batch of own items sized to last about serve_interval, judged by the mean
    /// item time so far (one item when nothing is measured), and at most half of what is left of the chunk.
    void root_start_batch(double t) {
        const std::uint64_t left = own_.end - own_next_;
        std::uint64_t grain = std::max<std::uint64_t>(1, left / 2);
        if (serving_) {
            const double per_item =
                own_items_ > 0 ? own_busy_s_ / static_cast<double>(own_items_) : config_.serve_interval_s;
            if (per_item > 0) {
                const double fits = std::min(config_.serve_interval_s / per_item, static_cast<double>(grain));
                grain = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(fits), 1, grain);
            }
        }
        const ItemRange batch{own_next_, own_next_ + std::min(grain, left)};
        own_next_ = batch.end;
        const double spent = cost_of(0, batch);
        compute_ = Compute::in_batch;
        schedule({t + spent, 0, batch.begin, batch.end, spent, 0, EventKind::root_batch_done, false, Grant::none});
    }

    void root_batch_done(const Event& e) {
        if (batch_debt_s_ > 0) {  // the server thread had the core for a while: the batch ends that much later
            schedule(
                {e.t + batch_debt_s_, 0, e.begin, e.end, e.busy, 0, EventKind::root_batch_done, false, Grant::none});
            batch_debt_s_ = 0;
            return;
        }
        const std::uint64_t items = e.end - e.begin;
        own_busy_s_ += e.busy;
        own_items_ += items;
        own_unreported_.items += items;
        own_unreported_.busy_s += e.busy;
        result_.root_items += items;
        items_done_ += items;
        compute_continue(e.t);
    }

    // Workers.

    /// exec's fetch on a worker that has no chunk to compute.
    void worker_fetch(int w, double t) {
        Worker& k = workers_[static_cast<std::size_t>(w)];
        if (k.ready > 0) {
            const ItemRange chunk = ready_[slot(w, k.head)];
            k.head = (k.head + 1) % static_cast<std::uint32_t>(depth_);
            --k.ready;
            top_up(w, t, config_.prefetch);  // the next request leaves as this chunk starts
            stop_waiting(k, t);
            k.computing = true;
            const double spent = cost_of(w, chunk);
            schedule({t + spent, 0, chunk.begin, chunk.end, spent, w, EventKind::chunk_done, false, Grant::none});
            return;
        }
        if (k.final && k.pending == 0) {
            stop_waiting(k, t);
            send(w, t, true);
            k.finished = true;
            return;
        }
        top_up(w, t, depth_);
        if (k.waiting_since < 0) k.waiting_since = t;
        k.backoff_since = t;
    }

    /// Sends requests until `depth` chunks are asked for or waiting.
    void top_up(int w, double t, int depth) {
        Worker& k = workers_[static_cast<std::size_t>(w)];
        while (!k.final && static_cast<int>(k.pending + k.ready) < depth) {
            send(w, t, false);
            ++k.pending;
        }
    }

    /// A request (or goodbye) carrying what the worker did since its previous message.
    void send(int w, double t, bool bye) {
        Worker& k = workers_[static_cast<std::size_t>(w)];
        schedule({t + config_.latency_s, 0, k.unreported.items, 0, k.unreported.busy_s, w, EventKind::arrive_at_root,
                  bye, Grant::none});
        k.unreported = {};
    }

    void grant_arrives(const Event& e) {
        Worker& k = workers_[static_cast<std::size_t>(e.rank)];
        --k.pending;
        if (e.grant == Grant::chunk) {
            ready_[slot(e.rank, k.head + k.ready)] = {e.begin, e.end};
            ++k.ready;
        } else {
            k.final = true;
        }
        if (k.computing || k.finished) return;  // it takes the grant in when its chunk ends
        if (!config_.oversubscribed) return worker_fetch(e.rank, e.t);
        if (k.wake_scheduled) return;
        k.wake_scheduled = true;
        schedule({first_look(k.backoff_since, e.t, kBackoff, kBackoffPeriodUs, config_.sleep_overshoot_s), 0, 0, 0, 0,
                  e.rank, EventKind::worker_wakes, false, Grant::none});
    }

    void chunk_done(const Event& e) {
        Worker& k = workers_[static_cast<std::size_t>(e.rank)];
        k.computing = false;
        k.unreported.items += e.end - e.begin;
        k.unreported.busy_s += e.busy;
        items_done_ += e.end - e.begin;
        worker_fetch(e.rank, e.t);
    }

    void stop_waiting(Worker& k, double t) {
        if (k.waiting_since < 0) return;
        wait_sum_s_ += t - k.waiting_since;
        k.waiting_since = -1;
    }

    [[nodiscard]] std::size_t slot(int w, std::uint32_t position) const {
        return static_cast<std::size_t>(w) * static_cast<std::size_t>(depth_) +
               position % static_cast<std::uint32_t>(depth_);
    }

    /// The model ran pel's protocol to its end: every item computed once, every worker said goodbye.
    void check_complete() const {
        if (items_done_ != cost_.size() || dispenser_.remaining() != 0 || byes_ != ranks_ - 1 ||
            compute_ != Compute::done) {
            throw Error::Internal("simulation ended with " + std::to_string(items_done_) + " of " +
                                  std::to_string(cost_.size()) + " items done and " + std::to_string(byes_) + " of " +
                                  std::to_string(ranks_ - 1) + " goodbyes");
        }
    }

    const Config& config_;
    std::span<const float> cost_;
    int ranks_;
    int depth_;      ///< ring places per worker: pending + ready never exceed max(prefetch, 1)
    bool serving_;   ///< rank 0 has workers to serve
    bool threaded_;  ///< rank 0 has a server thread
    sched::Dispenser dispenser_;

    std::priority_queue<Event, std::vector<Event>, Later> events_;
    std::uint64_t seq_ = 0;

    // Rank 0.
    bool started_ = false;
    Holder holder_ = Holder::none;
    Compute compute_ = Compute::not_started;
    std::deque<Message> queue_;
    double server_hot_until_ = 0;  ///< the server thread polls hard until then, then sleeps between looks
    bool look_scheduled_ = false;
    double idle_since_ = 0;  ///< batches: when rank 0, out of work, began backing off
    double batch_debt_s_ = 0;
    ItemRange own_;
    std::uint64_t own_next_ = 0;
    double own_busy_s_ = 0;
    std::uint64_t own_items_ = 0;
    sched::Report own_unreported_;
    double root_end_s_ = 0;
    double last_bye_s_ = 0;
    int byes_ = 0;

    std::vector<Worker> workers_;
    std::vector<ItemRange> ready_;

    std::uint64_t items_done_ = 0;
    double queue_sum_s_ = 0;
    double wait_sum_s_ = 0;
    double dispenser_sum_s_ = 0;
    std::uint64_t dispenser_calls_ = 0;
    Result result_;
};

}  // namespace

Result simulate(const Config& config, std::span<const float> cost_s) { return Simulation(config, cost_s).run(); }

}  // namespace pel::simulate
