// exec/ragged_rows.cpp: ragged item outputs' rows (see ragged_rows.hpp).
#include "exec/ragged_rows.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "pel/error.hpp"

namespace pel::exec {

namespace {

void put(std::vector<std::byte>& to, std::uint64_t value) {
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    to.insert(to.end(), p, p + sizeof value);
}

std::uint64_t get(std::span<const std::byte> from, std::size_t at) {
    std::uint64_t value = 0;
    std::memcpy(&value, from.data() + at, sizeof value);
    return value;
}

/// `rows` encoded: [n][n items][n sizes][values].
std::vector<std::byte> encode(const RaggedRows& rows) {
    std::vector<std::byte> bytes;
    bytes.reserve(8 * (1 + 2 * rows.items.size()) + rows.values.size());
    put(bytes, rows.items.size());
    for (const std::uint64_t item : rows.items) put(bytes, item);
    for (const std::uint64_t size : rows.sizes) put(bytes, size);
    bytes.insert(bytes.end(), rows.values.begin(), rows.values.end());
    return bytes;
}

/// The rows encoded in `bytes`; what is wrong with them is said as coming from `what`.
RaggedRows decode(std::span<const std::byte> bytes, std::size_t value_bytes, std::uint64_t items,
                  const std::string& what) {
    const auto bad = [&](const std::string& why) { return Error::Io(what + ": ragged rows are corrupt: " + why); };
    if (bytes.size() < 8) throw bad("fewer than 8 bytes");
    const std::uint64_t n = get(bytes, 0);
    if (n > (bytes.size() - 8) / 16)
        throw bad(std::to_string(n) + " items in " + std::to_string(bytes.size()) + " bytes");
    RaggedRows rows;
    rows.items.resize(n);
    rows.sizes.resize(n);
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        rows.items[i] = get(bytes, 8 + 8 * i);
        rows.sizes[i] = get(bytes, 8 + 8 * (n + i));
        if (rows.items[i] >= items) throw bad("item " + std::to_string(rows.items[i]) + " of " + std::to_string(items));
        if (i > 0 && rows.items[i] <= rows.items[i - 1]) throw bad("items out of order");
        if (rows.sizes[i] % value_bytes != 0 || rows.sizes[i] > bytes.size()) {
            throw bad(std::to_string(rows.sizes[i]) + " bytes for an item");
        }
        total += rows.sizes[i];
    }
    const std::size_t head = 8 + 16 * n;
    if (total != bytes.size() - head) throw bad("sizes do not add up to the values");
    rows.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(head), bytes.end());
    return rows;
}

/// Appends rows [from, to) of `rows` to `into`, whose items are all below them.
void append_rows(RaggedRows& into, const RaggedRows& rows, std::size_t from, std::size_t to, std::uint64_t at) {
    std::uint64_t bytes = 0;
    for (std::size_t i = from; i < to; ++i) {
        into.items.push_back(rows.items[i]);
        into.sizes.push_back(rows.sizes[i]);
        bytes += rows.sizes[i];
    }
    const auto begin = rows.values.begin() + static_cast<std::ptrdiff_t>(at);
    into.values.insert(into.values.end(), begin, begin + static_cast<std::ptrdiff_t>(bytes));
}

}  // namespace

RaggedRows merged_rows(std::vector<RaggedRows> pieces) {
    std::erase_if(pieces, [](const RaggedRows& p) { return p.empty(); });
    if (pieces.size() == 1) return std::move(pieces.front());
    // Pieces are sorted within; order them by first item, then check they interleave nowhere (the usual case: a
    // piece per batch or per chunk). Otherwise sort every row.
    std::sort(pieces.begin(), pieces.end(),
              [](const RaggedRows& a, const RaggedRows& b) { return a.items.front() < b.items.front(); });
    bool disjoint = true;
    for (std::size_t p = 1; p < pieces.size(); ++p)
        disjoint = disjoint && pieces[p - 1].items.back() < pieces[p].items.front();
    RaggedRows out;
    if (disjoint) {
        for (const RaggedRows& p : pieces) append_rows(out, p, 0, p.items.size(), 0);
        return out;
    }
    struct Row {
        std::uint64_t item;
        std::size_t piece;
        std::size_t index;
        std::uint64_t at;
    };
    std::vector<Row> all;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
        std::uint64_t at = 0;
        for (std::size_t i = 0; i < pieces[p].items.size(); ++i) {
            all.push_back({pieces[p].items[i], p, i, at});
            at += pieces[p].sizes[i];
        }
    }
    std::sort(all.begin(), all.end(), [](const Row& a, const Row& b) { return a.item < b.item; });
    for (std::size_t i = 1; i < all.size(); ++i) {
        if (all[i].item == all[i - 1].item) {
            throw Error::Internal("ragged rows of item " + std::to_string(all[i].item) + " come twice");
        }
    }
    for (const Row& r : all) append_rows(out, pieces[r.piece], r.index, r.index + 1, r.at);
    return out;
}

