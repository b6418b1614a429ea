// app/run_command.cpp: `pel run JOB [options]`: parse, load the job, run it, write the results file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <memory>
#include <omp.h>
#include <sched.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "app/cli.hpp"
#include "app/cpus.hpp"
#include "app/job_options.hpp"
#include "app/progress_printer.hpp"
#include "app/run_dir.hpp"
#include "exec/results_layout.hpp"
#include "exec/runner.hpp"
#include "exec/signals.hpp"
#include "io/results_file.hpp"
#include "pel/durable_file.hpp"
#include "pel/version.hpp"
#include "plugin/loader.hpp"
#include "sched/policy.hpp"

namespace pel::app {

namespace {

/// The framework's options; their names are kept stable for users' scripts.
struct RunOptions {
    std::string job;
    std::string output;
    std::int64_t threads = 0;
    std::int64_t chunk_size = 1;
    std::string schedule = "awf";  // best or near-best on perf/quality, perf/mandelbrot and perf/peers
    std::string prefetch = "auto";
    std::string cost_profile;
    bool no_steal = false;
    std::string job_path;
    bool verbose = false;
    std::string log_level = "warn";
    bool log_all_ranks = false;
    std::string progress = "auto";
    double progress_every_s = 30;
    std::string checkpoint_dir;
    std::string checkpoint_every = "0";
    double mtbf_s = 86400;
    std::int64_t keep = 2;
    bool resume = false;
    bool auto_resume = false;
    bool force_resume = false;
    std::int64_t max_retries = 0;
    std::string on_error = "abort";
    double heartbeat_s = 300;
    double time_limit_s = 0;
    double time_margin_s = 60;
    std::string run_dir;
    std::string trace;
    std::int64_t trace_events = 200000;
};

void add_run_options(CLI::App& app, RunOptions& o) {
    app.set_config("--config", "", "read options from this TOML file (keys as option names; the command line wins)");
    app.add_option("--job", o.job, "the job to run (normally given first: pel run JOB)")->group("");
    app.add_option("--output", o.output, "HDF5 results file (default: JOB.h5, or RUN_DIR/JOB.h5)");
    app.add_option("--run-dir", o.run_dir,
                   "a directory for the run: results, checkpoints, config.toml, per-rank logs and status.json, "
                   "which `pel status DIR` reads while the run goes on; auto: pel-JOB-$SLURM_JOB_ID");
    app.add_option("--threads", o.threads,
                   "OpenMP threads per rank (default: OMP_NUM_THREADS, then SLURM_CPUS_PER_TASK, then 1)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}));
    app.add_option("--chunk-size", o.chunk_size, "items per chunk (ss), else the smallest chunk")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    std::string names;
    for (const auto& n : sched::technique_names()) names += (names.empty() ? "" : ", ") + n;
    app.add_option("--schedule", o.schedule, "chunk-size technique: " + names)->capture_default_str();
    app.add_option("--prefetch", o.prefetch,
                   "chunk requests a worker keeps in flight while it computes: 0-64, or auto (one, more while the "
                   "worker still waits for grants, fewer when it no longer does)")
        ->capture_default_str();
    app.add_option("--cost-profile", o.cost_profile,
                   "HDF5 file of measured item costs: chunks are sized by it when it exists; rewritten at the end");
    app.add_flag("--no-steal", o.no_steal, "turn work stealing off (for comparisons)");
    app.add_option("--trace", o.trace,
                   "write a Chrome trace event file (Perfetto, chrome://tracing): a process per rank, a thread per "
                   "OpenMP thread, an event per batch of items, steals, pauses, checkpoints and signals");
    app.add_option("--trace-events", o.trace_events,
                   "batches recorded over all ranks, for --trace and the results' /stats/chunk_log (beyond it, "
                   "counted as dropped); 0: record nothing")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
    app.add_option("--job-path", o.job_path, "colon-separated directories to search for job plugins first");
    app.add_option("--progress", o.progress,
                   "live progress on rank 0: bar (a line refreshed once a second, for a terminal), log (a plain "
                   "time-stamped line every --progress-every seconds, for a batch log), off; auto: bar when stderr "
                   "is a terminal, else log")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "bar", "log", "off"}))
        ->group("Progress and logs");
    app.add_option("--progress-every", o.progress_every_s,
                   "seconds between two progress lines in a log (and in the run directory's rank-0 log); 30 shows "
                   "a run moving in tail -f and keeps a day-long job's log under 3,000 such lines")
        ->capture_default_str()
        ->group("Progress and logs");
    app.add_option("--log-level", o.log_level,
                   "what rank 0 prints on stderr: error, warn, info (phases, checkpoints, layout), debug; the run "
                   "directory's per-rank logs get every level")
        ->capture_default_str()
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->group("Progress and logs");
    app.add_flag("--verbose", o.verbose, "the same as --log-level info (the more talkative of the two wins)")
        ->group("Progress and logs");
    app.add_flag("--log-all-ranks", o.log_all_ranks,
                 "every rank prints up to --log-level on stderr (by default the other ranks print only their own "
                 "warnings and errors)")
        ->group("Progress and logs");
    app.add_option("--checkpoint-dir", o.checkpoint_dir, "where checkpoints go (default: OUTPUT without .h5, + .ckpt)")
        ->group("Checkpoints");
    app.add_option("--checkpoint-every", o.checkpoint_every,
                   "seconds between checkpoints (at a phase boundary when one falls due there); 0: only on "
                   "SIGUSR1/SIGTERM; auto: "
                   "Young/Daly interval from the measured checkpoint cost and --mtbf")
        ->capture_default_str()
        ->group("Checkpoints");
    app.add_option("--mtbf", o.mtbf_s, "mean time between failures in seconds, for --checkpoint-every auto")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->group("Checkpoints");
    app.add_option("--keep", o.keep, "checkpoints kept (older ones are deleted)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000}))
        ->group("Checkpoints");
    app.add_flag("--resume", o.resume, "continue from the newest valid checkpoint (an error if there is none)")
        ->group("Checkpoints");
    app.add_flag("--auto-resume", o.auto_resume,
                 "continue from the newest valid checkpoint if there is one, else start afresh (for requeued jobs)")
        ->group("Checkpoints");
    app.add_flag("--force-resume", o.force_resume,
                 "resume even from a checkpoint written by another job version or with other job options")
        ->group("Checkpoints");
    app.add_option("--max-retries", o.max_retries,
                   "when the job's kernel throws, run each item of that batch again alone, up to this many more "
                   "times, on another rank where there is one")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{100}))
        ->group("Faults");
    app.add_option("--on-error", o.on_error, "an item that still fails: abort the run, or skip it (listed in /skipped)")
        ->capture_default_str()
        ->check(CLI::IsMember({"abort", "skip"}))
        ->group("Faults");
    app.add_option("--heartbeat-timeout", o.heartbeat_s,
                   "seconds without a word from a rank after which rank 0 ends the run naming it (0: never)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1e7))
        ->group("Faults");
    app.add_option("--time-limit", o.time_limit_s,
                   "seconds this run may last (0: no limit; default from SLURM_JOB_END_TIME when set): no chunk "
                   "that would end later is started, and the run checkpoints and exits 75 --time-margin before it")
        ->check(CLI::Range(0.0, 1e9))
        ->group("Checkpoints");
    app.add_option("--time-margin", o.time_margin_s, "seconds kept free at the end of --time-limit for the checkpoint")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1e9))
        ->group("Checkpoints");
}

