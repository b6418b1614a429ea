// exec/checkpoint.hpp: what a run saves to resume where it stopped, on any number of ranks and threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exec/log.hpp"
#include "io/checkpoint_file.hpp"
#include "io/results_file.hpp"
#include "mpi/comm.hpp"
#include "pel/types.hpp"

namespace pel::exec {

/// When and where checkpoints are written, and whether the run starts from one.
struct CheckpointSettings {
    std::string dir;     ///< where checkpoints go (created when the first is written)
    double every_s = 0;  ///< seconds between checkpoints while a phase runs; 0: none (signals still write one)
    /// Young/Daly instead of every_s: every sqrt(2 x cost of the last checkpoint x mtbf_s) seconds.
    bool every_auto = false;
    double mtbf_s = 86400;      ///< mean time between failures, for every_auto
    bool at_phase_end = false;  ///< one at the end of every phase, due or not (else only when the interval is up)
    int keep = 2;               ///< checkpoints kept; older ones are deleted
    bool resume = false;        ///< start from the newest valid checkpoint; none is an error
    bool auto_resume = false;   ///< start from the newest valid checkpoint if there is one
    bool force = false;         ///< resume even from a checkpoint of another job version or other options
};

/// What makes two runs the same computation: a checkpoint of one resumes the other.
struct Identity {
    std::string job;
    std::string job_version;
    std::string options;  ///< the job's options, one "name = value" per line
};

/// What one rank has finished of the phase in progress, and its rows of columns finished phases wrote.
struct RankProgress {
    struct Column {
        bool wrote = false;                  ///< a row of it was written in the phase in progress
        std::vector<io::RowBlock> current;   ///< rows of the phase in progress, for items in `done`
        std::vector<io::RowBlock> finished;  ///< rows of the last finished phase that wrote the column
    };
    std::vector<ItemRange> done;     ///< items of the phase in progress finished here, sorted and merged
    std::vector<std::byte> partial;  ///< the partial result of those items, saved (empty: nothing yet)
    std::vector<Column> columns;     ///< one per declared column
};

/// An item given up after its retries (--on-error skip).
struct SkippedItem {
    std::uint64_t phase = 0;
    std::uint64_t item = 0;
    std::int64_t rank = 0;  ///< where it failed last
};

/// Where the run stands: the same on every rank.
struct RunPoint {
    std::uint64_t phase = 0;                ///< index of the phase in progress (or the next one)
    std::vector<std::byte> job_state;       ///< the job's save_state() before next_phase() gave that phase
    std::vector<std::uint64_t> written_in;  ///< per column: 1 + the last finished phase that wrote it (0: none)
    std::vector<SkippedItem> skipped;       ///< items given up so far (on rank 0)
};

/// A checkpoint as read back, shared out over the ranks of the resuming run: each rank reads only its share.
struct Resumed {
    std::string path;
    RunPoint point;
    /// The done items and partials of the writing ranks r with r % ranks == this rank; of the rows of every writing
    /// rank, those whose bytes fall in this rank's near-equal share of all of them.
    RankProgress mine;
    std::vector<std::vector<std::byte>> partials;  ///< the partials of those writing ranks, for the job to merge
    std::vector<ItemRange> done_all;               ///< every writing rank's done items, sorted and merged
    std::uint64_t sequence = 0;
    std::uint64_t bytes_read = 0;    ///< of the checkpoint's rows and partials, read by this rank (whole segments)
    std::uint64_t bytes_stored = 0;  ///< the checkpoint's rows and partials, all ranks'
};

/// Sorts and merges ranges that touch or overlap.
std::vector<ItemRange> merged(std::vector<ItemRange> ranges);
/// The items of [0, items) not in `done` (sorted, merged).
std::vector<ItemRange> complement(const std::vector<ItemRange>& done, std::uint64_t items);
/// How many items `ranges` hold.
std::uint64_t count(const std::vector<ItemRange>& ranges);
/// Every rank's done ranges, merged, on rank 0 (empty elsewhere). \note collective
std::vector<ItemRange> gather_done(const mpi::Comm& comm, const std::vector<ItemRange>& mine);

/// Writes and reads a run's checkpoints. Every member function is collective.
class Checkpointer {
  public:
    Checkpointer(const mpi::Comm& comm, CheckpointSettings settings, Identity identity, const Log& log);

    [[nodiscard]] const CheckpointSettings& settings() const noexcept { return settings_; }
    /// Periodic (and phase-end) checkpoints are on. Signals write one either way.
    [[nodiscard]] bool enabled() const noexcept { return settings_.every_auto || settings_.every_s > 0; }
    /// Seconds the last checkpoint took to write (0 before the first).
    [[nodiscard]] double last_cost_s() const noexcept { return last_cost_s_; }

    /// Writes a checkpoint of `point` with every rank's `mine`. Throws an agreed pel::Error (I/O) if it cannot be
    /// written; the previous checkpoint then stays the newest.
    void write(const RunPoint& point, const RankProgress& mine, std::uint64_t done_items);

    /// The newest valid checkpoint, if the settings ask to resume. Rank 0 reads and checks its small parts and
    /// sends them to every rank; each rank then reads and checks its share of the rows and partials. Damaged newer
    /// ones (found by rank 0, or by any rank in its share) are named in warnings; a checkpoint of another job, job
    /// version or options is refused unless forced. Throws an agreed pel::Error if --resume finds none.
    std::optional<Resumed> resume(std::size_t columns);

    /// Deletes the checkpoints of this run (after its results are committed).
    void remove_all();

  private:
    /// Throws pel::Error (usage) if the checkpoint of `index` is of another job, or of another job version or
    /// options without --force-resume; a warning to log if it is forced, else nothing.
    [[nodiscard]] std::string refusal(const io::CheckpointIndex& index) const;

    const mpi::Comm& comm_;
    CheckpointSettings settings_;
    Identity identity_;
    const Log& log_;
    std::uint64_t sequence_ = 0;  ///< of the next checkpoint
    double last_cost_s_ = 0;
};

}  // namespace pel::exec
