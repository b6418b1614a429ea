// jobs/taskfarm/slots.hpp: the CPUs of a rank cut into slots of --task-threads CPUs each; a task holds one slot
// while it runs, bound to its CPUs, so a rank with C CPUs runs C / T tasks at once, none sharing a CPU.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <sched.h>
#include <string>
#include <vector>

namespace taskfarm {

/// `cpus` as a cpu_set_t.
cpu_set_t cpu_set_of(const std::vector<int>& cpus);

/// The slots of a rank: slot k is CPUs [k T, (k + 1) T) of its CPUs in order.
class Slots {
  public:
    /// `per_task` CPUs per slot out of `cpus`; throws pel::Error::Usage when not even one slot fits.
    Slots(const std::vector<int>& cpus, int per_task, int rank);

    /// Waits for a free slot and takes it: its number, from 0.
    int take();
    /// Gives slot `slot` back.
    void give(int slot);
    /// The CPUs of slot `slot`.
    [[nodiscard]] const cpu_set_t& cpus(int slot) const { return sets_[static_cast<std::size_t>(slot)]; }
    [[nodiscard]] int count() const noexcept { return static_cast<int>(sets_.size()); }

  private:
    std::vector<cpu_set_t> sets_;
    std::vector<bool> busy_;
    std::mutex mutex_;
    std::condition_variable freed_;
};

/// A slot held for one task's run.
class SlotLease {
  public:
    explicit SlotLease(Slots& slots) : slots_(slots), slot_(slots.take()) {}
    SlotLease(const SlotLease&) = delete;
    SlotLease& operator=(const SlotLease&) = delete;
    ~SlotLease() { slots_.give(slot_); }
    [[nodiscard]] int slot() const noexcept { return slot_; }

  private:
    Slots& slots_;
    int slot_;
};

}  // namespace taskfarm
