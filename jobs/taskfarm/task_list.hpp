// jobs/taskfarm/task_list.hpp: reading a task file (one shell command per line) and a GNU-parallel-style joblog.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace taskfarm {

/// The exit code recorded for a task that was not selected to run (--failed-from): not run, not a failure.
inline constexpr int kNotRun = -1000;

/// One task: a line of the task file.
struct Task {
    std::uint64_t line = 0;  ///< its line number in the task file, from 1
    std::string command;     ///< the line as written (without a trailing '\r')
};

/// The tasks of `path`: every line except blank ones and those whose first non-blank character is '#'. Task i is
/// the i-th such line, from 0. Throws pel::Error::Io if the file cannot be read, pel::Error::Usage if it holds no
/// task.
std::vector<Task> read_tasks(const std::string& path);

/// A 64-bit FNV-1a hash of the commands, to tell a changed task file from the one a checkpoint was made with.
std::uint64_t hash_tasks(const std::vector<Task>& tasks);

/// True if an exit code counts as a failure: non-zero, and not kNotRun.
inline bool failed(int exit_code) { return exit_code != 0 && exit_code != kNotRun; }

/// One row of a joblog, as parsed.
struct JoblogRow {
    std::uint64_t seq = 0;
    int exitval = 0;
    int signal = 0;
    std::string command;
};

/// The rows of joblog `path` (header `Seq Host Starttime JobRuntime Send Receive Exitval Signal Command`,
/// tab-separated). Throws pel::Error::Io if it cannot be read, pel::Error::Usage if it is not a joblog.
std::vector<JoblogRow> read_joblog(const std::string& path);

/// Which of `tasks` to run again after the run that wrote `rows`: those that failed there (Exitval neither 0 nor
/// kNotRun, or a Signal) and those it does not list (never run), like GNU parallel's --resume-failed. A row whose
/// command differs from the task's is a pel::Error::Usage (another task file).
std::vector<std::uint8_t> select_failed(const std::vector<Task>& tasks, const std::vector<JoblogRow>& rows,
                                        const std::string& joblog);

}  // namespace taskfarm
