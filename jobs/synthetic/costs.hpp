// jobs/synthetic/costs.hpp: what synthetic's items cost. Also compiled into perf/simulate, so that the simulator
// draws exactly the costs the job spends: one copy of the formulas.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include <pel/random.hpp>

namespace pel::synthetic {

/// How item costs are distributed (--distribution).
enum class Distribution { uniform, normal, bimodal, pareto };

/// The distribution called `name` (uniform, normal, bimodal, pareto), or nothing.
inline std::optional<Distribution> distribution_named(std::string_view name) {
    if (name == "uniform") return Distribution::uniform;
    if (name == "normal") return Distribution::normal;
    if (name == "bimodal") return Distribution::bimodal;
    if (name == "pareto") return Distribution::pareto;
    return std::nullopt;
}

/// The cost of item `i` in microseconds: a function of the seed and the item only, drawn from Rng(seed, i). Every
/// distribution has mean `mean_us`, except as noted.
inline double cost_us(Distribution distribution, double mean_us, std::uint64_t seed, std::uint64_t i) {
    Rng rng(seed, i);
    const double m = mean_us;
    switch (distribution) {
        case Distribution::uniform:
            return 2.0 * m * rng.uniform();
        case Distribution::normal:
            // sd = mean/4; clipping at 0 (4 sd below the mean, p ~ 3e-5) raises the mean negligibly.
            return std::max(0.0, m + 0.25 * m * rng.normal());
        case Distribution::bimodal:
            // 80% cost mean/2 and 20% cost 3*mean: 0.8 * 0.5 + 0.2 * 3 = 1, so the mean is exact.
            return rng.uniform() < 0.2 ? 3.0 * m : 0.5 * m;
        case Distribution::pareto: {
            // Pareto with shape alpha = 1.5 and scale xm = mean/3 (mean alpha*xm/(alpha-1) = mean), by inversion.
            // Its variance is infinite, so costs are truncated at 100*mean; this lowers the mean slightly, by
            // E[(X - c)+] = xm^alpha c^(1-alpha) / (alpha-1) = 2 (1/3)^1.5 / 10 * mean, about 3.8%.
            constexpr double kAlpha = 1.5;
            const double x = (m / 3.0) * std::pow(rng.uniform_open(), -1.0 / kAlpha);
            return std::min(x, 100.0 * m);
        }
    }
    return m;
}

}  // namespace pel::synthetic
