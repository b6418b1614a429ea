// app/run_options.cpp: the table of `pel run`'s framework options, and what is made from it.
#include "app/run_options.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <span>
#include <type_traits>

#include "app/allocation.hpp"
#include "io/checksum.hpp"
#include "pel/error.hpp"

namespace pel::app {

namespace {

/// The shortest text that reads back as `v` exactly.
std::string number_text(double v) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    return std::string(text, end);
}

/// A value of a field as text.
template <class T>
std::string value_text(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
        return v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
        return v;
    } else if constexpr (std::is_floating_point_v<T>) {
        return number_text(v);
    } else {
        return std::to_string(v);
    }
}

/// An option bound to a field of RunSettings: CLI11 converts the text (a flag for a bool); written back as it is.
template <class T>
RunOption field(std::string name, T RunSettings::*member, std::string help) {
    RunOption o;
    o.name = std::move(name);
    o.help = std::move(help);
    o.quoted = std::is_same_v<T, std::string>;
    if constexpr (std::is_same_v<T, bool>) {
        o.type = ConfigType::boolean;
    } else if constexpr (std::is_integral_v<T>) {
        o.type = ConfigType::integer;
    } else if constexpr (std::is_floating_point_v<T>) {
        o.type = ConfigType::number;
    }
    o.show_default = !std::is_same_v<T, bool>;
    o.bind = [member](CLI::App& app, const std::string& flag, const std::string& text, RunSettings& s) {
        if constexpr (std::is_same_v<T, bool>) {
            return app.add_flag(flag, s.*member, text);
        } else {
            return app.add_option(flag, s.*member, text);
        }
    };
    o.text = [member](const RunSettings& s) { return value_text(s.*member); };
    // Every number is checked for its kind and finiteness, whatever range the option adds (a NaN passes every
    // comparison, and CLI11 saturates an integer beyond its type).
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        o.number = whole_rule(static_cast<double>(std::numeric_limits<T>::min()),
                              static_cast<double>(std::numeric_limits<T>::max()), -INFINITY, INFINITY);
    } else if constexpr (std::is_floating_point_v<T>) {
        o.number = NumberRule{};
    }
    return o;
}

/// An option given as text that `set` turns into typed settings (throwing Error::Usage for text it cannot read),
/// and `get` gives back.
RunOption converted(std::string name, std::string help, std::function<void(RunSettings&, const std::string&)> set,
                    std::function<std::string(const RunSettings&)> get) {
    RunOption o;
    o.name = std::move(name);
    o.help = std::move(help);
    o.quoted = true;
    o.bind = [set](CLI::App& app, const std::string& flag, const std::string& text, RunSettings& s) {
        return app.add_option_function<std::string>(
            flag, [set, &s](const std::string& v) { set(s, v); }, text);
    };
    o.text = std::move(get);
    return o;
}

/// --prefetch as the runner takes it: the depth, or -1 for auto.
int prefetch_depth(const std::string& text) {
    if (text == "auto") return -1;
    char* end = nullptr;
    const long depth = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || depth < 0 || depth > 64) {
        throw Error::Usage("--prefetch: '" + shown(text) + "' is not a depth from 0 to 64 or auto");
    }
    return static_cast<int>(depth);
}

/// --levels as the runner takes it: 1, 2, or 0 for auto.
int levels_of(const std::string& text) {
    if (text == "auto") return 0;
    if (text == "1" || text == "2") return text[0] - '0';
    throw Error::Usage("--levels: '" + shown(text) + "' is not 1, 2 or auto");
}

/// --weights as wf takes them: comma-separated positive numbers, one per rank ("": none, measured).
std::vector<double> weights_of(const std::string& text) {
    std::vector<double> weights;
    if (text.empty()) return weights;
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        const std::string part = text.substr(at, comma - at);
        char* end = nullptr;
        const double w = std::strtod(part.c_str(), &end);
        if (part.empty() || end != part.c_str() + part.size() || !(w > 0) || !std::isfinite(w)) {
            throw Error::Usage("--weights: '" + shown(part) + "' in '" + shown(text) +
                               "' is not a positive number (one weight per rank, separated by commas)");
        }
        weights.push_back(w);
        at = comma + 1;
    }
    return weights;
}

