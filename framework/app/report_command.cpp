// app/report_command.cpp: `pel report OUTPUT.h5 [--plots DIR]`: a run's summary from its results file alone, and
// its figures, drawn by scripts/pel-plots.py with Debian's python3 and matplotlib.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <spawn.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "app/cli.hpp"
#include "app/printable.hpp"
#include "exec/results_layout.hpp"
#include "pel/error.hpp"

extern char** environ;

namespace pel::app {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPythonDefault = "/usr/bin/python3";
constexpr const char* kInstallHint = "apt-get install python3-matplotlib python3-h5py";

/// The plotting script: $PEL_PLOTS_SCRIPT, else the one installed beside this pel (under share/pel), else the
/// source tree's (for a pel run from its build tree). Nothing if none exists; `looked` lists where it looked.
std::optional<fs::path> find_plots_script(std::string& looked) {
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("PEL_PLOTS_SCRIPT"); env != nullptr && *env != '\0') {
        candidates.emplace_back(env);
    } else {
        std::error_code ec;
        const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) candidates.push_back(exe.parent_path().parent_path() / PEL_PLOTS_SCRIPT_INSTALLED);
        candidates.emplace_back(PEL_PLOTS_SCRIPT_SOURCE);
    }
    for (const auto& candidate : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return candidate;
        looked += (looked.empty() ? "" : ", ") + candidate.string();
    }
    return std::nullopt;
}

/// A file descriptor, closed when it goes out of scope (or earlier, by `close()`).
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close(); }
    /// The descriptor (-1 once closed).
    [[nodiscard]] int get() const { return fd_; }
    /// Closes it now.
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

/// What a finished child process left: its wait status and everything it wrote on stderr.
struct ChildResult {
    int status = 0;
    std::string err;
};

/// Runs `argv` (no shell: argv[0] is the program, found on PATH only if it has no '/') with MPLBACKEND=Agg, its
/// stdout ours, its stderr captured. Throws if the program cannot be started.
ChildResult run_capturing_stderr(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw Error::Failure(std::string("--plots: cannot make a pipe: ") + std::strerror(errno));
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        if (!std::string_view(*e).starts_with("MPLBACKEND=")) env.emplace_back(*e);
    }
    env.emplace_back("MPLBACKEND=Agg");
    const auto pointers = [](std::vector<std::string>& strings) {
        std::vector<char*> p;
        p.reserve(strings.size() + 1);
        for (auto& s : strings) p.push_back(s.data());
        p.push_back(nullptr);
        return p;
    };
    std::vector<std::string> args = argv;
    auto arg_ptrs = pointers(args);
    auto env_ptrs = pointers(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    pid_t pid = 0;
    const bool search = argv[0].find('/') == std::string::npos;
    const int rc = search ? posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, arg_ptrs.data(), env_ptrs.data())
                          : posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, arg_ptrs.data(), env_ptrs.data());
    posix_spawn_file_actions_destroy(&actions);
    write_end.close();  // else reading would never see the end of the child's stderr
    if (rc != 0) {
        throw Error::Failure("--plots: cannot run " + argv[0] + ": " + std::strerror(rc) + " (" + kInstallHint +
                             ", or name a python3 that has matplotlib in PEL_PYTHON)");
    }
    ChildResult result;
    char buffer[4096];
    while (true) {
        const ssize_t n = read(read_end.get(), buffer, sizeof buffer);
        if (n > 0) {
            result.err.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    while (waitpid(pid, &result.status, 0) < 0) {
        if (errno != EINTR)
            throw Error::Failure(std::string("--plots: lost the plotting process: ") + std::strerror(errno));
    }
    return result;
}

/// Draws the figures of results file `file` into `dir` (created if missing); the script prints their paths.
void write_plots(const std::string& file, const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error::Io("--plots: cannot create directory '" + dir + "': " + ec.message());
    if (access(dir.c_str(), W_OK | X_OK) != 0)
        throw Error::Io("--plots: cannot write into directory '" + dir + "': " + std::strerror(errno));
    std::string looked;
    const auto script = find_plots_script(looked);
    if (!script)
        throw Error::Failure("--plots: the plotting script pel-plots.py is missing (looked for " + looked +
                             "; reinstall pel, or set PEL_PLOTS_SCRIPT to scripts/pel-plots.py)");
    const char* python_env = std::getenv("PEL_PYTHON");
    const std::string python = python_env != nullptr && *python_env != '\0' ? python_env : kPythonDefault;
    std::fflush(stdout);  // the report before the script's lines
    const ChildResult child = run_capturing_stderr({python, script->string(), file, dir});
    // The script's last line on stderr says why it failed; anything before it (a traceback) goes out as it came.
    std::string err = child.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    const std::size_t last_start = err.find_last_of('\n');
    const std::string last = last_start == std::string::npos ? err : err.substr(last_start + 1);
    if (WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) {
        std::fputs(printable(child.err).c_str(), stderr);  // warnings, if any
        return;
    }
    if (last_start != std::string::npos) std::fputs(printable(err.substr(0, last_start + 1)).c_str(), stderr);
    std::fflush(stderr);
    const std::string why = WIFSIGNALED(child.status) ? "killed by signal " + std::to_string(WTERMSIG(child.status))
                                                      : "exit " + std::to_string(WEXITSTATUS(child.status));
    const std::string message =
        "--plots: " + (last.empty() ? script->string() + " failed (" + why + ")" : printable(last));
    // The script exits 4, pel's code for a file, when the results file is unreadable or its /stats damaged.
    if (WIFEXITED(child.status) && WEXITSTATUS(child.status) == static_cast<int>(ExitCode::io))
        throw Error::Io(message);
    throw Error::Failure(message);
}

}  // namespace

