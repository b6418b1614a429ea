// exec/early_stop.cpp: dropping what items past an early stop gave (see early_stop.hpp).
#include "exec/early_stop.hpp"

#include <algorithm>

#include "exec/ragged_rows.hpp"
#include "pel/merge_check.hpp"

namespace pel::exec {

void drop_rows_from(RankProgress& progress, std::uint64_t end, const std::vector<Column>& columns,
                    const std::vector<RaggedOutput>& ragged) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
        auto& blocks = progress.columns[c].current;
        std::erase_if(blocks, [&](const io::RowBlock& b) { return b.first >= end; });
        for (io::RowBlock& b : blocks) {
            if (b.first + b.count <= end) continue;
            b.count = end - b.first;
            b.bytes.resize(b.count * columns[c].row_bytes);
        }
    }
    for (std::size_t k = 0; k < ragged.size(); ++k) {
        auto& blocks = progress.columns[columns.size() + k].current;
        std::vector<RaggedRows> pieces;
        for (const io::RowBlock& b : blocks) pieces.push_back(from_block(b, ragged[k].value_bytes, ragged[k].items));
        RaggedRows rows = merged_rows(std::move(pieces));
        std::size_t keep = 0;
        std::uint64_t bytes = 0;
        while (keep < rows.items.size() && rows.items[keep] < end) bytes += rows.sizes[keep++];
        rows.items.resize(keep);
        rows.sizes.resize(keep);
        rows.values.resize(bytes);
        blocks.clear();
        if (!rows.empty()) blocks.push_back(to_block(rows));
    }
}

std::unique_ptr<AnyPartial> rebuilt_partial(const JobBase& job, RunContext& ctx, const std::vector<ItemRange>& done) {
    auto fresh = job.new_partial(ctx);
    std::vector<std::size_t> row_bytes;
    for (const Column& c : ctx.columns()) row_bytes.push_back(c.row_bytes);
    ScratchSink rows(std::move(row_bytes));
    struct Ignoring {
        RunContext& ctx;
        explicit Ignoring(RunContext& c) : ctx(c) { ctx.ignore_stop_requests(true); }
        ~Ignoring() { ctx.ignore_stop_requests(false); }
        Ignoring(const Ignoring&) = delete;
        Ignoring& operator=(const Ignoring&) = delete;
    } ignoring(ctx);
    for (const ItemRange& r : done) job.process_any(r, *fresh, rows, ctx);
    return fresh;
}

}  // namespace pel::exec