/// The shortest --checkpoint-every (but 0). A checkpoint is collective and writes, fsyncs and renames a file: on
/// one rank of a small job it takes 7 to 18 ms (synthetic --items 400 --mean-us 2000 --mode sleep --checkpoint-every
/// 0.01 --log-level info), so below this interval a run would spend most of its time writing checkpoints; the
/// tests' shortest, 0.05 s, stays allowed. That run still ends (1.1 s for 0.9 s of work): a periodic checkpoint
/// waits for a finished item (sched::Scheduler::tick).
constexpr double kShortestCheckpointInterval = 0.01;

/// --checkpoint-every: "auto", or seconds between checkpoints (0: off).
void set_checkpoint_every(RunSettings& s, const std::string& text) {
    s.checkpoint_auto = text == "auto";
    if (s.checkpoint_auto) {
        s.checkpoint_every_s = 0;
        return;
    }
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(seconds >= 0) || seconds > 1e9) {
        throw Error::Usage("--checkpoint-every: '" + shown(text) + "' is not a number of seconds (0 for none) or auto");
    }
    if (seconds > 0 && seconds < kShortestCheckpointInterval) {
        throw Error::Usage("--checkpoint-every: " + shown(text) + " s is shorter than the shortest interval, " +
                           number_text(kShortestCheckpointInterval) + " s (0: only on a signal; auto)");
    }
    s.checkpoint_every_s = seconds;
}

/// --max-rank-memory: bytes, with an optional binary suffix K, M, G or T (KiB ... TiB); 0 or "none": no cap.
std::uint64_t memory_size(const std::string& text) {
    if (text == "none") return 0;
    char* end = nullptr;
    const double number = std::strtod(text.c_str(), &end);
    const std::string suffix = end != nullptr ? std::string(end) : std::string();
    double scale = 0;
    if (suffix.empty() || suffix == "B") scale = 1;
    if (suffix == "K" || suffix == "KiB") scale = 0x1p10;
    if (suffix == "M" || suffix == "MiB") scale = 0x1p20;
    if (suffix == "G" || suffix == "GiB") scale = 0x1p30;
    if (suffix == "T" || suffix == "TiB") scale = 0x1p40;
    if (text.empty() || end == text.c_str() || scale == 0 || !(number >= 0) || number * scale > 0x1p62) {
        throw Error::Usage("--max-rank-memory: '" + shown(text) +
                           "' is not a size in bytes (a number, optionally with K, M, G or T; 0 or none: no cap)");
    }
    return static_cast<std::uint64_t>(number * scale);
}

