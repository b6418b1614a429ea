// exec/runner.hpp: running a job through its phases on every rank.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exec/checkpoint.hpp"
#include "exec/log.hpp"
#include "exec/progress.hpp"
#include "exec/trace.hpp"
#include "io/results_file.hpp"
#include "mpi/comm.hpp"
#include "pel/job.hpp"
#include "sched/policy.hpp"

namespace pel::exec {

/// How a run is laid out and scheduled.
struct RunConfig {
    std::string job_name;
    int threads = 1;
    sched::Params schedule;
    /// Chunk requests a worker keeps in flight while it computes (0: ask only when out of work; -1: auto, from 1 up
    /// to kMaxAutoPrefetch, one more each time the worker has to wait for a grant, one fewer after a long run of
    /// chunks that were there when needed).
    int prefetch = -1;
    /// More threads than cores on a node: waiting ranks yield and sleep instead of spinning.
    bool oversubscribed = false;
    /// HDF5 file of measured item costs: read at the start if it exists, written at the end.
    std::string cost_profile;
    /// Idle ranks take work from busy ones when rank 0 has none left (off only for comparisons).
    bool steal = true;
    /// A kernel exception: its batch's items are run again one by one, each up to this many more times, on another
    /// rank where there is one. 0 with skip_failed false: the first exception ends the run.
    int max_retries = 0;
    /// An item that still fails is skipped (and listed in the results) instead of ending the run.
    bool skip_failed = false;
    /// Rank 0 ends the run when a worker sends nothing for this long during a phase (0: never). Workers send a
    /// heartbeat every quarter of it.
    double heartbeat_s = 0;
    /// When the allocation ends (steady_clock seconds since its epoch; infinity: never). No chunk is granted that
    /// is not expected to finish by then; at the latest then, the run checkpoints and stops (stopped_by =
    /// kTimeLimitStop).
    double stop_at = std::numeric_limits<double>::infinity();
    /// The run directory (empty: none), named when the run resumes.
    std::string run_dir;
    /// Where the run is, kept current on rank 0 for a status writer (none: not kept).
    Progress* progress = nullptr;
    /// Records every batch each thread processes and the run's instant events (none: not recorded).
    Trace* trace = nullptr;
    /// At the end of each phase, rank 0 runs the kernel again on a sample of items and checks that their partials,
    /// and the ranks' partials, merge to the same bytes in every order (pel::check_merge); a difference ends the run.
    bool check_merge = false;
    /// Scheduling levels: 1 (rank 0 serves every rank), 2 (rank 0 serves group leaders, each leader its group), or 0
    /// for auto (see exec/levels.hpp: by rank count and measured item cost).
    int levels = 1;
    /// With two levels: ranks per group (0: one group per node).
    int group_size = 0;
    /// The most bytes of item inputs (pel::ItemInput) a rank may hold at once (0: no cap; batches then hold at most
    /// kDefaultBatchInputBytes per thread). A cap too small for one item per thread is refused before any item runs.
    std::uint64_t max_rank_memory = 0;
};

/// What one rank did over the whole run.
struct RankStats {
    std::uint64_t items = 0;     ///< items processed
    std::uint64_t chunks = 0;    ///< chunks received
    double busy_s = 0;           ///< thread-seconds inside the job's kernel
    double idle_s = 0;           ///< thread-seconds of the phases' duration not spent in the kernel
    double wait_s = 0;           ///< seconds a thread waited for rank 0 to grant a chunk
    double serve_s = 0;          ///< rank 0: seconds spent answering requests
    std::uint64_t requests = 0;  ///< rank 0: requests answered
    std::uint64_t steals = 0;    ///< rank 0: chunks taken from a busy rank for an idle one
    /// The most bytes of item inputs the rank held at once.
    std::uint64_t input_peak_bytes = 0;
};

/// A per-item output of the job, and the phase whose rows it holds.
struct OutputRows {
    std::string name;
    std::uint64_t items = 0;
    std::int64_t phase = -1;  ///< the last phase that wrote it (-1: none did)
};

/// What a run did, the same on every rank.
struct RunSummary {
    int phases = 0;
    std::vector<RankStats> ranks;      ///< one per rank
    double makespan_s = 0;             ///< time the phases took (slowest rank), without setup and writing
    double lower_bound_s = 0;          ///< the work bound: all kernel time spread evenly over every thread
    double imbalance = 1;              ///< max over ranks of busy time / mean busy time
    int stopped_by = 0;                ///< the signal that stopped the run after a checkpoint (0: it ran to the end)
    std::string resumed_from;          ///< the checkpoint the run started from, if any
    std::vector<SkippedItem> skipped;  ///< items given up, in the order they were
    std::vector<OutputRows> outputs;   ///< the job's per-item outputs, in the order it declared them
    std::string hosts;                 ///< every rank's host, one line each, in rank order
    std::string schedule_choice;       ///< --schedule auto: "phase N: technique (why)", a line per phase or round
    std::string levels;                ///< scheduling levels used, and why ("2 (asked for)")
    JobOutcome outcome;                ///< the job's own verdict (rank 0's), after its results
    /// lower_bound_s / makespan_s: 1 when no thread ever waited.
    [[nodiscard]] double efficiency() const { return makespan_s > 0 ? lower_bound_s / makespan_s : 1.0; }
};

/// Runs `job` on every rank: setup, every phase, then write_results into `out`; starts from a checkpoint and writes
/// them as `checkpoints` says. Returns early, with stopped_by set and a checkpoint written, on a stop signal. Throws
/// mpi::AgreedError, on every rank, if the job or the framework fails anywhere. \note collective
RunSummary run(JobBase& job, const mpi::Comm& comm, io::ResultsFile& out, const RunConfig& config, const Log& log,
               Checkpointer& checkpoints);

}  // namespace pel::exec