double seconds_since(std::chrono::steady_clock::time_point start);

/// When the run must have stopped, on the steady clock (seconds), or infinity: --time-limit from now, else the end
/// of the Slurm job if Slurm says (SLURM_JOB_END_TIME, Unix seconds), less --time-margin.
double stop_at(const RunOptions& o, std::chrono::steady_clock::time_point started) {
    double left = o.time_limit_s;
    if (left <= 0) {
        const char* end = std::getenv("SLURM_JOB_END_TIME");
        char* stop = nullptr;
        const double end_s = end != nullptr ? std::strtod(end, &stop) : 0;
        if (end == nullptr || stop == end || end_s <= 0) return std::numeric_limits<double>::infinity();
        left = end_s - static_cast<double>(std::time(nullptr)) + seconds_since(started);
    }
    return std::chrono::duration<double>(started.time_since_epoch()).count() + left - o.time_margin_s;
}

/// --checkpoint-every in seconds (0: off); "auto" is not a number and is read by the caller.
double checkpoint_interval(const RunOptions& o) {
    if (o.checkpoint_every == "auto") return 0;
    const std::string& text = o.checkpoint_every;
    char* end = nullptr;
    const double s = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(s >= 0) || s > 1e9) {
        throw Error::Usage("--checkpoint-every: '" + text + "' is not a number of seconds (0 for none) or auto");
    }
    return s;
}

