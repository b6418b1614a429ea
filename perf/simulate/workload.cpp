// perf/simulate/workload.cpp: item costs and cost profiles (see workload.hpp).
#include "workload.hpp"

#include <fstream>

#include "pel/error.hpp"
#include "pel/types.hpp"

namespace pel::simulate {

synthetic::Distribution parse_distribution(const std::string& name) {
    if (const auto d = synthetic::distribution_named(name)) return *d;
    throw Error::Usage("--distribution: unknown distribution '" + name + "' (known: uniform, normal, bimodal, pareto)");
}

std::vector<float> draw_costs(synthetic::Distribution distribution, double mean_us, std::uint64_t seed,
                              std::uint64_t begin, std::uint64_t end) {
    std::vector<float> cost(end > begin ? end - begin : 0);
    for (std::uint64_t i = begin; i < end; ++i) {
        cost[i - begin] = static_cast<float>(synthetic::cost_us(distribution, mean_us, seed, i) * 1e-6);
    }
    return cost;
}

sched::CostProfile profile_of(std::span<const float> cost_s, double item_overhead_s) {
    const std::uint64_t items = cost_s.size();
    const std::size_t bins = sched::CostProfile::bins_for(items);
    std::vector<double> seconds(bins, 0.0);
    for (std::size_t b = 0; b < bins; ++b) {
        for (std::uint64_t i = block_start(b, items, bins); i < block_start(b + 1, items, bins); ++i) {
            const double c = cost_s[i];
            seconds[b] += c > 0 ? c + item_overhead_s : 0.0;
        }
    }
    return {items, std::move(seconds)};
}

sched::CostProfile read_profile(const std::string& path, std::uint64_t items) {
    std::ifstream in(path);
    if (!in) throw Error::Usage("--profile: cannot read '" + path + "'");
    std::vector<double> seconds;
    for (double s = 0; in >> s;) seconds.push_back(s);
    if (!in.eof()) throw Error::Usage("--profile: '" + path + "' holds something that is not a number");
    if (seconds.size() != sched::CostProfile::bins_for(items)) {
        throw Error::Usage("--profile: '" + path + "' has " + std::to_string(seconds.size()) + " bins, a profile of " +
                           std::to_string(items) + " items has " + std::to_string(sched::CostProfile::bins_for(items)));
    }
    return {items, std::move(seconds)};
}

}  // namespace pel::simulate
