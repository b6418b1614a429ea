// exec/chunk.cpp: a rank's chunks and their rows (see chunk.hpp).
#include "exec/chunk.hpp"

#include <algorithm>

namespace pel::exec {

std::byte* OwnedRows::allocate(std::size_t bytes) {
    const std::lock_guard lock(mutex_);
    std::vector<std::byte>& buffer = buffers_.emplace_back(bytes);
    index_[buffer.data()] = buffers_.size() - 1;
    return buffer.data();
}

std::vector<std::byte> OwnedRows::take(const std::byte* rows) {
    const std::lock_guard lock(mutex_);
    const auto found = index_.find(rows);
    if (found == index_.end()) return {};
    std::vector<std::byte> buffer = std::move(buffers_[found->second]);
    index_.erase(found);
    return buffer;
}

std::byte* LateRows::operator()(std::size_t bytes) const {
    if (bytes >= kOwnedRows) return owned.allocate(bytes);
    const std::lock_guard lock(arena_mutex);
    return arena.allocate(bytes);
}

ItemRange Chunk::claim(std::uint64_t threads, std::uint64_t cap, bool& drained) {
    const std::lock_guard lock(claim_mutex_);
    const std::uint64_t grain =
        std::clamp<std::uint64_t>((end_ - next_) / (2 * threads), 1, std::max<std::uint64_t>(cap, 1));
    const ItemRange batch{next_, std::min(next_ + grain, end_)};
    next_ = batch.end;
    drained = next_ == end_;
    return batch;
}

ItemRange Chunk::split() {
    const std::lock_guard lock(claim_mutex_);
    const std::uint64_t left = end_ - next_;
    if (left < 2) return {};
    const ItemRange given{next_ + (left + 1) / 2, end_};
    end_ = given.begin;
    return given;
}

ItemRange Chunk::take_rest() {
    const std::lock_guard lock(claim_mutex_);
    const ItemRange given{next_, end_};
    end_ = next_;
    return given;
}

std::uint64_t Chunk::unclaimed() {
    const std::lock_guard lock(claim_mutex_);
    return end_ - next_;
}

void Chunk::fail(ItemRange batch) {
    const std::lock_guard lock(claim_mutex_);
    failed_.push_back(batch);
}

std::vector<ItemRange> Chunk::done() {
    const std::lock_guard lock(claim_mutex_);
    std::vector<ItemRange> holes = failed_;
    std::sort(holes.begin(), holes.end(), [](ItemRange a, ItemRange b) { return a.begin < b.begin; });
    std::vector<ItemRange> out;
    std::uint64_t from = range.begin;
    for (const ItemRange& h : holes) {
        if (h.begin > from) out.push_back({from, h.begin});
        from = std::max(from, h.end);
    }
    if (next_ > from) out.push_back({from, next_});
    return out;
}

std::byte* Chunk::rows_of(std::size_t c, std::size_t row_bytes, const LateRows& late) {
    std::byte* mine = rows[c].load(std::memory_order_acquire);
    if (mine != nullptr) return mine;
    std::byte* fresh = late(range.size() * row_bytes);
    if (rows[c].compare_exchange_strong(mine, fresh, std::memory_order_acq_rel)) return fresh;
    return mine;  // another thread was first: `fresh` stays unused until the phase ends
}

Chunks::Chunks(const std::vector<Column>& columns, const std::vector<RaggedOutput>& ragged)
    : columns_(columns),
      ragged_(ragged),
      ragged_rows_(ragged.size()),
      written_(std::make_unique<std::atomic<bool>[]>(columns.size())) {}

Chunk& Chunks::add(ItemRange range) {
    if (columns_.empty()) return chunks_.emplace_back(range, nullptr);
    const auto aligned = [](std::size_t n) { return (n + Arena::kAlign - 1) / Arena::kAlign * Arena::kAlign; };
    const std::size_t header = aligned(columns_.size() * sizeof(std::atomic<std::byte*>));
    const auto size = [&](std::size_t c) { return range.size() * columns_[c].row_bytes; };
    std::size_t bytes = header;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        if (written_[c].load(std::memory_order_relaxed) && size(c) < kOwnedRows) bytes += aligned(size(c));
    }
    std::byte* piece = arena_.allocate(bytes);
    auto* rows = reinterpret_cast<std::atomic<std::byte*>*>(piece);
    std::byte* next = piece + header;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        std::byte* mine = nullptr;
        if (written_[c].load(std::memory_order_relaxed)) {
            if (size(c) >= kOwnedRows) {
                mine = owned_rows_.allocate(size(c));
            } else {
                mine = next;
                next += aligned(size(c));
            }
        }
        new (&rows[c]) std::atomic<std::byte*>(mine);
    }
    return chunks_.emplace_back(range, rows);
}

