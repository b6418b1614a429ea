// exec/results_layout.cpp: the names of the run's records in the results file, and their writers and readers.
#include "exec/results_layout.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <type_traits>

#include "io/arrays.hpp"
#include "pel/error.hpp"

namespace pel::exec {

namespace {

// ---- names: every one the run's records use ----------------------------------------------------------------------

constexpr const char* kRoot = "/";
constexpr const char* kStats = "stats";
constexpr const char* kChunkLog = "stats/chunk_log";
constexpr const char* kSkipped = "skipped";
constexpr const char* kSkippedRows = "rows";

// Provenance and totals (root attributes).
constexpr const char* kJob = "job";
constexpr const char* kJobVersion = "job_version";
constexpr const char* kOptions = "options";
constexpr const char* kCommandLine = "command_line";
constexpr const char* kPelVersion = "pel_version";
constexpr const char* kStartTime = "start_time";
constexpr const char* kHost = "host";
constexpr const char* kSchedule = "schedule";  // also on /stats
constexpr const char* kRanks = "ranks";
constexpr const char* kThreads = "threads";
constexpr const char* kChunkSize = "chunk_size";
constexpr const char* kPhases = "phases";
constexpr const char* kWallTime = "wall_time_s";
constexpr const char* kResumedFrom = "resumed_from";
constexpr const char* kJobSummary = "job_summary";
constexpr const char* kJobExitCode = "job_exit_code";
constexpr const char* kSkippedItems = "skipped_items";

// /stats attributes.
constexpr const char* kMakespan = "makespan_s";
constexpr const char* kInputPeakBytes = "input_peak_bytes";
constexpr const char* kLowerBound = "lower_bound_s";
constexpr const char* kImbalance = "imbalance";
constexpr const char* kEfficiency = "efficiency";
constexpr const char* kHosts = "hosts";
constexpr const char* kScheduleChoice = "schedule_choice";  // on /stats, with --schedule auto
constexpr const char* kLevels = "levels";                   // on /stats: scheduling levels used, and why

// /stats/chunk_log attribute.
constexpr const char* kDropped = "dropped";

/// `group/name`.
std::string child(const char* group, const char* name) { return std::string(group) + "/" + name; }

// ---- reading ------------------------------------------------------------------------------------------------------

/// Dataset `name` of `file` as values of T (converted from the stored type), checked to have `expect` elements
/// unless `expect` is SIZE_MAX.
template <class T>
std::vector<T> read_values(const std::string& file, const std::string& name, std::size_t expect = SIZE_MAX) {
    std::vector<std::uint64_t> dims;
    const auto bytes = io::read_array(file, name, scalar_type_of<T>::value, dims);
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    if (dims.size() != 1 || (expect != SIZE_MAX && values.size() != expect)) {
        throw Error::Io("'" + file + "': dataset '/" + name + "' has " + std::to_string(values.size()) +
                        " values, not " + std::to_string(expect));
    }
    return values;
}

std::string text_or_empty(const std::string& file, const char* object, const char* name) {
    return io::read_attribute_text(file, object, name).value_or("");
}

/// The error for attribute `name` of `object` missing from `file`.
Error missing(const std::string& file, const char* object, const char* name) {
    std::string where = std::strcmp(object, kRoot) == 0 ? std::string("root") : std::string("/").append(object);
    return Error::Io("'" + file + "' has no " + where + " attribute '" + name + "' (not a pel results file?)");
}

/// A numeric attribute that must be there.
double number(const std::string& file, const char* object, const char* name) {
    const auto value = io::read_attribute_number(file, object, name);
    if (!value) throw missing(file, object, name);
    return *value;
}

/// A text attribute that must be there.
std::string text(const std::string& file, const char* object, const char* name) {
    auto value = io::read_attribute_text(file, object, name);
    if (!value) throw missing(file, object, name);
    return std::move(*value);
}

/// The chunk log's rows of one column of this rank's events, from row `first` on.
template <class T, class Field>
io::RowBlock column(const std::vector<ChunkEvent>& events, std::uint64_t first, Field field) {
    std::vector<T> values;
    values.reserve(events.size());
    for (const ChunkEvent& e : events) values.push_back(static_cast<T>(field(e)));
    const auto bytes = std::as_bytes(std::span(values));
    return {first, values.size(), std::vector<std::byte>(bytes.begin(), bytes.end())};
}

}  // namespace

const std::vector<ReservedName>& reserved_names() {
    static const std::vector<ReservedName> names{
        {kJob, "attribute", "the job's name"},
        {kJobVersion, "attribute", "the job's version"},
        {kOptions, "attribute", "the effective config, as pel run --config takes it"},
        {kCommandLine, "attribute", "the command line"},
        {kPelVersion, "attribute", "pel's version"},
        {kStartTime, "attribute", "when the run started (UTC)"},
        {kHost, "attribute", "rank 0's host"},
        {kSchedule, "attribute", "the chunk-size technique"},
        {kRanks, "attribute", "the number of ranks"},
        {kThreads, "attribute", "threads per rank"},
        {kChunkSize, "attribute", "--chunk-size"},
        {kPhases, "attribute", "phases run"},
        {kWallTime, "attribute", "the run's wall time in seconds"},
        {kResumedFrom, "attribute", "the checkpoint the run resumed from"},
        {kJobSummary, "attribute", "the job's own verdict on the run (JobBase::outcome)"},
        {kJobExitCode, "attribute", "the exit code the job's verdict gave the run"},
        {kSkippedItems, "attribute", "items skipped by --on-error skip"},
        {kStats, "group", "per-rank statistics and the chunk log"},
        {kSkipped, "group", "the skipped items and the rows they left without a value"},
    };
    return names;
}

// ---- provenance and totals ----------------------------------------------------------------------------------------

void write_provenance(io::ResultsFile& out, const Provenance& p) {
    out.attribute(kJob, p.job);
    out.attribute(kJobVersion, p.job_version);
    out.attribute(kOptions, p.options);
    out.attribute(kCommandLine, p.command_line);
    out.attribute(kPelVersion, p.pel_version);
    out.attribute(kStartTime, p.start_time);
    out.attribute(kHost, p.host);
    out.attribute(kSchedule, p.schedule);
    out.attribute(kRanks, ScalarType::i64, &p.ranks);
    out.attribute(kThreads, ScalarType::i64, &p.threads);
    out.attribute(kChunkSize, ScalarType::i64, &p.chunk_size);
}

Provenance read_provenance(const std::string& file) {
    Provenance p;
    p.job = text_or_empty(file, kRoot, kJob);
    p.job_version = text_or_empty(file, kRoot, kJobVersion);
    p.options = text_or_empty(file, kRoot, kOptions);
    p.command_line = text_or_empty(file, kRoot, kCommandLine);
    p.pel_version = text_or_empty(file, kRoot, kPelVersion);
    p.start_time = text_or_empty(file, kRoot, kStartTime);
    p.host = text_or_empty(file, kRoot, kHost);
    p.schedule = text_or_empty(file, kRoot, kSchedule);
    const auto integer = [&](const char* name) {
        return static_cast<std::int64_t>(std::llround(io::read_attribute_number(file, kRoot, name).value_or(0)));
    };
    p.ranks = integer(kRanks);
    p.threads = integer(kThreads);
    p.chunk_size = integer(kChunkSize);
    return p;
}

void write_run_totals(io::ResultsFile& out, const RunTotals& totals) {
    out.attribute(kPhases, ScalarType::i64, &totals.phases);
    out.attribute(kWallTime, ScalarType::f64, &totals.wall_time_s);
    if (!totals.resumed_from.empty()) out.attribute(kResumedFrom, totals.resumed_from);
    if (!totals.job_summary.empty()) out.attribute(kJobSummary, totals.job_summary);
    out.attribute(kJobExitCode, ScalarType::i32, &totals.job_exit_code);
}

RunTotals read_run_totals(const std::string& file) {
    RunTotals totals;
    totals.phases = static_cast<std::int64_t>(std::llround(number(file, kRoot, kPhases)));
    totals.wall_time_s = number(file, kRoot, kWallTime);
    totals.resumed_from = text_or_empty(file, kRoot, kResumedFrom);
    totals.job_summary = text_or_empty(file, kRoot, kJobSummary);
    // Files from before job outcomes have no exit code: their runs ended 0.
    totals.job_exit_code =
        static_cast<std::int32_t>(std::llround(io::read_attribute_number(file, kRoot, kJobExitCode).value_or(0)));
    return totals;
}

// ---- /stats -------------------------------------------------------------------------------------------------------

RunStats RunStats::of(const RunSummary& summary, const std::string& schedule) {
    RunStats stats;
    stats.ranks = summary.ranks;
    for (RankStats& r : stats.ranks) r.steals = 0;  // not stored
    stats.makespan_s = summary.makespan_s;
    stats.lower_bound_s = summary.lower_bound_s;
    stats.imbalance = summary.imbalance;
    stats.efficiency = summary.efficiency();
    stats.schedule = schedule;
    stats.hosts = summary.hosts;
    stats.schedule_choice = summary.schedule_choice;
    stats.levels = summary.levels;
    return stats;
}

namespace {

/// Calls `column(name, member)` for each per-rank dataset of /stats.
template <class Column>
void for_each_rank_column(Column&& column) {
    column("items", &RankStats::items);
    column("chunks", &RankStats::chunks);
    column("busy_s", &RankStats::busy_s);
    column("idle_s", &RankStats::idle_s);
    column("wait_s", &RankStats::wait_s);
    column("serve_s", &RankStats::serve_s);
    column("requests", &RankStats::requests);
}

}  // namespace

void write_stats(io::ResultsFile& out, const RunStats& stats) {
    for_each_rank_column([&](const char* name, auto member) {
        using T = std::remove_cvref_t<decltype(stats.ranks.front().*member)>;
        std::vector<T> values;
        for (const RankStats& r : stats.ranks) values.push_back(r.*member);
        out.write_whole(child(kStats, name), scalar_type_of<T>::value, {values.size()},
                        std::as_bytes(std::span(values)));
    });
    {  // beside the columns above, written only (pel report does not show it; files from before lack it)
        std::vector<std::uint64_t> peaks;
        for (const RankStats& r : stats.ranks) peaks.push_back(r.input_peak_bytes);
        out.write_whole(child(kStats, kInputPeakBytes), ScalarType::u64, {peaks.size()},
                        std::as_bytes(std::span(peaks)));
    }
    out.attribute_on(kStats, kMakespan, ScalarType::f64, &stats.makespan_s);
    out.attribute_on(kStats, kLowerBound, ScalarType::f64, &stats.lower_bound_s);
    out.attribute_on(kStats, kImbalance, ScalarType::f64, &stats.imbalance);
    out.attribute_on(kStats, kEfficiency, ScalarType::f64, &stats.efficiency);
    out.attribute_on(kStats, kSchedule, stats.schedule);
    out.attribute_on(kStats, kHosts, stats.hosts);
    if (!stats.schedule_choice.empty()) out.attribute_on(kStats, kScheduleChoice, stats.schedule_choice);
    if (!stats.levels.empty()) out.attribute_on(kStats, kLevels, stats.levels);
}

RunStats read_stats(const std::string& file) {
    RunStats stats;
    stats.makespan_s = number(file, kStats, kMakespan);
    stats.lower_bound_s = number(file, kStats, kLowerBound);
    stats.imbalance = number(file, kStats, kImbalance);
    stats.efficiency = number(file, kStats, kEfficiency);
    stats.schedule = text(file, kStats, kSchedule);
    stats.hosts = text(file, kStats, kHosts);
    stats.schedule_choice = text_or_empty(file, kStats, kScheduleChoice);
    stats.levels = text_or_empty(file, kStats, kLevels);  // files from before levels have none
    bool first = true;
    for_each_rank_column([&](const char* name, auto member) {
        using T = std::remove_cvref_t<decltype(stats.ranks.front().*member)>;
        const auto values = read_values<T>(file, child(kStats, name), first ? SIZE_MAX : stats.ranks.size());
        if (first) stats.ranks.resize(values.size());
        first = false;
        for (std::size_t r = 0; r < values.size(); ++r) stats.ranks[r].*member = values[r];
    });
    return stats;
}

// ---- /skipped -----------------------------------------------------------------------------------------------------

void write_skipped(io::ResultsFile& out, const std::vector<SkippedItem>& skipped,
                   const std::vector<OutputRows>& outputs) {
    const std::uint64_t n = skipped.size();
    out.attribute(kSkippedItems, ScalarType::u64, &n);
    if (skipped.empty()) return;
    std::vector<std::uint64_t> phase, item;
    std::vector<std::int64_t> rank;
    for (const auto& s : skipped) {
        phase.push_back(s.phase);
        item.push_back(s.item);
        rank.push_back(s.rank);
    }
    out.write_whole(child(kSkipped, "phase"), ScalarType::u64, {n}, std::as_bytes(std::span(phase)));
    out.write_whole(child(kSkipped, "item"), ScalarType::u64, {n}, std::as_bytes(std::span(item)));
    out.write_whole(child(kSkipped, "rank"), ScalarType::i64, {n}, std::as_bytes(std::span(rank)));
    // Rows without a value, per output: integer outputs cannot hold a NaN, so a mask tells them from a real 0.
    for (const OutputRows& o : outputs) {
        std::vector<std::uint8_t> mask(o.items, 0);
        for (const auto& s : skipped) {
            if (static_cast<std::int64_t>(s.phase) == o.phase && s.item < o.items) mask[s.item] = 1;
        }
        out.write_whole(std::string(kSkipped) + "/" + kSkippedRows + "/" + o.name, ScalarType::u8, {o.items},
                        std::as_bytes(std::span(mask)));
    }
}

std::vector<SkippedItem> read_skipped(const std::string& file) {
    const auto n = static_cast<std::size_t>(std::llround(number(file, kRoot, kSkippedItems)));
    std::vector<SkippedItem> skipped(n);
    if (n == 0) return skipped;
    const auto phase = read_values<std::uint64_t>(file, child(kSkipped, "phase"), n);
    const auto item = read_values<std::uint64_t>(file, child(kSkipped, "item"), n);
    const auto rank = read_values<std::int64_t>(file, child(kSkipped, "rank"), n);
    for (std::size_t i = 0; i < n; ++i) skipped[i] = {phase[i], item[i], rank[i]};
    return skipped;
}

std::string skipped_summary(const std::vector<SkippedItem>& skipped) {
    if (skipped.empty()) return {};
    std::map<std::uint64_t, std::uint64_t> per_phase;
    for (const auto& s : skipped) ++per_phase[s.phase];
    std::string text = std::to_string(skipped.size()) + (skipped.size() == 1 ? " item" : " items") + " skipped (";
    bool first = true;
    for (const auto& [phase, n] : per_phase) {
        text += (first ? "phase " : ", phase ") + std::to_string(phase) + ": " + std::to_string(n);
        first = false;
    }
    return text + ")";
}

// ---- /stats/chunk_log ---------------------------------------------------------------------------------------------

void write_chunk_log(io::ResultsFile& out, const mpi::Comm& comm, const Trace& trace) {
    const std::vector<ChunkEvent> mine = trace.chunks();
    const std::vector<double> counts = comm.allgather(static_cast<double>(mine.size()));
    std::uint64_t first = 0;
    std::uint64_t total = 0;
    for (int r = 0; r < comm.size(); ++r) {
        const auto n = static_cast<std::uint64_t>(counts[static_cast<std::size_t>(r)]);
        if (r < comm.rank()) first += n;
        total += n;
    }
    const auto rank = comm.rank();
    const auto write = [&](const char* name, ScalarType type, io::RowBlock block) {
        const std::string path = child(kChunkLog, name);
        out.create_dataset(path, type, {total});
        out.write_rows(path, {std::move(block)});
    };
    write("rank", ScalarType::i32, column<std::int32_t>(mine, first, [rank](const ChunkEvent&) { return rank; }));
    write("thread", ScalarType::i32, column<std::int32_t>(mine, first, [](const ChunkEvent& e) { return e.thread; }));
    write("phase", ScalarType::i32, column<std::int32_t>(mine, first, [](const ChunkEvent& e) { return e.phase; }));
    write("begin", ScalarType::u64, column<std::uint64_t>(mine, first, [](const ChunkEvent& e) { return e.begin; }));
    write("end", ScalarType::u64, column<std::uint64_t>(mine, first, [](const ChunkEvent& e) { return e.end; }));
    write("start_s", ScalarType::f64, column<double>(mine, first, [](const ChunkEvent& e) { return e.start_s; }));
    write("stop_s", ScalarType::f64, column<double>(mine, first, [](const ChunkEvent& e) { return e.stop_s; }));
    const std::uint64_t dropped = comm.allreduce_sum(trace.dropped());
    out.attribute_on(kChunkLog, kDropped, ScalarType::u64, &dropped);
}

std::optional<ChunkLog> read_chunk_log(const std::string& file) {
    const auto dropped = io::read_attribute_number(file, kChunkLog, kDropped);
    if (!dropped) return std::nullopt;
    ChunkLog log;
    log.dropped = static_cast<std::uint64_t>(std::llround(*dropped));
    const auto rank = read_values<std::int32_t>(file, child(kChunkLog, "rank"));
    const std::size_t n = rank.size();
    const auto thread = read_values<std::int32_t>(file, child(kChunkLog, "thread"), n);
    const auto phase = read_values<std::int32_t>(file, child(kChunkLog, "phase"), n);
    const auto begin = read_values<std::uint64_t>(file, child(kChunkLog, "begin"), n);
    const auto end = read_values<std::uint64_t>(file, child(kChunkLog, "end"), n);
    const auto start = read_values<double>(file, child(kChunkLog, "start_s"), n);
    const auto stop = read_values<double>(file, child(kChunkLog, "stop_s"), n);
    log.rows.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        log.rows[i] = {rank[i], {thread[i], phase[i], begin[i], end[i], start[i], stop[i]}};
    }
    return log;
}

}  // namespace pel::exec
