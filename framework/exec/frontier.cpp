// exec/frontier.cpp: a rank's unfinished spawned items (see frontier.hpp).
#include "exec/frontier.hpp"

#include <algorithm>
#include <string>

namespace pel::exec {

Frontier::Frontier(int threads, std::uint32_t spawn_bytes)
    : record_bytes_(sizeof(std::uint32_t) + spawn_bytes), pools_(static_cast<std::size_t>(threads)) {}

bool Frontier::refill(int t, bool holding) {
    const auto n = static_cast<int>(pools_.size());
    std::vector<std::byte>& stack = pools_[static_cast<std::size_t>(t)].stack;
    for (int k = 0; k < n; ++k) {
        Pool& pool = pools_[static_cast<std::size_t>((t + k) % n)];
        if (pool.count.load(std::memory_order_relaxed) == 0) continue;
        const std::lock_guard<std::mutex> hold(pool.lock);
        const std::size_t count = pool.records.size() / record_bytes_;
        if (count == 0) continue;
        const std::size_t taken = (count + 1) / 2;
        const auto end = pool.records.begin() + static_cast<std::ptrdiff_t>(taken * record_bytes_);
        stack.insert(stack.end(), pool.records.begin(), end);
        pool.records.erase(pool.records.begin(), end);
        pool.count.store(count - taken, std::memory_order_relaxed);
        // The items leave the pool and the thread holds them, in one step: work() never passes through 0 on the way.
        work_.fetch_add((holding ? 0 : 1) - static_cast<std::int64_t>(taken), std::memory_order_acq_rel);
        return true;
    }
    if (holding) work_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
}

void Frontier::share(int t) {
    Pool& pool = pools_[static_cast<std::size_t>(t)];
    if (pool.count.load(std::memory_order_relaxed) != 0) return;
    const std::size_t count = pool.stack.size() / record_bytes_;
    const std::size_t given = count / 2;  // the thread keeps at least the newest item
    if (given == 0) return;
    const auto end = pool.stack.begin() + static_cast<std::ptrdiff_t>(given * record_bytes_);
    {
        const std::lock_guard<std::mutex> hold(pool.lock);
        pool.records.insert(pool.records.end(), pool.stack.begin(), end);
        pool.count.store(pool.records.size() / record_bytes_, std::memory_order_relaxed);
        work_.fetch_add(static_cast<std::int64_t>(given), std::memory_order_acq_rel);
    }
    pool.stack.erase(pool.stack.begin(), end);
}

void Frontier::park(int t, bool holding) {
    Pool& pool = pools_[static_cast<std::size_t>(t)];
    const auto count = static_cast<std::int64_t>(pool.stack.size() / record_bytes_);
    {
        const std::lock_guard<std::mutex> hold(pool.lock);
        pool.records.insert(pool.records.end(), pool.stack.begin(), pool.stack.end());
        pool.count.store(pool.records.size() / record_bytes_, std::memory_order_relaxed);
        work_.fetch_add(count - (holding ? 1 : 0), std::memory_order_acq_rel);
    }
    pool.stack.clear();
}

void Frontier::add(std::span<const std::byte> records) {
    const std::size_t count = records.size() / record_bytes_;
    for (std::size_t i = 0; i < count; ++i) {
        const auto record = records.subspan(i * record_bytes_, record_bytes_);
        auto& pool = pools_[i % pools_.size()];
        pool.records.insert(pool.records.end(), record.begin(), record.end());
        pool.count.store(pool.records.size() / record_bytes_, std::memory_order_relaxed);
    }
    work_.fetch_add(static_cast<std::int64_t>(count), std::memory_order_acq_rel);
}

std::vector<std::byte> Frontier::take_oldest(std::uint64_t count) {
    std::vector<std::byte> out;
    std::vector<std::size_t> taken(pools_.size(), 0);  // records taken from the bottom of each pool
    std::uint64_t got = 0;
    for (bool progress = true; got < count && progress;) {
        progress = false;
        for (std::size_t p = 0; p < pools_.size() && got < count; ++p) {
            const auto& records = pools_[p].records;
            if ((taken[p] + 1) * record_bytes_ > records.size()) continue;
            const auto at = records.begin() + static_cast<std::ptrdiff_t>(taken[p] * record_bytes_);
            out.insert(out.end(), at, at + static_cast<std::ptrdiff_t>(record_bytes_));
            ++taken[p];
            ++got;
            progress = true;
        }
    }
    for (std::size_t p = 0; p < pools_.size(); ++p) {
        auto& records = pools_[p].records;
        records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(taken[p] * record_bytes_));
        pools_[p].count.store(records.size() / record_bytes_, std::memory_order_relaxed);
    }
    work_.fetch_sub(static_cast<std::int64_t>(got), std::memory_order_acq_rel);
    return out;
}

std::vector<std::byte> Frontier::saved() const {
    std::vector<std::byte> out;
    for (const Pool& pool : pools_) out.insert(out.end(), pool.records.begin(), pool.records.end());
    return out;
}

std::uint64_t Frontier::queued() const {
    std::uint64_t n = 0;
    for (const Pool& pool : pools_) n += pool.records.size() / record_bytes_;
    return n;
}

void RecordSpawner::spawn(std::span<const std::byte> payload) {
    if (payload.size() > spawn_bytes_) {
        throw Error::Plugin("spawned an item with a payload of " + std::to_string(payload.size()) +
                            " bytes, more than the phase's spawn_bytes (" + std::to_string(spawn_bytes_) + ")");
    }
    const auto size = static_cast<std::uint32_t>(payload.size());
    const std::size_t at = records_.size();
    records_.resize(at + sizeof size + spawn_bytes_);  // zero padding: a saved record's bytes are defined
    std::memcpy(records_.data() + at, &size, sizeof size);
    std::memcpy(records_.data() + at + sizeof size, payload.data(), payload.size());
}

}  // namespace pel::exec