/// --prefetch as the runner takes it: the depth, or -1 for auto.
int prefetch_depth(const std::string& text) {
    if (text == "auto") return -1;
    char* end = nullptr;
    const long depth = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || depth < 0 || depth > 64) {
        throw Error::Usage("--prefetch: '" + text + "' is not a depth from 0 to 64 or auto");
    }
    return static_cast<int>(depth);
}

/// The default checkpoint directory: beside the output, named after it.
std::string default_checkpoint_dir(const std::string& output) {
    std::filesystem::path p(output);
    if (p.extension() == ".h5") p.replace_extension();
    return p.string() + ".ckpt";
}

std::vector<std::string> reversed(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());
    return args;
}

/// A CLI11 parse error as a pel usage error.
Error usage_error(const std::string& where, const CLI::ParseError& e) {
    std::string what = e.what();
    const std::string ini = "INI was not able to parse ";
    if (what.starts_with(ini)) what = "unknown option '" + what.substr(ini.size()) + "' in the config file";
    return Error::Usage(where + ": " + what);
}

int default_threads() {
    for (const char* var : {"OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"}) {
        const char* value = std::getenv(var);
        if (value == nullptr || *value == '\0') continue;
        const std::string text = std::string(value).substr(0, std::string(value).find(','));
        char* end = nullptr;
        const long n = std::strtol(text.c_str(), &end, 10);
        if (end == text.c_str() || *end != '\0' || n < 1 || n > 4096) {
            throw Error::Usage(std::string(var) + "='" + value + "' is not a thread count (1 to 4096)");
        }
        return static_cast<int>(n);
    }
    return 1;
}

