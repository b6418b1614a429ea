// app/allocation.cpp: the thread-count rule, the Slurm allocation's variables, and `pel run`'s layout checks.
#include "app/allocation.hpp"

#include <cstdlib>
#include <sched.h>
#include <span>

#include "app/cpus.hpp"
#include "pel/host.hpp"

namespace pel::app {

namespace {

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

/// CPUs of a set as a short list: "0-3,8".
std::string cpu_list(const cpu_set_t& set) {
    std::string out;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &set)) continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
        out += (out.empty() ? "" : ",") + std::to_string(c) + (last > c ? "-" + std::to_string(last) : "");
        c = last;
    }
    return out.empty() ? "none" : out;
}

}  // namespace

int parse_count(const std::string& text) {
    const std::string first = text.substr(0, text.find(','));
    char* end = nullptr;
    const long n = std::strtol(first.c_str(), &end, 10);
    if (first.empty() || *end != '\0' || n < 1 || n > 4096) return 0;
    return static_cast<int>(n);
}

ThreadCount resolve_threads(std::int64_t option) {
    ThreadCount threads;
    if (option > 0) {
        threads.count = static_cast<int>(option);
        threads.source = "--threads";
        return threads;
    }
    for (const char* var : {"OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"}) {
        const std::string value = env_or_empty(var);
        if (value.empty()) continue;
        if (const int n = parse_count(value); n > 0) {
            threads.count = n;
            threads.source = var;
            return threads;
        }
        threads.refused.push_back({var, value});
    }
    threads.count = 1;
    threads.source = "default";
    return threads;
}

std::string refused_message(const Variable& variable) {
    return variable.name + "='" + variable.value + "' is not a thread count (1 to 4096)";
}

SlurmJob SlurmJob::from_environment() {
    return {env_or_empty("SLURM_JOB_ID"), env_or_empty("SLURM_RESTART_COUNT"), env_or_empty("SLURM_JOB_NUM_NODES"),
            env_or_empty("SLURM_CPUS_PER_TASK"), env_or_empty("SLURM_NTASKS")};
}

std::string threads_for_cpus(int threads, int cpus) {
    return cpus < threads ? "threads will share cores" : "CPUs will idle";
}

void warn_if_threads_share_cores(const mpi::Comm& comm, int threads, const exec::Log& log) {
    const std::vector<std::int32_t> allowed = rank_cpus();
    const int cpus = allowed.empty() ? threads : static_cast<int>(allowed.size());
    const auto all = comm.allgather(static_cast<double>(cpus));
    if (comm.rank() != 0) return;
    int short_ranks = 0, first = -1;
    for (std::size_t r = 0; r < all.size(); ++r) {
        if (all[r] >= threads) continue;
        ++short_ranks;
        if (first < 0) first = static_cast<int>(r);
    }
    if (short_ranks == 0) return;
    log.warn(std::to_string(short_ranks) + " of " + std::to_string(all.size()) +
             " ranks can use fewer CPUs than their " + std::to_string(threads) + " threads (rank " +
             std::to_string(first) + ": " + std::to_string(static_cast<int>(all[static_cast<std::size_t>(first)])) +
             "), so threads share cores; launch with mpirun --map-by slot:PE=" + std::to_string(threads) +
             " (or --bind-to none), or srun --cpus-per-task=" + std::to_string(threads));
}

void check_allocation(const mpi::Comm& comm, int threads, const exec::Log& log) {
    const std::vector<cpu_set_t> sets = thread_cpu_sets(threads);
    std::string line = "host " + host_name() + ":";
    for (std::size_t t = 0; t < sets.size(); ++t) {
        line += " thread " + std::to_string(t) + " on CPUs " + cpu_list(sets[t]) + (t + 1 < sets.size() ? "," : "");
    }
    bool overlap = threads_sharing_a_cpu(sets).has_value();
    // Rank 0 says every rank's line (the others print only their warnings on the terminal).
    const auto lines = comm.gather_bytes(std::as_bytes(std::span(line)), 0);
    for (std::size_t r = 0; r < lines.size(); ++r) {
        log.info("rank " + std::to_string(r) + ": " +
                 std::string(reinterpret_cast<const char*>(lines[r].data()), lines[r].size()));
    }
    // A rank with fewer CPUs than threads was warned about already.
    if (const auto own = rank_cpus(); !own.empty() && static_cast<int>(own.size()) < threads) overlap = false;
    if (comm.allreduce_max(std::int64_t{overlap ? 1 : 0}) != 0 && comm.rank() == 0) {
        log.warn(
            "threads of a rank are bound to the same CPU (see --verbose): check OMP_PLACES/OMP_PROC_BIND and "
            "the launcher's binding (mpirun --map-by slot:PE=" +
            std::to_string(threads) + ", srun --cpus-per-task=" + std::to_string(threads) + ")");
    }
    const SlurmJob slurm = SlurmJob::from_environment();
    if (comm.rank() != 0 || slurm.id.empty()) return;
    log.info("Slurm job " + slurm.id + (slurm.restart_count.empty() ? "" : ", restart " + slurm.restart_count) + ", " +
             (slurm.nodes.empty() ? "?" : slurm.nodes) + " nodes");
    if (slurm.cpus_differ(threads)) {
        log.warn(std::to_string(threads) + " threads per rank, but Slurm allocated SLURM_CPUS_PER_TASK=" +
                 slurm.cpus_per_task + " CPUs per task: " + threads_for_cpus(threads, slurm.cpus()));
    }
    if (slurm.tasks_differ(comm.size())) {
        log.warn(std::to_string(comm.size()) + " ranks, but Slurm allocated SLURM_NTASKS=" + slurm.ntasks + " tasks");
    }
}

}  // namespace pel::app
