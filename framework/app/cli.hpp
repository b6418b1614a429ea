// app/cli.hpp: pel's command line: `pel run`, `pel jobs`, `pel doctor`, `pel --version`.
#pragma once

#include <string>
#include <vector>

#include "mpi/comm.hpp"

namespace pel::app {

/// The whole program: starts MPI, runs one command, reports errors once, and returns the exit code every rank
/// ends with.
int main(int argc, char** argv);

/// `pel run JOB [options]`. \note collective
int run_command(const mpi::Comm& comm, std::vector<std::string> args);
/// `pel jobs [--job-path DIRS]`. \note collective
int jobs_command(const mpi::Comm& comm, std::vector<std::string> args);
/// `pel report OUTPUT.h5`: the run's summary from its results file (rank 0 prints).
int report_command(const std::vector<std::string>& args);
/// `pel doctor [options]`: checks the set-up on every rank; rank 0 prints one report with a fix for each problem.
/// Returns 1 when a problem was found. \note collective
int doctor_command(const mpi::Comm& comm, std::vector<std::string> args);

/// Writes `text` to stdout on rank 0 only.
void print0(const mpi::Comm& comm, const std::string& text);

}  // namespace pel::app