std::string host_name() {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    return name;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Everything `pel run` needs, parsed from the command line and config file.
struct Parsed {
    RunOptions options;
    plugin::JobPlugin plugin;
    std::unique_ptr<JobBase, void (*)(JobBase*)> job{nullptr, nullptr};
    Options declared;  ///< the job's options, bound to the job object
    std::string help;  ///< non-empty when --help was asked for
    int threads = 1;
    sched::Technique technique = sched::Technique::gss;
};

Parsed parse(std::vector<std::string> args) {
    Parsed p;
    // Pass 1: framework options only, to learn the job (first argument, or the config's `job`) and --job-path.
    const bool job_first = !args.empty() && !args[0].starts_with("-");
    if (job_first) {
        p.options.job = args[0];
        args.erase(args.begin());
    }
    {
        CLI::App probe("pel run", "pel run");
        RunOptions o;
        add_run_options(probe, o);
        probe.allow_extras();
        probe.allow_config_extras(CLI::config_extras_mode::ignore);
        probe.set_help_flag();
        try {
            probe.parse(reversed(args));
        } catch (const CLI::ParseError& e) {
            throw usage_error("pel run", e);
        }
        const bool wants_help =
            std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
        if (!job_first) p.options.job = o.job;
        if (p.options.job.empty()) {
            if (wants_help) {
                CLI::App app("pel run: run a job on every rank; JOB's own options follow its name", "pel run JOB");
                RunOptions unused;
                add_run_options(app, unused);
                p.help = app.help() + "\nEach job's options: pel jobs, or pel run JOB --help.\n";
                return p;
            }
            throw Error::Usage(
                "pel run: no job given (pel run JOB [options], or a config file with job = \"NAME\"; "
                "pel jobs lists the jobs)");
        }
        if (job_first && !o.job.empty() && o.job != p.options.job) {
            throw Error::Usage("pel run: the command line asks for job '" + p.options.job +
                               "' but the config file is for job '" + o.job + "'");
        }
        p.plugin = plugin::find(p.options.job, plugin::search_path(o.job_path));
    }

    // Pass 2: framework and job options together, strictly.
    p.job = p.plugin.create();
    Options& declared = p.declared;
    p.job->declare_options(declared);
    CLI::App app("pel run " + p.plugin.name + ": " + p.plugin.description, "pel run " + p.plugin.name);
    const std::string job_name = p.options.job;
    add_run_options(app, p.options);
    app.allow_config_extras(CLI::config_extras_mode::error);
    for (const auto& spec : declared.specs()) {
        if (app.get_option_no_throw("--" + spec.name()) != nullptr) {
            throw Error::Plugin("job '" + job_name + "' declares option --" + spec.name() + ", which pel already has");
        }
        add_job_option(app, spec, "Options of job " + job_name);
    }
    try {
        app.parse(reversed(args));
    } catch (const CLI::CallForHelp&) {
        p.help = app.help();
        return p;
    } catch (const CLI::ParseError& e) {
        throw usage_error("pel run " + job_name, e);
    }
    p.options.job = job_name;

    p.threads = p.options.threads > 0 ? static_cast<int>(p.options.threads) : default_threads();
    p.technique = sched::parse_technique(p.options.schedule);
    if (p.options.run_dir == "auto") {
        // One directory per Slurm job: a requeued job has the same id, so it finds its checkpoints again.
        const char* id = std::getenv("SLURM_JOB_ID");
        if (id == nullptr || *id == '\0') {
            throw Error::Usage("--run-dir auto: SLURM_JOB_ID is not set (not a Slurm job); name the directory");
        }
        p.options.run_dir = "pel-" + job_name + "-" + id;
    }
    if (p.options.output.empty()) {
        p.options.output = p.options.run_dir.empty()
                               ? job_name + ".h5"
                               : (std::filesystem::path(p.options.run_dir) / (job_name + ".h5")).string();
    }
    if (p.options.checkpoint_dir.empty()) {
        p.options.checkpoint_dir = p.options.run_dir.empty()
                                       ? default_checkpoint_dir(p.options.output)
                                       : (std::filesystem::path(p.options.run_dir) / "checkpoints").string();
    }
    checkpoint_interval(p.options);
    prefetch_depth(p.options.prefetch);
    if (!(p.options.progress_every_s > 0) || !std::isfinite(p.options.progress_every_s)) {
        std::ostringstream value;
        value << p.options.progress_every_s;
        throw Error::Usage("--progress-every: " + value.str() + " is not a number of seconds above 0");
    }
    if (!p.options.trace.empty() && p.options.trace_events == 0) {
        throw Error::Usage("pel run: --trace needs events to write: --trace-events must be more than 0");
    }
    if (p.options.resume && p.options.auto_resume) {
        throw Error::Usage("pel run: --resume and --auto-resume exclude each other");
    }
    return p;
}

/// Warns, once, when ranks are bound to fewer CPUs than they have threads: mpirun binds each rank to one core by
/// default, so `--threads 4` would run four threads on one core. \note collective
void warn_if_threads_share_cores(const mpi::Comm& comm, int threads, const exec::Log& log) {
    const std::vector<std::int32_t> allowed = rank_cpus();
    const int cpus = allowed.empty() ? threads : static_cast<int>(allowed.size());
    const auto all = comm.allgather(static_cast<double>(cpus));
    if (comm.rank() != 0) return;
    int short_ranks = 0, first = -1;
    for (std::size_t r = 0; r < all.size(); ++r) {
        if (all[r] >= threads) continue;
        ++short_ranks;
        if (first < 0) first = static_cast<int>(r);
    }
    if (short_ranks == 0) return;
    log.warn(std::to_string(short_ranks) + " of " + std::to_string(all.size()) +
             " ranks can use fewer CPUs than their " + std::to_string(threads) + " threads (rank " +
             std::to_string(first) + ": " + std::to_string(static_cast<int>(all[static_cast<std::size_t>(first)])) +
             "), so threads share cores; launch with mpirun --map-by slot:PE=" + std::to_string(threads) +
             " (or --bind-to none), or srun --cpus-per-task=" + std::to_string(threads));
}

/// CPUs of a set as a short list: "0-3,8".
std::string cpu_list(const cpu_set_t& set) {
    std::string out;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &set)) continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
        out += (out.empty() ? "" : ",") + std::to_string(c) + (last > c ? "-" + std::to_string(last) : "");
        c = last;
    }
    return out.empty() ? "none" : out;
}

