// tests/sched/selection_test.cpp: --schedule auto's choice (sched/selection): cold it runs the cold technique; with
// known costs it simulates every technique with the real Scheduler and takes the shortest, and the model's makespans
// match what the costs allow.
#include "sched/selection.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "sched/policy.hpp"

namespace {

using pel::sched::CostProfile;
using pel::sched::kColdTechnique;
using pel::sched::select_technique;
using pel::sched::SelectionInput;
using pel::sched::simulate_phase;
using pel::sched::Technique;

/// A phase of `costs` (seconds, one per item) on `ranks` ranks with a profile of exactly those costs.
SelectionInput phase_of(const std::vector<double>& costs, int ranks) {
    SelectionInput in;
    in.items = costs.size();
    in.ranks = ranks;
    in.profile = CostProfile(costs.size(), costs);
    return in;
}

}  // namespace

TEST_CASE("auto runs the cold technique while nothing is measured", "[sched][selection]") {
    SelectionInput in;
    in.items = 1000;
    in.ranks = 8;
    const auto chosen = select_technique(in);
    CHECK(chosen.technique == kColdTechnique);
    CHECK(chosen.candidates.empty());
    CHECK(chosen.why.find("cold") != std::string::npos);
    // A Dispenser handed auto itself (no selection ran) sizes chunks as the cold technique does.
    pel::sched::Dispenser automatic(pel::sched::Params{Technique::automatic, 1}, 1000, 8);
    pel::sched::Dispenser cold(pel::sched::Params{kColdTechnique, 1}, 1000, 8);
    for (int i = 0; i < 20; ++i) CHECK(automatic.next(i % 8) == cold.next(i % 8));
}

TEST_CASE("the simulated makespan follows the costs", "[sched][selection]") {
    // Even costs: 8 ranks x 100 items of 1 ms end at 0.1 s, plus a few latencies.
    const auto even = phase_of(std::vector<double>(800, 1e-3), 8);
    for (const Technique t : {Technique::ss, Technique::gss, Technique::fac2, Technique::awf_c}) {
        const auto c = simulate_phase(even, t);
        REQUIRE(c.simulated);
        CHECK(c.makespan_s >= 0.1 - 1e-9);
        CHECK(c.makespan_s < 0.1 * 1.01);
    }
    // One item of 1 s, last in item order, among 399 of 1 ms on 4 ranks: the bound is the long item. Known costs put
    // it first, alone, so every dynamic technique ends near 1 s; ss grants it last, after everything else (0.1 s).
    std::vector<double> costs(400, 1e-3);
    costs.back() = 1.0;
    auto heavy = phase_of(costs, 4);
    const auto gss = simulate_phase(heavy, Technique::gss);
    REQUIRE(gss.simulated);
    CHECK(gss.makespan_s >= 1.0);
    CHECK(gss.makespan_s < 1.01);
    // Too many events, or past the deadline: not simulated, and so never chosen.
    heavy.max_events = 10;
    CHECK_FALSE(simulate_phase(heavy, Technique::ss).simulated);
    heavy.max_events = 1'000'000;
    CHECK_FALSE(simulate_phase(heavy, Technique::ss, 0.0).simulated);  // a deadline long past
    heavy.budget_s = 0;
    const auto none = select_technique(heavy);
    CHECK(none.technique == kColdTechnique);
    CHECK(none.candidates.empty());
    CHECK(none.why.find("too short to simulate") != std::string::npos);
    // The budget: 1% of the phase's expected time (10 s over 10 ranks x 2 threads: 5 ms), at most 1 s.
    CHECK(pel::sched::budget_for(CostProfile(10, std::vector<double>(10, 1.0)), 10, 2) == Approx(0.005));
    CHECK(pel::sched::budget_for(CostProfile(10, std::vector<double>(10, 1e4)), 10, 1) == Approx(1.0));
}

TEST_CASE("with known costs auto takes the technique simulated shortest", "[sched][selection]") {
    // Heavy-tailed costs: every 37th item costs 50 times the others.
    std::vector<double> costs(2000, 1e-3);
    for (std::size_t i = 0; i < costs.size(); i += 37) costs[i] = 50e-3;
    auto in = phase_of(costs, 16);
    in.budget_s = 60;  // every technique, however loaded the machine
    const auto chosen = select_technique(in);
    REQUIRE(chosen.candidates.size() == pel::sched::technique_names().size() - 1);  // every technique but auto
    CHECK(chosen.candidates.front().technique == kColdTechnique);                   // tried first: it wins ties
    double best = 1e300;
    for (const auto& c : chosen.candidates) {
        REQUIRE(c.simulated);
        best = std::min(best, c.makespan_s);
    }
    const auto it = std::find_if(chosen.candidates.begin(), chosen.candidates.end(),
                                 [&](const auto& c) { return c.technique == chosen.technique; });
    REQUIRE(it != chosen.candidates.end());
    const double cold = chosen.candidates.front().makespan_s;
    if (best < cold * (1 - pel::sched::kSelectionMargin)) {
        CHECK(it->makespan_s == best);  // clearly shorter than the cold technique: the shortest is taken
    } else {
        CHECK(chosen.technique == kColdTechnique);  // within the margin: the cold technique stays
    }
    CHECK(chosen.why.rfind(pel::sched::technique_name(chosen.technique) + " (simulated", 0) == 0);
    // The same input, the same choice.
    CHECK(select_technique(in).technique == chosen.technique);
}
