// jobs/taskfarm/launch.cpp: vfork and exec of /bin/sh -c, waiting with a time limit, the reaper, and capture files.
#include "launch.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <pel/error.hpp>

namespace taskfarm {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

/// The exit code of a wait status: the exit status, or -N for signal N.
int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return kNotRunnable;
}

/// Everything the child needs, made before vfork: between vfork and exec it may only make system calls.
struct ChildSetup {
    const char* shell = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    const char* dir = nullptr;  ///< null: stay
    int out_fd = -1;
    int err_fd = -1;
    const cpu_set_t* cpus = nullptr;
    pid_t parent = -1;
    volatile int error = 0;       ///< set by the child when it cannot exec (the memory is shared until exec)
    volatile int error_step = 0;  ///< 1: chdir, 2: exec, 3: the standard descriptors
};

/// The child's side, between vfork and exec: system calls only, nothing that allocates or locks.
[[noreturn]] __attribute__((noinline)) void become_task(ChildSetup* c) {
    setpgid(0, 0);
    // SIGKILL when the thread that started it dies; if that already happened, the task must not start at all.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->parent) _exit(kNotRunnable);
    if (c->cpus != nullptr) sched_setaffinity(0, sizeof(cpu_set_t), c->cpus);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (c->dir != nullptr && chdir(c->dir) != 0) {
        c->error = errno;
        c->error_step = 1;
        _exit(kNotRunnable);
    }
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(c->out_fd, STDOUT_FILENO) < 0 ||
        dup2(c->err_fd, STDERR_FILENO) < 0) {
        c->error = errno;
        c->error_step = 3;
        _exit(kNotRunnable);
    }
    // Nothing of pel's (MPI sockets, HDF5 files, other tasks' capture files, the reaper's socket) leaks into the task.
    syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 0);
    execve(c->shell, c->argv, c->envp);
    c->error = errno;
    c->error_step = 2;
    _exit(kNotRunnable);
}

/// Starts the child with vfork: the parent's thread waits until the child has called exec (or given up). Signals
/// are blocked meanwhile, so that none of pel's handlers runs in the child on the shared memory.
pid_t start_task(ChildSetup& c) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = vfork();
    if (pid == 0) become_task(&c);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return pid;
}

/// Ends the task's process group: SIGTERM, then SIGKILL if its shell is still there after `grace_s`.
void kill_group(pid_t pid, double grace_s) {
    killpg(pid, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
    while (std::chrono::steady_clock::now() < until) {
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    killpg(pid, SIGKILL);
}

/// Waits until `pid` has ended, without reaping it (its number stays taken, and so its group's): true if it ended
/// by `deadline`. Sleeps in poll() on a pidfd where the kernel has them (Linux 5.3), else polls with growing pauses.
bool wait_unreaped(pid_t pid, std::chrono::steady_clock::time_point deadline, const Fd& pidfd) {
    using Clock = std::chrono::steady_clock;
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        siginfo_t info{};
        const int rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (rc == 0 && info.si_pid == pid) return true;
        if (rc != 0 && errno != EINTR) return true;  // nothing to wait for: reaping says what
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

/// Reaps `pid`: its exit code.
int reap(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return kNotRunnable;
    }
    return exit_code_of(status);
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

Outcome launch(const Launch& l) {
    std::vector<char*> envp;
    envp.reserve(l.env.size() + 1);
    for (const auto& e : l.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::string shell = "/bin/sh", dash_c = "-c", line = l.command;
    char* argv[] = {shell.data(), dash_c.data(), line.data(), nullptr};
    ChildSetup c;
    c.shell = shell.c_str();
    c.argv = argv;
    c.envp = envp.data();
    c.dir = l.dir.empty() ? nullptr : l.dir.c_str();
    c.out_fd = l.out_fd;
    c.err_fd = l.err_fd;
    c.cpus = l.cpus;
    c.parent = getpid();

    Outcome o;
    const pid_t pid = start_task(c);
    if (pid < 0) {
        o.exit_code = kNotRunnable;
        o.error = "cannot start /bin/sh: " + errno_text(errno);
        return o;
    }
    if (l.reaper != nullptr) l.reaper->track(pid, true);
    if (c.error != 0) {
        reap(pid);
        if (l.reaper != nullptr) l.reaper->track(pid, false);
        o.exit_code = kNotRunnable;
        const char* step = c.error_step == 1   ? "cannot enter"
                           : c.error_step == 2 ? "cannot run /bin/sh in"
                                               : "cannot set up";
        o.error = std::string(step) + " '" + (l.dir.empty() ? std::string(".") : l.dir) + "': " + errno_text(c.error);
        return o;
    }
    using Clock = std::chrono::steady_clock;
    const Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    const auto started = Clock::now();
    const auto limit =
        l.timeout_s > 0
            ? started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(l.timeout_s))
            : Clock::time_point::max();
    for (;;) {
        const auto step = l.kill_now ? std::min(limit, Clock::now() + std::chrono::milliseconds(100)) : limit;
        if (wait_unreaped(pid, step, pidfd)) break;
        if (Clock::now() >= limit) {
            kill_group(pid, 0);
            o.timed_out = true;
            break;
        }
        if (l.kill_now && l.kill_now()) {
            kill_group(pid, 1.0);
            o.killed = true;
            break;
        }
    }
    wait_unreaped(pid, Clock::time_point::max(), pidfd);
    killpg(pid, SIGKILL);  // what the task left running in its group; its number is still the shell's (unreaped)
    if (l.reaper != nullptr) l.reaper->track(pid, false);
    o.exit_code = reap(pid);
    if (o.timed_out) o.exit_code = kTimedOut;
    return o;
}

Reaper::Reaper(std::size_t capacity) {
    // A socket of packets: each message arrives whole, and a write to a dead reaper fails instead of raising SIGPIPE.
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
        throw pel::Error::Io("taskfarm: cannot make a socket pair for the task reaper: " + errno_text(errno));
    }
    // Allocated before fork: the reaper, a copy of a threaded process, must not allocate.
    std::vector<int> groups(capacity + 1, 0);
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        throw pel::Error::Io("taskfarm: cannot fork the task reaper: " + errno_text(errno));
    }
    if (pid == 0) {
        // Its own process group, and deaf to the signals meant for pel: it ends when the socket closes.
        setpgid(0, 0);
        for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE}) signal(sig, SIG_IGN);
        const int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);  // never holding mpirun's output pipes open
        dup2(null, STDERR_FILENO);
        close(fds[1]);
        dup2(fds[0], 3);
        syscall(SYS_close_range, 4, ~0U, 0);
        std::int32_t message[2];
        for (;;) {
            const ssize_t n = recv(3, message, sizeof message, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n != static_cast<ssize_t>(sizeof message)) break;  // the rank has gone
            for (int& g : groups) {
                if (message[1] != 0 ? g == 0 : g == message[0]) {
                    g = message[1] != 0 ? message[0] : 0;
                    break;
                }
            }
        }
        for (int g : groups) {
            if (g > 0) killpg(g, SIGKILL);
        }
        _exit(0);
    }
    close(fds[0]);
    fd_ = fds[1];
    pid_ = pid;
}

Reaper::~Reaper() {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

void Reaper::track(int group, bool running) const {
    const std::int32_t message[2] = {group, running ? 1 : 0};
    while (send(fd_, message, sizeof message, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
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
