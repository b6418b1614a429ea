// jobs/taskfarm/task_list.hpp: the tasks of a farm: a task file of shell commands (with disBatch's BARRIER lines
// between groups) or a command template applied to each line of an argument file, GNU parallel's replacement
// strings, and reading a joblog back to rerun what failed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taskfarm {

/// The exit code recorded for a task that was not selected to run (--failed-from): not run, not a failure.
inline constexpr int kNotRun = -1000;
/// The exit code recorded for a task that never started because the farm halted (--halt): not a failure either.
inline constexpr int kHalted = -1001;

/// One task.
struct Task {
    std::uint64_t line = 0;   ///< its line in the task (or argument) file, from 1
    std::uint32_t group = 0;  ///< its group: groups run one after the other (a BARRIER line ends one), from 0
    std::string command;      ///< the shell command, {} and {#} replaced; {%} (the slot) is replaced when it runs
};

/// The tasks of task file `path`: every line except blank ones and those whose first non-blank character is '#'.
/// A line `#DISBATCH BARRIER` or `BARRIER` ends a group: the tasks after it start only when every task before it
/// has ended. Task i is the i-th command, from 0; {#} in it becomes i + 1. Throws pel::Error::Io if the file cannot
/// be read, pel::Error::Usage if it holds no task or a disBatch directive other than BARRIER.
std::vector<Task> read_tasks(const std::string& path);

/// The tasks of `command` (GNU parallel's command template) applied to each line of argument file `path`: {} is
/// the line, shell-quoted unless it is plainly safe; {#} the task's number from 1; a template without {} gets the
/// line appended after a space, as GNU parallel does. Every line is an argument (an empty one too).
std::vector<Task> read_arguments(const std::string& path, const std::string& command);

/// `command` with {%} replaced by `slot` (from 1), as the task runs.
std::string with_slot(const std::string& command, int slot);

/// `text` quoted for /bin/sh: as it is when it holds only characters that need no quoting, else in single quotes.
std::string shell_quote(std::string_view text);

/// A 64-bit FNV-1a hash of the commands and their groups, to tell another task list from the one a checkpoint was
/// made with.
std::uint64_t hash_tasks(const std::vector<Task>& tasks);

/// True if an exit code counts as a failure: non-zero, and not kNotRun or kHalted.
inline bool failed(int exit_code) { return exit_code != 0 && exit_code != kNotRun && exit_code != kHalted; }

/// One row of a joblog, as parsed.
struct JoblogRow {
    std::uint64_t seq = 0;  ///< from 1, as GNU parallel numbers jobs
    int exitval = 0;
    int signal = 0;
    std::string command;
};

/// The rows of joblog `path` (header `Seq Host Starttime JobRuntime Send Receive Exitval Signal Command`,
/// tab-separated). Throws pel::Error::Io if it cannot be read, pel::Error::Usage if it is not a joblog.
std::vector<JoblogRow> read_joblog(const std::string& path);

/// Which of `tasks` to run again after the run that wrote `rows`: those whose last row failed (Exitval not 0, or a
/// Signal) and those it does not list (never run), like GNU parallel's --resume-failed. A row whose command is not
/// the task's is a pel::Error::Usage (another task file).
std::vector<std::uint8_t> select_failed(const std::vector<Task>& tasks, const std::vector<JoblogRow>& rows,
                                        const std::string& joblog);

}  // namespace taskfarm
