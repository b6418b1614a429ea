// app/cpus.hpp: the CPUs a rank may run its threads on.
#pragma once

#include <algorithm>
#include <cstdint>
#include <omp.h>
#include <optional>
#include <sched.h>
#include <set>
#include <utility>
#include <vector>

namespace pel::app {

/// The CPUs this rank's threads may use: the union of the OpenMP places when OMP_PLACES / OMP_PROC_BIND define
/// them (the runtime may already have pinned the calling thread to the first place, so its own affinity would say
/// one CPU), else the calling thread's affinity.
inline std::vector<std::int32_t> rank_cpus() {
    std::set<std::int32_t> cpus;
    for (int place = 0; place < omp_get_num_places(); ++place) {
        std::vector<int> ids(static_cast<std::size_t>(std::max(omp_get_place_num_procs(place), 0)));
        omp_get_place_proc_ids(place, ids.data());
        cpus.insert(ids.begin(), ids.end());
    }
    if (cpus.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &set)) cpus.insert(c);
        }
    }
    return {cpus.begin(), cpus.end()};
}

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
