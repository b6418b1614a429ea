// sched/selection.hpp: --schedule auto. Picks a phase's chunk-size technique by simulating the phase, with the real
// Scheduler, on the costs a profile gives (measured by an earlier run or phase); cold, the best cold technique.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sched/cost_profile.hpp"
#include "sched/policy.hpp"

namespace pel::sched {

/// A phase to choose a technique for.
struct SelectionInput {
    Params settings;  ///< --chunk-size, --weights and the chunk overhead; the technique is what is chosen
    std::uint64_t items = 0;
    int ranks = 1;
    int threads = 1;
    std::vector<ItemRange> todo;  ///< the items to do (sorted, disjoint); empty: all of [0, items)
    CostProfile profile;          ///< measured costs of the phase's items; empty: a cold phase
    double latency_s = 2e-6;      ///< one way, rank 0 to a worker (perf/grant_rate: 0.2 us round trip in memory)
    /// Simulated events allowed per technique: a technique that would need more (ss on a huge phase) is not tried.
    /// An event costs about 0.3-1 us (a phase of 12,800 items on 128 ranks: about 33,000 events per technique).
    std::uint64_t max_events = 1'000'000;
    /// Wall-clock seconds all simulations may take together; techniques not simulated by then are not chosen, and
    /// if even the cold technique (simulated first) is not done, it stays. See budget_for.
    double budget_s = 0.05;  ///< pel run passes budget_for(profile, ranks, threads)
};

/// One technique's simulated phase.
struct Candidate {
    Technique technique = Technique::awf;
    double makespan_s = 0;  ///< from the first grant to the last item done; 0 if not simulated
    bool simulated = false;
};

/// The technique chosen, and why, in one line for /stats and `pel report`.
struct Selection {
    Technique technique = kColdTechnique;
    std::string why;
    std::vector<Candidate> candidates;  ///< in the order tried; empty for a cold phase
};

/// The most time auto spends choosing for one phase (seconds).
constexpr double kMaxBudget = 1.0;
/// Below this budget auto does not simulate at all: even the cold technique's simulation would not end in time.
constexpr double kMinBudget = 1e-3;
/// The time auto may spend choosing: 1% of the phase's expected time (its profiled cost spread over every thread),
/// at most kMaxBudget. Rank 0 chooses before the phase's first grant, so every rank waits that long; a short phase
/// keeps the cold technique rather than wait.
double budget_for(const CostProfile& profile, int ranks, int threads);

/// A technique replaces the cold one only if its simulated makespan is shorter by more than this share.
constexpr double kSelectionMargin = 0.01;

/// Chooses the technique for a phase: cold, kColdTechnique; with a profile, the one whose simulated makespan is the
/// shortest, if that beats the cold technique's by more than kSelectionMargin. Deterministic: the same input gives
/// the same choice.
Selection select_technique(const SelectionInput& input);

/// The makespan of the phase under `technique`, simulated (0 with no items): the real Scheduler, rank 0 computing
/// too, one request kept in flight per worker, steals answered after one latency, each chunk taking its profiled
/// cost / threads. False in `simulated` if it needed more than input.max_events, or ran past `deadline` (seconds
/// of std::chrono::steady_clock; infinity: none).
Candidate simulate_phase(const SelectionInput& input, Technique technique,
                         double deadline = std::numeric_limits<double>::infinity());

}  // namespace pel::sched
