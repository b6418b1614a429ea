// exec/phase_run.hpp: one phase (or one round of it, between two checkpoints) on one rank: the rank's chunks, its
// team of threads, and its link to the scheduler (rank 0 holds the scheduler itself).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/chunk.hpp"
#include "exec/leader_link.hpp"
#include "exec/levels.hpp"
#include "exec/root_link.hpp"
#include "exec/team.hpp"
#include "exec/worker_link.hpp"

namespace pel::exec {

class PhaseRun {
  public:
    /// Runs the items of `todo` (given on rank 0; sorted, disjoint) until done, or until rank 0 pauses the phase at
    /// `pause_at` (now_s() clock), at the time limit or on a stop signal. `profile`: measured costs of this phase's
    /// items, if known (rank 0 uses them). With two `levels`, rank 0 schedules the group leaders, each leader its
    /// group, and the other ranks ask their leader.
    PhaseRun(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase,
             int phase_index, std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts,
             const sched::CostProfile* profile, const Levels& levels);

    /// Processes this rank's share of the phase; returns once rank 0 has said the phase is over for this rank (on
    /// rank 0: once every worker has said goodbye). A failure of the team is kept (failure()); a failure of the
    /// protocol itself is thrown (this rank cannot agree with the others any more).
    void execute();

    /// The first error on this rank, if any.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return team_.failure(); }
    /// This rank's partial of the phase, merged over its threads.
    std::unique_ptr<AnyPartial> take_partial() { return team_.take_partial(); }
    /// This rank's rows of column `c` for the items it processed. Once, after execute().
    [[nodiscard]] std::vector<io::RowBlock> rows(std::size_t c, std::size_t row_bytes) {
        return chunks_.rows(c, row_bytes);
    }
    /// This rank's rows of ragged output `o` for the items it processed. Once, after execute().
    [[nodiscard]] RaggedRows ragged_rows(std::size_t o) { return chunks_.ragged_rows().take(o); }
    /// True if the kernel appended to ragged output `o` on this rank.
    [[nodiscard]] bool ragged_wrote(std::size_t o) { return chunks_.ragged_rows().wrote(o); }
    /// The items this rank processed, by chunk.
    [[nodiscard]] std::vector<ItemRange> done_ranges() { return chunks_.done_ranges(); }
    /// True if the kernel wrote a row of column `c` on this rank.
    [[nodiscard]] bool wrote(std::size_t c) const { return chunks_.wrote(c); }
    /// On rank 0: items given up after their retries.
    [[nodiscard]] std::vector<sched::SkippedItem> skipped() const;
    /// On rank 0: the phase was paused before all its items were done.
    [[nodiscard]] bool paused() const noexcept { return root_ != nullptr && root_->paused(); }
    [[nodiscard]] std::uint64_t items() const { return team_.items(); }
    /// Seconds per bin of items spent here (see sched::CostProfile).
    [[nodiscard]] std::vector<double> measured_bins() const { return team_.measured_bins(); }
    /// This rank's share of the phase, which lasted `phase_s` on the slowest rank.
    [[nodiscard]] RankStats stats(double phase_s) const;

    /// On rank 0 with --schedule auto: the technique chosen for this phase and why (empty otherwise).
    [[nodiscard]] const std::string& schedule_choice() const noexcept { return schedule_choice_; }

  private:
    void choose_schedule(int ranks, const Phase& phase, const std::vector<ItemRange>& todo,
                         const sched::CostProfile* profile);

    const RunConfig& config_;
    RunConfig root_config_;  ///< this rank's root settings: the technique auto chose, or this level's schedule
    std::string schedule_choice_;
    const std::vector<std::string> no_hosts_;  ///< a leader names its members by rank only
    Chunks chunks_;
    Team team_;
    std::unique_ptr<LeaderLink> leader_;  ///< a group leader's link to rank 0 (outlives root_, which polls it)
    std::unique_ptr<RootLink> root_;      ///< rank 0; with two levels, a group leader too (the root of its group)
    std::unique_ptr<WorkerLink> worker_;
};

}  // namespace pel::exec
