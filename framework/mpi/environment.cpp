// mpi/environment.cpp: MPI initialisation and finalisation.
#include "mpi/environment.hpp"

#include <cstdlib>
#include <mpi.h>
#include <string>

#include "mpi/comm.hpp"
#include "pel/error.hpp"

namespace pel::mpi {

int Environment::required_thread_level() { return MPI_THREAD_SERIALIZED; }

const char* Environment::thread_level_name(int level) {
    switch (level) {
        case MPI_THREAD_SINGLE:
            return "MPI_THREAD_SINGLE";
        case MPI_THREAD_FUNNELED:
            return "MPI_THREAD_FUNNELED";
        case MPI_THREAD_SERIALIZED:
            return "MPI_THREAD_SERIALIZED";
        case MPI_THREAD_MULTIPLE:
            return "MPI_THREAD_MULTIPLE";
        default:
            return "an unknown MPI thread level";
    }
}

Environment::Environment(int& argc, char**& argv, int required) {
    int initialized = 0;
    check(MPI_Initialized(&initialized), "MPI_Initialized");
    if (initialized == 0) {
        check(MPI_Init_thread(&argc, &argv, required, &provided_), "MPI_Init_thread");
        owned_ = true;
    } else {
        check(MPI_Query_thread(&provided_), "MPI_Query_thread");
    }
    if (provided_ < required) {
        throw Error::Failure(std::string("this MPI provides ") + thread_level_name(provided_) + ", pel needs " +
                             thread_level_name(required));
    }
}

Environment::~Environment() {
    if (!owned_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) MPI_Finalize();
}

void Environment::abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

}  // namespace pel::mpi
