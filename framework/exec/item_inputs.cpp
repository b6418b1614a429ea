// exec/item_inputs.cpp: a rank's item inputs and the bytes it holds of them (see item_inputs.hpp).
#include "exec/item_inputs.hpp"

#include <algorithm>

#include "pel/error.hpp"

namespace pel::exec {

namespace {

/// What the calling thread's kernel reads its item inputs from (null: nothing loaded).
thread_local const HeldInputs* current_held = nullptr;

}  // namespace

ItemInputs::~ItemInputs() = default;

std::size_t ItemInputs::checked(int id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= inputs_.size()) {
        throw Error::Failure("item input " + std::to_string(id) + " was never declared (declare it in setup)");
    }
    return static_cast<std::size_t>(id);
}

int ItemInputs::add(const std::string& file, const std::string& dataset, ScalarType type, std::uint64_t rows_per_item,
                    std::uint64_t items) {
    inputs_.push_back(std::make_unique<io::ItemInputFile>(file, dataset, type, rows_per_item, items));
    return static_cast<int>(inputs_.size()) - 1;
}

std::uint64_t ItemInputs::item_bytes() const noexcept {
    std::uint64_t bytes = 0;
    for (const auto& in : inputs_) bytes += in->item_bytes();
    return bytes;
}

void ItemInputs::set_cap(std::uint64_t cap_bytes, int threads) {
    cap_ = cap_bytes;
    const std::uint64_t per_item = item_bytes();
    if (per_item == 0) return;
    const auto t = static_cast<std::uint64_t>(std::max(threads, 1));
    if (cap_ == 0) {
        batch_items_ = std::max<std::uint64_t>(1, kDefaultBatchInputBytes / per_item);
        return;
    }
    if (cap_ / t < per_item) {
        throw Error::Usage("--max-rank-memory " + std::to_string(cap_) + ": one item's inputs take " +
                           std::to_string(per_item) + " bytes on each of " + std::to_string(t) +
                           " threads; the cap must be at least " + std::to_string(per_item * t) + " bytes");
    }
    batch_items_ = std::min(cap_ / t / per_item, std::max<std::uint64_t>(1, kDefaultBatchInputBytes / per_item));
}

void ItemInputs::count(HeldInputs& held, std::uint64_t now_bytes) {
    if (now_bytes > held.counted) {
        const std::uint64_t more = now_bytes - held.counted;
        const std::uint64_t total = held_.fetch_add(more) + more;
        held.counted = now_bytes;
        std::uint64_t peak = peak_.load();
        while (total > peak && !peak_.compare_exchange_weak(peak, total)) {
        }
        if (cap_ > 0 && total > cap_) {
            throw Error::Failure("--max-rank-memory " + std::to_string(cap_) + ": this rank would hold " +
                                 std::to_string(total) + " bytes of item inputs");
        }
    } else {
        held_.fetch_sub(held.counted - now_bytes);
        held.counted = now_bytes;
    }
}

void ItemInputs::load(ItemRange range, HeldInputs& held, bool keep) {
    if (!keep) held.segments.resize(1);
    HeldInputs::Segment& segment = keep ? held.segments.emplace_back() : held.segments.front();
    segment.range = range;
    segment.values.resize(inputs_.size());
    std::uint64_t bytes = 0;
    for (auto& s : held.segments) {
        if (&s == &segment) continue;
        for (const auto& v : s.values) bytes += v.capacity();
    }
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
        const std::size_t need = range.size() * inputs_[i]->item_bytes();
        std::vector<std::byte>& values = segment.values[i];
        // A buffer far larger than needed (a smaller batch late in a phase) is given back, not kept.
        if (values.capacity() > 4 * need) std::vector<std::byte>().swap(values);
        bytes += std::max(values.capacity(), need);
    }
    count(held, bytes);  // before allocating, so that the cap holds
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
        std::vector<std::byte>& values = segment.values[i];
        const std::size_t need = range.size() * inputs_[i]->item_bytes();
        // reserve() takes exactly what is asked for, where resize() may take up to twice the old size: the bytes
        // counted above are the bytes held.
        if (values.capacity() < need) {
            values.clear();
            values.reserve(need);
        }
        values.resize(need);
        const std::lock_guard lock(read_mutex_);
        inputs_[i]->read(range.begin, range.size(), values);
    }
}

void ItemInputs::read(int id, ItemRange range, std::span<std::byte> into) {
    const std::size_t i = checked(id);
    const std::lock_guard lock(read_mutex_);
    inputs_[i]->read(range.begin, range.size(), into);
}

void ItemInputs::release(HeldInputs& held) noexcept {
    held.segments.clear();
    held_.fetch_sub(held.counted);
    held.counted = 0;
}

const std::byte* ItemInputs::values_of(int id, std::uint64_t item) {
    if (current_held != nullptr && id >= 0) {
        for (const HeldInputs::Segment& s : current_held->segments) {
            if (item < s.range.begin || item >= s.range.end || static_cast<std::size_t>(id) >= s.values.size()) {
                continue;
            }
            const std::size_t item_bytes = s.values[static_cast<std::size_t>(id)].size() / s.range.size();
            return s.values[static_cast<std::size_t>(id)].data() + (item - s.range.begin) * item_bytes;
        }
    }
    throw Error::Failure("item input " + std::to_string(id) + " asked for item " + std::to_string(item) +
                         ", which is not one of the items being processed (inputs are read only inside process(), "
                         "for its own items)");
}

ItemInputs::Current::Current(const HeldInputs& held) noexcept : previous_(current_held) { current_held = &held; }

ItemInputs::Current::~Current() { current_held = previous_; }

}  // namespace pel::exec
