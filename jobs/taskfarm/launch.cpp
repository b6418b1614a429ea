// jobs/taskfarm/launch.cpp: posix_spawn of /bin/sh -c, waiting with a time limit, and capture files.
#include "launch.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <pel/error.hpp>

namespace taskfarm {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

/// posix_spawn's file actions and attributes, destroyed on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

/// The exit code of a wait status: the exit status, or -N for signal N.
int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return kNotRunnable;
}

/// Waits for `pid` without a time limit.
int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return kNotRunnable;
    }
    return exit_code_of(status);
}

/// Waits for `pid` for up to `timeout_s` seconds; true (and its exit code in `code`) if it ended in time. Sleeps in
/// poll() on a pidfd where the kernel has them (Linux 5.3), else polls waitpid with growing pauses.
bool wait_for(pid_t pid, double timeout_s, int& code) {
    using Clock = std::chrono::steady_clock;
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    const Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        int status = 0;
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            code = exit_code_of(status);
            return true;
        }
        if (done < 0 && errno != EINTR) {
            code = kNotRunnable;
            return true;
        }
        const auto now = Clock::now();
        if (now >= deadline) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1);
        if (pidfd.valid()) {
            pollfd p{pidfd.get(), POLLIN, 0};
            poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000 * 1000)));
        } else {
            std::this_thread::sleep_for(std::min<Clock::duration>(pause, left));
            pause = std::min(pause * 2, std::chrono::microseconds(20000));
        }
    }
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) close(fd_);
}

Outcome launch(const std::string& command, const std::string& dir, const std::vector<std::string>& env, int out_fd,
               int err_fd, double timeout_s) {
    SpawnSetup s;
    if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&s.actions, dir.c_str());
    posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&s.actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&s.actions, err_fd, STDERR_FILENO);
    // Nothing of pel's (MPI sockets, HDF5 files, other tasks' capture files) leaks into the task.
    posix_spawn_file_actions_addclosefrom_np(&s.actions, STDERR_FILENO + 1);

    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGTTIN, SIGTTOU}) {
        sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigmask(&s.attributes, &none);
    posix_spawnattr_setsigdefault(&s.attributes, &defaults);
    posix_spawnattr_setpgroup(&s.attributes, 0);
    posix_spawnattr_setflags(&s.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::string shell = "/bin/sh", dash_c = "-c", line = command;
    char* argv[] = {shell.data(), dash_c.data(), line.data(), nullptr};

    pid_t pid = -1;
    const int rc = posix_spawn(&pid, shell.c_str(), &s.actions, &s.attributes, argv, envp.data());
    if (rc != 0) {
        Outcome o;
        o.exit_code = kNotRunnable;
        o.error = "cannot start /bin/sh" + (dir.empty() ? std::string() : " in '" + dir + "'") + ": " + errno_text(rc);
        return o;
    }
    Outcome o;
    if (timeout_s <= 0) {
        o.exit_code = wait_for(pid);
    } else if (!wait_for(pid, timeout_s, o.exit_code)) {
        killpg(pid, SIGKILL);  // the shell and everything it started in its group
        wait_for(pid);
        o.exit_code = kTimedOut;
        o.timed_out = true;
    }
    return o;
}

Fd capture_file(const std::string& dir) {
    Fd fd(open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd.valid()) return fd;
    // A file system without O_TMPFILE: a named temporary file, unlinked at once.
    std::string name = dir + "/.taskfarm-capture-XXXXXX";
    fd = Fd(mkostemp(name.data(), O_CLOEXEC));
    if (!fd.valid()) {
        throw pel::Error::Io("taskfarm: cannot create a file for task output in '" + dir + "': " + errno_text(errno));
    }
    unlink(name.c_str());
    return fd;
}

std::uint64_t file_size(int fd) {
    struct stat st {};
    return fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void write_all(int fd, std::string_view text, const std::string& what) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw pel::Error::Io("taskfarm: cannot write " + what + ": " + errno_text(errno));
        done += static_cast<std::size_t>(n);
    }
}

char append_file(int from, int to, const std::string& what) {
    char buffer[1 << 16];
    off_t offset = 0;
    char last = '\n';
    for (;;) {
        const ssize_t n = pread(from, buffer, sizeof buffer, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw pel::Error::Io("taskfarm: cannot read a task's captured output: " + errno_text(errno));
        if (n == 0) return last;
        write_all(to, std::string_view(buffer, static_cast<std::size_t>(n)), what);
        last = buffer[n - 1];
        offset += n;
    }
}

}  // namespace taskfarm
