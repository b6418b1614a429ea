// exec/signals.cpp: the stop signals' handler sets a flag, nothing more.
#include "exec/signals.hpp"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <unistd.h>

namespace pel::exec {

namespace {

std::atomic<int> g_signal{0};
std::atomic<std::int64_t> g_first_term_ms{0};  ///< CLOCK_MONOTONIC ms of the first SIGTERM or SIGINT; 0: none yet
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free flag");
static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the handler needs a lock-free time");

/// A second SIGTERM this soon after the first is the same request arriving by another path: on `scancel` Slurm
/// signals every process of the job, and srun (or a batch script) passes the same TERM on, so a rank gets two
/// within milliseconds. Only a TERM sent later, by someone who waited, means "now".
constexpr std::int64_t kSameTermMs = 2000;

std::int64_t monotonic_ms() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);  // async-signal-safe
    return std::int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

extern "C" void note_signal(int sig) {
    if (sig == SIGTERM || sig == SIGINT) {
        // A second SIGTERM (or Ctrl-C) means "now": the checkpoint being written is abandoned, the previous one stays
        // valid.
        const std::int64_t now = monotonic_ms();
        std::int64_t first = 0;
        if (!g_first_term_ms.compare_exchange_strong(first, now) && now - first >= kSameTermMs) {
            _exit(128 + sig);
        }
    }
    g_signal.store(sig);
}

}  // namespace

void install_stop_signals() {
    struct sigaction action {};
    action.sa_handler = note_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    // Ctrl-C at a terminal is a stop like any other: hours of work end in a checkpoint, not in a lost run.
    sigaction(SIGINT, &action, nullptr);
    // A mask is inherited across exec: pel.sbatch starts mpirun with SIGTERM blocked (so that mpirun does not kill
    // the ranks on `scancel`), and pel must still hear its own TERM.
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGUSR1);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &stops, nullptr);
}

int stop_signal() noexcept { return g_signal.load(std::memory_order_relaxed); }

void request_stop(int reason) noexcept {
    int none = 0;
    g_signal.compare_exchange_strong(none, reason);
}

void forget_job_stop() noexcept {
    int job = kJobStop;
    g_signal.compare_exchange_strong(job, 0);
}

void clear_stop_signal() noexcept {
    g_signal.store(0);
    g_first_term_ms.store(0);
}

}  // namespace pel::exec
