// jobs/taskfarm: runs one shell command per line of a task file, as pel's items. pel's scheduler, work stealing,
// checkpoints and resume apply to tasks as to any items; the job adds running the commands, their working
// directories, capturing their output into per-rank (or per-task) logs, retries, time limits, and a joblog in GNU
// parallel's format.
//
// What a task did travels in the partial result (a record per task, merged by concatenation and sorted at the end
// of the phase), so rank 0 has every task's outcome for the joblog, and a checkpoint holds the records of exactly
// the tasks it counts as finished.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <omp.h>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include <pel/durable_file.hpp>
#include <pel/host.hpp>
#include <pel/plugin.hpp>

#include "launch.hpp"
#include "task_list.hpp"

extern char** environ;

namespace {

using taskfarm::Fd;
using taskfarm::Task;

/// What one task did. Trivially copyable (saved as bytes), with no padding.
struct TaskRecord {
    std::uint64_t task = 0;      ///< task number (item), from 0
    std::uint64_t host = 0;      ///< hash of the host name it ran on (0: not run)
    double start = 0;            ///< seconds since the epoch when its first attempt started (0: not run)
    double duration = 0;         ///< seconds from its first attempt's start to its last attempt's end
    std::uint64_t received = 0;  ///< bytes its last attempt wrote to stdout
    std::int32_t exit_code = 0;  ///< see taskfarm::Outcome; taskfarm::kNotRun if not selected
    std::int32_t attempts = 0;   ///< runs (0: not run)
    std::int32_t rank = -1;      ///< the rank that ran it (-1: not run)
    std::int32_t reserved = 0;
};

/// A host name, known by its hash.
struct Host {
    std::uint64_t id = 0;
    std::string name;
    template <class A>
    void fields(A& a) {
        a("id", id)("name", name);
    }
};

/// The records of a set of tasks and the hosts they ran on. The merge concatenates records (ordered by task at the
/// end of the phase) and unites hosts, so the merged whole does not depend on how tasks were split.
struct Farmed {
    std::vector<TaskRecord> records;
    std::vector<Host> hosts;

