// exec/signals.cpp: the stop signals' handler sets a flag, nothing more.
#include "exec/signals.hpp"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace pel::exec {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free flag");

extern "C" void note_signal(int sig) {
    // A second SIGTERM means "now": the checkpoint being written is abandoned, the previous one stays valid.
    if (sig == SIGTERM && g_signal.load() == SIGTERM) _exit(128 + SIGTERM);
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
}

int stop_signal() noexcept { return g_signal.load(std::memory_order_relaxed); }

void request_stop(int reason) noexcept {
    int none = 0;
    g_signal.compare_exchange_strong(none, reason);
}

void clear_stop_signal() noexcept { g_signal.store(0); }

}  // namespace pel::exec