std::vector<RunOption> make_table() {
    using S = RunSettings;
    std::string techniques;
    for (const auto& n : sched::technique_names()) techniques += (techniques.empty() ? "" : ", ") + n;
    const std::string logs = "Progress and logs", checkpoints = "Checkpoints", faults = "Faults";
    std::vector<RunOption> t;
    t.push_back(field("job", &S::job, "the job to run (normally given first: pel run JOB)").in(""));
    t.push_back(field("output", &S::output, "HDF5 results file (default: JOB.h5, or RUN_DIR/JOB.h5)").as_path());
    t.push_back(field("run-dir", &S::run_dir,
                      "a directory for the run: results, checkpoints, config.toml, per-rank logs and status.json, "
                      "which `pel status DIR` reads while the run goes on; auto: pel-JOB-HASH, HASH from the job's "
                      "options, so that the same command finds the same directory again (a requeue, a resubmission)")
                    .as_path());
    t.push_back(field("threads", &S::threads,
                      "OpenMP threads per rank (default: OMP_NUM_THREADS, then SLURM_CPUS_PER_TASK, then 1)")
                    .within(1, 4096)
                    .no_default());
    t.push_back(
        field("chunk-size", &S::chunk_size, "items per chunk (ss), else the smallest chunk").within(1, INFINITY));
    t.push_back(converted(
                    "schedule", "chunk-size technique",
                    [](S& s, const std::string& v) { s.schedule = sched::parse_technique(v); },
                    [](const S& s) { return sched::technique_name(s.schedule); })
                    .showing("{" + techniques + "}"));
    t.push_back(converted(
        "weights",
        "wf: each rank's relative speed, comma-separated, one per rank in rank order (default: measured once every "
        "rank has reported)",
        [](S& s, const std::string& v) { s.weights = weights_of(v); },
        [](const S& s) {
            std::string text;
            for (const double w : s.weights) text += (text.empty() ? "" : ",") + number_text(w);
            return text;
        }));
    t.push_back(converted(
                    "prefetch",
                    "chunk requests a worker keeps in flight while it computes: 0-64, or auto (one, more while the "
                    "worker still "
                    "waits for grants, fewer when it no longer does)",
                    [](S& s, const std::string& v) { s.prefetch = prefetch_depth(v); },
                    [](const S& s) { return s.prefetch < 0 ? std::string("auto") : std::to_string(s.prefetch); })
                    .text_or_number()
                    .showing("[0, 64] or auto"));
    t.push_back(converted(
                    "levels",
                    "scheduling levels: 1 (rank 0 serves every rank), 2 (rank 0 hands large chunks to group leaders, "
                    "each leader serves its group: stealing inside a group first, then between groups), or auto (2 "
                    "from 128 ranks for measured items of 10 us or less, 256 up to 100 us, else 1024)",
                    [](S& s, const std::string& v) { s.levels = levels_of(v); },
                    [](const S& s) { return s.levels == 0 ? std::string("auto") : std::to_string(s.levels); })
                    .text_or_number()
                    .showing("{1, 2, auto}"));
    t.push_back(field("group-size", &S::group_size,
                      "with two levels: ranks per group (rank 0 is in none); 0: one group per node")
                    .within(0, 1 << 24));
    t.push_back(field("cost-profile", &S::cost_profile,
                      "HDF5 file of measured item costs: chunks are sized by it when it exists; rewritten at the end")
                    .as_path());
    t.push_back(field("no-steal", &S::no_steal, "turn work stealing off (for comparisons)"));
    t.push_back(field("trace", &S::trace,
                      "write a Chrome trace event file (Perfetto, chrome://tracing): a process per rank, a thread per "
                      "OpenMP thread, an event per batch of items, steals, pauses, checkpoints and signals")
                    .as_path());
    t.push_back(field("trace-events", &S::trace_events,
                      "batches recorded over all ranks, for --trace and the results' /stats/chunk_log (beyond it, "
                      "counted as dropped); 0: record nothing")
                    .within(0, 0x1p40));
    t.push_back(
        field("job-path", &S::job_path, "colon-separated directories to search for job plugins first").as_path());
    t.push_back(converted(
        "max-rank-memory",
        "the most bytes of item inputs a rank may hold at once (K, M, G, T: binary multiples; 0 or none: no cap): "
        "batches are cut to fit it, and a cap too small for one item per thread is refused; /stats/input_peak_bytes "
        "records what each rank held",
        [](S& s, const std::string& v) { s.max_rank_memory = memory_size(v); },
        [](const S& s) { return std::to_string(s.max_rank_memory); }));
    t.push_back(field("check-merge", &S::check_merge,
                      "for job authors: at the end of each phase, run the kernel again on a sample of items (up to "
                      "64) and merge their partials, and the ranks', in several orders; partials that differ end the "
                      "run (exit 3): the job's totals would depend on the layout"));

    t.push_back(field("progress", &S::progress,
                      "live progress on rank 0: bar (a line refreshed once a second, for a terminal), log (a plain "
                      "time-stamped line every --progress-every seconds, for a batch log), off; auto: bar when "
                      "stderr is a terminal, else log")
                    .check(CLI::IsMember({"auto", "bar", "log", "off"}))
                    .in(logs));
    t.push_back(field("progress-every", &S::progress_every_s,
                      "seconds between two progress lines in a log (and in the run directory's rank-0 log); 30 shows "
                      "a run moving in tail -f and keeps a day-long job's log under 3,000 such lines")
                    .verified_by([](const S& s) {
                        if (s.progress_every_s > 0 && std::isfinite(s.progress_every_s)) return;
                        throw Error::Usage("--progress-every: " + number_text(s.progress_every_s) +
                                           " is not a number of seconds above 0");
                    })
                    .showing("(0, inf)")
                    .in(logs));
    t.push_back(converted(
                    "log-level",
                    "what rank 0 prints on stderr: error, warn, info (phases, checkpoints, layout), debug; the run "
                    "directory's per-rank logs get every level",
                    [](S& s, const std::string& v) { s.log_level = exec::parse_log_level(v); },
                    [](const S& s) { return std::string(exec::log_level_name(s.log_level)); })
                    .check(CLI::IsMember({"error", "warn", "info", "debug"}))
                    .in(logs));
    t.push_back(
        field("verbose", &S::verbose, "the same as --log-level info (the more talkative of the two wins)").in(logs));
    t.push_back(field("log-all-ranks", &S::log_all_ranks,
                      "every rank prints up to --log-level on stderr (by default the other ranks print only their "
                      "own warnings and errors)")
                    .in(logs));

    t.push_back(
        field("checkpoint-dir", &S::checkpoint_dir, "where checkpoints go (default: OUTPUT without .h5, + .ckpt)")
            .as_path()
            .in(checkpoints));
    t.push_back(
        converted(
            "checkpoint-every",
            "seconds between checkpoints, at least 0.01 (at a phase boundary when one falls due there); 0: only on "
            "SIGUSR1/SIGTERM; auto: Young/Daly interval from the measured checkpoint cost and --mtbf",
            set_checkpoint_every,
            [](const S& s) { return s.checkpoint_auto ? std::string("auto") : number_text(s.checkpoint_every_s); })
            .text_or_number()
            .showing("0, [" + number_text(kShortestCheckpointInterval) + ", 1e9] or auto")
            .in(checkpoints));
    t.push_back(field("mtbf", &S::mtbf_s, "mean time between failures in seconds, for --checkpoint-every auto")
                    .within(1, 1e12)
                    .in(checkpoints));
    t.push_back(field("keep", &S::keep, "checkpoints kept (older ones are deleted)").within(1, 1000).in(checkpoints));
    // How this invocation relates to earlier attempts, not what it computes: a replayed config starts afresh
    // unless it is told otherwise on its own command line.
    t.push_back(field("resume", &S::resume, "continue from the newest valid checkpoint (an error if there is none)")
                    .per_invocation()
                    .in(checkpoints));
    t.push_back(field("auto-resume", &S::auto_resume,
                      "continue from the newest valid checkpoint if there is one, else start afresh (for requeued "
                      "jobs)")
                    .per_invocation()
                    .in(checkpoints));
    t.push_back(field("force-resume", &S::force_resume,
                      "resume even from a checkpoint written by another job version or with other job options")
                    .per_invocation()
                    .in(checkpoints));
    t.push_back(field("fresh", &S::fresh,
                      "start from the beginning even where checkpoints of an earlier run are (with --auto-resume, or "
                      "--run-dir auto): they are moved aside to CHECKPOINT_DIR.set-aside-TIME, not deleted")
                    .per_invocation()
                    .in(checkpoints));

    t.push_back(field("max-retries", &S::max_retries,
                      "when the job's kernel throws, run each item of that batch again alone, up to this many more "
                      "times, on another rank where there is one")
                    .within(0, 100)
                    .in(faults));
    t.push_back(converted(
                    "on-error",
                    "an item that still fails: abort the run, or skip it (listed in /skipped; its rows hold no value: "
                    "NaN in floating outputs, 1 in /skipped/rows/OUTPUT; counted in the summary line)",
                    [](S& s, const std::string& v) { s.skip_failed = v == "skip"; },
                    [](const S& s) { return std::string(s.skip_failed ? "skip" : "abort"); })
                    .check(CLI::IsMember({"abort", "skip"}))
                    .in(faults));
    t.push_back(field("fail-on-skip", &S::fail_on_skip,
                      "with --on-error skip: exit 5 instead of 0 when any item was skipped (the results file is still "
                      "written, the skipped rows marked), so that a batch script can tell")
                    .verified_by([](const S& s) {
                        if (s.fail_on_skip && !s.skip_failed) {
                            throw Error::Usage(
                                "pel run: --fail-on-skip needs --on-error skip (with abort, a failing item "
                                "ends the run with exit 1)");
                        }
                    })
                    .in(faults));
    t.push_back(field("heartbeat-timeout", &S::heartbeat_s,
                      "seconds without a word from a rank after which rank 0 ends the run naming it (0: never)")
                    .within(0, 1e7)
                    .in(faults));

    t.push_back(field("time-limit", &S::time_limit_s,
                      "seconds this run may last (0: no limit; default from SLURM_JOB_END_TIME when set): no chunk "
                      "that would end later is started, and the run checkpoints and exits 75 --time-margin before it")
                    .within(0, 1e9)
                    .no_default()
                    .in(checkpoints));
    t.push_back(
        field("time-margin", &S::time_margin_s, "seconds kept free at the end of --time-limit for the checkpoint")
            .within(0, 1e9)
            .in(checkpoints));
    return t;
}