    void add_host(std::uint64_t id, const std::string& name) {
        for (const Host& h : hosts) {
            if (h.id == id) return;
        }
        hosts.push_back({id, name});
    }
    void merge(const Farmed& other) {
        records.insert(records.end(), other.records.begin(), other.records.end());
        for (const Host& h : other.hosts) add_host(h.id, h.name);
    }
    template <class A>
    void fields(A& a) {
        a("records", records)("hosts", hosts);
    }
};

std::uint64_t hash_text(const std::string& text) {
    std::uint64_t h = 14695981039346656037ULL;
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

double epoch_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

/// The results file this run writes, as pel resolves it: --output on the command line, else `output` in the
/// --config file, else taskfarm.h5. The job API does not pass it to jobs, so it is read from /proc/self/cmdline.
std::string results_path() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
    std::string output, config;
    for (std::size_t i = 0; i < args.size(); ++i) {
        for (auto [flag, target] : {std::pair{"--output", &output}, std::pair{"--config", &config}}) {
            const std::string f = flag;
            if (args[i] == f && i + 1 < args.size()) *target = args[i + 1];
            if (args[i].starts_with(f + "=")) *target = args[i].substr(f.size() + 1);
        }
    }
    if (output.empty() && !config.empty()) {
        std::ifstream toml(config);
        for (std::string line; std::getline(toml, line);) {
            const auto eq = line.find('=');
            if (eq == std::string::npos) continue;
            std::string key = line.substr(0, eq), value = line.substr(eq + 1);
            key.erase(0, key.find_first_not_of(" \t"));
            key.erase(key.find_last_not_of(" \t") + 1);
            if (key != "output") continue;
            const auto open = value.find('"'), close = value.rfind('"');
            if (open != std::string::npos && close > open) output = value.substr(open + 1, close - open - 1);
        }
    }
    return output.empty() ? "taskfarm.h5" : output;
}

/// `path` without a final ".h5".
std::string stem(const std::string& path) { return path.ends_with(".h5") ? path.substr(0, path.size() - 3) : path; }

/// Creates directory `dir` (and its parents) unless it exists; throws pel::Error::Io naming `what`. Returns whether
/// it made `dir` itself, so that a run refused later can remove it again.
bool make_directory(const std::string& dir, const std::string& what) {
    std::error_code ec;
    const bool made = std::filesystem::create_directories(dir, ec);
    std::error_code unused;  // a name too long or a loop of links: said below with create_directories' reason
    if (std::filesystem::is_directory(dir, unused)) {
        if (access(dir.c_str(), W_OK | X_OK) != 0) {
            throw pel::Error::Io("taskfarm: cannot write in " + what + " '" + dir + "': " + std::strerror(errno));
        }
        return made;
    }
    throw pel::Error::Io("taskfarm: cannot create " + what + " '" + dir +
                         "': " + (ec ? ec.message() : std::string("a file is in the way")));
}

/// Environment variables that Open MPI and PMIx give a rank: a task that starts an MPI program of its own must not
/// think it is part of pel's job.
bool launcher_variable(const std::string& entry) {
    if (entry.starts_with("OMPI_ALLOW_RUN_AS_ROOT")) return false;
    return entry.starts_with("OMPI_COMM_WORLD_") || entry.starts_with("OMPI_MCA_ess") ||
           entry.starts_with("OMPI_MCA_orte_") || entry.starts_with("OMPI_MCA_pmix") ||
           entry.starts_with("OMPI_MCA_initial_wdir") || entry.starts_with("OMPI_MCA_mpi_oversubscribe") ||
           entry.starts_with("OMPI_MCA_shmem_RUNTIME_QUERY_hint") || entry.starts_with("OMPI_APP_CTX_") ||
           entry.starts_with("OMPI_FIRST_RANKS") || entry.starts_with("OMPI_NUM_APP_CTX") ||
           entry.starts_with("OMPI_UNIVERSE_SIZE") || entry.starts_with("OMPI_FILE_LOCATION") ||
           entry.starts_with("OMPI_COMMAND") || entry.starts_with("OMPI_ARGV") || entry.starts_with("PMIX_") ||
           entry.starts_with("PEL_");
}

class TaskFarm final : public pel::Job<Farmed> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("tasks", tasks_path_,
              "file of shell commands, one per line, run with /bin/sh -c; blank lines and lines starting with # are "
              "skipped; task N is the N-th remaining line, from 0 (required)")
            .path();
        o.add("workdir", workdir_,
              "each task runs in WORKDIR/task-NNNNNN, created (default: OUTPUT without .h5, + .work)")
            .path();
        o.add("no-task-dirs", no_task_dirs_, "run every task in pel's current directory instead");
        o.add("logdir", logdir_,
              "where output goes: rank-R.out and rank-R.err per rank, a header line per task (default: OUTPUT "
              "without .h5, + .logs)")
            .path();
        o.add("task-logs", task_logs_, "write LOGDIR/task-NNNNNN.out and .err per task instead of per rank");
        o.add("joblog", joblog_,
              "GNU parallel style joblog written at the end by rank 0 (default: OUTPUT without .h5, + .joblog.tsv)")
            .path();
        o.add("retries", retries_, "run a task that exits non-zero again, up to this many more times").range(0, 1000);
        o.add("task-timeout", task_timeout_s_,
              "seconds after which a task's process group is killed and its exit code is 124 (0: no limit)")
            .range(0, 1e9);
        o.add("failed-from", failed_from_,
              "run only the tasks that failed (or did not run) in a previous run, given by its joblog or its results "
              "file (.h5); the others are marked not run, exit code -1000")
            .path();
    }

    void setup(pel::SetupContext& ctx) override {
        tasks_ = taskfarm::read_tasks(tasks_path_);
        tasks_hash_ = taskfarm::hash_tasks(tasks_);
        const std::string base = stem(results_path());
        if (workdir_.empty()) workdir_ = base + ".work";
        if (logdir_.empty()) logdir_ = base + ".logs";
        if (joblog_.empty()) joblog_ = base + ".joblog.tsv";
        try {  // written at the end: a name that cannot take it (a directory, a FIFO, too long) is said now
            pel::DurableFile::check_name_length(joblog_, pel::DurableFile::kTemporarySuffixLength);
            pel::DurableFile::check_replaceable(joblog_);
            // Its directory must take a new file (a missing or read-only one would fail only after every task).
            const auto parent = std::filesystem::path(joblog_).parent_path();
            const std::string dir = parent.empty() ? std::string(".") : parent.string();
            if (access(dir.c_str(), W_OK | X_OK) != 0) {
                throw pel::Error::Io("cannot write '" + joblog_ + "' in directory '" + dir +
                                     "': " + std::strerror(errno));
            }
        } catch (const pel::Error& e) {
            throw pel::Error::Io(std::string("taskfarm: --joblog: ") + e.what());
        }
        selected_.assign(tasks_.size(), 1);
        if (!failed_from_.empty()) select_failed(ctx);
        // Every rank makes the directories (they may be node-local); the first failure ends the run on all ranks.
        const bool made_workdir = !no_task_dirs_ && make_directory(workdir_, "work directory");
        try {
            make_directory(logdir_, "log directory");
        } catch (const pel::Error&) {
            std::error_code ignored;  // a refused run leaves nothing behind: the work directory it just made goes
            if (made_workdir) std::filesystem::remove(workdir_, ignored);
            throw;
        }
        for (char** e = environ; *e != nullptr; ++e) {
            if (!launcher_variable(*e)) environment_.emplace_back(*e);
        }
        host_ = pel::host_name();
        host_id_ = hash_text(host_);
        const auto n = tasks_.size();
        exit_column_ = ctx.item_output<std::int32_t>(
            "exit_code", n, 1,
            "exit status; -N: killed by signal N; 124: timed out; 127: not runnable; -1000: not run");
        start_column_ = ctx.item_output<double>("start_time", n, 1, "seconds since the epoch of the first attempt");
        duration_column_ = ctx.item_output<double>("duration_s", n, 1, "seconds from first start to last end");
        attempts_column_ = ctx.item_output<std::int32_t>("attempts", n, 1, "times the task ran");
        rank_column_ = ctx.item_output<std::int32_t>("rank", n, 1, "the rank that ran it (-1: not run)");
        ctx.log("taskfarm: " + std::to_string(n) + " tasks from " + tasks_path_ + ", " +
                std::to_string(std::count(selected_.begin(), selected_.end(), 1)) + " to run");
    }

    std::optional<pel::Phase> next_phase(const pel::Context& ctx) override {
        if (done_) return std::nullopt;
        if (!logs_open_) open_rank_logs(ctx);
        return pel::Phase{"tasks", tasks_.size()};
    }

    void process(pel::ItemRange items, Farmed& farmed, pel::ItemSink& out, const pel::Context& ctx) const override {
        const int thread = omp_in_parallel() ? omp_get_thread_num() : 0;
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            TaskRecord r;
            r.task = i;
            if (selected_[i] == 0) {
                r.exit_code = taskfarm::kNotRun;
            } else {
                run(i, ctx.rank(), thread, r);
                farmed.add_host(host_id_, host_);
            }
            out.row(exit_column_, i)[0] = r.exit_code;
            out.row(start_column_, i)[0] = r.start;
            out.row(duration_column_, i)[0] = r.duration;
            out.row(attempts_column_, i)[0] = r.attempts;
            out.row(rank_column_, i)[0] = r.rank;
            farmed.records.push_back(r);
        }
    }

    void end_phase(const Farmed& total, const pel::Context& /*ctx*/) override {
        total_ = total;
        auto& records = total_.records;
        std::sort(records.begin(), records.end(),
                  [](const TaskRecord& a, const TaskRecord& b) { return a.task < b.task; });
        std::sort(total_.hosts.begin(), total_.hosts.end(), [](const Host& a, const Host& b) { return a.id < b.id; });
        for (std::size_t k = 1; k < records.size(); ++k) {
            if (records[k].task == records[k - 1].task) {
                throw pel::Error::Failure("taskfarm: task " + std::to_string(records[k].task) + " ran twice");
            }
        }
        done_ = true;
    }

    void write_results(pel::ResultSink& sink, const pel::Context& ctx) const override {
        // A task without a record was given up by pel (--on-error skip after its kernel threw): a failure.
        std::vector<std::uint64_t> failed;
        std::uint64_t succeeded = 0, not_run = 0;
        std::size_t k = 0;
        for (std::uint64_t t = 0; t < tasks_.size(); ++t) {
            const TaskRecord* r =
                k < total_.records.size() && total_.records[k].task == t ? &total_.records[k++] : nullptr;
            if (r == nullptr || taskfarm::failed(r->exit_code)) {
                failed.push_back(t);
            } else if (r->exit_code == taskfarm::kNotRun) {
                ++not_run;
            } else {
                ++succeeded;
            }
        }
        sink.attribute("tasks", static_cast<std::uint64_t>(tasks_.size()));
        sink.attribute("succeeded", succeeded);
        sink.attribute("failed", static_cast<std::uint64_t>(failed.size()));
        sink.attribute("not_run", not_run);
        sink.attribute("joblog", joblog_);
        // Only when a task failed: pel's results file cannot hold an empty dataset (write_whole of 0 elements).
        if (!failed.empty()) {
            sink.dataset<std::uint64_t>("failed_tasks", {failed.size()}, failed,
                                        "tasks that exited non-zero (after every retry), were killed or did not start");
        }
        if (ctx.rank() == 0) write_joblog();
    }

    void save_state(pel::OutArchive& out) const override { out(tasks_hash_)(done_)(total_); }
    void load_state(pel::InArchive& in) override {
        std::uint64_t saved_hash = 0;
        in(saved_hash)(done_)(total_);
        if (saved_hash != tasks_hash_) {
            throw pel::Error::Usage("taskfarm: the task file '" + tasks_path_ +
                                    "' has changed since the checkpoint was written; resume with the same tasks");
        }
        resumed_ = true;
    }

  private:
    /// --failed-from: marks the tasks to run. \note collective (reads a results file with every rank)
    void select_failed(pel::SetupContext& ctx) {
        if (failed_from_.ends_with(".h5")) {
            if (!ctx.file_exists(failed_from_)) {
                throw pel::Error::Io("taskfarm: --failed-from: cannot read '" + failed_from_ + "': no such file");
            }
            const auto previous = ctx.read_array<std::int32_t>(failed_from_, "exit_code");
            if (previous.data.size() != tasks_.size()) {
                throw pel::Error::Usage("taskfarm: --failed-from '" + failed_from_ + "' has " +
                                        std::to_string(previous.data.size()) + " tasks, the task file " +
                                        std::to_string(tasks_.size()));
            }
            for (std::size_t i = 0; i < tasks_.size(); ++i) {
                selected_[i] = taskfarm::failed(previous.data[i]) ? 1 : 0;
            }
        } else {
            selected_ = taskfarm::select_failed(tasks_, taskfarm::read_joblog(failed_from_), failed_from_);
        }
    }

    [[nodiscard]] std::string task_name(std::uint64_t task) const {
        char name[32];
        std::snprintf(name, sizeof name, "task-%06llu", static_cast<unsigned long long>(task));
        return name;
    }

    /// Opens this rank's logs: fresh in a new run, appended to when resuming. Rank 0 removes the logs of ranks a
    /// previous run with more ranks left behind.
    void open_rank_logs(const pel::Context& ctx) {
        logs_open_ = true;
        if (task_logs_) return;
        const std::string name = logdir_ + "/rank-" + std::to_string(ctx.rank());
        for (auto [fd, suffix] : {std::pair{&rank_out_, ".out"}, std::pair{&rank_err_, ".err"}}) {
            try {  // never through a link planted at the name, never into a FIFO or a device
                *fd = Fd(pel::open_log_file(name + suffix, !resumed_));
            } catch (const pel::Error& e) {
                throw pel::Error::Io(std::string("taskfarm: log: ") + e.what());
            }
        }
        if (ctx.rank() != 0 || resumed_) return;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(logdir_, ec)) {
            const std::string file = entry.path().filename().string();
            if (!file.starts_with("rank-")) continue;
            const auto dot = file.find('.');
            const std::string suffix = dot == std::string::npos ? "" : file.substr(dot);
            if (suffix != ".out" && suffix != ".err") continue;
            const std::string number = file.substr(5, dot - 5);
            if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) continue;
            if (std::stoll(number) >= ctx.ranks()) std::filesystem::remove(entry.path(), ec);
        }
    }

    /// Runs task `task` until it succeeds or its retries are used up, filling in `r`.
    void run(std::uint64_t task, int rank, int thread, TaskRecord& r) const {
        std::string dir;
        if (!no_task_dirs_) {
            dir = workdir_ + "/" + task_name(task);
            if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
                throw pel::Error::Io("taskfarm: cannot create '" + dir + "': " + std::strerror(errno));
            }
        }
        std::vector<std::string> env = environment_;
        env.push_back("PEL_TASK_ID=" + std::to_string(task));
        env.push_back("PEL_TASKS=" + std::to_string(tasks_.size()));
        env.push_back("PEL_RANK=" + std::to_string(rank));
        env.push_back("PEL_THREAD=" + std::to_string(thread));
        env.push_back("PEL_TASK_ATTEMPT=1");
        const auto first_start = std::chrono::steady_clock::now();
        r.start = epoch_seconds();
        r.rank = rank;
        r.host = host_id_;
        for (int attempt = 1;; ++attempt) {
            env.back() = "PEL_TASK_ATTEMPT=" + std::to_string(attempt);
            auto [out, err] = output_files(task);
            const auto started = std::chrono::steady_clock::now();
            const taskfarm::Outcome o =
                taskfarm::launch(tasks_[task].command, dir, env, out.get(), err.get(), task_timeout_s_);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (!o.error.empty()) taskfarm::write_all(err.get(), "taskfarm: " + o.error + "\n", "a task's log");
            if (o.timed_out) {
                taskfarm::write_all(err.get(), "taskfarm: killed after " + fixed(task_timeout_s_, 3) + " s\n",
                                    "a task's log");
            }
            r.exit_code = o.exit_code;
            r.attempts = attempt;
            r.received = taskfarm::file_size(out.get());
            if (!task_logs_) log_attempt(task, attempt, o, seconds, out.get(), err.get());
            if (o.exit_code == 0 || attempt > retries_) break;
        }
        r.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_start).count();
    }

    /// Where an attempt's stdout and stderr go: the task's own log files, or capture files to append to the rank's.
    [[nodiscard]] std::pair<Fd, Fd> output_files(std::uint64_t task) const {
        if (!task_logs_) return {taskfarm::capture_file(logdir_), taskfarm::capture_file(logdir_)};
        const std::string name = logdir_ + "/" + task_name(task);
        const auto open_log = [](const std::string& path) {
            try {  // never through a link planted at the name, never into a FIFO or a device
                return Fd(pel::open_log_file(path, true));
            } catch (const pel::Error& e) {
                throw pel::Error::Io(std::string("taskfarm: log: ") + e.what());
            }
        };
        return {open_log(name + ".out"), open_log(name + ".err")};
    }

    /// Appends an attempt's captured output to the rank's logs, whole, under a header line; stderr only if any.
    void log_attempt(std::uint64_t task, int attempt, const taskfarm::Outcome& o, double seconds, int out,
                     int err) const {
        std::string header = "==> task " + std::to_string(task);
        if (attempt > 1) header += " attempt " + std::to_string(attempt);
        header += " (exit " + std::to_string(o.exit_code);
        if (o.timed_out) header += ", timed out";
        header += ", " + fixed(seconds, 3) + " s) <==\n";
        const std::lock_guard<std::mutex> lock(log_mutex_);
        for (auto [from, to, what] :
             {std::tuple{out, rank_out_.get(), "stdout"}, std::tuple{err, rank_err_.get(), "stderr"}}) {
            if (to == rank_err_.get() && taskfarm::file_size(from) == 0) continue;
            const std::string log = logdir_ + " (" + what + " of task " + std::to_string(task) + ")";
            taskfarm::write_all(to, header, log);
            if (taskfarm::append_file(from, to, log) != '\n') taskfarm::write_all(to, "\n", log);
        }
    }

    /// Writes the joblog: a header, then a row per task in task order, durably (a temporary renamed into place).
    void write_joblog() const {
        std::string text = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
        std::size_t k = 0;
        for (std::uint64_t t = 0; t < tasks_.size(); ++t) {
            const TaskRecord* r =
                k < total_.records.size() && total_.records[k].task == t ? &total_.records[k++] : nullptr;
            std::string host = "-";
            int exitval = taskfarm::kNotRunnable, signal = 0;
            double start = 0, runtime = 0;
            std::uint64_t received = 0;
            if (r != nullptr) {
                for (const Host& h : total_.hosts) {
                    if (h.id == r->host) host = h.name;
                }
                exitval = r->exit_code < 0 && r->exit_code != taskfarm::kNotRun ? 0 : r->exit_code;
                signal = r->exit_code < 0 && r->exit_code != taskfarm::kNotRun ? -r->exit_code : 0;
                start = r->start;
                runtime = r->duration;
                received = r->received;
            }
            text += std::to_string(t) + "\t" + host + "\t" + fixed(start, 3) + "\t" + fixed(runtime, 3) + "\t0\t" +
                    std::to_string(received) + "\t" + std::to_string(exitval) + "\t" + std::to_string(signal) + "\t" +
                    tasks_[t].command + "\n";
        }
        try {
            pel::write_file_durably(joblog_, text);
        } catch (const pel::Error& e) {
            throw pel::Error::Io(std::string("taskfarm: joblog: ") + e.what());
        }
    }

    // Options.
    std::string tasks_path_;
    std::string workdir_;
    bool no_task_dirs_ = false;
    std::string logdir_;
    bool task_logs_ = false;
    std::string joblog_;
    std::int64_t retries_ = 0;
    double task_timeout_s_ = 0;
    std::string failed_from_;

    // Set up once per rank.
    std::vector<Task> tasks_;
    std::uint64_t tasks_hash_ = 0;
    std::vector<std::uint8_t> selected_;    ///< 1: run the task; 0: mark it not run (--failed-from)
    std::vector<std::string> environment_;  ///< pel's environment less the launcher's variables
    std::string host_;
    std::uint64_t host_id_ = 0;
    pel::ItemColumn<std::int32_t> exit_column_;
    pel::ItemColumn<double> start_column_;
    pel::ItemColumn<double> duration_column_;
    pel::ItemColumn<std::int32_t> attempts_column_;
    pel::ItemColumn<std::int32_t> rank_column_;
    bool resumed_ = false;
    bool logs_open_ = false;
    Fd rank_out_;
    Fd rank_err_;
    mutable std::mutex log_mutex_;  ///< one task's output is appended to the rank's logs at a time

    // Carried between phases and in checkpoints.
    bool done_ = false;
    Farmed total_;  ///< every task's record, by task, once the phase is over
};

}  // namespace

PEL_JOB(TaskFarm, "taskfarm", "1.0",
        "runs a shell command per line of a task file (--tasks), with per-rank logs, retries and a joblog")
