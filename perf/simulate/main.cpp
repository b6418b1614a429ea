// perf/simulate/main.cpp: pel_simulate, pel's scheduling past this machine. Runs the model of model.hpp (the real
// sched::Scheduler in simulated time) over rank counts and techniques and prints a table (or JSON lines);
// --saturation finds where one rank 0 stops keeping up.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "model.hpp"
#include "pel/error.hpp"
#include "sched/selection.hpp"
#include "workload.hpp"

namespace {

using pel::simulate::Config;
using pel::simulate::Result;
using pel::synthetic::Distribution;

/// The command line.
struct Options {
    std::vector<std::int64_t> ranks{1000, 10000, 100000};
    std::int64_t items_per_rank = 100;
    std::int64_t items = 0;  ///< total items; 0: ranks x items_per_rank
    double mean_us = 1000;
    std::string distribution = "uniform";
    std::vector<std::string> schedules{"static", "ss", "gss", "tss", "fac2", "awf"};
    std::int64_t chunk_size = 1;
    std::int64_t threads = 1;
    std::string prefetch = "auto";
    bool no_steal = false;
    std::string profile = "none";
    double latency_us = 1.5;
    double service_us = 0.3;
    double serve_interval_us = 200;
    std::int64_t seed = 1;
    double item_overhead_us = 0;
    std::int64_t slow_rank = -1;
    double slow_factor = 1;
    bool charge_scheduler = false;
    bool oversubscribed = false;
    double sleep_overshoot_us = 60;
    double start_spread_us = 0;
    std::int64_t start_seed = 1;
    double end_spread_us = 0;
    double heartbeat_timeout_s = 300;
    std::string server_core = "shared";
    double poll_us = 0.2;
    std::string batches;  ///< --batches: a CSV file of every batch of the last run
    bool json = false;
    bool saturation = false;
    std::vector<double> sat_means{10, 100, 1000, 10000};
    std::string sat_schedule = "gss";
    double sat_ratio = 1.05;
    double sat_util = 0.9;
    std::int64_t sat_min_ranks = 16;
    std::int64_t sat_max_ranks = 1000000;
};

/// Item costs drawn once per workload and extended as larger runs need more items (item i's cost depends only on
/// the seed and i, so a run over N items uses the first N).
class Costs {
  public:
    Costs(Distribution distribution, double mean_us, std::uint64_t seed)
        : distribution_(distribution), mean_us_(mean_us), seed_(seed) {}

    std::span<const float> first(std::uint64_t items) {
        if (items > kMaxItems) {
            throw pel::Error::Usage(std::to_string(items) + " items: at most " + std::to_string(kMaxItems) +
                                    " (4 bytes each), fewer ranks or items per rank");
        }
        if (items > cost_.size()) {
            const auto more = pel::simulate::draw_costs(distribution_, mean_us_, seed_, cost_.size(), items);
            cost_.insert(cost_.end(), more.begin(), more.end());
        }
        return std::span<const float>(cost_).first(items);
    }

  private:
    static constexpr std::uint64_t kMaxItems = 2'000'000'000;

