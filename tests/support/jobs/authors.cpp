// tests/support/jobs/authors.cpp: a test job with the mistakes pel checks for plugin authors. Its partial is a plain
// double sum (not exact: --check-merge must refuse it); it writes a floating and an integer item output (for the
// fill of skipped rows); and PEL_TEST_AUTHOR picks a name clash to make: item-result, group, reserved-attribute,
// reserved-group, declared-twice, undeclared, late-reserved, late-twice, late-item.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <pel/plugin.hpp>

namespace {

/// Deliberately inexact: a sum of doubles depends on the order of its terms.
struct PlainSum {
    double sum = 0;
    void merge(const PlainSum& o) { sum += o.sum; }
    template <class A>
    void fields(A& a) {
        a(sum);
    }
};

class Authors final : public pel::Job<PlainSum> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").min(0);
        o.add("fail-at", fail_at_, "an item whose processing always throws (-1: none)").min(-1);
    }
    void setup(pel::SetupContext& ctx) override {
        const char* env = std::getenv("PEL_TEST_AUTHOR");
        mistake_ = env != nullptr ? env : "";
        const auto n = static_cast<std::uint64_t>(items_);
        value_ = ctx.item_output<double>("value", n, 1, "a floating value per item");
        count_ = ctx.item_output<std::int32_t>("count", n, 2, "two integers per item");
        if (mistake_ == "reserved-group") ctx.item_output<double>("stats", n);
        if (mistake_.starts_with("late")) return;  // declares nothing: found when write_results stores it
        ctx.result_dataset("sums");
        ctx.result_attribute("total");
        if (mistake_ == "item-result") ctx.result_dataset("value");
        if (mistake_ == "group") ctx.result_dataset("count/extra");
        if (mistake_ == "reserved-attribute") ctx.result_attribute("ranks");
        if (mistake_ == "declared-twice") ctx.result_dataset("sums");
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{"sum", static_cast<std::uint64_t>(items_)};
    }
    void process(pel::ItemRange items, PlainSum& p, pel::ItemSink& out, const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            if (static_cast<std::int64_t>(i) == fail_at_)
                throw std::runtime_error("item " + std::to_string(i) + " fails");
            // Terms of very different sizes, so that their sum depends on the order in which they are added.
            const double term = i % 3 == 0 ? 1e16 : 1.0 + 0.1 * static_cast<double>(i);
            out.row(value_, i)[0] = term;
            out.row(count_, i)[0] = static_cast<std::int32_t>(i);
            out.row(count_, i)[1] = -1;
            p.sum += term;
        }
    }
    void end_phase(const PlainSum& total, const pel::Context& /*ctx*/) override {
        total_ = total.sum;
        done_ = true;
    }
    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        const double sums[2] = {total_, -total_};
        sink.dataset<double>("sums", {2}, sums);
        sink.attribute("total", total_);
        if (mistake_ == "undeclared") sink.attribute("extra", 1.0);
        if (mistake_ == "late-reserved") sink.attribute("job", std::string("mine"));
        if (mistake_ == "late-twice") sink.dataset<double>("sums", {2}, sums);
        if (mistake_ == "late-item") sink.dataset<double>("value", {2}, sums);
    }
    void save_state(pel::OutArchive& a) const override { a(done_)(total_); }
    void load_state(pel::InArchive& a) override { a(done_)(total_); }

  private:
    std::int64_t items_ = 100;
    std::int64_t fail_at_ = -1;
    std::string mistake_;
    pel::ItemColumn<double> value_;
    pel::ItemColumn<std::int32_t> count_;
    bool done_ = false;
    double total_ = 0;
};

}  // namespace

PEL_JOB(Authors, "authors", "0.1", "test job: plugin-author mistakes (PEL_TEST_AUTHOR), a plain double sum")
