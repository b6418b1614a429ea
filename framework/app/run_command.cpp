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
#include <span>
#include <sstream>
#include <thread>

#include "app/allocation.hpp"
#include "app/cli.hpp"
#include "app/config_file.hpp"
#include "app/job_options.hpp"
#include "app/progress_printer.hpp"
#include "app/run_dir.hpp"
#include "app/run_options.hpp"
#include "exec/results_layout.hpp"
#include "exec/runner.hpp"
#include "exec/signals.hpp"
#include "io/checkpoint_dir.hpp"
#include "io/h5.hpp"
#include "io/results_file.hpp"
#include "pel/durable_file.hpp"
#include "pel/host.hpp"
#include "pel/version.hpp"
#include "plugin/loader.hpp"

namespace pel::app {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// When the run must have stopped, on the steady clock (seconds), or infinity: --time-limit from now, else the end
/// of the Slurm job if Slurm says (SLURM_JOB_END_TIME, Unix seconds), less --time-margin.
double stop_at(const RunSettings& s, std::chrono::steady_clock::time_point started) {
    double left = time_left_s(s, static_cast<double>(std::time(nullptr)));
    if (!std::isfinite(left)) return left;
    if (s.time_limit_s <= 0) left += seconds_since(started);  // the Slurm job's end is absolute: counted from start
    return std::chrono::duration<double>(started.time_since_epoch()).count() + left - s.time_margin_s;
}

std::vector<std::string> reversed(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());
    return args;
}

/// A CLI11 parse error (the TOML config's included) as a pel usage error.
Error usage_error(const std::string& where, const CLI::ParseError& e) { return Error::Usage(where + ": " + e.what()); }

/// Everything `pel run` needs, parsed from the command line and config file.
struct Parsed {
    RunSettings settings;
    plugin::JobPlugin plugin;
    std::unique_ptr<JobBase, void (*)(JobBase*)> job{nullptr, nullptr};
    Options declared;        ///< the job's options, bound to the job object
    std::string help;        ///< non-empty when --help was asked for
    std::string config_dir;  ///< the directory of --config's file, when one was given
};

/// Whether `name` was given as --name on the command line `args` (not by the config file).
bool on_command_line(const std::vector<std::string>& args, const std::string& name) {
    const std::string flag = "--" + name;
    return std::any_of(args.begin(), args.end(),
                       [&](const std::string& a) { return a == flag || a.starts_with(flag + "="); });
}

/// The job's options, one "name = value" per line: what makes two runs the same computation.
std::string job_options(const Options& declared) {
    std::ostringstream os;
    for (const auto& spec : declared.specs()) os << spec.name() << " = " << spec.value_text() << "\n";
    return os.str();
}

Parsed parse(std::vector<std::string> args) {
    Parsed p;
    check_config_file(config_argument(args));
    // Pass 1: framework options only, to learn the job (first argument, or the config's `job`) and --job-path.
    const bool job_first = !args.empty() && !args[0].starts_with("-");
    if (job_first) {
        p.settings.job = args[0];
        args.erase(args.begin());
    }
    {
        CLI::App probe("pel run", "pel run");
        RunSettings o;
        add_run_options(probe, o);
        probe.allow_extras();
        probe.allow_config_extras(CLI::config_extras_mode::ignore);
        toml_config(probe).set_strict(false);  // the job's keys are not known yet
        toml_config(probe).set_source(config_argument(args));
        probe.set_help_flag();
        try {
            probe.parse(reversed(args));
        } catch (const CLI::ParseError& e) {
            throw usage_error("pel run", e);
        }
        const bool wants_help =
            std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
        if (!job_first) p.settings.job = o.job;
        if (p.settings.job.empty()) {
            if (wants_help) {
                CLI::App app("pel run: run a job on every rank; JOB's own options follow its name", "pel run JOB");
                RunSettings unused;
                add_run_options(app, unused);
                p.help = app.help() + "\nEach job's options: pel jobs, or pel run JOB --help.\n";
                return p;
            }
            throw Error::Usage(
                "pel run: no job given (pel run JOB [options], or a config file with job = \"NAME\"; "
                "pel jobs lists the jobs)");
        }
        if (job_first && !o.job.empty() && o.job != p.settings.job) {
            throw Error::Usage("pel run: the command line asks for job '" + shown(p.settings.job) +
                               "' but the config file is for job '" + shown(o.job) + "'");
        }
        p.plugin = plugin::find(p.settings.job, plugin::search_path(o.job_path));
    }

    // Pass 2: framework and job options together, strictly.
    p.job = p.plugin.create();
    Options& declared = p.declared;
    p.job->declare_options(declared);
    check_declarations(p.settings.job, declared);
    CLI::App app("pel run " + p.plugin.name + ": " + p.plugin.description, "pel run " + p.plugin.name);
    const std::string job_name = p.settings.job;
    add_run_options(app, p.settings);
    app.allow_config_extras(CLI::config_extras_mode::error);
    for (const auto& spec : declared.specs()) {
        if (app.get_option_no_throw("--" + spec.name()) != nullptr) {
            throw Error::Plugin("job '" + job_name + "' declares option --" + spec.name() + ", which pel already has");
        }
        add_job_option(app, spec, "Options of job " + job_name);
        toml_config(app).expect(spec.name(), config_type(spec));
    }
    toml_config(app).set_source(config_argument(args));
    try {
        app.parse(reversed(args));
    } catch (const CLI::CallForHelp&) {
        p.help = app.help();
        return p;
    } catch (const CLI::ParseError& e) {
        throw usage_error("pel run " + job_name, e);
    }
    p.settings.job = job_name;
    // Relative paths in a config file are relative to that file, so that a config works from any directory (a
    // batch job runs where it was submitted); on the command line they are relative to the working directory.
    if (const CLI::Option* config = app.get_config_ptr(); config != nullptr && config->count() > 0) {
        p.config_dir = std::filesystem::path(config->as<std::string>()).parent_path().string();
        const auto given = [&](const std::string& name) { return on_command_line(args, name); };
        config_paths(p.settings, p.config_dir, given);
        for (const auto& spec : declared.specs()) {
            auto* const* text = std::get_if<std::string*>(&spec.target());
            if (text == nullptr || !spec.is_path() || given(spec.name())) continue;
            if (app.get_option("--" + spec.name())->count() > 0) **text = path_in_config(p.config_dir, **text);
        }
    }
    resolve(p.settings, job_options(p.declared));
    return p;
}

