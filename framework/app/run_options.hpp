// app/run_options.hpp: the framework options of `pel run`, declared once in a table that gives the command line, the
// config file's keys, the checks, and the effective config that --run-dir keeps and `pel run --config` replays.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "exec/log.hpp"
#include "sched/policy.hpp"

namespace pel::app {

/// The framework options of one `pel run` as typed values; the initialisers are the options' defaults. Their
/// names (see run_options()) are kept stable for users' scripts and configs.
struct RunSettings {
    std::string job;
    std::string output;   ///< resolve(): JOB.h5, or RUN_DIR/JOB.h5, when not given
    std::string run_dir;  ///< resolve(): "auto" becomes pel-JOB-$SLURM_JOB_ID
    int threads = 0;      ///< resolve(): --threads, else OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, 1
    std::int64_t chunk_size = 1;
    sched::Technique schedule = sched::Technique::awf;  // best or near-best on perf/quality, mandelbrot and peers
    int prefetch = -1;                                  ///< chunk requests a worker keeps in flight; -1: auto
    std::string cost_profile;
    bool no_steal = false;
    std::string trace;
    std::int64_t trace_events = 200000;
    std::string job_path;
    std::string progress = "auto";  ///< auto, bar, log or off (auto is decided where the run starts)
    double progress_every_s = 30;
    exec::LogLevel log_level = exec::LogLevel::warn;
    bool verbose = false;
    bool log_all_ranks = false;
    std::string checkpoint_dir;     ///< resolve(): beside the output, or RUN_DIR/checkpoints, when not given
    bool checkpoint_auto = false;   ///< --checkpoint-every auto: Young/Daly from the measured cost and --mtbf
    double checkpoint_every_s = 0;  ///< 0: only on a signal (or the time limit)
    double mtbf_s = 86400;
    int keep = 2;
    bool resume = false;
    bool auto_resume = false;
    bool force_resume = false;
    int max_retries = 0;
    bool skip_failed = false;  ///< --on-error skip (else abort)
    double heartbeat_s = 300;
    double time_limit_s = 0;  ///< 0: none, or the end of the Slurm job
    double time_margin_s = 60;
};

/// Whether an option is kept in the effective config (config.toml, the results' `options` attribute).
enum class Replay : std::uint8_t {
    kept,     ///< written with the value in force: replaying the config runs the same computation the same way
    dropped,  ///< says how this invocation starts (resume flags), not what it runs: never written
};

/// One framework option, declared once: its name, help, section, checks, value type and default (through the
/// field of RunSettings it is bound to), and how it is written back.
struct RunOption {
    std::string name;  ///< the long option without its dashes; also its key in a config file
    std::string help;
    std::string group = "Options";  ///< the section of `pel run --help`; "" hides the option
    Replay replay = Replay::kept;
    bool quoted = false;                 ///< written as a TOML string (else as a number or a boolean)
    bool show_default = true;            ///< `--help` shows the default (when it is not empty)
    std::vector<CLI::Validator> checks;  ///< run by CLI11 on the text given, before it is converted
    /// Checks the converted value once parsing is done (resolve()); throws Error::Usage. May be empty.
    std::function<void(const RunSettings& settings)> verify;
    /// Adds the option to `app` as `flag` with `help`, bound to its field of `settings`.
    std::function<CLI::Option*(CLI::App& app, const std::string& flag, const std::string& help, RunSettings& settings)>
        bind;
    /// Its value in `settings`, as text (unquoted).
    std::function<std::string(const RunSettings& settings)> text;

    /// Puts the option in `section` of the help.
    RunOption& in(std::string section) {
        group = std::move(section);
        return *this;
    }
    /// Sets `verify`.
    RunOption& verified_by(std::function<void(const RunSettings&)> check) {
        verify = std::move(check);
        return *this;
    }
    /// Adds a CLI11 check of the text given.
    RunOption& check(CLI::Validator validator) {
        checks.push_back(std::move(validator));
        return *this;
    }
    /// Marks the option as never replayed (Replay::dropped).
    RunOption& per_invocation() {
        replay = Replay::dropped;
        return *this;
    }
    /// Hides the default in the help (where it means "from the environment").
    RunOption& no_default() {
        show_default = false;
        return *this;
    }
};

/// Every framework option of `pel run` (but --config, which names where options come from), in the order `pel run
/// --help` lists them.
const std::vector<RunOption>& run_options();

/// Adds --config and every option of run_options() to `app`, bound to `settings`. A value that is not valid is a
/// CLI::ParseError, or an Error::Usage naming the option, raised while `app` parses.
void add_run_options(CLI::App& app, RunSettings& settings);

/// After parsing: runs each option's `verify`, resolves what depends on other options or on the environment
/// (threads, --run-dir auto, the default output and checkpoint directory), and checks options against each other.
/// Throws Error::Usage.
void resolve(RunSettings& settings);

/// The options kept for replay (Replay::kept) with their values in `settings`, one TOML line "name = value" each,
/// in table order: the framework's part of the effective config.
std::string kept_options(const RunSettings& settings);

}  // namespace pel::app
