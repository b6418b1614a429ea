// pel/merge_check.hpp: checks that a job's partials merge exactly, so that its totals cannot depend on how items were
// split into ranges, threads and ranks. `pel run --check-merge` runs it on every phase; a job's own tests can call
// pel::check_merge() directly, without MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pel/archive.hpp"
#include "pel/error.hpp"
#include "pel/job.hpp"
#include "pel/types.hpp"

namespace pel {

/// The context of rank 0 of one, thread 0, phase 0, that logs nothing: for calling a job's kernel in its own tests.
class LoneContext final : public Context {
  public:
    [[nodiscard]] int rank() const override { return 0; }
    [[nodiscard]] int ranks() const override { return 1; }
    [[nodiscard]] int threads() const override { return 1; }
    [[nodiscard]] int phase() const override { return 0; }
    [[nodiscard]] int thread() const override { return 0; }
    [[nodiscard]] bool stop_requested() const override { return false; }
    void request_stop(std::uint64_t /*item*/) const override {}
    void log(const std::string& /*line*/) const override {}
    void warn(const std::string& /*line*/) const override {}
};

/// An ItemSink whose rows go nowhere: for running a kernel again without touching the results. `row_bytes` gives
/// the size of one row of each declared item output, in the order they were declared.
class ScratchSink final : public ItemSink {
  public:
    explicit ScratchSink(std::vector<std::size_t> row_bytes) : row_bytes_(std::move(row_bytes)) {}

  protected:
    std::byte* row_bytes(int column, std::uint64_t item) override {
        if (column < 0 || static_cast<std::size_t>(column) >= row_bytes_.size()) {
            throw Error::Failure("the kernel wrote item output " + std::to_string(column) +
                                 ", which the check was not told of");
        }
        auto& row = rows_[{column, item}];
        row.resize(row_bytes_[static_cast<std::size_t>(column)]);
        return row.data();
    }
    void append_bytes(int /*column*/, std::uint64_t /*item*/, std::span<const std::byte> /*values*/) override {}

  private:
    std::vector<std::size_t> row_bytes_;
    std::map<std::pair<int, std::uint64_t>, std::vector<std::byte>> rows_;
};

/// Processes each range of `sample` as one call and each of its items alone, each into a partial of its own, then
/// merges them four ways: the single items from the left in item order, from the right in reverse order, pairwise
/// as a tree, and the ranges' partials in order. A job whose merge is exact (integers, pel::ExactSum, maxima,
/// per-item rows) saves the same bytes every way. Returns "" when it does, else which two ways differ. The kernel's
/// rows go to `rows`. Runs the kernel on the calling thread; changes nothing in `job`.
inline std::string check_merge(const JobBase& job, const Context& ctx, const std::vector<ItemRange>& sample,
                               ItemSink& rows) {
    using Partial = std::unique_ptr<AnyPartial>;
    const auto saved = [](const AnyPartial& p) {
        OutArchive out;
        p.save(out);
        return out.take();
    };
    const auto copy = [&](const AnyPartial& p) {
        Partial c = job.new_partial(ctx);
        const std::vector<std::byte> bytes = saved(p);
        InArchive in(bytes);
        c->load(in);
        return c;
    };
    std::vector<Partial> singles;
    Partial by_ranges = job.new_partial(ctx);
    for (const ItemRange& range : sample) {
        Partial whole = job.new_partial(ctx);
        job.process_any(range, *whole, rows, ctx);
        by_ranges->merge(*whole);
        for (std::uint64_t i = range.begin; i < range.end; ++i) {
            singles.push_back(job.new_partial(ctx));
            job.process_any({i, i + 1}, *singles.back(), rows, ctx);
        }
    }
    Partial left = job.new_partial(ctx);
    for (const Partial& p : singles) left->merge(*p);
    Partial right = job.new_partial(ctx);
    for (auto p = singles.rbegin(); p != singles.rend(); ++p) right->merge(**p);
    // Pairwise: (0+1)+(2+3), then their sums in pairs, up to one.
    std::vector<Partial> level;
    for (const Partial& p : singles) level.push_back(copy(*p));
    while (level.size() > 1) {
        std::vector<Partial> next;
        for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
            level[i]->merge(*level[i + 1]);
            next.push_back(std::move(level[i]));
        }
        if (level.size() % 2 == 1) next.push_back(std::move(level.back()));
        level = std::move(next);
    }
    Partial tree = level.empty() ? job.new_partial(ctx) : std::move(level.front());

    const std::vector<std::byte> reference = saved(*left);
    if (saved(*right) != reference) return "merged in item order and in reverse order, its partials differ";
    if (saved(*tree) != reference) return "merged in item order and pairwise, its partials differ";
    if (saved(*by_ranges) != reference) {
        return "processed item by item and by ranges of items, then merged, its partials differ";
    }
    return {};
}

}  // namespace pel
