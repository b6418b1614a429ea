// perf/metg/work.cpp: synthetic's --mode work as a C-callable shared object, so that a peer (mpi4py.futures, through
// ctypes) runs exactly the CPU work pel's items run and the benchmark measures scheduling, not the peer's language.
#include <cstdint>

#include "cpu_work.hpp"

namespace {

double steps_per_us = 0;

}  // namespace

extern "C" {

/// Calibrates as synthetic's setup does (fastest of 5 timings of 2^20 steps on the thread's CPU clock), once per
/// process; returns the steps per microsecond.
__attribute__((visibility("default"))) double pel_metg_calibrate() {
    if (steps_per_us <= 0) steps_per_us = pel::synthetic::calibrate_cpu_work();
    return steps_per_us;
}

/// One item of `cost_us` microseconds: calibrated steps of cpu_work (calibrating first if nobody has).
__attribute__((visibility("default"))) void pel_metg_work(double cost_us) {
    if (cost_us <= 0) return;
    pel::synthetic::cpu_work(static_cast<std::uint64_t>(cost_us * pel_metg_calibrate() + 0.5));
}

/// Items one after another in this thread, as a serial reference: `n` costs in microseconds.
__attribute__((visibility("default"))) void pel_metg_work_all(const double* cost_us, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) pel_metg_work(cost_us[i]);
}

}  // extern "C"
