// app/cpus.hpp: the CPUs a rank may run its threads on.
#pragma once

#include <cstdint>
#include <omp.h>
#include <optional>
#include <sched.h>
#include <utility>
#include <vector>

#include "pel/cpus.hpp"

namespace pel::app {

/// Each of `threads` OpenMP threads' CPU set, as OpenMP placed it (OMP_PLACES / OMP_PROC_BIND).
inline std::vector<cpu_set_t> thread_cpu_sets(int threads) {
    std::vector<cpu_set_t> sets(static_cast<std::size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        sets[static_cast<std::size_t>(omp_get_thread_num())] = set;
    }
    return sets;
}

/// The first two threads (u < t) that share a CPU with one of them bound to a single CPU (threads pinned to one
/// CPU each, or to the same one); none when no such pair exists.
inline std::optional<std::pair<std::size_t, std::size_t>> threads_sharing_a_cpu(const std::vector<cpu_set_t>& sets) {
    for (std::size_t t = 0; t < sets.size(); ++t) {
        for (std::size_t u = 0; u < t; ++u) {
            cpu_set_t both;
            CPU_AND(&both, &sets[t], &sets[u]);
            if (CPU_COUNT(&both) > 0 && (CPU_COUNT(&sets[t]) == 1 || CPU_COUNT(&sets[u]) == 1)) return {{u, t}};
        }
    }
    return std::nullopt;
}

}  // namespace pel::app
