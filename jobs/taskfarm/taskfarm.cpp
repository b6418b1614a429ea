// jobs/taskfarm: runs one shell command per task, as pel's items: the lines of a task file, or a command template
// applied to the lines of an argument file (GNU parallel's {} {#} {%}). pel's scheduler, work stealing, checkpoints
// and resume apply to tasks as to any items; the job adds running the commands (bound to their CPUs, in a clean
// environment, never outliving the rank), their working directories, capturing their output into per-rank (or
// per-task) logs, retries, time limits, --halt, groups separated by BARRIER lines (one phase each), a joblog in GNU
// parallel's format appended as tasks end, and an exit code that says how many failed.
//
// What a task did travels in the partial result (a record per task, merged by concatenation and sorted at the end
// of the phase), so every rank has every task's outcome at the end, and a checkpoint holds the records of exactly
// the tasks it counts as finished.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include <pel/cpus.hpp>
#include <pel/durable_file.hpp>
#include <pel/host.hpp>
#include <pel/plugin.hpp>

#include "halt.hpp"
#include "joblog.hpp"
#include "launch.hpp"
#include "slots.hpp"
#include "task_env.hpp"
#include "task_list.hpp"

extern char** environ;

namespace {

using taskfarm::Fd;
using taskfarm::Task;

/// Past this many tasks, --task-dirs auto runs them without a directory each: a million directories is a metadata
/// storm on a parallel file system.
constexpr std::size_t kTaskDirsUpTo = 4096;

/// What else is known of how a task ended (TaskRecord::flags).
enum TaskFlag : std::int32_t {
    kTimedOut = 1,  ///< its last attempt was killed at --task-timeout
    kKilled = 2,    ///< killed by --halt now
};

/// What one task did. Trivially copyable (saved as bytes), with no padding.
struct TaskRecord {
    std::uint64_t task = 0;      ///< task number (item), from 0
    std::uint64_t host = 0;      ///< hash of the host name it ran on (0: not run)
    double start = 0;            ///< seconds since the epoch when its first attempt started (0: not run)
    double duration = 0;         ///< seconds from its first attempt's start to its last attempt's end
    std::uint64_t received = 0;  ///< bytes its last attempt wrote to stdout
    std::int32_t exit_code = 0;  ///< see taskfarm::Outcome; taskfarm::kNotRun, kHalted if not started
    std::int32_t attempts = 0;   ///< runs (0: not run)
    std::int32_t rank = -1;      ///< the rank that ran it (-1: not run)
    std::int32_t flags = 0;      ///< TaskFlag bits
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

/// How a farm's tasks ended, counted.
struct Counts {
    std::uint64_t succeeded = 0, failed = 0, timed_out = 0, killed = 0, retried = 0, not_run = 0, halted = 0;
    std::vector<std::uint64_t> failed_tasks;
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

/// Where the farm's own files go by default: beside the results file, named after it without ".h5"; with a run
/// directory, inside it, so that two farms with run directories of their own share nothing.
std::string default_base(const pel::SetupContext& ctx) {
    std::filesystem::path output(ctx.output_path());
    std::string name = output.filename().string();
    if (name.ends_with(".h5")) name.resize(name.size() - 3);
    if (!ctx.run_dir().empty()) return (std::filesystem::path(ctx.run_dir()) / name).string();
    return (output.parent_path() / name).string();
}

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

class TaskFarm final : public pel::Job<Farmed> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("tasks", tasks_path_,
              "file of shell commands, one per line, run with /bin/sh -c; blank lines and lines starting with # are "
              "skipped; a line BARRIER (or #DISBATCH BARRIER) makes the tasks after it wait for all before it; {#} "
              "is the task's number from 1, {%} its slot")
            .path();
        o.add("command", command_,
              "a command template run once per line of --args, GNU parallel's way: {} is the line (shell-quoted), "
              "{#} the task's number from 1, {%} its slot; without {} the line is appended");
        o.add("args", args_path_, "file of arguments for --command, one per line").path();
        o.add("workdir", workdir_,
              "where tasks run: WORKDIR/task-NNNNNN each with --task-dirs (default: OUTPUT without .h5, + .work, in "
              "the run directory when there is one)")
            .path();
        o.add("task-dirs", task_dirs_,
              "a directory per task under WORKDIR (yes), or every task in pel's current directory (no); auto: yes up "
              "to 4096 tasks")
            .choices({"auto", "yes", "no"});
        o.add("logdir", logdir_,
              "where output goes: rank-R.out and rank-R.err per rank, a header line per task (default: OUTPUT "
              "without .h5, + .logs, in the run directory when there is one)")
            .path();
        o.add("task-logs", task_logs_, "write LOGDIR/task-NNNNNN.out and .err per task instead of per rank");
        o.add("joblog", joblog_,
              "GNU parallel's joblog, a row appended as each task ends (default: OUTPUT without .h5, + .joblog.tsv, "
              "in the run directory when there is one)")
            .path();
        o.add("retries", retries_, "run a task that exits non-zero again, up to this many more times").range(0, 1000);
        o.add("task-timeout", task_timeout_s_,
              "seconds after which a task's process group is killed and its exit code is 124 (0: no limit)")
            .range(0, 1e9);
        o.add("halt", halt_spec_,
              "as GNU parallel: never, or now|soon,fail|success|done=N|P%: start no more tasks (soon) and kill the "
              "running ones (now) once N tasks (or P% of them) failed, succeeded or ended");
        o.add("task-threads", task_threads_,
              "CPUs per task: each task is bound to its own T CPUs with OMP_NUM_THREADS=T, and a rank with C CPUs runs "
              "C/T tasks at once (0: tasks share the rank's CPUs, one per thread)")
            .range(0, 4096);
        o.add("keep-env", keep_env_, "pass Slurm's job step variables (SLURM_PROCID, SLURM_STEP_ID, ...) to tasks");
        o.add("failed-from", failed_from_,
              "run only the tasks that failed (or did not run) in a previous run, given by its joblog or its results "
              "file (.h5); the others are marked not run, exit code -1000")
            .path();
    }

