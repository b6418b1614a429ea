// exec/results_layout.hpp: the run's own records in the results file, in one place: their names, a struct per
// record, its writer and its typed reader side by side.
//
// The layout (scripts/pel-plots.py, perf/*.py and the tests read these names and types: they never change):
//   /                  provenance, at the start: job, job_version, options, command_line, pel_version, start_time,
//                      host, schedule (text); ranks, threads, chunk_size (i64)
//                      totals, at the end: phases (i64), wall_time_s (f64), resumed_from (text, only if resumed);
//                      skipped_items (u64)
//   /stats             items, chunks, requests, input_peak_bytes (u64 [ranks]); busy_s, idle_s, wait_s, serve_s
//                      (f64 [ranks]); attributes makespan_s, lower_bound_s, imbalance, efficiency (f64), schedule,
//                      hosts, levels, schedule_choice (text)
//   /stats/chunk_log   rank, thread, phase (i32 [events]); begin, end (u64); start_s, stop_s (f64); attribute
//                      dropped (u64). Absent when nothing was recorded (--trace-events 0).
//   /skipped           phase, item (u64 [skipped]); rank (i64); rows/NAME (u8 [items of output NAME]: 1 where the
//                      row has no value). Absent when nothing was skipped.
// Text attributes are variable-length UTF-8 strings. The job's own datasets sit beside these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exec/checkpoint.hpp"
#include "exec/runner.hpp"
#include "exec/trace.hpp"
#include "io/results_file.hpp"
#include "mpi/comm.hpp"

namespace pel::exec {

/// A name pel itself writes at the root of every results file, which a job's own datasets and attributes cannot
/// take (exec::ResultNames refuses them in setup; README's "Reserved names" lists them, checked by a test).
struct ReservedName {
    const char* name;
    const char* kind;   ///< "attribute" (on the root) or "group"
    const char* holds;  ///< what pel stores there, for messages and the README
};

/// Every name pel writes at the root: its root attributes and its groups, in the order README lists them.
const std::vector<ReservedName>& reserved_names();

/// Where a run's results came from: the root attributes written when the results file is created.
struct Provenance {
    std::string job;
    std::string job_version;
    std::string options;  ///< the effective config, as `pel run --config` takes it
    std::string command_line;
    std::string pel_version;
    std::string start_time;  ///< UTC, ISO 8601
    std::string host;        ///< rank 0's
    std::string schedule;
    std::int64_t ranks = 0;
    std::int64_t threads = 0;
    std::int64_t chunk_size = 0;
    bool operator==(const Provenance&) const = default;
};

/// Writes `p` as root attributes. \note collective
void write_provenance(io::ResultsFile& out, const Provenance& p);
/// Reads the provenance of results file `file`; an attribute it lacks (a file of another program) reads as empty
/// or 0. Throws pel::Error (I/O) if `file` is not an HDF5 file. Not collective.
Provenance read_provenance(const std::string& file);

/// What the whole run came to: root attributes written at its end.
struct RunTotals {
    std::int64_t phases = 0;
    double wall_time_s = 0;          ///< from the start of `pel run` to the end of the run, slowest rank
    std::string resumed_from;        ///< the checkpoint the run started from; empty (and not stored) if none
    std::string job_summary;         ///< the job's one-line verdict (JobOutcome); empty (and not stored) if none
    std::int32_t job_exit_code = 0;  ///< the exit code the job's outcome gave the run (0 when not stored)
    bool operator==(const RunTotals&) const = default;
};

/// \note collective
void write_run_totals(io::ResultsFile& out, const RunTotals& totals);
/// Throws pel::Error (I/O) naming `file` and the attribute if one is missing. Not collective.
RunTotals read_run_totals(const std::string& file);

/// Group /stats: what each rank did and how well the run was balanced.
struct RunStats {
    std::vector<RankStats> ranks;  ///< one per rank; `steals` is not stored (it reads back as 0)
    double makespan_s = 0;
    double lower_bound_s = 0;
    double imbalance = 1;
    double efficiency = 1;
    std::string schedule;
    std::string hosts;            ///< every rank's host, one line each
    std::string schedule_choice;  ///< --schedule auto: what each phase ran and why, a line each (else empty)
    std::string levels;           ///< scheduling levels used, and why (empty in files from before levels)

    /// The stats of `summary`, run with chunk-size technique `schedule`.
    static RunStats of(const RunSummary& summary, const std::string& schedule);
};

/// \note collective
void write_stats(io::ResultsFile& out, const RunStats& stats);
/// Throws pel::Error (I/O) naming `file` and what is missing ("not a pel results file?"). Not collective.
RunStats read_stats(const std::string& file);

/// Group /skipped and the root attribute `skipped_items`: the items given up (--on-error skip), in order, and for each
/// of `outputs`, /skipped/rows/NAME: 1 for each row without a value (its item skipped in the last phase that wrote
/// the output), else 0. \note collective
void write_skipped(io::ResultsFile& out, const std::vector<SkippedItem>& skipped,
                   const std::vector<OutputRows>& outputs = {});
/// Throws pel::Error (I/O) if `file` has no `skipped_items` or its /skipped does not match it. Not collective.
std::vector<SkippedItem> read_skipped(const std::string& file);
/// "N items skipped (phase P: n, ...)", as the run's summary line and `pel report` say it; "" for none.
std::string skipped_summary(const std::vector<SkippedItem>& skipped);

/// One row of the chunk log: a batch of items one thread of one rank processed.
struct ChunkLogRow {
    std::int32_t rank = 0;
    ChunkEvent event;
};

/// Group /stats/chunk_log: every rank's chunk events, by rank then start time.
struct ChunkLog {
    std::vector<ChunkLogRow> rows;
    std::uint64_t dropped = 0;  ///< events not recorded (over the cap)
};

/// Writes every rank's chunk events in `trace` as /stats/chunk_log. \note collective
void write_chunk_log(io::ResultsFile& out, const mpi::Comm& comm, const Trace& trace);
/// The chunk log of `file`, or nothing if it has none. Throws pel::Error (I/O) if it is damaged. Not collective.
std::optional<ChunkLog> read_chunk_log(const std::string& file);

}  // namespace pel::exec
