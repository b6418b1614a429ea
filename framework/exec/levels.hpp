// exec/levels.hpp: a second scheduling level past one master. With two levels, rank 0's scheduler serves only group
// leaders (and its own team), handing them large chunks; each leader runs a scheduler of its own over its group,
// fed by those chunks (exec/leader_link.hpp). Groups are the ranks of a node (MPI_Comm_split_type SHARED) or every G
// ranks; rank 0 is in none (it is the top level's own team), so a group's leader is its lowest rank.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mpi/comm.hpp"
#include "sched/policy.hpp"

namespace pel::exec {

/// How many levels a run uses, and why (for /stats and the log).
struct LevelsChoice {
    int levels = 1;
    std::string reason;
};

/// --levels auto picks two levels from the rank count where perf/levels (pel's Scheduler at both levels, groups of
/// 64, 100 items per rank; perf/RESULTS.md, "A second level") finds them ahead of one level from then on: 128 ranks
/// for items of 10 us or less, 256 up to 100 us, 1024 beyond (1 ms items: level at 128-512 ranks, 1.7% ahead at
/// 1,000), and 1024 when the item cost is not measured.
int auto_two_levels_from(double mean_item_s);

/// `requested` levels (0: auto) for `ranks` ranks whose items cost `mean_item_s` each on average (0: not measured).
/// Two levels need at least 3 ranks (rank 0 and a group of two).
LevelsChoice choose_levels(int requested, int ranks, double mean_item_s);

/// The communicators of a two-level run. Empty (all null) with one level.
struct Levels {
    std::unique_ptr<mpi::Comm> top;    ///< rank 0 and every group's leader (null on the others)
    std::unique_ptr<mpi::Comm> group;  ///< this rank's group, its leader first (null on rank 0)
    /// The top level's schedule (rank 0): weighted factoring with each leader weighted by its group's size, so that
    /// a group of G ranks gets G times the chunk of rank 0's own team.
    sched::Params top_schedule;
    /// The group level's schedule (leaders): the run's technique, without per-rank weights given for the world.
    sched::Params group_schedule;
    std::vector<std::string> top_hosts;  ///< on rank 0: the host of each rank of `top`
    LevelsChoice choice;

    [[nodiscard]] bool two() const noexcept { return choice.levels == 2; }
    [[nodiscard]] bool leader() const noexcept { return group != nullptr && top != nullptr; }
};

/// Splits `world` into groups (`group_size` ranks each, 0: one per node) for `choice`; `hosts` (rank 0's, every
/// rank's host) names the top level's ranks in messages. \note collective
Levels make_levels(const mpi::Comm& world, const LevelsChoice& choice, int group_size, sched::Params schedule,
                   const std::vector<std::string>& hosts);

/// "1 (reason)" or "2 (reason)", as /stats records the choice.
std::string levels_text(const LevelsChoice& choice);

}  // namespace pel::exec
