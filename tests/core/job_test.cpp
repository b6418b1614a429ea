// tests/core/job_test.cpp: pel::Job<P> routes the framework's type-erased calls to a job's typed functions.
#include "pel/job.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "pel/archive.hpp"
#include "pel/exact_sum.hpp"
#include "pel/merge_check.hpp"

namespace {

/// Rows of one double column, `width` values per item.
class VectorSink final : public pel::ItemSink {
  public:
    VectorSink(std::uint64_t items, std::uint64_t width) : width_(width), values_(items * width, -1.0) {}
    [[nodiscard]] const std::vector<double>& values() const noexcept { return values_; }

  protected:
    std::byte* row_bytes(int column, std::uint64_t item) override {
        REQUIRE(column == 3);
        return reinterpret_cast<std::byte*>(values_.data() + item * width_);
    }
    void append_bytes(int /*column*/, std::uint64_t /*item*/, std::span<const std::byte> /*values*/) override {}

  private:
    std::uint64_t width_;
    std::vector<double> values_;
};

struct SumPartial {
    pel::ExactSum sum;
    std::uint64_t count = 0;
    std::vector<std::uint64_t> items;  ///< every item processed, to check that none is lost or repeated

    void merge(const SumPartial& other) {
        sum.merge(other.sum);
        count += other.count;
        items.insert(items.end(), other.items.begin(), other.items.end());
    }
    template <class A>
    void fields(A& a) {
        a("sum", sum)("count", count)("items", items);
    }
};

/// Adds item / 2 for each item and writes (item, -item) into its row.
class HalvesJob final : public pel::Job<SumPartial> {
  public:
    std::uint64_t initial_count = 0;  ///< what empty_partial starts the count at
    int end_phase_calls = 0;
    SumPartial last_total;

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override { return std::nullopt; }

    [[nodiscard]] SumPartial empty_partial(const pel::Context& /*ctx*/) const override {
        SumPartial p;
        p.count = initial_count;
        return p;
    }
    void process(pel::ItemRange items, SumPartial& partial, pel::ItemSink& out,
                 const pel::Context& /*ctx*/) const override {
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            partial.sum.add(static_cast<double>(i) / 2);
            ++partial.count;
            partial.items.push_back(i);
            const auto row = out.row(column_, i);
            row[0] = static_cast<double>(i);
            row[1] = -static_cast<double>(i);
        }
    }
    void end_phase(const SumPartial& total, const pel::Context& /*ctx*/) override {
        ++end_phase_calls;
        last_total = total;
    }

  private:
    pel::ItemColumn<double> column_{3, 2};
};

/// A job with only per-item outputs.
class RowsOnlyJob final : public pel::Job<pel::NoPartial> {
  public:
    int end_phase_calls = 0;
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override { return pel::Phase{"only", 4}; }
    void process(pel::ItemRange items, pel::NoPartial& /*partial*/, pel::ItemSink& out,
                 const pel::Context& /*ctx*/) const override {
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            out.row(pel::ItemColumn<double>{3, 1}, i)[0] = 10.0 * static_cast<double>(i);
        }
    }
    void end_phase(const pel::NoPartial& /*total*/, const pel::Context& /*ctx*/) override { ++end_phase_calls; }
};

// Types that must not be partials.
struct NoMerge {
    int x = 0;
};
struct MergeTakesOtherType {
    int x = 0;
    void merge(int /*other*/) {}
};
struct NotSaveable {
    std::map<int, int> m;  // neither trivially copyable nor listing fields, and no Serializer
    void merge(const NotSaveable& /*other*/) {}
};
struct NotCopyable {
    std::unique_ptr<int> p;
    void merge(const NotCopyable& /*other*/) {}
    template <class A>
    void fields(A& /*a*/) {}
};
struct NoDefault {
    explicit NoDefault(int v) : x(v) {}
    int x;
    void merge(const NoDefault& /*other*/) {}
};

template <class P>
concept CanBeJob = requires {
    typename pel::Job<P>;
};

}  // namespace

