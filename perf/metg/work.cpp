// perf/metg/work.cpp: synthetic's --mode work as a C-callable shared object, so that a peer (mpi4py.futures, through
// ctypes) runs exactly the CPU work pel's items run and the benchmark measures scheduling, not the peer's language.
#include <algorithm>
#include <cstdint>
#include <ctime>

namespace {

/// The same loop as cpu_work in jobs/synthetic/synthetic.cpp: dependent LCG steps the compiler must keep.
void cpu_work(std::uint64_t iterations) {
    std::uint64_t x = 1;
    for (std::uint64_t k = 0; k < iterations; ++k) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        asm volatile("" : "+r"(x));
    }
}

double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double steps_per_us = 0;

}  // namespace

extern "C" {

/// Calibrates as synthetic's setup does (fastest of 5 timings of 2^20 steps on the thread's CPU clock), once per
/// process; returns the steps per microsecond.
__attribute__((visibility("default"))) double pel_metg_calibrate() {
    if (steps_per_us > 0) return steps_per_us;
    constexpr std::uint64_t kSteps = std::uint64_t{1} << 20;
    double best = 0;
    for (int k = 0; k < 5; ++k) {
        const double t0 = thread_cpu_s();
        cpu_work(kSteps);
        const double us = (thread_cpu_s() - t0) * 1e6;
        if (us > 0) best = std::max(best, static_cast<double>(kSteps) / us);
    }
    steps_per_us = best;
    return steps_per_us;
}

/// One item of `cost_us` microseconds: calibrated steps of cpu_work (calibrating first if nobody has).
__attribute__((visibility("default"))) void pel_metg_work(double cost_us) {
    if (cost_us <= 0) return;
    cpu_work(static_cast<std::uint64_t>(cost_us * pel_metg_calibrate() + 0.5));
}

/// Items one after another in this thread, as a serial reference: `n` costs in microseconds.
__attribute__((visibility("default"))) void pel_metg_work_all(const double* cost_us, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) pel_metg_work(cost_us[i]);
}

}  // extern "C"
