// tests/support/jobs/abi_variant.cpp: an ordinary job built with flags that change the standard library's layouts
// (-D_GLIBCXX_DEBUG, -D_GLIBCXX_USE_CXX11_ABI=0); its std::string options would corrupt pel's memory if pel used
// them, so pel must refuse the plugin from its fingerprint. PEL_TEST_JOB_NAME is set by CMake.
#include <string>
#include <vector>

#include <pel/plugin.hpp>

namespace {

class AbiVariant final : public pel::Job<pel::NoPartial> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").min(1);
        o.add("label", label_, "a string option, laid out by the plugin's standard library");
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{label_, static_cast<std::uint64_t>(items_)};
    }
    void process(pel::ItemRange, pel::NoPartial&, pel::ItemSink&, const pel::Context&) const override {}
    void end_phase(const pel::NoPartial&, const pel::Context&) override { done_ = true; }

  private:
    std::int64_t items_ = 10;
    std::string label_ = "a label longer than the small-string buffer of either std::string";
    std::vector<std::string> unused_{label_, label_};
    bool done_ = false;
};

}  // namespace

PEL_JOB(AbiVariant, PEL_TEST_JOB_NAME, "0", "test job built with other standard library flags")
