// exec/early_stop.hpp: what a phase that a kernel stopped early (Context::request_stop) drops of the items past the
// stop, so that its results hold every item up to the stop and nothing of the items after it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "exec/checkpoint.hpp"
#include "exec/job_context.hpp"

namespace pel::exec {

/// Drops the rows of items at or after `end` from the phase in progress in `progress`: `columns`' fixed-width rows
/// (those items then read as the fill), then `ragged`'s rows (they read as empty), in that order in
/// progress.columns. The done items and the partial are the caller's.
void drop_rows_from(RankProgress& progress, std::uint64_t end, const std::vector<Column>& columns,
                    const std::vector<RaggedOutput>& ragged);

/// The partial of `done` (items up to the stop), made by running the kernel again over them on the calling thread,
/// with their rows going nowhere (they are kept already) and their stop requests ignored.
std::unique_ptr<AnyPartial> rebuilt_partial(const JobBase& job, RunContext& ctx, const std::vector<ItemRange>& done);

}  // namespace pel::exec