    Distribution distribution_;
    double mean_us_;
    std::uint64_t seed_;
    std::vector<float> cost_;
};

/// pel's --prefetch: "auto" (-1) or a depth.
int prefetch_of(const std::string& setting) {
    if (setting == "auto") return -1;
    try {
        std::size_t used = 0;
        const int depth = std::stoi(setting, &used);
        if (used == setting.size() && depth >= 0 && depth <= 64) return depth;
    } catch (const std::exception&) {
    }
    throw pel::Error::Usage("--prefetch: 'auto' or a depth from 0 to 64, not '" + setting + "'");
}

Config make_config(const Options& o, std::int64_t ranks, const std::string& schedule, std::span<const float> cost) {
    Config c;
    c.ranks = static_cast<int>(ranks);
    c.threads = static_cast<int>(o.threads);
    c.schedule = {pel::sched::parse_technique(schedule), static_cast<std::uint64_t>(o.chunk_size)};
    c.prefetch = prefetch_of(o.prefetch);
    c.steal = !o.no_steal;
    c.latency_s = o.latency_us * 1e-6;
    c.service_s = o.service_us * 1e-6;
    c.serve_interval_s = o.serve_interval_us * 1e-6;
    c.poll_s = o.poll_us * 1e-6;
    c.item_overhead_s = o.item_overhead_us * 1e-6;
    c.slow_rank = static_cast<int>(o.slow_rank);
    c.slow_factor = o.slow_factor;
    c.server_shares_core = o.server_core == "shared";
    c.oversubscribed = o.oversubscribed;
    c.sleep_overshoot_s = o.sleep_overshoot_us * 1e-6;
    c.start_spread_s = o.start_spread_us * 1e-6;
    c.start_seed = static_cast<std::uint64_t>(o.start_seed);
    c.end_spread_s = o.end_spread_us * 1e-6;
    c.heartbeat_timeout_s = o.heartbeat_timeout_s;
    c.charge_scheduler = o.charge_scheduler;
    if (o.profile == "drawn") {
        c.profile = pel::simulate::profile_of(cost, c.item_overhead_s);
    } else if (o.profile != "none") {
        c.profile = pel::simulate::read_profile(o.profile, cost.size());
    }
    if (c.schedule.technique == pel::sched::Technique::automatic) {
        // As pel run does on rank 0 (exec/phase_run.cpp): the cold technique, or the one simulated shortest.
        pel::sched::SelectionInput in;
        in.settings = c.schedule;
        in.items = cost.size();
        in.ranks = c.ranks;
        in.threads = c.threads;
        in.profile = c.profile;
        c.schedule.technique = pel::sched::select_technique(in).technique;
    }
    return c;
}

std::uint64_t items_for(const Options& o, std::int64_t ranks) {
    return static_cast<std::uint64_t>(o.items > 0 ? o.items : ranks * o.items_per_rank);
}

void print_header() {
    std::printf("%8s %-7s %9s %11s %11s %7s %6s %10s %10s %9s %9s %7s %6s %10s %9s %8s\n", "ranks", "sched", "mean_us",
                "makespan_s", "lower_s", "ratio", "util", "q_mean_us", "q_max_us", "chunks", "messages", "steals",
                "held", "wait_ms", "sched_us", "sim_s");
}

void print_row(const Options& o, std::int64_t ranks, const std::string& schedule, double mean_us, std::uint64_t items,
               const Result& r) {
    if (o.json) {
        std::printf(
            "{\"ranks\": %lld, \"schedule\": \"%s\", \"items\": %llu, \"distribution\": \"%s\", \"mean_us\": %g, "
            "\"chunk_size\": %lld, \"threads\": %lld, \"latency_us\": %g, \"service_us\": %g, \"prefetch\": \"%s\", "
            "\"profile\": \"%s\", \"seed\": %lld, \"start_seed\": %lld, \"start_spread_us\": %g, "
            "\"end_spread_us\": %g, \"item_overhead_us\": %g, \"sleep_overshoot_us\": %g, "
            "\"makespan_s\": %.9g, \"last_batch_s\": %.9g, \"lower_bound_s\": %.9g, \"ratio\": %.6f, "
            "\"utilisation\": %.6f, "
            "\"serve_s\": %.9g, \"queue_mean_us\": %.6g, \"queue_max_us\": %.6g, \"chunks\": %llu, "
            "\"max_chunk\": %llu, \"messages\": %llu, \"requests\": %llu, \"updates\": %llu, \"givens\": %llu, "
            "\"goodbyes\": %llu, \"steals\": %llu, \"held\": %llu, \"root_items\": %llu, "
            "\"worker_wait_mean_s\": %.6g, \"sched_mean_us\": %.6g, \"sched_max_us\": %.6g, \"events\": %llu, "
            "\"sim_wall_s\": %.3f}\n",
            static_cast<long long>(ranks), schedule.c_str(), static_cast<unsigned long long>(items),
            o.distribution.c_str(), mean_us, static_cast<long long>(o.chunk_size), static_cast<long long>(o.threads),
            o.latency_us, o.service_us, o.prefetch.c_str(), o.profile.c_str(), static_cast<long long>(o.seed),
            static_cast<long long>(o.start_seed), o.start_spread_us, o.end_spread_us, o.item_overhead_us,
            o.sleep_overshoot_us, r.makespan_s, r.last_batch_s, r.lower_bound_s, r.ratio(), r.utilisation(), r.serve_s,
            r.queue_mean_s * 1e6, r.queue_max_s * 1e6, static_cast<unsigned long long>(r.chunks),
            static_cast<unsigned long long>(r.max_chunk), static_cast<unsigned long long>(r.messages),
            static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.updates),
            static_cast<unsigned long long>(r.givens), static_cast<unsigned long long>(r.goodbyes),
            static_cast<unsigned long long>(r.steals), static_cast<unsigned long long>(r.held),
            static_cast<unsigned long long>(r.root_items), r.worker_wait_s, r.sched_mean_s * 1e6, r.sched_max_s * 1e6,
            static_cast<unsigned long long>(r.events), r.wall_s);
    } else {
        std::printf(
            "%8lld %-7s %9g %11.6f %11.6f %7.4f %6.3f %10.2f %10.1f %9llu %9llu %7llu %6llu %10.3f %9.3f %8.2f\n",
            static_cast<long long>(ranks), schedule.c_str(), mean_us, r.makespan_s, r.lower_bound_s, r.ratio(),
            r.utilisation(), r.queue_mean_s * 1e6, r.queue_max_s * 1e6, static_cast<unsigned long long>(r.chunks),
            static_cast<unsigned long long>(r.messages), static_cast<unsigned long long>(r.steals),
            static_cast<unsigned long long>(r.held), r.worker_wait_s * 1e3, r.sched_mean_s * 1e6, r.wall_s);
    }
    std::fflush(stdout);
}

