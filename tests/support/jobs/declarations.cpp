// tests/support/jobs/declarations.cpp: a test job whose option declarations are right, or wrong in the one way
// PEL_TEST_DECLARATION names (twice, choice, range, nan, pel-name), for the declaration checks of pel run.
#include <cmath>
#include <cstdlib>
#include <string>

#include <pel/plugin.hpp>

namespace {

class Declarations final : public pel::Job<pel::NoPartial> {
  public:
    void declare_options(pel::Options& o) override {
        const char* env = std::getenv("PEL_TEST_DECLARATION");
        const std::string mistake = env != nullptr ? env : "";
        o.add("items", items_, "number of items").min(0);
        o.add("ratio", ratio_, "a fraction").range(0, 1);
        o.add("shift", shift_, "any finite number");
        o.add("wild", wild_, "any number at all, NaN and infinities too").allow_non_finite();
        o.add("flavour", flavour_, "one of two").choices({"plain", "salted"});
        if (mistake == "twice") o.add("ratio", ratio_, "the same option again").range(0, 1);
        if (mistake == "choice") o.add("colour", colour_, "a default outside its choices").choices({"red", "blue"});
        if (mistake == "range") o.add("width", width_, "a default outside its range").range(1, 10);
        if (mistake == "nan") o.add("level", level_, "a NaN default");
        if (mistake == "pel-name") o.add("output", colour_, "an option pel has");
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
        for (auto i = items.begin; i < items.end; ++i) out.row(seen_, i)[0] = 1;
    }
    void end_phase(const pel::NoPartial& /*total*/, const pel::Context& /*ctx*/) override { done_ = true; }

  private:
    std::int64_t items_ = 10;
    double ratio_ = 0.5;
    double shift_ = 0;
    double wild_ = 0;
    std::string flavour_ = "plain";
    std::string colour_ = "green";
    std::int64_t width_ = 0;
    double level_ = NAN;
    pel::ItemColumn<std::uint8_t> seen_;
    bool done_ = false;
};

}  // namespace

PEL_JOB(Declarations, "declarations", "0.1", "test job: option declarations, right or wrong (PEL_TEST_DECLARATION)")
