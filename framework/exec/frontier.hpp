// exec/frontier.hpp: a rank's spawned items not yet run in a dynamic phase. During an epoch each thread works its own
// stack, with no lock: it runs the newest item (depth first, so that the stack stays small) and pushes what it spawns;
// when another thread is hungry it moves the oldest half of its stack (the items nearest the root of what it works
// on, which carry the most work) to its pool, where others take them under the pool's lock. One count (pooled items
// plus threads holding a stack) says exactly when the rank is out of work, without a shared write per item. Between
// epochs every item sits in a pool. No MPI: the dynamic phase (exec/dynamic_phase.hpp) moves items between ranks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include "pel/job.hpp"

namespace pel::exec {

/// The unfinished items of one rank, as fixed-size records: a 4-byte payload length, then the payload.
class Frontier {
  public:
    Frontier(int threads, std::uint32_t spawn_bytes);

    /// Bytes of one record.
    [[nodiscard]] std::size_t record_bytes() const noexcept { return record_bytes_; }
    /// Items in pools plus threads holding items of their own: 0 means the rank has no work, and stays 0 until items
    /// are added from outside (only a thread holding items spawns).
    [[nodiscard]] std::int64_t work() const noexcept { return work_.load(std::memory_order_acquire); }

    // ----- During an epoch, by thread t -----

    /// Thread t's own stack of records (oldest first); only t touches it during an epoch.
    std::vector<std::byte>& stack(int t) noexcept { return pools_[static_cast<std::size_t>(t)].stack; }
    /// Thread t, with an empty stack, takes half of the items of its own pool or else of another's (rounded up, so
    /// a lone item moves too) onto its stack; false if every pool is empty. Called with `holding` true while t still
    /// counts as holding items (its stack just ran out), which it then stops doing whether or not it finds more.
    bool refill(int t, bool holding);
    /// True if some thread has found nothing to take.
    [[nodiscard]] bool hungry() const noexcept { return hungry_.load(std::memory_order_relaxed) > 0; }
    /// Thread t says it is hungry (true) or no longer (false).
    void set_hungry(bool hungry) noexcept { hungry_.fetch_add(hungry ? 1 : -1, std::memory_order_relaxed); }
    /// Thread t, holding items while another is hungry: moves the oldest half of its stack to its pool, if its pool
    /// is empty (what it gave before has not been taken yet otherwise).
    void share(int t);
    /// Thread t at the end of an epoch: its stack goes to its pool, and it holds nothing.
    void park(int t, bool holding);

    // ----- Between epochs, with no thread running -----

    /// Adds whole records (from a checkpoint, another rank or seed()), spread over the pools.
    void add(std::span<const std::byte> records);
    /// Removes up to `count` of the oldest records, taken in turn from each pool, and returns them.
    std::vector<std::byte> take_oldest(std::uint64_t count);
    /// Every queued record (the pools unchanged).
    [[nodiscard]] std::vector<std::byte> saved() const;
    /// Records queued.
    [[nodiscard]] std::uint64_t queued() const;

  private:
    /// One thread's stack and pool; on their own cache lines.
    struct alignas(64) Pool {
        std::vector<std::byte> stack;       ///< the thread's own (no lock)
        mutable std::mutex lock;            ///< guards records
        std::vector<std::byte> records;     ///< shared, oldest first
        std::atomic<std::size_t> count{0};  ///< records.size() / record_bytes, read without the lock
    };

    std::size_t record_bytes_;
    std::vector<Pool> pools_;
    alignas(64) std::atomic<std::int64_t> work_{0};
    alignas(64) std::atomic<int> hungry_{0};
};

/// The Spawner an item's kernel sees: checks and frames each payload as a record, appended to `records`.
class RecordSpawner final : public Spawner {
  public:
    RecordSpawner(std::uint32_t spawn_bytes, std::vector<std::byte>& records)
        : spawn_bytes_(spawn_bytes), records_(records) {}
    void spawn(std::span<const std::byte> payload) override;

  private:
    std::uint32_t spawn_bytes_;
    std::vector<std::byte>& records_;
};

/// The payload of a record.
inline std::span<const std::byte> record_payload(std::span<const std::byte> record) {
    std::uint32_t size = 0;
    std::memcpy(&size, record.data(), sizeof size);
    return record.subspan(sizeof size, size);
}

}  // namespace pel::exec