/// What the Slurm allocation says, checked against the run: with --verbose, every rank's host and every thread's
/// CPUs; always, a warning when threads of a rank are bound to the same CPUs or the layout differs from what was
/// allocated. \note collective
void check_allocation(const mpi::Comm& comm, int threads, const exec::Log& log) {
    const auto env = [](const char* name) {
        const char* v = std::getenv(name);
        return std::string(v != nullptr ? v : "");
    };
    const std::vector<cpu_set_t> sets = thread_cpu_sets(threads);
    std::string line = "host " + host_name() + ":";
    for (std::size_t t = 0; t < sets.size(); ++t) {
        line += " thread " + std::to_string(t) + " on CPUs " + cpu_list(sets[t]) + (t + 1 < sets.size() ? "," : "");
    }
    bool overlap = threads_sharing_a_cpu(sets).has_value();
    // Rank 0 says every rank's line (the others print only their warnings on the terminal).
    const auto lines = comm.gather_bytes(std::as_bytes(std::span(line)), 0);
    for (std::size_t r = 0; r < lines.size(); ++r) {
        log.info("rank " + std::to_string(r) + ": " +
                 std::string(reinterpret_cast<const char*>(lines[r].data()), lines[r].size()));
    }
    // A rank with fewer CPUs than threads was warned about already.
    if (const auto own = rank_cpus(); !own.empty() && static_cast<int>(own.size()) < threads) overlap = false;
    if (comm.allreduce_max(std::int64_t{overlap ? 1 : 0}) != 0 && comm.rank() == 0) {
        log.warn(
            "threads of a rank are bound to the same CPU (see --verbose): check OMP_PLACES/OMP_PROC_BIND and "
            "the launcher's binding (mpirun --map-by slot:PE=" +
            std::to_string(threads) + ", srun --cpus-per-task=" + std::to_string(threads) + ")");
    }
    if (comm.rank() != 0 || env("SLURM_JOB_ID").empty()) return;
    log.info("Slurm job " + env("SLURM_JOB_ID") +
             (env("SLURM_RESTART_COUNT").empty() ? "" : ", restart " + env("SLURM_RESTART_COUNT")) + ", " +
             (env("SLURM_JOB_NUM_NODES").empty() ? "?" : env("SLURM_JOB_NUM_NODES")) + " nodes");
    const std::string cpus = env("SLURM_CPUS_PER_TASK");
    if (!cpus.empty() && std::to_string(threads) != cpus) {
        log.warn(
            std::to_string(threads) + " threads per rank, but Slurm allocated SLURM_CPUS_PER_TASK=" + cpus +
            " CPUs per task: " + (std::atoi(cpus.c_str()) < threads ? "threads will share cores" : "CPUs will idle"));
    }
    const std::string tasks = env("SLURM_NTASKS");
    if (!tasks.empty() && tasks != std::to_string(comm.size())) {
        log.warn(std::to_string(comm.size()) + " ranks, but Slurm allocated SLURM_NTASKS=" + tasks + " tasks");
    }
}

