// tests/support/jobs/dynfault.cpp: a job on dynamic items that goes wrong on purpose. Its tree is the complete binary
// tree of --depth levels below node 1 (node n spawns 2n and 2n+1), whose 2^(depth+1) - 1 nodes it counts. --fault
// throw: node 1000's kernel throws; oversize: node 500 spawns a payload over spawn_bytes; items: the dynamic phase has
// fixed items too; none: nothing goes wrong.
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <pel/plugin.hpp>

namespace {

struct NodeCount {
    std::uint64_t nodes = 0;
    void merge(const NodeCount& other) { nodes += other.nodes; }
    template <class A>
    void fields(A& a) {
        a("nodes", nodes);
    }
};

class DynFault final : public pel::Job<NodeCount> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("fault", fault_, "what goes wrong").choices({"none", "throw", "oversize", "items"});
        o.add("depth", depth_, "levels below the root").range(1, 40);
    }
    void setup(pel::SetupContext& ctx) override { ctx.result_attribute("nodes"); }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        pel::Phase phase{"tree", fault_ == "items" ? 10u : 0u};
        phase.spawn_bytes = sizeof(std::uint64_t);
        return phase;
    }
    void seed(pel::Spawner& spawner, const pel::Context& /*ctx*/) const override {
        spawner.spawn_value(std::uint64_t{1});
    }
    void expand(std::span<const std::byte> payload, NodeCount& count, pel::Spawner& spawner,
                const pel::Context& /*ctx*/) const override {
        std::uint64_t node = 0;
        std::memcpy(&node, payload.data(), sizeof node);
        if (fault_ == "throw" && node == 1000) throw std::runtime_error("node 1000 is bad");
        if (fault_ == "oversize" && node == 500) spawner.spawn_value(std::array<std::uint64_t, 2>{node, node});
        ++count.nodes;
        if (node < (std::uint64_t{1} << depth_)) {
            spawner.spawn_value(2 * node);
            spawner.spawn_value(2 * node + 1);
        }
    }
    void end_phase(const NodeCount& total, const pel::Context& /*ctx*/) override {
        nodes_ = total.nodes;
        done_ = true;
    }
    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        sink.attribute("nodes", nodes_);
    }
    void save_state(pel::OutArchive& out) const override { out(done_)(nodes_); }
    void load_state(pel::InArchive& in) override { in(done_)(nodes_); }

  private:
    std::string fault_ = "none";
    std::int64_t depth_ = 14;
    bool done_ = false;
    std::uint64_t nodes_ = 0;
};

}  // namespace

PEL_JOB(DynFault, "dynfault", "1.0", "a dynamic-items job that goes wrong on purpose (tests)")
