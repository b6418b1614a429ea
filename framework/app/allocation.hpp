// app/allocation.hpp: what a rank was given to run on (its thread count, the Slurm allocation), read the same way by
// `pel run` and `pel doctor`, and the checks `pel run` makes of its layout against it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exec/log.hpp"
#include "mpi/comm.hpp"

namespace pel::app {

/// A thread count as OpenMP and Slurm variables give it ("4", or "4,2" for nested levels: the first counts), or 0
/// when the text is not a count from 1 to 4096.
int parse_count(const std::string& text);

/// An environment variable as it is set.
struct Variable {
    std::string name;
    std::string value;
};

/// The threads per rank, and where the number comes from.
struct ThreadCount {
    int count = 1;
    std::string source;             ///< "--threads", "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK" or "default"
    std::vector<Variable> refused;  ///< variables set, but not a thread count, passed over on the way
};

/// The thread-count rule of `pel run`: `option` (--threads) when above 0, else OMP_NUM_THREADS, else
/// SLURM_CPUS_PER_TASK, else 1. A variable that is set but not a count is passed over and listed in `refused`:
/// `pel run` refuses to start with one (see refused_message), `pel doctor` reports it.
ThreadCount resolve_threads(std::int64_t option);

/// "OMP_NUM_THREADS='lots' is not a thread count (1 to 4096)".
std::string refused_message(const Variable& variable);

/// The Slurm allocation as its variables describe it; each field empty when its variable is not set.
struct SlurmJob {
    std::string id;             ///< SLURM_JOB_ID; empty: not a Slurm job
    std::string restart_count;  ///< SLURM_RESTART_COUNT
    std::string nodes;          ///< SLURM_JOB_NUM_NODES
    std::string cpus_per_task;  ///< SLURM_CPUS_PER_TASK
    std::string ntasks;         ///< SLURM_NTASKS

    /// Read from this process's environment.
    static SlurmJob from_environment();
    /// SLURM_CPUS_PER_TASK as a count; 0 when it is unset or not a count.
    [[nodiscard]] int cpus() const { return parse_count(cpus_per_task); }
    /// Whether SLURM_CPUS_PER_TASK is set and gives other than `threads` CPUs.
    [[nodiscard]] bool cpus_differ(int threads) const { return !cpus_per_task.empty() && cpus() != threads; }
    /// Whether SLURM_NTASKS is set and counts other than `ranks` tasks.
    [[nodiscard]] bool tasks_differ(int ranks) const { return !ntasks.empty() && ntasks != std::to_string(ranks); }
};

/// What running `threads` threads on `cpus` CPUs per task does: "threads will share cores" (more threads) or "CPUs
/// will idle".
std::string threads_for_cpus(int threads, int cpus);

/// Warns, once, when ranks are bound to fewer CPUs than they have threads: mpirun binds each rank to one core by
/// default, so `--threads 4` would run four threads on one core. \note collective
void warn_if_threads_share_cores(const mpi::Comm& comm, int threads, const exec::Log& log);

/// What the Slurm allocation says, checked against the run: at info level, every rank's host and every thread's
/// CPUs; always, a warning when threads of a rank are bound to the same CPUs or the layout differs from what was
/// allocated. \note collective
void check_allocation(const mpi::Comm& comm, int threads, const exec::Log& log);

}  // namespace pel::app