std::string job_options(const Parsed& p);

/// The run's effective settings as a TOML config that `pel run --config` accepts: framework options with the
/// values in force (threads as resolved), then every job option.
std::string effective_config(const Parsed& p) {
    std::ostringstream os;
    os << "job = \"" << p.options.job << "\"\n";
    os << "output = \"" << p.options.output << "\"\n";
    os << "threads = " << p.threads << "\n";
    os << "chunk-size = " << p.options.chunk_size << "\n";
    os << "schedule = \"" << p.options.schedule << "\"\n";
    os << "prefetch = \"" << p.options.prefetch << "\"\n";
    if (!p.options.cost_profile.empty()) os << "cost-profile = \"" << p.options.cost_profile << "\"\n";
    if (p.options.no_steal) os << "no-steal = true\n";
    if (!p.options.run_dir.empty()) os << "run-dir = \"" << p.options.run_dir << "\"\n";
    os << "checkpoint-dir = \"" << p.options.checkpoint_dir << "\"\n";
    os << "checkpoint-every = \"" << p.options.checkpoint_every << "\"\n";
    os << "keep = " << p.options.keep << "\n";
    os << "max-retries = " << p.options.max_retries << "\n";
    os << "on-error = \"" << p.options.on_error << "\"\n";
    os << "heartbeat-timeout = " << p.options.heartbeat_s << "\n";
    if (p.options.progress != "auto") os << "progress = \"" << p.options.progress << "\"\n";
    if (p.options.progress_every_s != 30) os << "progress-every = " << p.options.progress_every_s << "\n";
    if (p.options.log_level != "warn") os << "log-level = \"" << p.options.log_level << "\"\n";
    os << job_options(p);
    return os.str();
}

/// The job's options, one "name = value" per line: what makes two runs the same computation.
std::string job_options(const Parsed& p) {
    std::ostringstream os;
    for (const auto& spec : p.declared.specs()) os << spec.name() << " = " << spec.value_text() << "\n";
    return os.str();
}

}  // namespace