/// `value` with `change` applied to each non-empty path in it: the whole value, or each part of a colon-separated
/// `list`.
std::string each_path(const std::string& value, bool list,
                      const std::function<std::string(const std::string&)>& change) {
    if (!list) return value.empty() ? value : change(value);
    std::string out;
    std::size_t start = 0;
    while (start <= value.size()) {
        const std::size_t end = std::min(value.find(':', start), value.size());
        const std::string one = value.substr(start, end - start);
        if (start > 0) out += ':';
        out += one.empty() ? one : change(one);
        start = end + 1;
    }
    return out;
}

/// The default checkpoint directory: beside the output, named after it.
std::string default_checkpoint_dir(const std::string& output) {
    std::filesystem::path p(output);
    if (p.extension() == ".h5") p.replace_extension();
    return p.string() + ".ckpt";
}

}  // namespace

std::string RunOption::limits() const {
    if (!shown_range.empty() || !number) return shown_range;
    return "[" + bound_text(number->lo) + ", " + bound_text(number->hi) + "]";
}

const std::vector<RunOption>& run_options() {
    static const std::vector<RunOption> table = make_table();
    return table;
}

void add_run_options(CLI::App& app, RunSettings& settings) {
    app.set_config("--config", "", "read options from this TOML file (keys as option names; the command line wins)");
    auto config = std::make_shared<TomlConfig>();
    app.config_formatter(config);
    const RunSettings defaults;
    for (const auto& o : run_options()) {
        config->expect(o.name, o.type);
        // Every number option says its range, as a job's options do.
        const std::string limits = o.limits();
        CLI::Option* option = o.bind(app, "--" + o.name, limits.empty() ? o.help : o.help + " " + limits, settings);
        for (const auto& check : o.checks) option->check(check);
        if (o.number) option->transform(number_check(*o.number));  // first: CLI11 puts transforms before checks
        if (o.show_default) option->default_str(o.text(defaults));
        option->group(o.group);
    }
}

