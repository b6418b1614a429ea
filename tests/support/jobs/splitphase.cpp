// tests/support/jobs/splitphase.cpp: a job whose next_phase differs between ranks from phase --split-at on
// (--differ items: rank r asks for items + r; name: a name per rank; end: odd ranks end the run); pel must stop
// with one line naming the ranks, not hang.
#include <pel/plugin.hpp>

namespace {

class SplitPhase final : public pel::Job<pel::NoPartial> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "items per phase").min(1);
        o.add("phases", phases_, "number of phases").min(1);
        o.add("split-at", split_at_, "the first phase that differs between ranks").min(0);
        o.add("differ", differ_, "what differs: items, name or end").choices({"items", "name", "end"});
    }
    std::optional<pel::Phase> next_phase(const pel::Context& ctx) override {
        const bool split = phase_ >= split_at_ && ctx.rank() % 2 == 1;
        if (phase_ >= phases_ || (split && differ_ == "end")) return std::nullopt;
        std::string name = "phase " + std::to_string(phase_);
        auto items = static_cast<std::uint64_t>(items_);
        if (split && differ_ == "items") items += static_cast<std::uint64_t>(ctx.rank());
        if (split && differ_ == "name") name += " of rank " + std::to_string(ctx.rank());
        return pel::Phase{name, items};
    }
    void process(pel::ItemRange, pel::NoPartial&, pel::ItemSink&, const pel::Context&) const override {}
    void end_phase(const pel::NoPartial&, const pel::Context&) override { ++phase_; }

  private:
    std::int64_t items_ = 100;
    std::int64_t phases_ = 3;
    std::int64_t split_at_ = 1;
    std::string differ_ = "items";
    std::int64_t phase_ = 0;
};

}  // namespace

PEL_JOB(SplitPhase, "splitphase", "0", "test job: next_phase differs between ranks")
