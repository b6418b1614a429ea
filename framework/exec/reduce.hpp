// exec/reduce.hpp: the ranks' partials of a phase merged into its total, up a fixed binomial tree by rank (no rank
// holds more than its own partial and one child's at a time), the total ending on rank 0, and on every rank only when
// the job asks for it.
#pragma once

#include <memory>

#include "mpi/comm.hpp"
#include "pel/job.hpp"

namespace pel::exec {

/// A partial's bytes go between ranks in pieces of at most this many (MPI counts are ints; a large partial must
/// not need one message of its whole size).
constexpr std::size_t kReducePiece = 64u << 20;

/// Merges every rank's `mine` into the phase's total, leaving it in rank 0's `mine`. Rank r takes in rank r + 1,
/// then r + 2, r + 4, ... while those bits of r are clear, and then gives its sum to its parent: the same merges in
/// the same order for a given number of ranks, whatever ran where. An error on any rank (a merge or save that
/// throws) is settled on every rank (mpi::AgreedError). \note collective
void reduce_to_root(JobBase& job, const Context& ctx, const mpi::Comm& comm, AnyPartial& mine);

/// After reduce_to_root: the total for end_phase() on this rank: null on rank 0 (its `mine` is the total); on the
/// others, rank 0's total when `everywhere`, else the partial of no items. \note collective
std::unique_ptr<AnyPartial> total_for_rank(JobBase& job, const Context& ctx, const mpi::Comm& comm,
                                           const AnyPartial& mine, bool everywhere);

/// --check-merge's way instead: every rank's partial gathered on rank 0 and merged there in rank order and in
/// reverse; totals that differ are an error naming `phase` (the merge is not exact); the total goes to every rank.
/// \note collective
std::unique_ptr<AnyPartial> combine_checked(JobBase& job, const Context& ctx, const mpi::Comm& comm,
                                            const AnyPartial& mine, const std::string& phase);

}  // namespace pel::exec