static_assert(pel::Partial<pel::NoPartial>);
static_assert(pel::Partial<SumPartial>);
static_assert(pel::Partial<pel::ExactSum>, "an exact sum is a partial on its own");

static_assert(!pel::Partial<NoMerge>, "a type without merge() is not a partial");
static_assert(!pel::Partial<MergeTakesOtherType>, "merge() must take another partial of the same type");
static_assert(!pel::Partial<NotSaveable>, "a partial must be saveable");
static_assert(!pel::Partial<NotCopyable>, "a partial must be copyable");
static_assert(!pel::Partial<NoDefault>, "a partial must be default-constructible");
static_assert(!CanBeJob<NoMerge>, "pel::Job<P> requires a partial");
static_assert(CanBeJob<pel::NoPartial>);
static_assert(std::is_same_v<HalvesJob::partial_type, SumPartial>);

TEST_CASE("Job routes type-erased calls to the typed functions", "[core][job]") {
    HalvesJob job;
    pel::JobBase& base = job;
    const pel::LoneContext ctx;
    VectorSink sink(100, 2);

    auto a = base.new_partial(ctx);
    auto b = base.new_partial(ctx);
    auto c = base.new_partial(ctx);
    base.process_any({0, 30}, *a, sink, ctx);
    base.process_any({30, 31}, *b, sink, ctx);
    base.process_any({31, 100}, *c, sink, ctx);
    base.process_any({50, 50}, *b, sink, ctx);  // an empty range adds nothing

    auto total = base.new_partial(ctx);
    total->merge(*c);
    total->merge(*a);
    total->merge(*b);
    CHECK(job.end_phase_calls == 0);
    base.end_phase_any(*total, ctx);

    REQUIRE(job.end_phase_calls == 1);
    CHECK(job.last_total.count == 100);
    CHECK(job.last_total.sum.value() == 4950.0 / 2);
    std::vector<std::uint64_t> items = job.last_total.items;
    std::sort(items.begin(), items.end());
    std::vector<std::uint64_t> expected(100);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(items == expected);

    for (std::uint64_t i = 0; i < 100; ++i) {
        CAPTURE(i);
        CHECK(sink.values()[2 * i] == static_cast<double>(i));
        CHECK(sink.values()[2 * i + 1] == -static_cast<double>(i));
    }

    SECTION("new_partial starts from empty_partial") {
        job.initial_count = 1000;
        auto fresh = base.new_partial(ctx);
        base.end_phase_any(*fresh, ctx);
        CHECK(job.last_total.count == 1000);
        CHECK(job.last_total.items.empty());
    }

    SECTION("a partial saved and loaded through AnyPartial merges the same") {
        pel::OutArchive out;
        a->save(out);
        auto restored = base.new_partial(ctx);
        pel::InArchive in(out.bytes());
        restored->load(in);
        CHECK(in.at_end());

        auto again = base.new_partial(ctx);
        again->merge(*b);
        again->merge(*restored);
        again->merge(*c);
        base.end_phase_any(*again, ctx);
        CHECK(job.last_total.count == 100);
        CHECK(job.last_total.sum.value() == 4950.0 / 2);
        CHECK(job.last_total.items.size() == 100);
    }
}

TEST_CASE("Job<NoPartial> works for a job with only per-item outputs", "[core][job]") {
    CHECK(pel::to_bytes(pel::NoPartial{}).empty());

    RowsOnlyJob job;
    pel::JobBase& base = job;
    const pel::LoneContext ctx;
    VectorSink sink(4, 1);
    const auto phase = base.next_phase(ctx);
    REQUIRE(phase.has_value());
    CHECK(phase->items == 4);

    auto a = base.new_partial(ctx);
    auto b = base.new_partial(ctx);
    base.process_any({0, 1}, *a, sink, ctx);
    base.process_any({1, 4}, *b, sink, ctx);
    a->merge(*b);
    pel::OutArchive out;
    a->save(out);
    CHECK(out.bytes().empty());
    base.end_phase_any(*a, ctx);
    CHECK(job.end_phase_calls == 1);
    CHECK(sink.values() == std::vector<double>{0.0, 10.0, 20.0, 30.0});
}
