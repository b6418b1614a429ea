// mpi/environment.cpp: MPI initialisation and finalisation, and what the library says about itself.
#include "mpi/environment.hpp"

#include <algorithm>
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

std::string library_version() {
    char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    check(MPI_Get_library_version(text, &length), "MPI_Get_library_version");
    std::string library(text, static_cast<std::size_t>(std::max(length, 0)));
    library = library.substr(0, library.find('\n'));
    while (!library.empty() && (library.back() == ' ' || library.back() == '\0')) library.pop_back();
    return library;
}

std::string standard_version() {
    int major = 0, minor = 0;
    check(MPI_Get_version(&major, &minor), "MPI_Get_version");
    return std::to_string(major) + "." + std::to_string(minor);
}

int provided_thread_level() {
    int provided = 0;
    check(MPI_Query_thread(&provided), "MPI_Query_thread");
    return provided;
}

}  // namespace pel::mpi