void check_weights(const RunSettings& settings, int ranks) {
    if (settings.weights.empty()) return;
    if (settings.schedule != sched::Technique::wf) {
        throw Error::Usage("--weights: only --schedule wf takes weights (the schedule is " +
                           sched::technique_name(settings.schedule) + ")");
    }
    if (settings.weights.size() != static_cast<std::size_t>(ranks)) {
        throw Error::Usage("--weights: " + std::to_string(settings.weights.size()) + " weights given for " +
                           std::to_string(ranks) + " ranks (one per rank)");
    }
}

std::string auto_run_dir(const std::string& job, const std::string& identity) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(io::checksum(std::as_bytes(std::span(identity)))));
    return "pel-" + job + "-" + std::string(hash, 8);
}

double time_left_s(const RunSettings& s, double now) {
    if (s.time_limit_s > 0) return s.time_limit_s;
    const char* end = std::getenv("SLURM_JOB_END_TIME");
    char* stop = nullptr;
    const double end_s = end != nullptr ? std::strtod(end, &stop) : 0;
    if (end == nullptr || stop == end || end_s <= 0) return std::numeric_limits<double>::infinity();
    return end_s - now;
}

std::string path_in_config(const std::string& config_dir, const std::string& path) {
    if (path.empty() || std::filesystem::path(path).is_absolute() || config_dir.empty()) return path;
    return (std::filesystem::path(config_dir) / path).lexically_normal().string();
}

