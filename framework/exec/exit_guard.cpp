// exec/exit_guard.cpp: the exit handler of a run (see exit_guard.hpp).
#include "exec/exit_guard.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "exec/log.hpp"
#include "mpi/environment.hpp"
#include "pel/error.hpp"

namespace pel::exec {

namespace {

std::atomic<bool> armed{false};
std::atomic<bool> registered{false};
int guard_rank = 0;
std::string guard_job;        // set before arming, read only while armed
std::string guard_temporary;  // the results file's temporary, removed before MPI_Abort

struct KernelItems {
    bool inside = false;
    ItemRange items;
};
thread_local KernelItems kernel_items;

/// Runs in exit(), before the handlers registered earlier (HDF5's, which would wait forever for the other ranks).
void on_exit_during_run(int code, void* /*unused*/) {
    if (!armed.exchange(false)) return;
    const KernelItems where = kernel_items;
    std::string place = "inside the job's code, outside its kernel";
    if (where.inside) {
        place = "inside the job's kernel (" +
                (where.items.size() == 1
                     ? "item " + std::to_string(where.items.begin)
                     : "items [" + std::to_string(where.items.begin) + ", " + std::to_string(where.items.end) + ")") +
                ")";
    }
    report_error(guard_rank, "rank " + std::to_string(guard_rank) + " called exit(" + std::to_string(code) + ") " +
                                 place + " of job '" + guard_job + "'; a job must throw instead: ending every rank");
    // Whichever rank called exit() removes it: the others are ended by MPI_Abort, and rank 0's ResultsFile, which
    // would remove it, never runs its destructor.
    if (!guard_temporary.empty()) ::unlink(guard_temporary.c_str());
    mpi::Environment::abort(static_cast<int>(ExitCode::failure));
}

}  // namespace

ExitGuard::ExitGuard(int rank, const std::string& job_name, const std::string& temporary) {
    guard_rank = rank;
    guard_job = job_name;
    guard_temporary = temporary;
    // on_exit (glibc) rather than atexit: it is given the code that exit() was called with. Registered once: a
    // handler cannot be removed, so later runs in the same process only arm it again.
    if (!registered.exchange(true)) on_exit(on_exit_during_run, nullptr);
    armed = true;
}

ExitGuard::~ExitGuard() { armed = false; }

KernelScope::KernelScope(ItemRange items) noexcept { kernel_items = {true, items}; }

KernelScope::~KernelScope() { kernel_items = {}; }

}  // namespace pel::exec
