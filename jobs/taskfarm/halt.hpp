// jobs/taskfarm/halt.hpp: --halt as GNU parallel has it: stop starting tasks (soon) or kill the running ones too
// (now) once a number or a percentage of the tasks have failed, succeeded or ended.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace taskfarm {

/// When to halt, as parsed from GNU parallel's syntax: `never`, `now|soon,fail|success|done=N|P%`, or the old
/// numbers 0 (never), 1 (soon,fail=1), 2 (now,fail=1), -1 (soon,success=1), -2 (now,success=1), P% (soon,fail=P%).
struct HaltRule {
    enum class When { never, soon, now };
    enum class Why { fail, success, done };
    When when = When::never;
    Why why = Why::fail;
    double count = 0;  ///< tasks, or percent of the tasks when `percent`
    bool percent = false;
};

/// `spec` as a HaltRule; pel::Error::Usage naming what is wrong.
HaltRule parse_halt(const std::string& spec);

/// A farm's halt, shared by every rank through files in a directory they all see (the log directory): one counter
/// file per kind of end, a byte appended per task (O_APPEND: the size is the count over all ranks), and a marker file
/// made by the first rank to see the count reached, which every rank looks for before it starts a task (and, with
/// `now`, while its tasks run).
class Halt {
  public:
    /// `tasks`: how many tasks the farm runs (what a percentage is of).
    Halt(HaltRule rule, std::string dir, std::uint64_t tasks);
    Halt(const Halt&) = delete;
    Halt& operator=(const Halt&) = delete;
    ~Halt();

    /// A fresh run: forgets the counts and the marker of an earlier run in the same directory (rank 0, before any
    /// task starts).
    void reset() const;
    /// Counts a task that ended with `exit_code` (after its retries); makes the marker when the rule is met.
    /// Thread-safe.
    void count(int exit_code);
    /// True once the farm halts: start no more tasks.
    [[nodiscard]] bool halted() const;
    /// True once the farm halts `now`: kill the running tasks too.
    [[nodiscard]] bool kill_running() const { return rule_.when == HaltRule::When::now && halted(); }
    [[nodiscard]] const HaltRule& rule() const noexcept { return rule_; }

  private:
    [[nodiscard]] std::string counter(HaltRule::Why why) const;

    HaltRule rule_;
    std::string dir_;
    std::uint64_t threshold_ = 0;
    std::mutex mutex_;
    int fd_ = -1;  ///< the counter this rank appends to
    mutable std::atomic<bool> halted_{false};
};

}  // namespace taskfarm