    void setup(pel::SetupContext& ctx) override {
        ctx.total_on_every_rank();  // the records' count shapes the results' datasets, created by every rank
        if (!command_.empty() || !args_path_.empty()) {
            if (command_.empty() || args_path_.empty() || !tasks_path_.empty()) {
                throw pel::Error::Usage("taskfarm: --command TEMPLATE and --args FILE go together, without --tasks");
            }
            tasks_ = taskfarm::read_arguments(args_path_, command_);
        } else {
            tasks_ = taskfarm::read_tasks(tasks_path_);
        }
        groups_ = tasks_.back().group + 1;
        tasks_hash_ = taskfarm::hash_tasks(tasks_);
        const std::string base = default_base(ctx);
        if (workdir_.empty()) workdir_ = base + ".work";
        if (logdir_.empty()) logdir_ = base + ".logs";
        if (joblog_.empty()) joblog_ = base + ".joblog.tsv";
        try {  // appended to from every rank: a name that cannot take it (a directory, a FIFO, too long) is said now
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
        task_dirs_on_ = task_dirs_ == "yes" || (task_dirs_ == "auto" && tasks_.size() <= kTaskDirsUpTo);
        selected_.assign(tasks_.size(), 1);
        if (!failed_from_.empty()) select_failed(ctx);
        const auto to_run = static_cast<std::uint64_t>(std::count(selected_.begin(), selected_.end(), 1));
        halt_ = std::make_unique<taskfarm::Halt>(taskfarm::parse_halt(halt_spec()), logdir_, to_run);
        // Every rank makes the directories (they may be node-local); the first failure ends the run on all ranks.
        const bool made_workdir = task_dirs_on_ && make_directory(workdir_, "work directory");
        try {
            make_directory(logdir_, "log directory");
        } catch (const pel::Error&) {
            std::error_code ignored;  // a refused run leaves nothing behind: the work directory it just made goes
            if (made_workdir) std::filesystem::remove(workdir_, ignored);
            throw;
        }
        environment_ = taskfarm::task_environment(environ, keep_env_, static_cast<int>(task_threads_));
        const std::vector<int> cpus = pel::rank_cpus();
        rank_cpus_ = taskfarm::cpu_set_of(cpus);
        if (task_threads_ > 0) {
            slots_ = std::make_unique<taskfarm::Slots>(cpus, static_cast<int>(task_threads_), ctx.rank());
            if (slots_->count() != ctx.threads()) {
                ctx.log("taskfarm: " + std::to_string(slots_->count()) + " tasks of " + std::to_string(task_threads_) +
                        " CPUs fit in this rank's " + std::to_string(cpus.size()) + " CPUs; with " +
                        std::to_string(ctx.threads()) + " threads, " +
                        std::to_string(std::min(slots_->count(), ctx.threads())) + " run at once");
            }
        }
        reaper_ = std::make_unique<taskfarm::Reaper>(static_cast<std::size_t>(ctx.threads()) + 1);
        joblog_writer_ = std::make_unique<taskfarm::Joblog>(joblog_);
        host_ = pel::host_name();
        host_id_ = hash_text(host_);
        const auto n = tasks_.size();
        exit_column_ = ctx.item_output<std::int32_t>(
            "exit_code", n, 1,
            "exit status; -N: killed by signal N; 124: timed out; 127: not runnable; -1000: not run; -1001: not "
            "started (--halt)");
        start_column_ = ctx.item_output<double>("start_time", n, 1, "seconds since the epoch of the first attempt");
        duration_column_ = ctx.item_output<double>("duration_s", n, 1, "seconds from first start to last end");
        attempts_column_ = ctx.item_output<std::int32_t>("attempts", n, 1, "times the task ran");
        rank_column_ = ctx.item_output<std::int32_t>("rank", n, 1, "the rank that ran it (-1: not run)");
        ctx.result_dataset("failed_tasks");
        for (const char* name : {"tasks", "succeeded", "failed", "timed_out", "retried", "not_run", "halted", "joblog"})
            ctx.result_attribute(name);
        ctx.log("taskfarm: " + std::to_string(n) + " tasks in " + std::to_string(groups_) + " group(s), " +
                std::to_string(to_run) + " to run");
    }

    std::optional<pel::Phase> next_phase(const pel::Context& ctx) override {
        if (group_ >= groups_) return std::nullopt;
        if (!started_) start(ctx);
        return pel::Phase{groups_ == 1 ? "tasks" : "group " + std::to_string(group_ + 1), tasks_.size()};
    }

    void process(pel::ItemRange items, Farmed& farmed, pel::ItemSink& out, const pel::Context& ctx) const override {
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            const Task& task = tasks_[i];
            TaskRecord r;
            r.task = i;
            if (task.group < group_) {
                r = earlier_record(i);  // a task of a group before: as it ended then
            } else if (task.group > group_ || selected_[i] == 0) {
                r.exit_code = taskfarm::kNotRun;  // a later group's task runs in its own phase
            } else if (halt_->halted()) {
                r.exit_code = taskfarm::kHalted;
            } else {
                run(i, ctx, r);
                farmed.add_host(host_id_, host_);
                halt_->count(r.exit_code);
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
        ++group_;
    }

    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        const Counts c = counts();
        sink.attribute("tasks", static_cast<std::uint64_t>(tasks_.size()));
        sink.attribute("succeeded", c.succeeded);
        sink.attribute("failed", c.failed);
        sink.attribute("timed_out", c.timed_out);
        sink.attribute("retried", c.retried);
        sink.attribute("not_run", c.not_run);
        sink.attribute("halted", c.halted);
        sink.attribute("joblog", joblog_);
        // Only when a task failed: pel's results file cannot hold an empty dataset (write_whole of 0 elements).
        if (!c.failed_tasks.empty()) {
            sink.dataset<std::uint64_t>("failed_tasks", {c.failed_tasks.size()}, c.failed_tasks,
                                        "tasks that exited non-zero (after every retry), were killed or did not start");
        }
    }

    /// GNU parallel's exit status (the number of failed tasks, at most 100; 101 past that) moved up by 100 into the
    /// codes pel keeps for jobs, and capped lower, so that it never reads as one of pel's own codes (75 would make a
    /// batch script resubmit the farm): 100 + failed tasks, 120 for 20 or more.
    [[nodiscard]] pel::JobOutcome outcome(const pel::Context& /*ctx*/) const override {
        const Counts c = counts();
        std::string line = std::to_string(tasks_.size()) + " tasks: " + std::to_string(c.succeeded) + " succeeded, " +
                           std::to_string(c.failed) + " failed (" + std::to_string(c.timed_out) + " timed out, " +
                           std::to_string(c.killed) + " killed by --halt), " + std::to_string(c.retried) +
                           " retried, " + std::to_string(c.not_run + c.halted) + " skipped (" +
                           std::to_string(c.not_run) + " not selected by --failed-from, " + std::to_string(c.halted) +
                           " not started after --halt)";
        int code = 0;
        const bool success_halt = halt_->rule().why == taskfarm::HaltRule::Why::success && halt_->halted();
        if (c.failed > 0 && !success_halt)
            code = pel::kJobExitFirst - 1 + static_cast<int>(std::min<std::uint64_t>(c.failed, 20));
        line += "; exit code " + std::to_string(code);
        if (c.failed > 0) line += "; failed tasks listed in " + joblog_ + " (rerun them with --failed-from)";
        return {line, code};
    }

    void save_state(pel::OutArchive& out) const override { out(tasks_hash_)(group_)(total_); }
    void load_state(pel::InArchive& in) override {
        std::uint64_t saved_hash = 0;
        in(saved_hash)(group_)(total_);
        if (saved_hash != tasks_hash_) {
            throw pel::Error::Usage("taskfarm: the task file '" + (tasks_path_.empty() ? args_path_ : tasks_path_) +
                                    "' has changed since the checkpoint was written; resume with the same tasks");
        }
        resumed_ = true;
    }

  private:
    /// --halt as given, with its default.
    [[nodiscard]] std::string halt_spec() const { return halt_spec_.empty() ? "never" : halt_spec_; }

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
                // A task a halt kept from starting never ran: it runs now.
                selected_[i] = taskfarm::failed(previous.data[i]) || previous.data[i] == taskfarm::kHalted ? 1 : 0;
            }
        } else {
            selected_ = taskfarm::select_failed(tasks_, taskfarm::read_joblog(failed_from_), failed_from_);
        }
    }

    /// Before the first phase of this run: the logs opened; in a fresh run, rank 0 starts the joblog (with a row
    /// saying done for every task --failed-from does not select, so that a rerun of this joblog skips them too) and
    /// forgets an earlier run's halt.
    void start(const pel::Context& ctx) {
        started_ = true;
        open_rank_logs(ctx);
        if (ctx.rank() != 0 || resumed_) return;
        std::string rows;
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
            if (selected_[i] != 0) continue;
            rows += taskfarm::joblog_row({i + 1, "-", 0, 0, 0, 0, tasks_[i].command});
        }
        joblog_writer_->start(rows);
        halt_->reset();
    }

    /// The record a finished phase left for task `task`.
    [[nodiscard]] TaskRecord earlier_record(std::uint64_t task) const {
        const auto it = std::lower_bound(total_.records.begin(), total_.records.end(), task,
                                         [](const TaskRecord& r, std::uint64_t t) { return r.task < t; });
        if (it != total_.records.end() && it->task == task) return *it;
        TaskRecord given_up;  // its kernel threw and pel gave it up (--on-error skip): a failure
        given_up.task = task;
        given_up.exit_code = taskfarm::kNotRunnable;
        return given_up;
    }

    /// Every task's outcome, counted. A task without a record was given up by pel (--on-error skip): a failure.
    [[nodiscard]] Counts counts() const {
        Counts c;
        for (std::uint64_t t = 0; t < tasks_.size(); ++t) {
            const TaskRecord r = earlier_record(t);
            if (r.attempts > 1) ++c.retried;
            if (r.exit_code == taskfarm::kNotRun) {
                ++c.not_run;
            } else if (r.exit_code == taskfarm::kHalted) {
                ++c.halted;
            } else if (taskfarm::failed(r.exit_code)) {
                ++c.failed;
                c.failed_tasks.push_back(t);
                if ((r.flags & kTimedOut) != 0) ++c.timed_out;
                if ((r.flags & kKilled) != 0) ++c.killed;
            } else {
                ++c.succeeded;
            }
        }
        return c;
    }

    [[nodiscard]] static std::string task_name(std::uint64_t task) {
        char name[32];
        std::snprintf(name, sizeof name, "task-%06llu", static_cast<unsigned long long>(task));
        return name;
    }

    /// Opens this rank's logs: fresh in a new run, appended to when resuming. Rank 0 removes the logs of ranks a
    /// previous run with more ranks left behind.
    void open_rank_logs(const pel::Context& ctx) {
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

    /// Runs task `task` until it succeeds or its retries are used up, filling in `r`; appends its joblog row.
    void run(std::uint64_t task, const pel::Context& ctx, TaskRecord& r) const {
        std::string dir;
        if (task_dirs_on_) {
            dir = workdir_ + "/" + task_name(task);
            if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
                throw pel::Error::Io("taskfarm: cannot create '" + dir + "': " + std::strerror(errno));
            }
        }
        // A slot of its own CPUs with --task-threads; else the thread's slot, on all of the rank's CPUs (a task's
        // own threads are not to be squeezed onto the one core an OpenMP thread of pel may be bound to).
        std::optional<taskfarm::SlotLease> lease;
        if (slots_) lease.emplace(*slots_);
        const int slot = lease ? lease->slot() : ctx.thread();
        taskfarm::Launch l;
        l.command = taskfarm::with_slot(tasks_[task].command, slot + 1);
        l.dir = dir;
        l.env = environment_;
        l.env.push_back("PEL_TASK_ID=" + std::to_string(task));
        l.env.push_back("PEL_TASK_SEQ=" + std::to_string(task + 1));
        l.env.push_back("PEL_TASKS=" + std::to_string(tasks_.size()));
        l.env.push_back("PEL_RANK=" + std::to_string(ctx.rank()));
        l.env.push_back("PEL_THREAD=" + std::to_string(ctx.thread()));
        l.env.push_back("PEL_SLOT=" + std::to_string(slot + 1));
        l.env.push_back("PEL_TASK_ATTEMPT=1");
        l.timeout_s = task_timeout_s_;
        l.cpus = slots_ ? &slots_->cpus(slot) : &rank_cpus_;
        if (halt_->rule().when == taskfarm::HaltRule::When::now) l.kill_now = [this] { return halt_->kill_running(); };
        l.reaper = reaper_.get();
        const auto first_start = std::chrono::steady_clock::now();
        r.start = epoch_seconds();
        r.rank = ctx.rank();
        r.host = host_id_;
        for (int attempt = 1;; ++attempt) {
            l.env.back() = "PEL_TASK_ATTEMPT=" + std::to_string(attempt);
            auto [out, err] = output_files(task);
            l.out_fd = out.get();
            l.err_fd = err.get();
            const auto started = std::chrono::steady_clock::now();
            const taskfarm::Outcome o = taskfarm::launch(l);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (!o.error.empty()) taskfarm::write_all(err.get(), "taskfarm: " + o.error + "\n", "a task's log");
            if (o.timed_out) {
                taskfarm::write_all(err.get(), "taskfarm: killed after " + fixed(task_timeout_s_, 3) + " s\n",
                                    "a task's log");
            }
            if (o.killed) taskfarm::write_all(err.get(), "taskfarm: killed by --halt now\n", "a task's log");
            r.exit_code = o.exit_code;
            r.flags = (o.timed_out ? kTimedOut : 0) | (o.killed ? kKilled : 0);
            r.attempts = attempt;
            r.received = taskfarm::file_size(out.get());
            if (!task_logs_) log_attempt(task, attempt, o, seconds, out.get(), err.get());
            if (o.exit_code == 0 || o.killed || attempt > retries_ || halt_->kill_running()) break;
        }
        r.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_start).count();
        joblog_writer_->append(
            taskfarm::joblog_row({task + 1, host_, r.start, r.duration, r.received, r.exit_code, l.command}));
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
        if (o.killed) header += ", killed by --halt";
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

    // Options.
    std::string tasks_path_;
    std::string command_;
    std::string args_path_;
    std::string workdir_;
    std::string task_dirs_ = "auto";
    std::string logdir_;
    bool task_logs_ = false;
    std::string joblog_;
    std::int64_t retries_ = 0;
    double task_timeout_s_ = 0;
    std::string halt_spec_ = "never";
    std::int64_t task_threads_ = 0;
    bool keep_env_ = false;
    std::string failed_from_;

    // Set up once per rank.
    std::vector<Task> tasks_;
    std::uint32_t groups_ = 1;
    std::uint64_t tasks_hash_ = 0;
    bool task_dirs_on_ = true;
    std::vector<std::uint8_t> selected_;    ///< 1: run the task; 0: mark it not run (--failed-from)
    std::vector<std::string> environment_;  ///< pel's environment less the launcher's (and Slurm's step) variables
    cpu_set_t rank_cpus_{};
    std::unique_ptr<taskfarm::Slots> slots_;  ///< with --task-threads
    std::unique_ptr<taskfarm::Halt> halt_;
    std::unique_ptr<taskfarm::Reaper> reaper_;
    std::unique_ptr<taskfarm::Joblog> joblog_writer_;
    std::string host_;
    std::uint64_t host_id_ = 0;
    pel::ItemColumn<std::int32_t> exit_column_;
    pel::ItemColumn<double> start_column_;
    pel::ItemColumn<double> duration_column_;
    pel::ItemColumn<std::int32_t> attempts_column_;
    pel::ItemColumn<std::int32_t> rank_column_;
    bool resumed_ = false;
    bool started_ = false;
    Fd rank_out_;
    Fd rank_err_;
    mutable std::mutex log_mutex_;  ///< one task's output is appended to the rank's logs at a time

    // Carried between phases and in checkpoints.
    std::uint32_t group_ = 0;  ///< the group of tasks running, one per phase
    Farmed total_;             ///< every task's record, by task, as the last phase left them
};

}  // namespace

PEL_JOB(TaskFarm, "taskfarm", "2.0",
        "runs a shell command per line of a task file (or a template per argument) with per-rank logs, retries, "
        "--halt, BARRIER groups, CPU binding and a GNU parallel joblog")