/// --batches: every batch of a run, as the columns of pel's /stats/chunk_log.
void write_batches(const std::string& path, const std::vector<pel::simulate::BatchEvent>& batches) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) throw pel::Error::Usage("--batches: cannot write '" + path + "'");
    std::fprintf(f, "rank,thread,begin,end,start_s,stop_s\n");
    for (const auto& b : batches) {
        std::fprintf(f, "%d,%d,%llu,%llu,%.9f,%.9f\n", b.rank, b.thread, static_cast<unsigned long long>(b.begin),
                     static_cast<unsigned long long>(b.end), b.start_s, b.stop_s);
    }
    if (std::fclose(f) != 0) throw pel::Error::Usage("--batches: cannot write '" + path + "'");
}

/// The table over --ranks x --schedule.
void sweep(const Options& o) {
    Costs costs(pel::simulate::parse_distribution(o.distribution), o.mean_us, static_cast<std::uint64_t>(o.seed));
    if (!o.json) print_header();
    for (const std::int64_t ranks : o.ranks) {
        const std::uint64_t items = items_for(o, ranks);
        const auto cost = costs.first(items);
        for (const auto& schedule : o.schedules) {
            Config config = make_config(o, ranks, schedule, cost);
            std::vector<pel::simulate::BatchEvent> batches;
            if (!o.batches.empty()) config.batches = &batches;
            print_row(o, ranks, schedule, o.mean_us, items, pel::simulate::simulate(config, cost));
            if (!o.batches.empty()) write_batches(o.batches, batches);
        }
    }
}

/// One rank count of --saturation: the run as configured, and the same run with a free rank 0 (service time 0)
/// whose makespan says what the scheduling itself costs, apart from rank 0's capacity.
struct Probe {
    std::int64_t ranks = 0;
    Result run;
    double free_makespan_s = 0;
    /// How much longer the phase takes because serving costs time.
    [[nodiscard]] double slowdown() const { return free_makespan_s > 0 ? run.makespan_s / free_makespan_s : 1.0; }
};

/// What --saturation counts as rank 0 no longer keeping up.
enum class Criterion { slowdown, utilisation };

bool saturated(const Options& o, Criterion c, const Probe& p) {
    return c == Criterion::slowdown ? p.slowdown() > o.sat_ratio : p.run.utilisation() >= o.sat_util;
}

void print_probe(const Options& o, double mean_us, const Probe& p) {
    const Result& r = p.run;
    if (o.json) {
        std::printf(
            "{\"probe\": true, \"schedule\": \"%s\", \"distribution\": \"%s\", \"mean_us\": %g, \"ranks\": %lld, "
            "\"makespan_s\": %.9g, \"free_makespan_s\": %.9g, \"slowdown\": %.6f, \"lower_bound_s\": %.9g, "
            "\"ratio\": %.6f, \"utilisation\": %.6f, \"queue_mean_us\": %.6g, \"queue_max_us\": %.6g, "
            "\"chunks\": %llu, \"messages\": %llu, \"sim_wall_s\": %.3f}\n",
            o.sat_schedule.c_str(), o.distribution.c_str(), mean_us, static_cast<long long>(p.ranks), r.makespan_s,
            p.free_makespan_s, p.slowdown(), r.lower_bound_s, r.ratio(), r.utilisation(), r.queue_mean_s * 1e6,
            r.queue_max_s * 1e6, static_cast<unsigned long long>(r.chunks), static_cast<unsigned long long>(r.messages),
            r.wall_s);
    } else {
        std::printf("%9g %8lld %11.6f %11.6f %8.4f %7.4f %6.3f %10.2f %10.1f %9llu %9llu %8.2f\n", mean_us,
                    static_cast<long long>(p.ranks), r.makespan_s, p.free_makespan_s, p.slowdown(), r.ratio(),
                    r.utilisation(), r.queue_mean_s * 1e6, r.queue_max_s * 1e6,
                    static_cast<unsigned long long>(r.chunks), static_cast<unsigned long long>(r.messages), r.wall_s);
    }
    std::fflush(stdout);
}

