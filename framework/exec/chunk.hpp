// exec/chunk.hpp: the chunks a rank receives in a phase. A Chunk is one grant: the cursor its threads claim
// batches from, what was given away to thieves or failed, and its rows of each per-item output. Chunks holds a
// rank's chunks of a phase and the memory of their rows, and hands the rows to the results writer afterwards.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "exec/arena.hpp"
#include "exec/job_context.hpp"
#include "exec/ragged_rows.hpp"
#include "io/results_file.hpp"
#include "pel/job.hpp"

namespace pel::exec {

/// Rows of item outputs this large (bytes, per chunk and output) get a buffer of their own, which goes to the
/// results writer without a copy; smaller ones come from an arena, which saves an allocation per chunk.
constexpr std::size_t kOwnedRows = 64 * 1024;

/// Zeroed buffers of kOwnedRows bytes or more, each its own allocation, handed over whole after the phase.
/// Thread-safe.
class OwnedRows {
  public:
    std::byte* allocate(std::size_t bytes);
    /// The buffer that begins at `rows`, moved out; empty if there is none (rows from an arena, or taken already).
    std::vector<std::byte> take(const std::byte* rows);

  private:
    std::mutex mutex_;
    std::deque<std::vector<std::byte>> buffers_;
    std::unordered_map<const std::byte*, std::size_t> index_;
};

/// Where a chunk's threads get rows they write first: an own buffer when large, else the late arena. Thread-safe.
struct LateRows {
    Arena& arena;
    std::mutex& arena_mutex;
    OwnedRows& owned;
    std::byte* operator()(std::size_t bytes) const;
};

/// A chunk a rank received: its items, the cursor its threads claim from, and its rows of each item output.
/// Claims and steals take the chunk's lock, so an item is either claimed here or given away, never both.
class Chunk {
  public:
    Chunk(ItemRange r, std::atomic<std::byte*>* column_rows)
        : range(r), rows(column_rows), next_(r.begin), end_(r.end) {}

    /// Claims a batch from the front: a share of what is left for one of `threads`, at most `cap` items. Empty when
    /// nothing is left; `drained` tells whether anything is left after it (a steal only ever takes more away).
    ItemRange claim(std::uint64_t threads, std::uint64_t cap, bool& drained);
    /// Gives up the back half of the unclaimed items (nothing if fewer than two are left).
    ItemRange split();
    /// Gives up every unclaimed item (the team's threads are all inside long items: none would start soon).
    ItemRange take_rest();
    /// Items not yet claimed.
    [[nodiscard]] std::uint64_t unclaimed();
    /// Marks a claimed batch whose kernel threw: its items are not done here (they run again elsewhere).
    void fail(ItemRange batch);
    /// The claimed items less the failed batches, as ranges.
    [[nodiscard]] std::vector<ItemRange> done();
    /// The rows of column `c`, zeroed: from `late` on first use by any thread of the team, unless the chunk came
    /// with them.
    std::byte* rows_of(std::size_t c, std::size_t row_bytes, const LateRows& late);

    const ItemRange range;                ///< as granted
    std::atomic<std::byte*>* const rows;  ///< per item output: its rows, null until written

  private:
    std::mutex claim_mutex_;
    std::uint64_t next_;
    std::uint64_t end_;
    std::vector<ItemRange> failed_;
};

/// A rank's chunks of one phase and their rows.
class Chunks {
  public:
    Chunks(const std::vector<Column>& columns, const std::vector<RaggedOutput>& ragged);

    /// A chunk for `range`, with rows for the item outputs written so far in the phase (the others come on first
    /// use), all in one piece of the arena. One thread at a time (the team's lock).
    Chunk& add(ItemRange range);
    /// Chunks received so far. One thread at a time.
    [[nodiscard]] std::size_t count() const noexcept { return chunks_.size(); }

    /// Notes that some thread wrote a row of column `c` here.
    void mark_written(std::size_t c) {
        if (!written_[c].load(std::memory_order_relaxed)) written_[c].store(true, std::memory_order_relaxed);
    }
    /// True if a row of column `c` was written on this rank.
    [[nodiscard]] bool wrote(std::size_t c) const { return written_[c].load(); }
    [[nodiscard]] const LateRows& late() const noexcept { return late_; }
    /// The ragged outputs, and the rows batches appended to them here.
    [[nodiscard]] const std::vector<RaggedOutput>& ragged() const noexcept { return ragged_; }
    [[nodiscard]] RaggedStore& ragged_rows() noexcept { return ragged_rows_; }

    /// The rows of column `c` for the items processed here (every chunk's, less what was stolen or left unclaimed
    /// by a pause), zeros where the kernel wrote none. Once, after the phase.
    [[nodiscard]] std::vector<io::RowBlock> rows(std::size_t c, std::size_t row_bytes);
    /// The items processed here, by chunk. After the phase.
    [[nodiscard]] std::vector<ItemRange> done_ranges();

  private:
    const std::vector<Column>& columns_;
    const std::vector<RaggedOutput>& ragged_;
    RaggedStore ragged_rows_;
    std::deque<Chunk> chunks_;
    Arena arena_;  ///< the chunks' column pointers and the rows they come with
    std::mutex late_rows_mutex_;
    Arena late_rows_;       ///< rows of an item output a chunk's threads wrote first (guarded by late_rows_mutex_)
    OwnedRows owned_rows_;  ///< rows of kOwnedRows bytes or more
    const LateRows late_{late_rows_, late_rows_mutex_, owned_rows_};
    std::unique_ptr<std::atomic<bool>[]> written_;  ///< per item output: some thread here wrote a row of it
};

/// The ItemSink of one batch of items: rows of the batch's chunk, checked against what the job declared.
class BatchSink final : public ItemSink {
  public:
    BatchSink(Chunk& chunk, ItemRange batch, const std::vector<Column>& columns, const Phase& phase, Chunks& chunks)
        : chunk_(chunk),
          batch_(batch),
          columns_(columns),
          phase_(phase),
          chunks_(chunks),
          ragged_(chunks.ragged().size()) {}

    /// Keeps what the batch appended to ragged outputs: once its kernel returned (a batch that throws keeps none).
    void commit() { chunks_.ragged_rows().keep(ragged_); }

  protected:
    std::byte* row_bytes(int column, std::uint64_t item) override;
    void append_bytes(int column, std::uint64_t item, std::span<const std::byte> values) override;

  private:
    Chunk& chunk_;
    ItemRange batch_;
    const std::vector<Column>& columns_;
    const Phase& phase_;
    Chunks& chunks_;
    RaggedBatch ragged_;
};

}  // namespace pel::exec
