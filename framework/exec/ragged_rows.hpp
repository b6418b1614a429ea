// exec/ragged_rows.hpp: rows of ragged item outputs (any number of values per item): as a batch collects them, as a
// rank holds them through a phase, how they travel to their owners and in checkpoints, and how they are written.
//
// The layout in the results file (readable without pel), for a ragged output NAME of T over `items` items:
//   NAME/values   T [total]         every item's values, in item order
//   NAME/offsets  u64 [items + 1]   item i's values are values[offsets[i]:offsets[i + 1]]; offsets[0] = 0
// Both depend only on what each item appended, so they are the same on any ranks x threads x chunks x restart.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "exec/job_context.hpp"
#include "io/results_file.hpp"
#include "mpi/comm.hpp"

namespace pel::exec {

/// The ragged rows of some items: sorted, distinct items, each with the bytes of its values, concatenated in item
/// order. Items that appended nothing are absent (an absent item's row is empty).
struct RaggedRows {
    std::vector<std::uint64_t> items;
    std::vector<std::uint64_t> sizes;  ///< per item: the size of its values in bytes
    std::vector<std::byte> values;

    [[nodiscard]] bool empty() const noexcept { return items.empty(); }
};

/// Rows from pieces that share no item, as one, sorted.
RaggedRows merged_rows(std::vector<RaggedRows> pieces);

/// `rows` as a checkpoint's row block. Checkpoints split a column's blocks between ranks only at row boundaries,
/// and a ragged block is one row (count 1, first = its first item) whose bytes are the encoded rows
/// ([n][n items][n sizes][values], u64 in native order), so it always travels whole.
io::RowBlock to_block(const RaggedRows& rows);
/// The rows of `block` (from to_block), each item's values a whole number of `value_bytes`, items below `items`.
/// Throws pel::Error (I/O) naming what is wrong when the bytes are not such rows.
RaggedRows from_block(const io::RowBlock& block, std::size_t value_bytes, std::uint64_t items);

/// Every rank's rows sent to the rank that owns their items (rank r owns [block_start(r), block_start(r + 1)) of
/// `items`, as write_ragged writes them); returns this rank's, sorted. \note collective
RaggedRows to_owners(const mpi::Comm& comm, std::uint64_t items, const std::vector<RaggedRows>& mine);

/// The rows of `output` in checkpoint row blocks `blocks` (to_block), checked. \note collective
RaggedRows rows_of_blocks(const mpi::Comm& comm, const RaggedOutput& output, const std::vector<io::RowBlock>& blocks);

/// Every rank's rows of `output` in row blocks `blocks` sent to their owners: this rank's share, as row blocks again
/// (none when it owns no rows). \note collective
std::vector<io::RowBlock> owned_blocks(const mpi::Comm& comm, const RaggedOutput& output,
                                       const std::vector<io::RowBlock>& blocks);

/// Writes `output` as NAME/values and NAME/offsets from every rank's owned rows (to_owners). \note collective
void write_ragged(io::ResultsFile& out, const mpi::Comm& comm, const RaggedOutput& output, const RaggedRows& owned);

/// What one batch appends, per ragged output, kept apart until the batch ends: a batch that throws leaves nothing.
/// Appends are kept in the order they come (one buffer per output) and sorted by item once, in take(): a map of
/// rows per item cost 5x the kernel of the ragged test job on one rank.
class RaggedBatch {
  public:
    explicit RaggedBatch(std::size_t outputs) : outputs_(outputs) {}
    void append(std::size_t output, std::uint64_t item, std::span<const std::byte> values) {
        Output& o = outputs_[output];
        if (!o.pieces.empty() && item < o.pieces.back().item) o.sorted = false;
        o.pieces.push_back({item, o.bytes.size(), values.size()});
        o.bytes.insert(o.bytes.end(), values.begin(), values.end());
    }
    /// Output `output`'s rows, sorted by item, each item's appends in the order they came.
    [[nodiscard]] RaggedRows take(std::size_t output);
    [[nodiscard]] bool touched(std::size_t output) const { return !outputs_[output].pieces.empty(); }

  private:
    struct Piece {
        std::uint64_t item;
        std::size_t at;  ///< in bytes
        std::size_t size;
    };
    struct Output {
        std::vector<Piece> pieces;
        std::vector<std::byte> bytes;
        bool sorted = true;
    };
    std::vector<Output> outputs_;
};

/// A rank's ragged rows of one round, as its batches finish. Thread-safe.
class RaggedStore {
  public:
    explicit RaggedStore(std::size_t outputs) : pieces_(outputs), wrote_(outputs, false) {}
    /// Keeps what batch `batch` appended.
    void keep(RaggedBatch& batch);
    /// Output `output`'s rows of the round, as one sorted piece. Once, after the round.
    [[nodiscard]] RaggedRows take(std::size_t output);
    /// True if some batch here appended to output `output` (an append of no values counts).
    [[nodiscard]] bool wrote(std::size_t output);

  private:
    std::mutex mutex_;
    std::vector<std::vector<RaggedRows>> pieces_;
    std::vector<bool> wrote_;
};

}  // namespace pel::exec