void config_paths(RunSettings& s, const std::string& config_dir,
                  const std::function<bool(const std::string& name)>& given) {
    const auto from_config = [&](const char* name, std::string& value) {
        if (!given(name)) value = path_in_config(config_dir, value);
    };
    from_config("output", s.output);
    if (s.run_dir != "auto") from_config("run-dir", s.run_dir);
    from_config("cost-profile", s.cost_profile);
    from_config("trace", s.trace);
    from_config("checkpoint-dir", s.checkpoint_dir);
    if (!given("job-path")) {
        s.job_path =
            each_path(s.job_path, true, [&](const std::string& one) { return path_in_config(config_dir, one); });
    }
}

void resolve(RunSettings& s, const std::string& identity) {
    const ThreadCount threads = resolve_threads(s.threads);
    if (!threads.refused.empty()) throw Error::Usage(refused_message(threads.refused.front()));
    s.threads = threads.count;
    if (s.run_dir == "auto") {
        // Named after what is computed, not after the Slurm job: a requeue keeps its job id, but a resubmission of
        // the same command gets a new one and must still find the checkpoints (the same identity a checkpoint must
        // match to be resumed; ranks, threads and schedule may change between attempts).
        s.run_dir = auto_run_dir(s.job, identity);
    }
    if (s.output.empty()) {
        s.output = s.run_dir.empty() ? s.job + ".h5" : (std::filesystem::path(s.run_dir) / (s.job + ".h5")).string();
    }
    if (s.checkpoint_dir.empty()) {
        s.checkpoint_dir = s.run_dir.empty() ? default_checkpoint_dir(s.output)
                                             : (std::filesystem::path(s.run_dir) / "checkpoints").string();
    }
    for (const auto& o : run_options()) {
        if (o.verify) o.verify(s);
    }
    if (!s.trace.empty() && s.trace_events == 0) {
        throw Error::Usage("pel run: --trace needs events to write: --trace-events must be more than 0");
    }
    if (s.resume && s.auto_resume) throw Error::Usage("pel run: --resume and --auto-resume exclude each other");
    if (s.fresh && (s.resume || s.force_resume)) {
        throw Error::Usage(std::string("pel run: --fresh and ") + (s.resume ? "--resume" : "--force-resume") +
                           " exclude each other");
    }
    // A limit inside the margin would stop the run at once, checkpoint nothing new and (in a batch job) requeue it
    // to do the same again.
    const double left = time_left_s(s, static_cast<double>(std::time(nullptr)));
    if (left <= s.time_margin_s) {
        char text[200];
        std::snprintf(text, sizeof text, "%.0f s left%s is not more than --time-margin %.0f s", left,
                      s.time_limit_s > 0 ? " by --time-limit" : " of the Slurm job (SLURM_JOB_END_TIME)",
                      s.time_margin_s);
        throw Error::Usage(std::string("pel run: ") + text +
                           ": nothing could run before the stop; ask for more time or a smaller --time-margin");
    }
}

std::string kept_options(const RunSettings& settings) {
    std::string lines;
    for (const auto& o : run_options()) {
        if (o.replay != Replay::kept) continue;
        const std::string value =
            !o.path ? o.text(settings) : each_path(o.text(settings), o.name == "job-path", [](const std::string& one) {
                return std::filesystem::absolute(one).lexically_normal().string();
            });
        lines += toml_line(o.name, o.quoted ? toml_string(value) : value);
    }
    return lines;
}

}  // namespace pel::app
