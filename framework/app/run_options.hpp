// app/run_options.hpp: the framework options of `pel run`, declared once in a table that gives the command line, the
// config file's keys, the checks, and the effective config that --run-dir keeps and `pel run --config` replays.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/config_file.hpp"
#include "app/number_check.hpp"
#include "exec/log.hpp"
#include "sched/policy.hpp"

namespace pel::app {

/// The framework options of one `pel run` as typed values; the initialisers are the options' defaults. Their
/// names (see run_options()) are kept stable for users' scripts and configs.
struct RunSettings {
    std::string job;
    std::string output;   ///< resolve(): JOB.h5, or RUN_DIR/JOB.h5, when not given
    std::string run_dir;  ///< resolve(): "auto" becomes pel-JOB-HASH, HASH from the job's options
    int threads = 0;      ///< resolve(): --threads, else OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, 1
    std::int64_t chunk_size = 1;
    sched::Technique schedule = sched::Technique::awf;  // best or near-best on perf/quality, mandelbrot and peers
    std::vector<double> weights;                        ///< wf: one relative speed per rank; empty: measured
    int prefetch = -1;                                  ///< chunk requests a worker keeps in flight; -1: auto
    int levels = 0;                                     ///< scheduling levels: 1, 2, or 0 for auto
    std::int64_t group_size = 0;                        ///< with two levels: ranks per group; 0: one per node
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
    bool fresh = false;  ///< set an earlier run's checkpoints aside and start from the beginning
    int max_retries = 0;
    bool skip_failed = false;   ///< --on-error skip (else abort)
    bool fail_on_skip = false;  ///< exit ExitCode::skipped, not 0, when items were skipped
    bool check_merge = false;   ///< check that the job's partials merge exactly (exec::RunConfig::check_merge)
    /// Bytes of item inputs a rank may hold (0: no cap).
    std::uint64_t max_rank_memory = 0;
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
    ConfigType type = ConfigType::text;  ///< the TOML types a config may give it
    bool path = false;                   ///< a file or directory (a list of them for job-path): see config_paths()
    bool show_default = true;            ///< `--help` shows the default (when it is not empty)
    std::vector<CLI::Validator> checks;  ///< run by CLI11 on the text given, before it is converted
    /// A number option's kind and range, checked before `checks` (every number option has one: field() sets it).
    std::optional<NumberRule> number;
    /// What values `--help` says the option takes when `number` cannot say it (an option converted from text, or one
    /// whose bound is checked by `verify`); empty: from `number`.
    std::string shown_range;
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
    /// Allows only values from `lo` to `hi` (a number option).
    RunOption& within(double lo, double hi) {
        number->lo = std::max(number->lo, lo);
        number->hi = std::min(number->hi, hi);
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
    /// Marks the option as a path (or a colon-separated list of paths).
    RunOption& as_path() {
        path = true;
        return *this;
    }
    /// Lets a config give it a string or a number (a number of seconds or "auto", a depth or "auto").
    RunOption& text_or_number() {
        type = ConfigType::text_or_number;
        return *this;
    }
    /// Sets `shown_range`.
    RunOption& showing(std::string range) {
        shown_range = std::move(range);
        return *this;
    }
    /// The values the option takes as `--help` shows them, as job options show theirs: "[lo, hi]", or
    /// `shown_range`; empty for text and flags.
    [[nodiscard]] std::string limits() const;
    /// Hides the default in the help (where it means "from the environment").
    RunOption& no_default() {
        show_default = false;
        return *this;
    }
};

/// Every framework option of `pel run` (but --config, which names where options come from), in the order `pel run
/// --help` lists them.
const std::vector<RunOption>& run_options();

/// Adds --config and every option of run_options() to `app`, bound to `settings`, and installs the TOML reader of
/// --config (toml_config(), expecting every option's key and type). A value that is not valid is a
/// CLI::ParseError, or an Error::Usage naming the option, raised while `app` parses.
void add_run_options(CLI::App& app, RunSettings& settings);

/// After parsing: runs each option's `verify`, resolves what depends on other options or on the environment
/// (threads, --run-dir auto, the default output and checkpoint directory), and checks options against each other.
/// `identity` is what makes two runs the same computation (the job's options, one "name = value" a line): --run-dir
/// auto is named after it, so that a requeue and a resubmission of the same command find the same directory.
/// Throws Error::Usage.
void resolve(RunSettings& settings, const std::string& identity = "");

/// --weights against --schedule and the rank count: only wf takes weights, one per rank. Throws Error::Usage.
void check_weights(const RunSettings& settings, int ranks);

/// `--run-dir auto` for a job and its identity: pel-JOB-HASH, HASH 8 hex digits of the identity's checksum.
std::string auto_run_dir(const std::string& job, const std::string& identity);

/// Seconds this run may last: --time-limit, else what is left of the Slurm job (SLURM_JOB_END_TIME, Unix seconds)
/// at Unix time `now`; infinity when neither is known.
double time_left_s(const RunSettings& settings, double now);

/// `path` read from a config file in directory `config_dir`: relative to that directory (absolute stays as it is).
std::string path_in_config(const std::string& config_dir, const std::string& path);

/// The path options of `settings` that came from a config file in `config_dir` (not empty, and not on the command
/// line, which `given` tells by option name) made relative to that file: path_in_config().
void config_paths(RunSettings& settings, const std::string& config_dir,
                  const std::function<bool(const std::string& name)>& given);

/// The options kept for replay (Replay::kept) with their values in `settings`, one TOML line "name = value" each
/// (written by toml_line()),
/// in table order: the framework's part of the effective config. Paths are written absolute, so that the config
/// replays from any directory.
std::string kept_options(const RunSettings& settings);

}  // namespace pel::app
