// tests/support/jobs/faulty.cpp: a test job whose kernel throws on a chosen item, for the bad-input tests.
#include <stdexcept>

#include <pel/plugin.hpp>

namespace {

class Faulty final : public pel::Job<pel::NoPartial> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").min(1);
        o.add("fail-at", fail_at_, "the item whose processing throws (-1: none)").min(-1);
    }
    void setup(pel::SetupContext& ctx) override {
        seen_ = ctx.item_output<std::uint8_t>("seen", static_cast<std::uint64_t>(items_));
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{"only", static_cast<std::uint64_t>(items_)};
    }
    void process(pel::ItemRange items, pel::NoPartial& /*p*/, pel::ItemSink& out,
                 const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            if (static_cast<std::int64_t>(i) == fail_at_)
                throw std::runtime_error("item " + std::to_string(i) + " is poisoned");
            out.row(seen_, i)[0] = 1;
        }
    }
    void end_phase(const pel::NoPartial& /*total*/, const pel::Context& /*ctx*/) override { done_ = true; }

  private:
    std::int64_t items_ = 100;
    std::int64_t fail_at_ = -1;
    pel::ItemColumn<std::uint8_t> seen_;
    bool done_ = false;
};

}  // namespace

PEL_JOB(Faulty, "faulty", "0.1", "test job: its kernel throws on --fail-at")
