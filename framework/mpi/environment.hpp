// mpi/environment.hpp: MPI's lifetime as an object.
#pragma once

#include <string>

namespace pel::mpi {

/// Initialises MPI if nobody did, at a thread level chosen explicitly and checked; finalises only what it
/// initialised. One per process, created first thing in main.
class Environment {
  public:
    /// The thread level pel needs: several threads of a rank call MPI, one at a time, under a mutex.
    static int required_thread_level();

    /// \note collective over MPI_COMM_WORLD. Throws pel::Error if MPI cannot give `required` thread support.
    Environment(int& argc, char**& argv, int required = required_thread_level());
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    /// The thread level MPI provides.
    [[nodiscard]] int thread_level() const noexcept { return provided_; }
    /// Name of an MPI thread level, for messages.
    static const char* thread_level_name(int level);
    /// Ends every rank of MPI_COMM_WORLD with `code`; for errors that some ranks cannot learn of in time.
    [[noreturn]] static void abort(int code);

  private:
    bool owned_ = false;
    int provided_ = 0;
};

/// The MPI library's name and version: the first line of what MPI_Get_library_version says.
std::string library_version();
/// The version of the MPI standard the library implements, as "3.1".
std::string standard_version();
/// The thread level MPI gives this process (MPI_Query_thread); MPI must be initialised.
int provided_thread_level();

}  // namespace pel::mpi