/// Where a criterion starts to hold along the rank counts probed.
struct Crossing {
    std::int64_t ok = 0;  ///< the largest rank count seen below `bad` where it does not hold (0: none)
    Probe bad;            ///< the smallest rank count seen where it holds (ranks 0: none up to --sat-max-ranks)
};

std::string where(const Crossing& c) {
    if (c.bad.ranks == 0) return "> " + std::to_string(c.ok);
    if (c.ok == 0) return "<= " + std::to_string(c.bad.ranks);
    return std::to_string(c.bad.ranks);
}

/// --saturation: for each mean item cost, the rank count at which rank 0's capacity makes the phase more than
/// --sat-ratio times longer than with a free rank 0, and the one at which rank 0's serving fills --sat-util of the
/// makespan. Rank counts double from --sat-min-ranks until both are seen (or --sat-max-ranks), then each crossing
/// is bisected (geometrically) to within 5%; near the crossing, run-to-run jitter of a few percent in the makespan
/// makes the bisected figure good to about a factor 1.2, not 5%.
void saturation(const Options& o) {
    const Distribution distribution = pel::simulate::parse_distribution(o.distribution);
    constexpr Criterion kCriteria[] = {Criterion::slowdown, Criterion::utilisation};
    std::vector<std::pair<double, std::array<Crossing, 2>>> table;
    if (!o.json) {
        std::printf("%9s %8s %11s %11s %8s %7s %6s %10s %10s %9s %9s %8s\n", "mean_us", "ranks", "makespan_s", "free_s",
                    "slowdown", "ratio", "util", "q_mean_us", "q_max_us", "chunks", "messages", "sim_s");
    }
    for (const double mean_us : o.sat_means) {
        Costs costs(distribution, mean_us, static_cast<std::uint64_t>(o.seed));
        const auto probe = [&](std::int64_t ranks) {
            const auto cost = costs.first(items_for(o, ranks));
            Config config = make_config(o, ranks, o.sat_schedule, cost);
            Probe p;
            p.ranks = ranks;
            p.run = pel::simulate::simulate(config, cost);
            config.service_s = 0;
            config.charge_scheduler = false;
            p.free_makespan_s = pel::simulate::simulate(config, cost).makespan_s;
            print_probe(o, mean_us, p);
            return p;
        };
        // Doubling: a crossing is the first rank count where the criterion holds there and at the next one too
        // (at small counts the makespan moves by a few percent either way with the order requests happen to
        // arrive in, so one probe over the limit is not enough).
        std::array<Crossing, 2> found;
        std::array<Probe, 2> candidate;
        for (std::int64_t ranks = std::min(o.sat_min_ranks, o.sat_max_ranks);;
             ranks = std::min(ranks * 2, o.sat_max_ranks)) {
            const Probe p = probe(ranks);
            for (std::size_t k = 0; k < 2; ++k) {
                Crossing& c = found[k];
                if (c.bad.ranks != 0) continue;
                if (!saturated(o, kCriteria[k], p)) {
                    candidate[k] = {};
                    c.ok = ranks;
                } else if (candidate[k].ranks != 0 || ranks == o.sat_max_ranks) {
                    c.bad = candidate[k].ranks != 0 ? candidate[k] : p;
                } else {
                    candidate[k] = p;
                }
            }
            if ((found[0].bad.ranks != 0 && found[1].bad.ranks != 0) || ranks == o.sat_max_ranks) break;
        }
        for (std::size_t k = 0; k < 2; ++k) {
            Crossing& c = found[k];
            if (c.bad.ranks == 0 || c.ok == 0) continue;
            while (static_cast<double>(c.bad.ranks) > 1.05 * static_cast<double>(c.ok) && c.bad.ranks - c.ok > 1) {
                const auto mid =
                    static_cast<std::int64_t>(std::sqrt(static_cast<double>(c.ok) * static_cast<double>(c.bad.ranks)));
                const Probe p = probe(mid);
                if (saturated(o, kCriteria[k], p)) {
                    c.bad = p;
                } else {
                    c.ok = mid;
                }
            }
        }
        table.emplace_back(mean_us, found);
    }

    if (o.json) {
        for (const auto& [mean_us, found] : table) {
            std::printf(
                "{\"saturation\": true, \"schedule\": \"%s\", \"distribution\": \"%s\", \"mean_us\": %g, "
                "\"items_per_rank\": %lld, \"latency_us\": %g, \"service_us\": %g, \"prefetch\": \"%s\", "
                "\"server_core\": \"%s\", \"slowdown_limit\": %g, \"ranks_slowdown\": %lld, "
                "\"ranks_slowdown_ok\": %lld, \"util_limit\": %g, \"ranks_util\": %lld, \"ranks_util_ok\": %lld}\n",
                o.sat_schedule.c_str(), o.distribution.c_str(), mean_us, static_cast<long long>(o.items_per_rank),
                o.latency_us, o.service_us, o.prefetch.c_str(), o.server_core.c_str(), o.sat_ratio,
                static_cast<long long>(found[0].bad.ranks), static_cast<long long>(found[0].ok), o.sat_util,
                static_cast<long long>(found[1].bad.ranks), static_cast<long long>(found[1].ok));
        }
        return;
    }
    std::printf(
        "\nrank 0 saturation: schedule %s, %s costs, %lld items per rank, latency %g us, service %g us, "
        "prefetch %s, server core %s\n",
        o.sat_schedule.c_str(), o.distribution.c_str(), static_cast<long long>(o.items_per_rank), o.latency_us,
        o.service_us, o.prefetch.c_str(), o.server_core.c_str());
    char slow_head[40], util_head[40];
    std::snprintf(slow_head, sizeof slow_head, "slowdown > %g", o.sat_ratio);
    std::snprintf(util_head, sizeof util_head, "util >= %g", o.sat_util);
    std::printf("%9s | %14s %8s %7s %6s | %14s %8s %7s %6s\n", "mean_us", slow_head, "slowdown", "ratio", "util",
                util_head, "slowdown", "ratio", "util");
    for (const auto& [mean_us, found] : table) {
        std::printf("%9g", mean_us);
        for (const Crossing& c : found) {
            if (c.bad.ranks != 0) {
                std::printf(" | %14s %8.4f %7.4f %6.3f", where(c).c_str(), c.bad.slowdown(), c.bad.run.ratio(),
                            c.bad.run.utilisation());
            } else {
                std::printf(" | %14s %8s %7s %6s", where(c).c_str(), "-", "-", "-");
            }
        }
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app(
        "pel_simulate: a discrete-event model of a pel phase whose rank 0 is pel's own sched::Scheduler, to "
        "predict makespan and rank-0 load past this machine");
    app.add_option("--ranks", o.ranks, "rank counts to simulate")->delimiter(',')->capture_default_str();
    app.add_option("--items-per-rank", o.items_per_rank, "items per rank (the phase has ranks x this many)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))
        ->capture_default_str();
    app.add_option("--items", o.items, "total items, the same at every rank count (overrides --items-per-rank)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{2000000000}));
    app.add_option("--mean-us", o.mean_us, "mean item cost in microseconds")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--distribution", o.distribution, "item costs, as jobs/synthetic draws them")
        ->check(CLI::IsMember({"uniform", "normal", "bimodal", "pareto"}))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "seed of the item costs (jobs/synthetic's --seed)")->capture_default_str();
    std::string techniques;
    for (const auto& n : pel::sched::technique_names()) techniques += (techniques.empty() ? "" : ", ") + n;
    app.add_option("--schedule", o.schedules,
                   "chunk-size techniques, comma-separated, of: " + techniques + "; all: every one")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--chunk-size", o.chunk_size, "items per chunk (ss) or smallest chunk")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--threads", o.threads, "compute threads per rank (pel's --threads)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1024}))
        ->capture_default_str();
    app.add_option("--prefetch", o.prefetch, "requests a worker keeps in flight: auto or a depth (pel's --prefetch)")
        ->capture_default_str();
    app.add_flag("--no-steal", o.no_steal, "idle ranks do not take work from busy ones (pel's --no-steal)");
    app.add_option("--profile", o.profile,
                   "costs rank 0 starts from, as a warm run's --cost-profile: none (a cold run), drawn (the drawn "
                   "costs plus --item-overhead-us, binned as pel bins them) or a text file of bin seconds")
        ->capture_default_str();
    app.add_option("--latency-us", o.latency_us, "one-way message latency")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--service-us", o.service_us, "rank 0's time to serve one message")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--serve-interval-us", o.serve_interval_us, "a thread's batches last about this long")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--item-overhead-us", o.item_overhead_us, "added to every item's cost (a sleep's overshoot)")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--slow-rank", o.slow_rank, "this rank's items take --slow-factor times their cost (-1: none)")
        ->check(CLI::Range(std::int64_t{-1}, std::int64_t{1} << 30))
        ->capture_default_str();
    app.add_option("--slow-factor", o.slow_factor, "how much slower --slow-rank is")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    app.add_flag("--charge-scheduler", o.charge_scheduler,
                 "add the measured time of each Scheduler call to rank 0's serving (not deterministic)");
    app.add_flag("--oversubscribed", o.oversubscribed,
                 "model pel's polite waiting when ranks outnumber cores (yield, then sleeps of 10..200 us)");
    app.add_option("--sleep-overshoot-us", o.sleep_overshoot_us,
                   "how late a sleep of the protocol wakes (backoff, rank 0's server thread, the helper thread)")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    app.add_option("--server-core", o.server_core,
                   "shared: rank 0's server thread takes its serving time from rank 0's thread 0; own: it has a core")
        ->check(CLI::IsMember({"shared", "own"}))
        ->capture_default_str();
    app.add_option("--poll-us", o.poll_us, "one look of rank 0's server thread when it does not sleep")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    app.add_option("--start-spread-us", o.start_spread_us,
                   "workers enter the phase spread uniformly over this long after rank 0 (drawn from --start-seed)")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--start-seed", o.start_seed, "seed of the workers' entry and exit times")->capture_default_str();
    app.add_option("--end-spread-us", o.end_spread_us,
                   "workers leave the phase spread uniformly over this long after their goodbye is acknowledged "
                   "(drawn from --start-seed)")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--heartbeat-timeout-s", o.heartbeat_timeout_s,
                   "pel's --heartbeat-timeout: workers beat every min(it / 4, 2 s); rank 0 stops on a silent one")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_flag("--json", o.json, "one JSON line per run instead of a table");
    app.add_option("--batches", o.batches,
                   "write every batch of the (last) run to this CSV file, as the columns of pel's /stats/chunk_log");
    app.add_flag("--saturation", o.saturation, "find the rank count at which rank 0 saturates, per mean item cost");
    app.add_option("--sat-means", o.sat_means, "--saturation: mean item costs in microseconds")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--sat-schedule", o.sat_schedule, "--saturation: technique")->capture_default_str();
    app.add_option("--sat-ratio", o.sat_ratio,
                   "--saturation: makespan / makespan with a free rank 0 (service 0) counted as saturated")
        ->capture_default_str();
    app.add_option("--sat-util", o.sat_util, "--saturation: rank 0's serving share counted as saturated")
        ->capture_default_str();
    app.add_option("--sat-min-ranks", o.sat_min_ranks, "--saturation: smallest rank count probed")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30))
        ->capture_default_str();
    app.add_option("--sat-max-ranks", o.sat_max_ranks, "--saturation: largest rank count probed")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        for (const auto r : o.ranks) {
            if (r < 1 || r > (std::int64_t{1} << 30)) throw pel::Error::Usage("--ranks: each must be in [1, 2^30]");
        }
        if (o.schedules == std::vector<std::string>{"all"}) o.schedules = pel::sched::technique_names();
        for (const auto& s : o.schedules) pel::sched::parse_technique(s);
        prefetch_of(o.prefetch);
        pel::sched::parse_technique(o.sat_schedule);
        if (o.saturation) {
            saturation(o);
        } else {
            sweep(o);
        }
    } catch (const pel::Error& e) {
        std::fprintf(stderr, "pel_simulate: %s\n", e.what());
        return static_cast<int>(e.code());
    }
    return 0;
}
