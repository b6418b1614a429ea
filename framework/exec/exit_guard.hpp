// exec/exit_guard.hpp: an exit() called by the job's code during a run (legacy code, a Fortran STOP) ends every
// rank with a line naming the rank and the items, instead of deadlocking in HDF5's exit handler.
#pragma once

#include <string>

#include "pel/types.hpp"

namespace pel::exec {

/// While one exists, exit() on this rank reports "rank R called exit(CODE) inside the job's kernel (items ...)"
/// and ends every rank through MPI_Abort with ExitCode::failure, removing the unfinished results file `temporary`
/// first (no rank's destructors run after MPI_Abort). One per run, for the length of the run.
class ExitGuard {
  public:
    ExitGuard(int rank, const std::string& job_name, const std::string& temporary);
    ~ExitGuard();
    ExitGuard(const ExitGuard&) = delete;
    ExitGuard& operator=(const ExitGuard&) = delete;
};

/// Marks the calling thread as running the job's kernel on `items`, for ExitGuard's message.
class KernelScope {
  public:
    explicit KernelScope(ItemRange items) noexcept;
    ~KernelScope();
    KernelScope(const KernelScope&) = delete;
    KernelScope& operator=(const KernelScope&) = delete;
};

}  // namespace pel::exec
