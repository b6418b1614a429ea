// tests/support/mpi_main.cpp: main of the MPI test executable. MPI is set up once; Catch2 runs on every rank;
// the process fails on every rank if any rank saw a failure.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <mpi.h>

#include "io/h5.hpp"
#include "mpi/environment.hpp"

int main(int argc, char** argv) {
    pel::mpi::Environment env(argc, argv);
    pel::h5::silence_library_errors();
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    Catch::Session session;
    if (session.applyCommandLine(argc, argv) != 0) return 2;
    if (rank != 0) session.configData().showDurations = Catch::ShowDurations::Never;
    const int failed = session.run();
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any != 0 ? 1 : 0;
}