io::RowBlock to_block(const RaggedRows& rows) { return {rows.items.empty() ? 0 : rows.items.front(), 1, encode(rows)}; }

RaggedRows from_block(const io::RowBlock& block, std::size_t value_bytes, std::uint64_t items) {
    if (block.count != 1)
        throw Error::Io("a checkpoint's ragged row block holds " + std::to_string(block.count) + " rows, not 1");
    return decode(block.bytes, value_bytes, items, "a checkpoint");
}

RaggedRows to_owners(const mpi::Comm& comm, std::uint64_t items, const std::vector<RaggedRows>& mine) {
    const auto ranks = static_cast<std::uint64_t>(comm.size());
    std::vector<RaggedRows> outgoing(ranks);
    for (const RaggedRows& rows : mine) {
        std::uint64_t at = 0;
        std::size_t i = 0;
        while (i < rows.items.size()) {
            // The owner of rows.items[i]: the last rank whose block starts at or before it.
            std::uint64_t owner = std::min(ranks - 1, rows.items[i] * ranks / std::max<std::uint64_t>(items, 1));
            while (owner > 0 && block_start(owner, items, ranks) > rows.items[i]) --owner;
            while (owner + 1 < ranks && block_start(owner + 1, items, ranks) <= rows.items[i]) ++owner;
            const std::uint64_t end = block_start(owner + 1, items, ranks);
            std::size_t j = i;
            std::uint64_t bytes = 0;
            while (j < rows.items.size() && rows.items[j] < end) bytes += rows.sizes[j++];
            RaggedRows piece;
            append_rows(piece, rows, i, j, at);
            outgoing[owner] = merged_rows({std::move(outgoing[owner]), std::move(piece)});
            at += bytes;
            i = j;
        }
    }
    std::vector<std::vector<std::byte>> messages(ranks);
    for (std::uint64_t r = 0; r < ranks; ++r) {
        if (!outgoing[r].empty()) messages[r] = encode(outgoing[r]);
    }
    outgoing.clear();
    const auto incoming = comm.alltoall_bytes(messages);
    messages.clear();
    std::vector<RaggedRows> pieces;
    for (const auto& message : incoming) {
        if (!message.empty()) pieces.push_back(decode(message, 1, items, "rows sent between ranks"));
    }
    return merged_rows(std::move(pieces));
}

RaggedRows rows_of_blocks(const mpi::Comm& comm, const RaggedOutput& output, const std::vector<io::RowBlock>& blocks) {
    return mpi::agree(comm, [&] {
        std::vector<RaggedRows> pieces;
        for (const io::RowBlock& b : blocks) pieces.push_back(from_block(b, output.value_bytes, output.items));
        return merged_rows(std::move(pieces));
    });
}

std::vector<io::RowBlock> owned_blocks(const mpi::Comm& comm, const RaggedOutput& output,
                                       const std::vector<io::RowBlock>& blocks) {
    const RaggedRows mine = rows_of_blocks(comm, output, blocks);
    const RaggedRows owned = mpi::agree(comm, [&] { return to_owners(comm, output.items, {mine}); });
    return owned.empty() ? std::vector<io::RowBlock>{} : std::vector<io::RowBlock>{to_block(owned)};
}