std::string job_options(const Parsed& p) { return job_options(p.declared); }

/// The run's effective settings as a TOML config that `pel run --config` accepts: every framework option kept for
/// replay with its value in force (threads, output and directories as resolved), then every job option; paths
/// absolute, so that it replays from any directory. Written by toml++, so that any string replays exactly.
std::string effective_config(const Parsed& p) {
    std::string lines = kept_options(p.settings);
    for (const auto& spec : p.declared.specs()) {
        auto* const* text = std::get_if<std::string*>(&spec.target());
        if (text != nullptr && spec.is_path() && !(*text)->empty()) {
            lines += toml_line(spec.name(), toml_string(std::filesystem::absolute(**text).lexically_normal().string()));
        } else {
            lines += toml_line(spec.name(), toml_value(spec));
        }
    }
    return lines;
}

/// Every host of the run with its number of ranks, in the order of their first rank (on rank 0; empty elsewhere).
/// \note collective
std::vector<HostRanks> gather_host_ranks(const mpi::Comm& comm) {
    const std::string mine = host_name();
    std::vector<HostRanks> hosts;
    for (const auto& bytes : comm.gather_bytes(std::as_bytes(std::span(mine)), 0)) {
        const std::string host(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        const auto it = std::find_if(hosts.begin(), hosts.end(), [&](const HostRanks& h) { return h.host == host; });
        if (it == hosts.end()) {
            hosts.push_back({host, 1});
        } else {
            ++it->ranks;
        }
    }
    return hosts;
}

/// --fresh: moves the checkpoints of an earlier run aside (never deletes them), so that this run starts afresh.
void set_checkpoints_aside(const std::string& dir, const exec::Log& log) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec) || std::filesystem::is_empty(dir, ec)) return;
    std::string stamp = exec::utc_now();
    std::erase(stamp, ':');
    const std::string aside = dir + ".set-aside-" + stamp;
    std::filesystem::rename(dir, aside, ec);
    if (ec) throw Error::Io("--fresh: cannot move '" + dir + "' aside to '" + aside + "': " + ec.message());
    log.warn("--fresh: the earlier checkpoints in '" + dir + "' moved to '" + aside + "'; starting afresh");
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
    const RunSettings& s = p.settings;
    mpi::agree(comm, [&] {
        check_weights(s, comm.size());
        if (s.levels == 2 && s.skip_failed) {
            throw Error::Usage(
                "--levels 2 with --on-error skip: items a group leader skips are not gathered yet; "
                "use --levels 1");
        }
    });
    const exec::LogLevel level = std::max(s.log_level, s.verbose ? exec::LogLevel::info : exec::LogLevel::error);
    exec::Log log(comm.rank(), level, s.log_all_ranks);
    if (!s.run_dir.empty()) {
        // The run directory: created by rank 0; every rank logs there; the effective config is kept there.
        const std::filesystem::path dir(s.run_dir);
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
    if (s.fresh) {
        mpi::agree(comm, [&] {
            if (comm.rank() == 0) set_checkpoints_aside(s.checkpoint_dir, log);
        });
    }
    warn_if_threads_share_cores(comm, s.threads, log);
    check_allocation(comm, s.threads, log);
    if (comm.rank() == 0) log.info("job " + p.plugin.path);
    log.debug(std::string("pel ") + version + ": " + command_line);
    if (comm.rank() == 0 && log.enabled(exec::LogLevel::debug)) {
        std::istringstream lines(effective_config(p));
        for (std::string line; std::getline(lines, line);) log.debug("option " + line);
    }

    auto out = mpi::agree(comm, [&] { return std::make_unique<io::ResultsFile>(comm, s.output); });
    mpi::agree(comm, [&] {  // any run may checkpoint (a signal, a time limit): a name MPI-IO cannot take is said now
        const std::string longest = io::checkpoint_name(std::uint64_t{99'999'999}) + ".part";
        try {
            h5::check_mpi_io_name((std::filesystem::path(s.checkpoint_dir) / longest).string());
        } catch (const Error& e) {
            throw Error::Io(std::string("--checkpoint-dir: ") + e.what());
        }
    });
    mpi::agree(comm, [&] {
        exec::write_provenance(
            *out, {p.plugin.name, p.plugin.version, effective_config(p), command_line, version, start_time, host_name(),
                   sched::technique_name(s.schedule), comm.size(), s.threads, s.chunk_size});
    });

    exec::RunConfig config;
    config.job_name = p.plugin.name;
    config.threads = s.threads;
    config.schedule = {s.schedule, static_cast<std::uint64_t>(s.chunk_size), s.weights};
    config.prefetch = s.prefetch;
    config.levels = s.skip_failed ? 1 : s.levels;  // auto keeps one level where skipping needs it
    config.group_size = static_cast<int>(s.group_size);
    config.cost_profile = s.cost_profile;
    config.steal = !s.no_steal;
    config.max_retries = s.max_retries;
    config.skip_failed = s.skip_failed;
    config.heartbeat_s = s.heartbeat_s;
    config.check_merge = s.check_merge;
    config.max_rank_memory = s.max_rank_memory;
    config.stop_at = stop_at(s, started);
    config.run_dir = s.run_dir;
    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    config.oversubscribed = comm.allreduce_max(std::int64_t{comm.node_ranks()} * s.threads) > std::int64_t{cores};
    if (config.oversubscribed) log.info("more threads than cores: waiting ranks yield and sleep");
    exec::CheckpointSettings cs;
    cs.dir = s.checkpoint_dir;
    cs.every_s = s.checkpoint_every_s;
    cs.every_auto = s.checkpoint_auto;
    cs.mtbf_s = s.mtbf_s;
    cs.at_phase_end = false;  // phase ends are used when a checkpoint falls due there (see exec::run)
    cs.keep = s.keep;
    cs.resume = s.resume;
    cs.auto_resume = s.auto_resume && !s.fresh;
    cs.force = s.force_resume;
    exec::Checkpointer checkpoints(comm, cs, {p.plugin.name, p.plugin.version, job_options(p)}, log);
    exec::install_stop_signals();
    exec::Progress progress;
    std::unique_ptr<StatusWriter> status;
    const std::vector<HostRanks> hosts = gather_host_ranks(comm);
    if (comm.rank() == 0) {
        config.progress = &progress;
        if (!s.run_dir.empty()) {
            const char* slurm = std::getenv("SLURM_JOB_ID");
            status =
                std::make_unique<StatusWriter>(s.run_dir,
                                               RunFacts{p.plugin.name, std::filesystem::absolute(s.output).string(),
                                                        std::filesystem::absolute(cs.dir).string(), host_name(),
                                                        slurm != nullptr ? slurm : "", comm.size(), s.threads, hosts},
                                               progress, 2.0);
        }
    }
    // Rank 0's live progress; stopped (its last frame shown) as soon as the run returns, before anything else.
    std::unique_ptr<ProgressPrinter> printer;
    if (comm.rank() == 0) {
        const ProgressMode mode = progress_mode(s.progress);
        log.debug(std::string("progress: ") + (mode == ProgressMode::bar   ? "a bar on the terminal"
                                               : mode == ProgressMode::log ? "log lines"
                                                                           : "off"));
        if (mode != ProgressMode::off) {
            printer = std::make_unique<ProgressPrinter>(progress, log, mode, s.progress_every_s, started);
        }
    }
    if (!s.cost_profile.empty()) {
        mpi::agree(comm, [&] {  // the cost profile is written after the run: one that cannot be is said now
            if (comm.rank() != 0) return;
            try {
                DurableFile::create(s.cost_profile).discard();
            } catch (const Error& e) {
                throw Error::Io(std::string("--cost-profile: ") + e.what());
            }
        });
    }
    std::unique_ptr<exec::Trace> trace;
    if (s.trace_events > 0) {
        if (!s.trace.empty()) {
            mpi::agree(comm, [&] {  // a trace file that cannot be written is said now, not after the run
                if (comm.rank() != 0) return;
                try {
                    DurableFile::create(s.trace).discard();
                } catch (const Error& e) {
                    throw Error::Io(std::string("--trace: ") + e.what());
                }
            });
        }
        comm.barrier();  // every rank's events count from here
        const auto cap = static_cast<std::uint64_t>(s.trace_events) / static_cast<std::uint64_t>(comm.size());
        trace = std::make_unique<exec::Trace>(
            s.threads, std::max<std::uint64_t>(cap, 1),
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
        config.trace = trace.get();
    }
    const auto write_trace = [&](const exec::RunSummary& summary) {
        if (!trace || s.trace.empty()) return;
        exec::write_trace_file(s.trace, comm, *trace, summary.hosts, p.plugin.name);
        print0(comm, "pel: trace in " + std::filesystem::absolute(s.trace).string() +
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
        exec::write_stats(*out, exec::RunStats::of(summary, sched::technique_name(s.schedule)));
        exec::write_run_totals(
            *out, {summary.phases, wall, summary.resumed_from, summary.outcome.summary, summary.outcome.exit_code});
        exec::write_skipped(*out, summary.skipped, summary.outputs);
        if (trace) exec::write_chunk_log(*out, comm, *trace);
        out->commit();
    });
    write_trace(summary);
    checkpoints.remove_all();  // the results are complete: nothing is left to resume
    const std::string skipped = exec::skipped_summary(summary.skipped);
    // The job's own verdict (a task farm's failed tasks) says more than "items were skipped", so it wins.
    const int code = summary.outcome.exit_code != 0       ? summary.outcome.exit_code
                     : !skipped.empty() && s.fail_on_skip ? static_cast<int>(ExitCode::skipped)
                                                          : 0;
    if (status) {
        std::string why = skipped;
        if (!summary.outcome.summary.empty()) why += (why.empty() ? "" : "; ") + summary.outcome.summary;
        status->finish("finished", code, why);
    }

    if (log.verbose() && comm.rank() == 0) {
        for (std::size_t r = 0; r < summary.ranks.size(); ++r) {
            const auto& rank = summary.ranks[r];
            std::ostringstream line;
            line.precision(3);
            line << "rank " << r << ": " << rank.items << " items, " << rank.chunks << " chunks, busy " << std::fixed
                 << rank.busy_s << " thread-s, idle " << rank.idle_s << " thread-s, waited " << rank.wait_s << " s";
            if (r == 0 && summary.ranks.size() > 1) {
                line << ", served " << rank.requests << " requests in " << rank.serve_s << " s, " << rank.steals
                     << " steals";
            }
            log.info(line.str());
        }
    }
    std::ostringstream done;
    done.precision(3);
    done << "pel: " << p.plugin.name << " finished in " << std::fixed << wall << " s on " << comm.size() << " ranks x "
         << s.threads << " threads; results in " << std::filesystem::absolute(out->path()).string() << "\n";
    std::uint64_t chunks = 0;
    for (const auto& r : summary.ranks) chunks += r.chunks;
    done << "pel: makespan " << summary.makespan_s << " s, lower bound " << summary.lower_bound_s << " s (efficiency "
         << summary.efficiency() << "), imbalance " << summary.imbalance << ", " << chunks << " chunks, schedule "
         << sched::technique_name(s.schedule) << "\n";
    if (!skipped.empty()) {
        // Said on stdout with the rest of the summary, so that a run that gave items up never reads as a clean one.
        done << "pel: " << skipped << " by --on-error skip; listed in /skipped, their rows hold no value (NaN in "
             << "floating outputs, 1 in /skipped/rows/OUTPUT)"
             << (code == static_cast<int>(ExitCode::skipped) ? "; exit 5 (--fail-on-skip)" : "") << "\n";
    }
    // The job's own verdict comes last, where a batch log's reader looks first (`tail slurm-123.out`).
    if (!summary.outcome.summary.empty()) done << "pel: " << p.plugin.name << ": " << summary.outcome.summary << "\n";
    print0(comm, done.str());
    return code;
}

}  // namespace pel::app
