// tests/support/jobs/unresolved.cpp: a plugin that needs a symbol nothing provides; it must fail at load.
#include <pel/plugin.hpp>

extern "C" int pel_test_symbol_that_does_not_exist();

namespace {
class Unresolved final : public pel::Job<pel::NoPartial> {
  public:
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        return pel::Phase{"x", static_cast<std::uint64_t>(pel_test_symbol_that_does_not_exist())};
    }
    void process(pel::ItemRange, pel::NoPartial&, pel::ItemSink&, const pel::Context&) const override {}
};
}  // namespace

PEL_JOB(Unresolved, "unresolved", "0", "test job that cannot load")
