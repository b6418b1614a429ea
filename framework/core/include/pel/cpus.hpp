// pel/cpus.hpp: the CPUs a rank may run its threads on.
#pragma once

#include <algorithm>
#include <cstddef>
#include <omp.h>
#include <sched.h>
#include <set>
#include <vector>

namespace pel {

/// The CPUs this rank's threads may use: the union of the OpenMP places when OMP_PLACES / OMP_PROC_BIND define
/// them (the runtime may already have pinned the calling thread to the first place, so its own affinity would say
/// one CPU), else the calling thread's affinity; empty when neither can be read. Header-only, so that job plugins,
/// which link nothing from pel, see the CPUs as pel does (the taskfarm binds its tasks within them).
inline std::vector<int> rank_cpus() {
    std::set<int> cpus;
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

}  // namespace pel
