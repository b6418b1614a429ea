// tests/core/merge_check_test.cpp: pel::check_merge, as a job's own tests would call it (no MPI): an exact merge
// passes, a plain double sum and a merge that depends on how items were split are named.
#include "pel/merge_check.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

/// Terms whose plain sum depends on their order.
double term(std::uint64_t i) { return i % 3 == 0 ? 1e16 : 1.0 + 0.1 * static_cast<double>(i); }

struct Exact {
    pel::ExactSum sum;
    std::uint64_t count = 0;
    void merge(const Exact& o) {
        sum.merge(o.sum);
        count += o.count;
    }
    template <class A>
    void fields(A& a) {
        a(sum)(count);
    }
};

struct Plain {
    double sum = 0;
    void merge(const Plain& o) { sum += o.sum; }
    template <class A>
    void fields(A& a) {
        a(sum);
    }
};

/// Counts the ranges it was given: a partial that depends on how the items were split.
struct Calls {
    std::uint64_t calls = 0;
    void merge(const Calls& o) { calls += o.calls; }
    template <class A>
    void fields(A& a) {
        a(calls);
    }
};

class ExactJob final : public pel::Job<Exact> {
  public:
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override { return std::nullopt; }
    void process(pel::ItemRange items, Exact& p, pel::ItemSink& out, const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            out.row(column, i)[0] = term(i);
            p.sum.add(term(i));
            ++p.count;
        }
    }
    pel::ItemColumn<double> column{0, 1};
};

class PlainJob final : public pel::Job<Plain> {
  public:
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override { return std::nullopt; }
    void process(pel::ItemRange items, Plain& p, pel::ItemSink& /*out*/, const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) p.sum += term(i);
    }
};

class CallsJob final : public pel::Job<Calls> {
  public:
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override { return std::nullopt; }
    void process(pel::ItemRange /*items*/, Calls& p, pel::ItemSink& /*out*/,
                 const pel::Context& /*ctx*/) const override {
        ++p.calls;
    }
};

const std::vector<pel::ItemRange> kSample{{0, 8}, {100, 108}, {5000, 5008}};

}  // namespace

TEST_CASE("check_merge passes an exact merge and names an inexact one", "[core][merge]") {
    const pel::LoneContext ctx;
    pel::ScratchSink rows({sizeof(double)});
    CHECK(pel::check_merge(ExactJob{}, ctx, kSample, rows).empty());
    CHECK(pel::check_merge(PlainJob{}, ctx, kSample, rows) ==
          "merged in item order and in reverse order, its partials differ");
    CHECK(pel::check_merge(CallsJob{}, ctx, kSample, rows) ==
          "processed item by item and by ranges of items, then merged, its partials differ");
    // No sample, one item: nothing to tell apart, nothing refused.
    CHECK(pel::check_merge(PlainJob{}, ctx, {}, rows).empty());
    CHECK(pel::check_merge(PlainJob{}, ctx, {{3, 4}}, rows).empty());
}

TEST_CASE("a scratch sink refuses an item output it was not told of", "[core][merge]") {
    const pel::LoneContext ctx;
    pel::ScratchSink none({});
    CHECK_THROWS_AS(pel::check_merge(ExactJob{}, ctx, kSample, none), pel::Error);
}
