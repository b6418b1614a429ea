// jobs/synthetic/cpu_work.hpp: the calibrated CPU work of synthetic's --mode work. Also compiled into
// perf/metg's pel_metg_work.so, so that a peer driven from Python runs exactly the work pel's items run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace pel::synthetic {

/// `iterations` steps of a 64-bit linear congruential generator, each step depending on the one before (a multiply
/// and an add, about 4 cycles), so the steps cannot overlap. The empty asm statement hides x from the compiler at
/// every step, so it can neither drop the loop nor compute it in closed form.
inline void cpu_work(std::uint64_t iterations) {
    std::uint64_t x = 1;
    for (std::uint64_t k = 0; k < iterations; ++k) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        asm volatile("" : "+r"(x));
    }
}

/// Seconds of CPU time this thread has used.
inline double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// Steps of cpu_work per microsecond on this core: the fastest of 5 timings of 2^20 steps (5 million in all, a few
/// ms). Timed on the thread's CPU clock, not the wall clock, so that a rank descheduled while it calibrates (16 ranks
/// on 2 cores) still measures the core's speed, not its share of it.
inline double calibrate_cpu_work() {
    constexpr std::uint64_t kSteps = std::uint64_t{1} << 20;
    double best = 0;
    for (int k = 0; k < 5; ++k) {
        const double t0 = thread_cpu_s();
        cpu_work(kSteps);
        const double us = (thread_cpu_s() - t0) * 1e6;
        if (us > 0) best = std::max(best, static_cast<double>(kSteps) / us);
    }
    return best;
}

}  // namespace pel::synthetic
