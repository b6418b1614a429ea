// app/doctor_shared.hpp: `pel doctor`'s check that a directory is one shared directory on every node (the checkpoint
// and run directories: a checkpoint written where other nodes cannot see it cannot be resumed there).
#pragma once

#include <string>

#include "app/doctor_report.hpp"
#include "mpi/comm.hpp"

namespace pel::app::doctor {

/// Every rank writes a token file named after its host, pid and rank into `dir` (made by rank 0 if missing and
/// `create`, as `pel run` would make it, and removed again afterwards), then, after a barrier, lists `dir` for every
/// other rank's token. Returns the same finding on every rank, for check `check`: "shared by all N hosts", or a problem
/// naming each host that does not see the files of others (or cannot write there at all: the directory is missing on
/// it, say). The tokens are removed whatever the outcome. \note collective
Finding check_shared_directory(const mpi::Comm& comm, const char* check, const std::string& dir, bool create);

}  // namespace pel::app::doctor
