// jobs/taskfarm/launch.hpp: running one shell command as a child process, safely from many threads at once.
#pragma once

#include <cstdint>
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

/// Runs `/bin/sh -c command` in `dir` (the current directory when empty) with environment `env` ("NAME=value"
/// entries), stdin from /dev/null and stdout and stderr into `out_fd` and `err_fd`, and waits for it. The child
/// gets a process group of its own (so that signals meant for pel do not reach it, and a timeout can end all it
/// started), default signal dispositions, an empty signal mask and no other open descriptors. After `timeout_s`
/// seconds (0: never) its process group is killed. Thread-safe: posix_spawn, never system().
Outcome launch(const std::string& command, const std::string& dir, const std::vector<std::string>& env, int out_fd,
               int err_fd, double timeout_s);

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
