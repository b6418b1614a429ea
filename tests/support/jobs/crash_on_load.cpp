// tests/support/jobs/crash_on_load.cpp: a plugin whose static initializer crashes (PEL_TEST_CRASH 1: segfault,
// 2: abort, 3: exit(7)) the moment it is loaded; pel jobs and pel doctor must survive it and name it.
#include <cstdlib>

#include <pel/plugin.hpp>

namespace {

int crash_now() {
#if PEL_TEST_CRASH == 1
    // A null pointer the compiler cannot see as one (it would drop a plain null dereference as undefined).
    auto* nowhere = reinterpret_cast<volatile int*>(std::getenv("PEL_TEST_VARIABLE_THAT_IS_NEVER_SET"));
    *nowhere = 1;
    return *nowhere;
#elif PEL_TEST_CRASH == 2
    std::abort();
#else
    std::exit(7);
#endif
}

const int crashed = crash_now();

class Never final : public pel::Job<pel::NoPartial> {
  public:
    std::optional<pel::Phase> next_phase(const pel::Context&) override { return std::nullopt; }
    void process(pel::ItemRange, pel::NoPartial&, pel::ItemSink&, const pel::Context&) const override {}
};

}  // namespace

PEL_JOB(Never, PEL_TEST_JOB_NAME, "0", "test job whose static initializer crashes")
