// perf/simulate/model.hpp: a discrete-event model of one pel phase, driving pel's own sched::Dispenser.
//
// What is modelled is what exec/runner.cpp does with one compute thread per rank: rank 0 computes its own chunks
// in batches of about --serve-interval and answers requests one at a time, FIFO, either from a server thread as
// they come (pel since commit 3259dd1) or only between batches (before it); workers keep --prefetch requests in
// flight, each carrying a report of the work done since the previous one; a worker told "done" sends a goodbye
// that rank 0 also serves. Chunk sizes come from the real pel::sched::Dispenser (report() then next() per
// message), so what is predicted is pel's chunking, not a copy of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sched/policy.hpp"

namespace pel::simulate {

/// How item costs are drawn: the distributions of jobs/synthetic, each with mean --mean-us.
enum class Distribution { uniform, normal, bimodal, pareto };

/// The distribution called `name`; throws pel::Error (usage) otherwise.
Distribution parse_distribution(const std::string& name);

/// The costs, in seconds, of items [begin, end): item i's cost is drawn exactly as jobs/synthetic draws it, from
/// pel::Rng(seed, i), so `pel run synthetic` with the same seed sleeps or spins the same costs. Stored as float
/// (4 bytes an item, relative error 6e-8).
std::vector<float> draw_costs(Distribution distribution, double mean_us, std::uint64_t seed, std::uint64_t begin,
                              std::uint64_t end);

/// How rank 0 answers requests.
enum class RootServer {
    thread,   ///< pel since 3259dd1: a server thread answers as requests come (it polls, then sleeps 20..160 us
              ///< when idle); the compute thread also answers between batches when the server is not
    batches,  ///< pel before 3259dd1 (and README's "How it runs"): only between batches of about 200 us of work,
              ///< and continuously once rank 0's own work is done
};

/// The model's parameters for one run.
struct Config {
    int ranks = 1000;
    sched::Params schedule;
    double latency_s = 1.5e-6;         ///< one-way message latency, worker to rank 0 and back
    double service_s = 0.3e-6;         ///< rank 0's time to receive, decide and answer one message
    double serve_interval_s = 200e-6;  ///< rank 0 computes batches about this long between looks at its queue
    int prefetch = 1;                  ///< requests a worker keeps in flight while it computes (pel's --prefetch)
    double item_overhead_s = 0;        ///< added to every item's cost (e.g. a sleep's overshoot)
    int slow_rank = -1;                ///< this rank's items take slow_factor times their cost (-1: none)
    double slow_factor = 1;
    RootServer root_server = RootServer::thread;
    /// thread: the server thread shares a core with rank 0's compute thread, so the time it spends serving is
    /// taken from rank 0's computing (as if it had priority). False: it has a core of its own (or rank 0's
    /// items do not need the CPU, as with sleeping items).
    bool server_shares_core = true;
    double poll_s = 0.2e-6;  ///< thread: one look at the queue (lock, MPI_Iprobe, unlock); 64 looks before it sleeps
    /// Add the measured wall time of each Dispenser::report + next call to the service time (not deterministic).
    bool charge_dispenser = false;
    /// Model exec's polite waiting when ranks outnumber cores (Backoff): a waiting worker (and, with `batches`,
    /// an idle rank 0) yields, then sleeps 10, 20, 40, 80, 160 and then 200 us between looks.
    bool oversubscribed = false;
    double sleep_overshoot_s = 60e-6;  ///< how late every sleep wakes (the server thread's too)
    /// Rank 0 enters the phase this long after the workers (0: together, so it takes the first chunk before any
    /// request has crossed the network; more than the latency: it serves the first requests before its own).
    double root_start_s = 0;
    /// Workers enter the phase spread uniformly over [0, start_spread_s] (drawn from the seed below), as they do
    /// when they leave the collective before it at different times (many ranks on few cores: a millisecond).
    double start_spread_s = 0;
    std::uint64_t start_seed = 1;
};

/// What a simulated phase did.
struct Result {
    double makespan_s = 0;     ///< from the start until rank 0 has served the last goodbye (or ended its own work)
    double lower_bound_s = 0;  ///< max(sum of costs / ranks, largest cost)
    double serve_s = 0;        ///< rank 0's time spent serving messages
    double queue_mean_s = 0;   ///< mean wait of a message at rank 0 between arrival and the start of its service
    double queue_max_s = 0;
    double worker_wait_s = 0;     ///< mean over workers of the time spent waiting for a grant
    double dispenser_mean_s = 0;  ///< measured wall time of one Dispenser::report + next, mean and max
    double dispenser_max_s = 0;
    std::uint64_t chunks = 0;      ///< chunks granted, rank 0's own included
    std::uint64_t max_chunk = 0;   ///< items in the largest chunk granted
    std::uint64_t messages = 0;    ///< requests and goodbyes rank 0 served
    std::uint64_t root_items = 0;  ///< items rank 0 computed itself
    std::uint64_t events = 0;
    double wall_s = 0;  ///< how long the simulation took to run

    [[nodiscard]] double ratio() const { return lower_bound_s > 0 ? makespan_s / lower_bound_s : 1.0; }
    /// Fraction of the makespan rank 0 spent serving.
    [[nodiscard]] double utilisation() const { return makespan_s > 0 ? serve_s / makespan_s : 0.0; }
};

/// Simulates one phase over items with the given costs (seconds). Deterministic unless charge_dispenser is set.
Result simulate(const Config& config, std::span<const float> cost_s);

}  // namespace pel::simulate