int run_command(const mpi::Comm& comm, std::vector<std::string> args) {
    const auto started = std::chrono::steady_clock::now();
    const std::string start_time = exec::utc_now();
    std::string command_line = "pel run";
    for (const auto& a : args) command_line += " " + a;

    Parsed p = mpi::agree(comm, [&] { return parse(std::move(args)); });
    if (!p.help.empty()) {
        print0(comm, p.help);
        return 0;
    }
    const exec::LogLevel level = std::max(exec::parse_log_level(p.options.log_level),
                                          p.options.verbose ? exec::LogLevel::info : exec::LogLevel::error);
    exec::Log log(comm.rank(), level, p.options.log_all_ranks);
    if (!p.options.run_dir.empty()) {
        // The run directory: created by rank 0; every rank logs there; the effective config is kept there.
        const std::filesystem::path dir(p.options.run_dir);
        mpi::agree(comm, [&] {
            if (comm.rank() != 0) return;
            std::error_code ec;
            std::filesystem::create_directories(dir / "logs", ec);
            if (ec) throw Error::Io("--run-dir: cannot create '" + (dir / "logs").string() + "': " + ec.message());
            try {
                write_file_durably(dir / "config.toml", effective_config(p));
            } catch (const Error& e) {
                throw Error::Io(std::string("--run-dir: ") + e.what());
            }
        });
        mpi::agree(comm,
                   [&] { log.also_to((dir / "logs" / ("rank-" + std::to_string(comm.rank()) + ".log")).string()); });
    }
    warn_if_threads_share_cores(comm, p.threads, log);
    check_allocation(comm, p.threads, log);
    if (comm.rank() == 0) log.info("job " + p.plugin.path);
    log.debug(std::string("pel ") + version + ": " + command_line);
    if (comm.rank() == 0 && log.enabled(exec::LogLevel::debug)) {
        std::istringstream lines(effective_config(p));
        for (std::string line; std::getline(lines, line);) log.debug("option " + line);
    }

    auto out = mpi::agree(comm, [&] { return std::make_unique<io::ResultsFile>(comm, p.options.output); });
    mpi::agree(comm, [&] {
        exec::write_provenance(
            *out, {p.plugin.name, p.plugin.version, effective_config(p), command_line, version, start_time, host_name(),
                   p.options.schedule, comm.size(), p.threads, p.options.chunk_size});
    });

    exec::RunConfig config;
    config.job_name = p.plugin.name;
    config.threads = p.threads;
    config.schedule = {p.technique, static_cast<std::uint64_t>(p.options.chunk_size)};
    config.prefetch = prefetch_depth(p.options.prefetch);
    config.cost_profile = p.options.cost_profile;
    config.steal = !p.options.no_steal;
    config.max_retries = static_cast<int>(p.options.max_retries);
    config.skip_failed = p.options.on_error == "skip";
    config.heartbeat_s = p.options.heartbeat_s;
    config.stop_at = stop_at(p.options, started);
    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    config.oversubscribed = comm.allreduce_max(std::int64_t{comm.node_ranks()} * p.threads) > std::int64_t{cores};
    if (config.oversubscribed) log.info("more threads than cores: waiting ranks yield and sleep");
    exec::CheckpointSettings cs;
    cs.dir = p.options.checkpoint_dir;
    cs.every_s = checkpoint_interval(p.options);
    cs.every_auto = p.options.checkpoint_every == "auto";
    cs.mtbf_s = p.options.mtbf_s;
    cs.at_phase_end = false;  // phase ends are used when a checkpoint falls due there (see exec::run)
    cs.keep = static_cast<int>(p.options.keep);
    cs.resume = p.options.resume;
    cs.auto_resume = p.options.auto_resume;
    cs.force = p.options.force_resume;
    exec::Checkpointer checkpoints(comm, cs, {p.plugin.name, p.plugin.version, job_options(p)}, log);
    exec::install_stop_signals();
    exec::Progress progress;
    std::unique_ptr<StatusWriter> status;
    if (comm.rank() == 0) {
        config.progress = &progress;
        if (!p.options.run_dir.empty()) {
            const char* slurm = std::getenv("SLURM_JOB_ID");
            status = std::make_unique<StatusWriter>(
                p.options.run_dir,
                RunFacts{p.plugin.name, std::filesystem::absolute(p.options.output).string(),
                         std::filesystem::absolute(cs.dir).string(), host_name(), slurm != nullptr ? slurm : "",
                         comm.size(), p.threads},
                progress, 2.0);
        }
    }
    // Rank 0's live progress; stopped (its last frame shown) as soon as the run returns, before anything else.
    std::unique_ptr<ProgressPrinter> printer;
    if (comm.rank() == 0) {
        const ProgressMode mode = progress_mode(p.options.progress);
        log.debug(std::string("progress: ") + (mode == ProgressMode::bar   ? "a bar on the terminal"
                                               : mode == ProgressMode::log ? "log lines"
                                                                           : "off"));
        if (mode != ProgressMode::off) {
            printer = std::make_unique<ProgressPrinter>(progress, log, mode, p.options.progress_every_s, started);
        }
    }
    std::unique_ptr<exec::Trace> trace;
    if (p.options.trace_events > 0) {
        if (!p.options.trace.empty()) {
            mpi::agree(comm, [&] {  // a trace file that cannot be written is said now, not after the run
                if (comm.rank() != 0) return;
                try {
                    DurableFile::create(p.options.trace).discard();
                } catch (const Error& e) {
                    throw Error::Io(std::string("--trace: ") + e.what());
                }
            });
        }
        comm.barrier();  // every rank's events count from here
        const auto cap = static_cast<std::uint64_t>(p.options.trace_events) / static_cast<std::uint64_t>(comm.size());
        trace = std::make_unique<exec::Trace>(
            p.threads, std::max<std::uint64_t>(cap, 1),
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
        config.trace = trace.get();
    }
    const auto write_trace = [&](const exec::RunSummary& summary) {
        if (!trace || p.options.trace.empty()) return;
        exec::write_trace_file(p.options.trace, comm, *trace, summary.hosts, p.plugin.name);
        print0(comm, "pel: trace in " + std::filesystem::absolute(p.options.trace).string() +
                         " (open it in https://ui.perfetto.dev or chrome://tracing)\n");
    };
    exec::RunSummary summary;
    try {
        summary = exec::run(*p.job, comm, *out, config, log, checkpoints);
        if (printer) printer->stop();
    } catch (const Error& e) {
        if (printer) printer->stop();
        if (status) status->finish("failed", static_cast<int>(e.code()), e.what());
        throw;
    }
    if (summary.stopped_by != 0) {
        if (status)
            status->finish("stopped", static_cast<int>(ExitCode::resumable), "resumable: run again with --resume");
        const std::string why = summary.stopped_by == exec::kTimeLimitStop
                                    ? "stopped before its time limit"
                                    : "stopped by signal " + std::to_string(summary.stopped_by);
        write_trace(summary);
        print0(comm, "pel: " + p.plugin.name + " " + why + " after writing a checkpoint in " +
                         std::filesystem::absolute(cs.dir).string() +
                         "; run the same command with --resume to continue\n");
        return static_cast<int>(ExitCode::resumable);
    }

    const double wall = comm.allreduce_max(seconds_since(started));
    mpi::agree(comm, [&] {
        exec::write_stats(*out, exec::RunStats::of(summary, p.options.schedule));
        exec::write_run_totals(*out, {summary.phases, wall, summary.resumed_from});
        exec::write_skipped(*out, summary.skipped);
        if (trace) exec::write_chunk_log(*out, comm, *trace);
        out->commit();
    });
    write_trace(summary);
    checkpoints.remove_all();  // the results are complete: nothing is left to resume
    if (status) status->finish("finished", 0, "");

    if (log.verbose() && comm.rank() == 0) {
        for (std::size_t r = 0; r < summary.ranks.size(); ++r) {
            const auto& s = summary.ranks[r];
            std::ostringstream line;
            line.precision(3);
            line << "rank " << r << ": " << s.items << " items, " << s.chunks << " chunks, busy " << std::fixed
                 << s.busy_s << " thread-s, idle " << s.idle_s << " thread-s, waited " << s.wait_s << " s";
            if (r == 0 && summary.ranks.size() > 1) {
                line << ", served " << s.requests << " requests in " << s.serve_s << " s, " << s.steals << " steals";
            }
            log.info(line.str());
        }
    }
    std::ostringstream done;
    done.precision(3);
    done << "pel: " << p.plugin.name << " finished in " << std::fixed << wall << " s on " << comm.size() << " ranks x "
         << p.threads << " threads; results in " << std::filesystem::absolute(out->path()).string() << "\n";
    std::uint64_t chunks = 0;
    for (const auto& r : summary.ranks) chunks += r.chunks;
    done << "pel: makespan " << summary.makespan_s << " s, lower bound " << summary.lower_bound_s << " s (efficiency "
         << summary.efficiency() << "), imbalance " << summary.imbalance << ", " << chunks << " chunks, schedule "
         << p.options.schedule << "\n";
    print0(comm, done.str());
    return 0;
}

}  // namespace pel::app
