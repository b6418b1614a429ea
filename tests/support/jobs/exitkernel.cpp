// tests/support/jobs/exitkernel.cpp: a job whose kernel calls exit(--exit-code) on item --exit-at, as legacy code
// or a Fortran STOP does; pel must end every rank with a line naming the rank and the item, not hang.
#include <cstdlib>

#include <pel/plugin.hpp>

namespace {

class ExitKernel final : public pel::Job<pel::NoPartial> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").min(1);
        o.add("exit-at", exit_at_, "the item whose processing calls exit()").min(0);
        o.add("exit-code", exit_code_, "the code passed to exit()").range(0, 255);
    }
    void setup(pel::SetupContext& ctx) override {
        seen_ = ctx.item_output<std::uint8_t>("seen", static_cast<std::uint64_t>(items_));
    }
    std::optional<pel::Phase> next_phase(const pel::Context&) override {
        if (done_) return std::nullopt;
        return pel::Phase{"only", static_cast<std::uint64_t>(items_)};
    }
    void process(pel::ItemRange items, pel::NoPartial&, pel::ItemSink& out, const pel::Context&) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            if (static_cast<std::int64_t>(i) == exit_at_) std::exit(static_cast<int>(exit_code_));
            out.row(seen_, i)[0] = 1;
        }
    }
    void end_phase(const pel::NoPartial&, const pel::Context&) override { done_ = true; }

  private:
    std::int64_t items_ = 100;
    std::int64_t exit_at_ = 50;
    std::int64_t exit_code_ = 0;
    pel::ItemColumn<std::uint8_t> seen_;
    bool done_ = false;
};

}  // namespace

PEL_JOB(ExitKernel, "exitkernel", "0", "test job: its kernel calls exit() on --exit-at")
