// jobs/taskfarm/task_env.hpp: the environment a task starts with: pel's, less what Open MPI, PMIx and Slurm give
// one rank of pel's step.
#pragma once

#include <string>
#include <vector>

namespace taskfarm {

/// The "NAME=value" entries of `environ` a task gets: without Open MPI's and PMIx's variables (a task may start an
/// MPI program of its own, which must not think it is part of pel's job), without Slurm's job step variables
/// unless `keep_slurm_step` (a task is not one of the step's tasks: a program reading SLURM_PROCID, or calling srun,
/// would take itself for a rank of pel's step), without pel's own PEL_ variables, and with OMP_NUM_THREADS set to
/// `task_threads` when that is more than 0.
std::vector<std::string> task_environment(char** environ_entries, bool keep_slurm_step, int task_threads);

}  // namespace taskfarm
