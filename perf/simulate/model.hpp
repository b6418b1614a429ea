// perf/simulate/model.hpp: a discrete-event model of one pel phase whose rank 0 is pel's own sched::Scheduler.
//
// The model stands in for exec's MPI transport and threads, not for any decision: every worker message becomes a
// Scheduler::receive at the simulated time rank 0 serves it, rank 0's own team calls own_request and own_report,
// its server thread calls tick and recheck, and the model carries out the actions the Scheduler answers (grants,
// steal requests, acknowledgements) with latencies. Workers follow exec's WorkerLink (sched::PrefetchDepth,
// requests sent ahead, Update while waiting, steal answers between batches and from a helper thread, goodbye and
// acknowledgement); every rank's threads claim batches from a shared chunk as exec's Team and Chunk::claim do.
// Simulation details (what each event does) are in simulation.hpp; README.md says what is modelled and what not.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sched/cost_profile.hpp"
#include "sched/policy.hpp"

namespace pel::simulate {

/// A batch of items one thread processed, as a row of pel's /stats/chunk_log (times from rank 0's entry).
struct BatchEvent {
    std::int32_t rank = 0;
    std::int32_t thread = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    double start_s = 0;
    double stop_s = 0;
};

/// The model's parameters for one run.
struct Config {
    int ranks = 1000;
    int threads = 1;  ///< compute threads per rank (pel's --threads)
    sched::Params schedule;
    int prefetch = -1;                 ///< pel's --prefetch: a fixed depth, or -1 for auto (sched::PrefetchDepth)
    bool steal = true;                 ///< pel's default; false: --no-steal
    double latency_s = 1.5e-6;         ///< one-way message latency
    double service_s = 0.3e-6;         ///< rank 0's time to receive, decide on and answer one message
    double serve_interval_s = 200e-6;  ///< exec's kServeInterval: a batch lasts about this long
    double poll_s = 0.2e-6;            ///< one look of rank 0's server thread when it polls without sleeping
    double item_overhead_s = 0;        ///< added to every item of nonzero cost (a sleep's overshoot)
    int slow_rank = -1;                ///< this rank's items take slow_factor times their cost (-1: none)
    double slow_factor = 1;
    /// Rank 0's server thread shares a core with rank 0's thread 0: the time it spends serving while that thread
    /// computes makes the thread's batch end that much later. False: it has a core of its own (or rank 0's items
    /// do not need the CPU, as with sleeping items).
    bool server_shares_core = true;
    /// exec's Backoff when ranks outnumber cores: a waiting worker yields 15 times, then sleeps 10, 20, 40, 80, 160
    /// and then 200 us between looks (without it, it spins: it notices a message as it arrives).
    bool oversubscribed = false;
    double sleep_overshoot_s = 60e-6;  ///< how late every sleep of the protocol wakes (backoff, naps, helper)
    /// Workers enter the phase spread uniformly over [0, start_spread_s] after rank 0 (drawn from start_seed), as
    /// they do when they leave the barrier before the phase at different times (many ranks on few cores).
    double start_spread_s = 0;
    std::uint64_t start_seed = 1;
    /// A worker leaves the phase up to end_spread_s after its goodbye is acknowledged (uniform, drawn from
    /// start_seed): on an oversubscribed node the ranks that are done spin in the collective after the phase, and
    /// the last ones to be acknowledged wait for a core.
    double end_spread_s = 0;
    /// pel's --heartbeat-timeout (seconds): rank 0 ends the run when a worker is silent this long, and workers
    /// beat every min(timeout / 4, 2 s). 0: off.
    double heartbeat_timeout_s = 300;
    /// Add the measured wall time of every Scheduler call to rank 0's time (not deterministic).
    bool charge_scheduler = false;
    /// Measured costs the scheduler starts from (--cost-profile of a warm run); empty: a cold run.
    sched::CostProfile profile;
    /// Every batch, as pel's /stats/chunk_log has them, is appended here when set.
    std::vector<BatchEvent>* batches = nullptr;
};

/// What a simulated phase did.
struct Result {
    double makespan_s = 0;     ///< the longest rank's time in the phase, as pel's /stats makespan_s
    double lower_bound_s = 0;  ///< max(sum of item times / (ranks x threads), largest item time)
    double last_batch_s = 0;   ///< when the last batch of the phase ended (from rank 0's entry)
    double serve_s = 0;        ///< rank 0's time spent serving messages
    double queue_mean_s = 0;   ///< a message's wait at rank 0 between arrival and the start of its service
    double queue_max_s = 0;
    double worker_wait_s = 0;  ///< mean over workers of the time their threads waited in fetch and at the goodbye
    double sched_mean_s = 0;   ///< measured wall time of one Scheduler call in this process, mean and max
    double sched_max_s = 0;
    std::uint64_t chunks = 0;     ///< chunks received over all ranks (stolen ones included), as /stats chunks
    std::uint64_t max_chunk = 0;  ///< items in the largest chunk received
    std::uint64_t messages = 0;   ///< messages rank 0 served, as /stats requests[0]
    /// Of those: work requests, updates of idle workers, answers to steal requests, goodbyes (the rest are
    /// heartbeats).
    std::uint64_t requests = 0;
    std::uint64_t updates = 0;
    std::uint64_t givens = 0;
    std::uint64_t goodbyes = 0;
    std::uint64_t steals = 0;      ///< chunks taken from a busy rank for an idle one
    std::uint64_t held = 0;        ///< grants of requests held back
    std::uint64_t root_items = 0;  ///< items rank 0 computed itself
    std::uint64_t events = 0;
    double wall_s = 0;  ///< how long the simulation took to run

    [[nodiscard]] double ratio() const { return lower_bound_s > 0 ? makespan_s / lower_bound_s : 1.0; }
    /// Fraction of the makespan rank 0 spent serving.
    [[nodiscard]] double utilisation() const { return makespan_s > 0 ? serve_s / makespan_s : 0.0; }
};

/// Simulates one phase over items with the given costs (seconds). Deterministic unless charge_scheduler is set.
/// Throws pel::Error (internal) if the phase does not end with every item done exactly once.
Result simulate(const Config& config, std::span<const float> cost_s);

}  // namespace pel::simulate
