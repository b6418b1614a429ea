// perf/simulate/workload.hpp: what the simulated items cost: jobs/synthetic's costs (its one copy of the formulas,
// jobs/synthetic/costs.hpp), and cost profiles like the ones pel measures and keeps in --cost-profile files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "costs.hpp"
#include "sched/cost_profile.hpp"

namespace pel::simulate {

/// The distribution called `name`; throws pel::Error (usage) otherwise.
synthetic::Distribution parse_distribution(const std::string& name);

/// The costs, in seconds, of items [begin, end): item i costs what `pel run synthetic` with the same seed spends on
/// it (synthetic::cost_us). Stored as float (4 bytes an item, relative error 6e-8).
std::vector<float> draw_costs(synthetic::Distribution distribution, double mean_us, std::uint64_t seed,
                              std::uint64_t begin, std::uint64_t end);

/// The profile pel would measure for these costs: each item's cost plus `item_overhead_s` (when nonzero), summed
/// into sched::CostProfile::bins_for(items) bins as exec's team records them.
sched::CostProfile profile_of(std::span<const float> cost_s, double item_overhead_s);

/// A profile of `items` items from a text file of bin seconds (whitespace-separated, in bin order), as validate.py
/// writes from a --cost-profile file's `bin_seconds`; throws pel::Error (usage) if it cannot be read or its bin
/// count does not fit.
sched::CostProfile read_profile(const std::string& path, std::uint64_t items);

}  // namespace pel::simulate
