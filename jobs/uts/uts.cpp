// jobs/uts: the Unbalanced Tree Search benchmark on dynamic items: one item per tree node, whose payload is the node
// (its SHA-1 state, height and type); running it counts the node and spawns its children. The counts merge exactly,
// so nodes, leaves and depth are the same on any layout. Options keep the UTS reference's long names and defaults.
#include <algorithm>
#include <cstdint>

#include <pel/plugin.hpp>

#include "uts_tree.hpp"

namespace {

/// Nodes, leaves and depth of the nodes run: a pel partial over uts::Count.
struct TreeCount {
    uts::Count count;
    void merge(const TreeCount& other) { count.merge(other.count); }
    template <class A>
    void fields(A& a) {
        a("nodes", count.nodes)("leaves", count.leaves)("depth", count.depth);
    }
};

class Uts final : public pel::Job<TreeCount> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("tree-type", type_, "0 binomial, 1 geometric, 2 hybrid, 3 balanced").range(0, 3);
        o.add("tree-shape", shape_, "geometric shape: 0 linear, 1 exponential decrease, 2 cyclic, 3 fixed").range(0, 3);
        o.add("tree-depth", depth_, "geometric and hybrid trees: depth of the shape (gen_mx)").range(1, 1e6);
        o.add("root-branching-factor", params_.root_branching, "children of the root (b_0)").range(0, 1e7);
        o.add("root-seed", seed_, "seed of the root's random state").range(0, 2147483647);
        o.add("non-leaf-probability", params_.non_leaf_prob, "binomial: probability that a node has children")
            .range(0, 1);
        o.add("num-children", children_, "binomial: children of a node that has any").range(0, 1e6);
        o.add("shift-depth", params_.shift_depth, "hybrid: fraction of the depth where the tree turns binomial")
            .range(0, 1);
    }

    void setup(pel::SetupContext& ctx) override {
        params_.type = static_cast<int>(type_);
        params_.shape = static_cast<int>(shape_);
        params_.depth = static_cast<int>(depth_);
        params_.root_seed = static_cast<int>(seed_);
        params_.non_leaf_children = static_cast<int>(children_);
        ctx.result_attribute("nodes");
        ctx.result_attribute("leaves");
        ctx.result_attribute("depth");
    }

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        pel::Phase tree{"tree", 0};
        tree.spawn_bytes = sizeof(uts::Node);
        return tree;
    }

    void seed(pel::Spawner& spawner, const pel::Context& /*ctx*/) const override {
        spawner.spawn_value(uts::root(params_));
    }

    void expand(std::span<const std::byte> payload, TreeCount& partial, pel::Spawner& spawner,
                const pel::Context& /*ctx*/) const override {
        uts::Node node;
        std::memcpy(&node, payload.data(), sizeof node);
        const int kids = uts::children(params_, node);
        partial.count.add(node, kids);
        for (int i = 0; i < kids; ++i) spawner.spawn_value(uts::child(params_, node, i));
    }

    void end_phase(const TreeCount& total, const pel::Context& /*ctx*/) override {
        total_ = total.count;
        done_ = true;
    }

    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        sink.attribute("nodes", total_.nodes);
        sink.attribute("leaves", total_.leaves);
        sink.attribute("depth", total_.depth);
    }

    [[nodiscard]] pel::JobOutcome outcome(const pel::Context& /*ctx*/) const override {
        return {std::to_string(total_.nodes) + " nodes, " + std::to_string(total_.leaves) + " leaves, depth " +
                    std::to_string(total_.depth),
                0};
    }

    void save_state(pel::OutArchive& out) const override { out(done_)(total_.nodes)(total_.leaves)(total_.depth); }
    void load_state(pel::InArchive& in) override { in(done_)(total_.nodes)(total_.leaves)(total_.depth); }

  private:
    uts::Params params_;
    std::int64_t type_ = uts::kGeometric;
    std::int64_t shape_ = uts::kLinear;
    std::int64_t depth_ = 6;
    std::int64_t seed_ = 0;
    std::int64_t children_ = 4;
    bool done_ = false;
    uts::Count total_;
};

}  // namespace

PEL_JOB(Uts, "uts", "1.0", "Unbalanced Tree Search: counts a random tree's nodes, one dynamic item per node")
