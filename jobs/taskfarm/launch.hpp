// jobs/taskfarm/launch.hpp: running one shell command as a child process, safely from many threads at once, bound
// to its CPUs, and never outliving the rank that started it.
#pragma once

#include <cstdint>
#include <functional>
#include <sched.h>
#include <string>
#include <string_view>
#include <vector>

namespace taskfarm {

/// The exit code of a command that timed out, as timeout(1) reports it.
inline constexpr int kTimedOut = 124;
/// The exit code of a command that could not be started, as sh reports a command it cannot find.
inline constexpr int kNotRunnable = 127;

/// How one run of a command ended.
struct Outcome {
    int exit_code = 0;       ///< its exit status; -N when signal N ended it; kTimedOut; kNotRunnable
    bool timed_out = false;  ///< killed (with its process group) after the time limit
    bool killed = false;     ///< killed (with its process group) because Launch::kill_now said so
    std::string error;       ///< why it could not be started (exit_code is then kNotRunnable)
};

/// An open file descriptor, closed when the object goes.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_ = -1;
};

class Reaper;

/// What to run and how: `/bin/sh -c command` in `dir` (the current directory when empty) with environment `env`
/// ("NAME=value" entries), stdin from /dev/null, stdout and stderr into `out_fd` and `err_fd`.
struct Launch {
    std::string command;
    std::string dir;
    std::vector<std::string> env;
    int out_fd = -1;
    int err_fd = -1;
    double timeout_s = 0;             ///< its process group is killed after this many seconds (0: never)
    const cpu_set_t* cpus = nullptr;  ///< the CPUs it may run on (none: those of pel's process when it started)
    /// Looked at every tenth of a second while it runs: true kills its process group (SIGTERM, SIGKILL 1 s later).
    std::function<bool()> kill_now;
    /// Told the process group as it starts and before it is reaped, so that it can be killed if pel dies first.
    const Reaper* reaper = nullptr;
};

/// Runs `l` and waits for it. The child gets a process group of its own (so that signals meant for pel do not reach
/// it, and a time limit can end all it started), SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG),
/// default signal dispositions, an empty signal mask, no other open descriptors, and `l.cpus` as its affinity. When
/// its shell ends, what it left running in its process group is killed, before the shell is reaped (so that the
/// group's number cannot have been reused). Thread-safe: vfork and exec, with only system calls in between.
Outcome launch(const Launch& l);

/// A process forked from a rank that outlives it just long enough to kill the process groups of the tasks it was
/// running: when the rank ends in any way (a crash, SIGKILL, a second SIGTERM), the socket it writes to closes, and the
/// reaper kills every task group still registered. Without it, a task's grandchildren would outlive pel and could run
/// beside the same task started again on resume.
class Reaper {
  public:
    /// Forks the reaper, which can follow up to `capacity` tasks at once. Throws pel::Error::Io.
    explicit Reaper(std::size_t capacity);
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;
    /// Closes the socket (the reaper kills what is registered, none in a run that ended well) and reaps it.
    ~Reaper();

    /// Registers (true) or forgets (false) the process group `group`. Thread-safe (one message on a socket).
    void track(int group, bool running) const;

  private:
    int fd_ = -1;
    int pid_ = -1;
};

/// A new anonymous file in `dir` for capturing a command's output: gone when closed. Throws pel::Error::Io.
Fd capture_file(const std::string& dir);

/// The size of the file open as `fd`, in bytes.
std::uint64_t file_size(int fd);

/// Appends the whole of the file open as `from` to `to` (from offset 0); returns its last byte ('\n' if empty).
/// Throws pel::Error::Io naming `what` on failure.
char append_file(int from, int to, const std::string& what);

/// Writes all of `text` to `fd`; throws pel::Error::Io naming `what` on failure.
void write_all(int fd, std::string_view text, const std::string& what);

}  // namespace taskfarm
