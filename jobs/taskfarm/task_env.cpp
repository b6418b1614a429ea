// jobs/taskfarm/task_env.cpp: a task's environment (see task_env.hpp).
#include "task_env.hpp"

#include <string>
#include <vector>

namespace taskfarm {

namespace {

/// Environment variables that Open MPI and PMIx give a rank: a task that starts an MPI program of its own must not
/// think it is part of pel's job.
bool launcher_variable(const std::string& entry) {
    if (entry.starts_with("OMPI_ALLOW_RUN_AS_ROOT")) return false;
    return entry.starts_with("OMPI_COMM_WORLD_") || entry.starts_with("OMPI_MCA_ess") ||
           entry.starts_with("OMPI_MCA_orte_") || entry.starts_with("OMPI_MCA_pmix") ||
           entry.starts_with("OMPI_MCA_initial_wdir") || entry.starts_with("OMPI_MCA_mpi_oversubscribe") ||
           entry.starts_with("OMPI_MCA_shmem_RUNTIME_QUERY_hint") || entry.starts_with("OMPI_APP_CTX_") ||
           entry.starts_with("OMPI_FIRST_RANKS") || entry.starts_with("OMPI_NUM_APP_CTX") ||
           entry.starts_with("OMPI_UNIVERSE_SIZE") || entry.starts_with("OMPI_FILE_LOCATION") ||
           entry.starts_with("OMPI_COMMAND") || entry.starts_with("OMPI_ARGV") || entry.starts_with("PMIX_") ||
           entry.starts_with("PMI_") || entry.starts_with("PEL_");
}

/// Variables that Slurm sets for one task of a job step (srun's), not for the job: a task of the farm is not that
/// task, and a program in it that reads SLURM_PROCID (or calls srun) would take itself for rank 0 of pel's step.
bool slurm_step_variable(const std::string& entry) {
    for (const char* name : {"SLURM_PROCID=",
                             "SLURM_LOCALID=",
                             "SLURM_NODEID=",
                             "SLURM_TASK_PID=",
                             "SLURM_GTIDS=",
                             "SLURM_STEPID=",
                             "SLURM_STEP_",
                             "SLURM_CPU_BIND",
                             "SLURM_DISTRIBUTION=",
                             "SLURM_SRUN_COMM_",
                             "SLURM_LAUNCH_NODE_IPADDR=",
                             "SLURM_PRIO_PROCESS=",
                             "SLURM_UMASK=",
                             "SLURM_TOPOLOGY_ADDR",
                             "SLURM_MPI_TYPE=",
                             "SLURM_PMIX",
                             "SLURM_PMI",
                             "SLURM_TASKS_PER_NODE=",
                             "SLURM_NTASKS=",
                             "SLURM_NPROCS="}) {
        if (entry.starts_with(name)) return true;
    }
    return false;
}

}  // namespace

std::vector<std::string> task_environment(char** environ_entries, bool keep_slurm_step, int task_threads) {
    std::vector<std::string> env;
    for (char** e = environ_entries; *e != nullptr; ++e) {
        const std::string entry = *e;
        if (launcher_variable(entry) || (!keep_slurm_step && slurm_step_variable(entry))) continue;
        if (task_threads > 0 && entry.starts_with("OMP_NUM_THREADS=")) continue;
        env.push_back(entry);
    }
    if (task_threads > 0) env.push_back("OMP_NUM_THREADS=" + std::to_string(task_threads));
    return env;
}

}  // namespace taskfarm
