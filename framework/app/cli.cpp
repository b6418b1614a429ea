// app/cli.cpp: command dispatch and the one place where errors are reported.
#include "app/cli.hpp"

#include <cstdio>
#include <exception>
#include <optional>

#include "app/run_dir.hpp"
#include "exec/log.hpp"
#include "exec/signals.hpp"
#include "io/h5.hpp"
#include "mpi/environment.hpp"
#include "pel/plugin.hpp"
#include "pel/version.hpp"

namespace pel::app {

namespace {

constexpr const char* kUsage =
    "pel: Parallel Execution Layer, a hybrid MPI + OpenMP runner for job plugins\n"
    "\n"
    "Usage:\n"
    "  pel run JOB [options] [job options]   run a job (pel run JOB --help lists its options)\n"
    "  pel run --config FILE                 run the job a TOML config names\n"
    "  pel jobs [--job-path DIRS]            list the jobs pel can find, with their options\n"
    "  pel status DIR                        summarise the run in run directory DIR (while it runs, or after)\n"
    "  pel report OUTPUT.h5 [--plots DIR]   a run's per-rank table and efficiency metrics, from its results\n"
    "  pel doctor [options]                  check MPI, HDF5, threads, Slurm, job plugins, the output directory\n"
    "  pel --version                         print pel's version\n"
    "  pel --help                            print this help\n"
    "\n"
    "Launch under MPI as usual, e.g.  mpirun -np 4 pel run mandelbrot --threads 2 --output m.h5\n";

/// One error line, tagged like every log line (time, rank, host).
void report(int rank, const std::string& message) { exec::report_error(rank, message); }

int dispatch(const mpi::Comm& comm, std::vector<std::string> args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print0(comm, kUsage);
        return 0;
    }
    if (args[0] == "--version" || args[0] == "-V") {
        print0(comm, std::string("pel ") + version + " (job ABI " + std::to_string(PEL_ABI_VERSION) + ")\n");
        return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "run") return run_command(comm, std::move(args));
    if (command == "jobs") return jobs_command(comm, std::move(args));
    if (command == "status") return mpi::agree(comm, [&] { return comm.rank() == 0 ? status_command(args) : 0; });
    if (command == "report") return mpi::agree(comm, [&] { return comm.rank() == 0 ? report_command(args) : 0; });
    if (command == "doctor") return doctor_command(comm, std::move(args));
    mpi::agree(comm, [&] {
        throw Error::Usage("unknown command '" + command +
                           "' (commands: run, jobs, status, report, doctor; see pel --help)");
    });
    return static_cast<int>(ExitCode::usage);
}

}  // namespace

void print0(const mpi::Comm& comm, const std::string& text) {
    if (comm.rank() != 0) return;
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
}

int main(int argc, char** argv) {
    // A run notes SIGUSR1/SIGTERM from the first instant (a batch system may signal a rank still starting up); it
    // checkpoints and stops once it runs. Other commands keep the default: they end on a signal.
    if (argc > 1 && std::string(argv[1]) == "run") exec::install_stop_signals();
    std::optional<mpi::Environment> env;
    try {
        env.emplace(argc, argv);
    } catch (const Error& e) {
        report(-1, e.what());
        return static_cast<int>(e.code());
    }
    h5::silence_library_errors();
    const std::vector<std::string> args(argv + 1, argv + argc);
    int rank = 0;
    int size = 1;
    try {
        const mpi::Comm world;
        rank = world.rank();
        size = world.size();
        return dispatch(world, args);
    } catch (const mpi::AgreedError& e) {
        // Every rank holds this error; one line from rank 0 says it.
        if (rank == 0) report(e.origin(), e.what());
        return static_cast<int>(e.code());
    } catch (const Error& e) {
        // Only this rank knows: say it here, and end the other ranks rather than leave them waiting.
        report(rank, e.what());
        if (size > 1) mpi::Environment::abort(static_cast<int>(e.code()));
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        report(rank, std::string("internal error: ") + e.what());
        if (size > 1) mpi::Environment::abort(static_cast<int>(ExitCode::internal));
        return static_cast<int>(ExitCode::internal);
    }
}

}  // namespace pel::app
