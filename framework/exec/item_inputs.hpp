// exec/item_inputs.hpp: a rank's item inputs (pel::ItemInput): the datasets the job declared, open on this rank,
// and the values each thread holds for the batch it runs, counted against --max-rank-memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/item_input.hpp"
#include "pel/types.hpp"

namespace pel::exec {

/// Without --max-rank-memory, a thread's batch holds at most this many bytes of item inputs (a batch is cut to fit).
constexpr std::uint64_t kDefaultBatchInputBytes = 8u << 20;

/// The values of every item input for some ranges of items, read by one thread (a team thread: its batch).
struct HeldInputs {
    /// One range of items and, per input, its values.
    struct Segment {
        ItemRange range;
        std::vector<std::vector<std::byte>> values;  ///< per input: range.size() x its item bytes
    };
    std::vector<Segment> segments;
    std::uint64_t counted = 0;  ///< bytes counted against the rank's cap (the buffers' capacity)
};

/// The item inputs of a run on this rank. Declaring is done in setup (one thread); loading by any team thread.
class ItemInputs {
  public:
    ItemInputs() = default;
    ItemInputs(const ItemInputs&) = delete;
    ItemInputs& operator=(const ItemInputs&) = delete;
    ~ItemInputs();

    /// Opens and checks an input (see io::ItemInputFile); returns its id. Not collective: the caller agrees.
    int add(const std::string& file, const std::string& dataset, ScalarType type, std::uint64_t rows_per_item,
            std::uint64_t items);
    [[nodiscard]] bool empty() const noexcept { return inputs_.empty(); }
    [[nodiscard]] const io::ItemInputShape& shape(int id) const { return inputs_.at(checked(id))->shape(); }
    /// Bytes of one item's values over every input.
    [[nodiscard]] std::uint64_t item_bytes() const noexcept;

    /// Sets the rank's cap on item input bytes held (0: none) for `threads` threads; a cap too small for one item
    /// per thread is a usage error naming what it would need.
    void set_cap(std::uint64_t cap_bytes, int threads);
    /// The most items one thread's batch may have so that its inputs fit its share of the cap.
    [[nodiscard]] std::uint64_t batch_items() const noexcept { return batch_items_; }

    /// Reads the values of `range` for every input into `held`, replacing what it held (`keep`: adding a segment
    /// instead). Thread-safe (HDF5 reads take a lock). Fails naming the cap if the rank would hold more than it.
    void load(ItemRange range, HeldInputs& held, bool keep = false);
    /// Reads the values of `range` of input `id` into `into`. Thread-safe.
    void read(int id, ItemRange range, std::span<std::byte> into);
    /// Gives `held`'s buffers back (their bytes no longer count).
    void release(HeldInputs& held) noexcept;

    /// The most bytes of item inputs this rank held at once.
    [[nodiscard]] std::uint64_t peak_bytes() const noexcept { return peak_.load(); }

    /// The bytes of input `id` for `item`, from what the calling thread holds (see Current).
    [[nodiscard]] static const std::byte* values_of(int id, std::uint64_t item);

    /// Makes `held` what the calling thread's kernel reads (Context::input) while this lives.
    class Current {
      public:
        explicit Current(const HeldInputs& held) noexcept;
        ~Current();
        Current(const Current&) = delete;
        Current& operator=(const Current&) = delete;

      private:
        const HeldInputs* previous_;
    };

  private:
    [[nodiscard]] std::size_t checked(int id) const;
    void count(HeldInputs& held, std::uint64_t now_bytes);

    std::vector<std::unique_ptr<io::ItemInputFile>> inputs_;
    std::mutex read_mutex_;  ///< HDF5 is not thread-safe here: one read at a time
    std::uint64_t cap_ = 0;
    std::uint64_t batch_items_ = UINT64_MAX;
    std::atomic<std::uint64_t> held_{0};
    std::atomic<std::uint64_t> peak_{0};
};

}  // namespace pel::exec
