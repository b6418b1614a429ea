// exec/clock.hpp: the run's clock, and how a thread waits for a message without starving the working ones.
#pragma once

#include <algorithm>
#include <chrono>
#include <sched.h>
#include <thread>

namespace pel::exec {

/// Seconds on the steady clock: every time in the scheduling and the trace is read from it.
inline double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Waits politely: spins while cores are to spare, else yields and then sleeps with a growing pause, so that many
/// ranks waiting on few cores do not poll the working ones out of the CPU.
class Backoff {
  public:
    explicit Backoff(bool oversubscribed) : oversubscribed_(oversubscribed) {}

    void pause() {
        ++polls_;
        if (!oversubscribed_) {
            if (polls_ % 1024 == 0) sched_yield();
            return;
        }
        if (polls_ < 16) {
            sched_yield();
            return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(std::min<long>(200, 10L << std::min(polls_ - 16, 5))));
    }

  private:
    bool oversubscribed_;
    int polls_ = 0;
};

}  // namespace pel::exec