std::vector<io::RowBlock> Chunks::rows(std::size_t c, std::size_t row_bytes) {
    std::vector<io::RowBlock> blocks;
    for (auto& chunk : chunks_) {
        const std::byte* bytes = chunk.rows != nullptr ? chunk.rows[c].load() : nullptr;
        const std::vector<ItemRange> done = chunk.done();
        if (bytes != nullptr && done.size() == 1 && done[0].begin == chunk.range.begin) {
            if (std::vector<std::byte> own = owned_rows_.take(bytes); !own.empty()) {  // no copy
                own.resize(done[0].size() * row_bytes);
                blocks.push_back({done[0].begin, done[0].size(), std::move(own)});
                continue;
            }
        }
        for (const ItemRange& d : done) {  // one range, or several around failed batches
            if (bytes == nullptr) {
                blocks.push_back({d.begin, d.size(), std::vector<std::byte>(d.size() * row_bytes)});
                continue;
            }
            const std::byte* from = bytes + (d.begin - chunk.range.begin) * row_bytes;
            blocks.push_back({d.begin, d.size(), std::vector<std::byte>(from, from + d.size() * row_bytes)});
        }
    }
    return blocks;
}

std::vector<ItemRange> Chunks::done_ranges() {
    std::vector<ItemRange> done;
    for (auto& chunk : chunks_) {
        for (const ItemRange& d : chunk.done()) done.push_back(d);
    }
    return done;
}

std::byte* BatchSink::row_bytes(int column, std::uint64_t item) {
    if (column < 0 || static_cast<std::size_t>(column) >= columns_.size()) {
        throw Error::Failure("the job wrote to an item output it did not declare");
    }
    const Column& c = columns_[static_cast<std::size_t>(column)];
    if (c.items != phase_.items) {
        throw Error::Failure("item output '" + c.name + "' has " + std::to_string(c.items) + " rows but phase '" +
                             phase_.name + "' has " + std::to_string(phase_.items) + " items");
    }
    if (item < batch_.begin || item >= batch_.end) {
        throw Error::Failure("the job wrote row " + std::to_string(item) + " of '" + c.name +
                             "' outside the items it was given");
    }
    const auto col = static_cast<std::size_t>(column);
    chunks_.mark_written(col);
    return chunk_.rows_of(col, c.row_bytes, chunks_.late()) + (item - chunk_.range.begin) * c.row_bytes;
}

}  // namespace pel::exec

namespace pel::exec {

void BatchSink::append_bytes(int column, std::uint64_t item, std::span<const std::byte> values) {
    const auto& outputs = chunks_.ragged();
    if (column < 0 || static_cast<std::size_t>(column) >= outputs.size()) {
        throw Error::Failure("the job appended to a ragged output it did not declare");
    }
    const RaggedOutput& o = outputs[static_cast<std::size_t>(column)];
    if (o.items != phase_.items) {
        throw Error::Failure("ragged output '" + o.name + "' has " + std::to_string(o.items) + " rows but phase '" +
                             phase_.name + "' has " + std::to_string(phase_.items) + " items");
    }
    if (item < batch_.begin || item >= batch_.end) {
        throw Error::Failure("the job appended to row " + std::to_string(item) + " of '" + o.name +
                             "' outside the items it was given");
    }
    ragged_.append(static_cast<std::size_t>(column), item, values);
}

}  // namespace pel::exec