int report_command(const std::vector<std::string>& args) {
    std::string file;
    std::string plots_dir;
    CLI::App app(
        "pel report OUTPUT.h5: the run's summary from its results file: a per-rank table and the POP efficiency "
        "metrics",
        "pel report");
    app.add_option("file", file, "the results file of a pel run")->type_name("OUTPUT.h5");
    app.add_option("--plots", plots_dir,
                   "also write PNG figures into this directory (created if missing): per-rank time, a timeline of "
                   "chunks, chunk size over time, item costs. Needs Debian's python3 with matplotlib and h5py "
                   "(PEL_PYTHON names another python3)")
        ->type_name("DIR");
    try {
        app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError& e) {
        throw Error::Usage(std::string("pel report: ") + e.what());
    }
    if (file.empty()) throw Error::Usage("pel report: give one results file (pel report OUTPUT.h5 [--plots DIR])");
    const exec::Provenance provenance = exec::read_provenance(file);
    const auto [stats, totals] = [&] {
        try {
            exec::RunStats read = exec::read_stats(file);  // first: its absence says "not a pel results file"
            return std::pair(std::move(read), exec::read_run_totals(file));
        } catch (const Error& e) {
            throw Error(e.code(), std::string("pel report: ") + e.what());
        }
    }();
    const auto known = [](const std::string& text) { return text.empty() ? std::string("?") : text; };
    std::vector<std::string> hosts;
    {
        std::istringstream in(stats.hosts);
        for (std::string h; std::getline(in, h);) hosts.push_back(h);
    }
    const double threads = provenance.threads > 0 ? static_cast<double>(provenance.threads) : 1;
    const double makespan = stats.makespan_s;
    const double lower = stats.lower_bound_s;

    std::ostringstream os;
    char line[256];
    os << "pel report " << file << ": job " << known(provenance.job) << " " << known(provenance.job_version) << ", "
       << stats.ranks.size() << " ranks x " << threads << " threads, schedule " << stats.schedule << ", "
       << known(provenance.start_time) << "\n";
    if (!stats.schedule_choice.empty()) {
        std::istringstream choices(stats.schedule_choice);
        for (std::string c; std::getline(choices, c);) os << "schedule auto, " << c << "\n";
    }
    // Every host once, with its ranks, in the order of their first rank: the table below names one per rank.
    std::vector<std::pair<std::string, int>> per_host;
    for (const auto& h : hosts) {
        const auto it = std::find_if(per_host.begin(), per_host.end(), [&](const auto& p) { return p.first == h; });
        if (it == per_host.end()) {
            per_host.emplace_back(h, 1);
        } else {
            ++it->second;
        }
    }
    os << (per_host.size() == 1 ? "1 host: " : std::to_string(per_host.size()) + " hosts: ");
    for (std::size_t h = 0; h < per_host.size(); ++h) {
        os << (h == 0 ? "" : ", ") << per_host[h].first << " (" << per_host[h].second
           << (per_host[h].second == 1 ? " rank)" : " ranks)");
    }
    os << "\n";
    // The job's own verdict (a task farm's failures, say), with the exit code it gave the run.
    if (!totals.job_summary.empty()) {
        os << "job: " << totals.job_summary;
        if (totals.job_exit_code != 0) os << " (exit code " << totals.job_exit_code << ")";
        os << "\n";
    }
    os << "\n";
    std::snprintf(line, sizeof line, "%5s  %-16s %12s %8s %12s %12s %10s\n", "rank", "host", "items", "chunks",
                  "busy thr-s", "idle thr-s", "wait s");
    os << line;
    double busy_sum = 0, busy_max = 0;
    for (std::size_t r = 0; r < stats.ranks.size(); ++r) {
        const exec::RankStats& rank = stats.ranks[r];
        std::snprintf(line, sizeof line, "%5zu  %-16s %12.0f %8.0f %12.3f %12.3f %10.3f\n", r,
                      r < hosts.size() ? hosts[r].c_str() : "?", static_cast<double>(rank.items),
                      static_cast<double>(rank.chunks), rank.busy_s, rank.idle_s, rank.wait_s);
        os << line;
        busy_sum += rank.busy_s;
        busy_max = std::max(busy_max, rank.busy_s);
    }
    // POP metrics (Performance Optimisation and Productivity CoE): load balance = mean useful time / max useful
    // time; communication efficiency = max useful time / runtime; parallel efficiency = their product. Useful time
    // is a rank's kernel time per thread.
    const double ranks = static_cast<double>(stats.ranks.size());
    const double mean_useful = ranks > 0 ? busy_sum / ranks / threads : 0;
    const double max_useful = busy_max / threads;
    const double load_balance = max_useful > 0 ? mean_useful / max_useful : 1;
    const double comm_eff = makespan > 0 ? max_useful / makespan : 1;
    std::snprintf(line, sizeof line,
                  "\nmakespan %.3f s, lower bound %.3f s: efficiency against the lower bound %.3f\n"
                  "POP: load balance %.3f, communication efficiency %.3f, parallel efficiency %.3f\n"
                  "imbalance (max busy / mean busy) %.3f, wall time %.10g s\n",
                  makespan, lower, makespan > 0 ? lower / makespan : 1, load_balance, comm_eff, load_balance * comm_eff,
                  stats.imbalance, totals.wall_time_s);
    os << line;
    // Items given up: a run that skipped any must not read as a clean one. A file from before skipped_items says
    // nothing rather than "none".
    std::optional<std::vector<exec::SkippedItem>> skipped;
    try {
        skipped = exec::read_skipped(file);
    } catch (const Error&) {
    }
    if (skipped) {
        os << "skipped: "
           << (skipped->empty() ? std::string("none")
                                : exec::skipped_summary(*skipped) + " by --on-error skip; rows in /skipped/rows")
           << "\n";
    }
    std::fputs(printable(os.str()).c_str(), stdout);  // names and hosts come from the file
    if (!plots_dir.empty()) {
        std::fputs("\n", stdout);
        write_plots(file, plots_dir);
    }
    return 0;
}

}  // namespace pel::app