void write_ragged(io::ResultsFile& out, const mpi::Comm& comm, const RaggedOutput& output, const RaggedRows& owned) {
    const auto ranks = static_cast<std::uint64_t>(comm.size());
    const auto me = static_cast<std::uint64_t>(comm.rank());
    const std::uint64_t lo = block_start(me, output.items, ranks);
    const std::uint64_t hi = block_start(me + 1, output.items, ranks);
    // Values before this rank's block: every rank's total, from every rank.
    const std::uint64_t mine =
        std::accumulate(owned.sizes.begin(), owned.sizes.end(), std::uint64_t{0}) / output.value_bytes;
    std::vector<std::byte> total_bytes(sizeof mine);
    std::memcpy(total_bytes.data(), &mine, sizeof mine);
    const auto totals = comm.alltoall_bytes(std::vector<std::vector<std::byte>>(ranks, total_bytes));
    std::uint64_t before = 0, total = 0;
    for (std::uint64_t r = 0; r < ranks; ++r) {
        const std::uint64_t n = get(totals[r], 0);
        if (r < me) before += n;
        total += n;
    }

    std::vector<std::uint64_t> offsets(hi - lo);
    std::uint64_t at = before;
    std::size_t next = 0;  // in owned
    for (std::uint64_t item = lo; item < hi; ++item) {
        offsets[item - lo] = at;
        if (next < owned.items.size() && owned.items[next] == item) at += owned.sizes[next++] / output.value_bytes;
    }
    if (next != owned.items.size()) throw Error::Internal("ragged rows of '" + output.name + "' on the wrong rank");
    std::vector<io::RowBlock> offset_blocks;
    const auto as_block = [](std::uint64_t first, const std::vector<std::uint64_t>& v) {
        const auto bytes = std::as_bytes(std::span(v));
        return io::RowBlock{first, v.size(), std::vector<std::byte>(bytes.begin(), bytes.end())};
    };
    if (hi > lo) offset_blocks.push_back(as_block(lo, offsets));
    if (me + 1 == ranks) offset_blocks.push_back(as_block(output.items, {total}));
    const std::string offsets_name = output.name + "/offsets";
    const std::string values_name = output.name + "/values";
    out.create_dataset(offsets_name, ScalarType::u64, {output.items + 1});
    (void)out.write_rows(offsets_name, offset_blocks);
    out.create_dataset(values_name, output.type, {total});
    std::vector<io::RowBlock> value_blocks;
    if (mine > 0) value_blocks.push_back({before, mine, owned.values});
    (void)out.write_rows(values_name, value_blocks);
    if (!output.description.empty()) out.attribute_on(output.name, "description", output.description);
}

RaggedRows RaggedBatch::take(std::size_t output) {
    Output& o = outputs_[output];
    if (!o.sorted) {
        std::stable_sort(o.pieces.begin(), o.pieces.end(),
                         [](const Piece& a, const Piece& b) { return a.item < b.item; });
    }
    RaggedRows rows;
    if (o.sorted) {
        rows.values = std::move(o.bytes);  // already in item order
    } else {
        rows.values.reserve(o.bytes.size());
    }
    for (const Piece& p : o.pieces) {
        if (rows.items.empty() || rows.items.back() != p.item) {
            rows.items.push_back(p.item);
            rows.sizes.push_back(0);
        }
        rows.sizes.back() += p.size;
        if (!o.sorted) {
            const auto from = o.bytes.begin() + static_cast<std::ptrdiff_t>(p.at);
            rows.values.insert(rows.values.end(), from, from + static_cast<std::ptrdiff_t>(p.size));
        }
    }
    o = Output{};
    return rows;
}

void RaggedStore::keep(RaggedBatch& batch) {
    for (std::size_t o = 0; o < pieces_.size(); ++o) {
        if (!batch.touched(o)) continue;
        RaggedRows rows = batch.take(o);
        const std::lock_guard lock(mutex_);
        wrote_[o] = true;
        pieces_[o].push_back(std::move(rows));
    }
}

RaggedRows RaggedStore::take(std::size_t output) {
    const std::lock_guard lock(mutex_);
    return merged_rows(std::exchange(pieces_[output], {}));
}

bool RaggedStore::wrote(std::size_t output) {
    const std::lock_guard lock(mutex_);
    return wrote_[output];
}

}  // namespace pel::exec
