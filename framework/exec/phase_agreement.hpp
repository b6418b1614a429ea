// exec/phase_agreement.hpp: every rank must get the same phase from the job's next_phase; one that differs would
// leave the ranks waiting for each other forever, so it is checked at every phase.
#pragma once

#include <optional>

#include "mpi/comm.hpp"
#include "pel/job.hpp"

namespace pel::exec {

/// Throws pel::Error (failure) on every rank, naming the ranks that differ, unless every rank's `phase` (phase
/// `index` of the run, or none: the end) has the same name and item count. Two allreduces of a hash; the phases
/// themselves are gathered only when they differ. \note collective
void check_phase_agreement(const mpi::Comm& comm, int index, const std::optional<Phase>& phase);

}  // namespace pel::exec
