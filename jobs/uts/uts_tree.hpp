// jobs/uts/uts_tree.hpp: the trees of the Unbalanced Tree Search benchmark (UTS; Olivier et al., LCPC 2006): each
// node carries a 20-byte SHA-1 state; a child's state is the SHA-1 of its parent's state and its index (4 bytes, big
// endian), the root's the SHA-1 of 16 zero bytes and the seed (big endian); a node's number of children is drawn from
// the last 4 bytes of its state, by the tree type's distribution. Header-only, with no pel in it, so that the job and
// the serial traversal of perf/uts share exactly one definition of the tree.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <nettle/sha1.h>

namespace uts {

/// Tree types and geometric shapes, numbered as the UTS reference's -t and -a options.
enum TreeType : int { kBinomial = 0, kGeometric = 1, kHybrid = 2, kBalanced = 3 };
enum Shape : int { kLinear = 0, kExpDec = 1, kCyclic = 2, kFixed = 3 };

/// A node's children are capped at this many (all but a binomial tree's root), as in the reference.
constexpr int kMaxChildren = 100;

/// The parameters of a tree, with the UTS reference's defaults.
struct Params {
    int type = kGeometric;               ///< -t
    double root_branching = 4.0;         ///< -b: b_0
    int root_seed = 0;                   ///< -r
    int non_leaf_children = 4;           ///< -m: children of a binomial tree's non-leaf node
    double non_leaf_prob = 15.0 / 64.0;  ///< -q
    int depth = 6;                       ///< -d: gen_mx
    int shape = kLinear;                 ///< -a
    double shift_depth = 0.5;            ///< -f: where a hybrid tree turns binomial, as a fraction of depth
};

/// A node: its random state, its depth below the root and its type (hybrid trees change type with depth).
struct Node {
    std::array<std::uint8_t, 20> state{};
    std::int32_t height = 0;
    std::int32_t type = kGeometric;
};

inline void sha1(const std::uint8_t* a, std::size_t na, const std::uint8_t* b, std::size_t nb, std::uint8_t* out) {
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, na, a);
    if (nb > 0) sha1_update(&ctx, nb, b);
    sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
}

inline Node root(const Params& p) {
    std::array<std::uint8_t, 20> seed{};
    const auto s = static_cast<std::uint32_t>(p.root_seed);
    seed[16] = static_cast<std::uint8_t>(s >> 24);
    seed[17] = static_cast<std::uint8_t>(s >> 16);
    seed[18] = static_cast<std::uint8_t>(s >> 8);
    seed[19] = static_cast<std::uint8_t>(s);
    Node n;
    sha1(seed.data(), seed.size(), nullptr, 0, n.state.data());
    n.height = 0;
    n.type = p.type;
    return n;
}

/// Child `index` of `parent`.
inline Node child(const Params& p, const Node& parent, int index) {
    const auto i = static_cast<std::uint32_t>(index);
    const std::uint8_t bytes[4] = {static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
                                   static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    Node c;
    sha1(parent.state.data(), parent.state.size(), bytes, sizeof bytes, c.state.data());
    c.height = parent.height + 1;
    c.type = p.type == kHybrid ? (parent.height < p.shift_depth * p.depth ? kGeometric : kBinomial) : p.type;
    return c;
}

/// The node's random number in [0, 2^31) and as a probability in [0, 1).
inline int random_int(const Node& n) {
    const std::uint32_t b = (static_cast<std::uint32_t>(n.state[16]) << 24) |
                            (static_cast<std::uint32_t>(n.state[17]) << 16) |
                            (static_cast<std::uint32_t>(n.state[18]) << 8) | static_cast<std::uint32_t>(n.state[19]);
    return static_cast<int>(b & 0x7fffffffu);
}
inline double probability(int r) { return static_cast<double>(r) / 2147483648.0; }

inline int children_binomial(const Params& p, const Node& n) {
    return probability(random_int(n)) < p.non_leaf_prob ? p.non_leaf_children : 0;
}

inline int children_geometric(const Params& p, const Node& n) {
    double b = p.root_branching;
    const int depth = n.height;
    if (depth > 0) {
        switch (p.shape) {
            case kExpDec:
                b = p.root_branching * std::pow(static_cast<double>(depth),
                                                -std::log(p.root_branching) / std::log(static_cast<double>(p.depth)));
                break;
            case kCyclic:
                b = depth > 5 * p.depth
                        ? 0.0
                        : std::pow(p.root_branching, std::sin(2.0 * 3.141592653589793 * static_cast<double>(depth) /
                                                              static_cast<double>(p.depth)));
                break;
            case kFixed:
                b = depth < p.depth ? p.root_branching : 0;
                break;
            default:  // kLinear
                b = p.root_branching * (1.0 - static_cast<double>(depth) / static_cast<double>(p.depth));
                break;
        }
    }
    // The geometric distribution with mean b, inverted at the node's uniform number.
    const double prob = 1.0 / (1.0 + b);
    const double u = probability(random_int(n));
    return static_cast<int>(std::floor(std::log(1 - u) / std::log(1 - prob)));
}

/// How many children `n` has.
inline int children(const Params& p, const Node& n) {
    int count = 0;
    switch (p.type) {
        case kBinomial:
            count = n.height == 0 ? static_cast<int>(std::floor(p.root_branching)) : children_binomial(p, n);
            break;
        case kGeometric:
            count = children_geometric(p, n);
            break;
        case kHybrid:
            count = n.height < p.shift_depth * p.depth ? children_geometric(p, n) : children_binomial(p, n);
            break;
        default:  // kBalanced
            if (n.height < p.depth) count = static_cast<int>(p.root_branching);
            break;
    }
    if (n.height == 0 && n.type == kBinomial) {
        count = std::min(count, static_cast<int>(std::ceil(p.root_branching)));
    } else if (p.type != kBalanced) {
        count = std::min(count, kMaxChildren);
    }
    return count;
}

/// What a traversal counts: nodes, leaves, and the greatest height.
struct Count {
    std::uint64_t nodes = 0;
    std::uint64_t leaves = 0;
    std::uint64_t depth = 0;
    void add(const Node& n, int kids) {
        ++nodes;
        leaves += kids == 0 ? 1 : 0;
        depth = std::max(depth, static_cast<std::uint64_t>(n.height));
    }
    void merge(const Count& o) {
        nodes += o.nodes;
        leaves += o.leaves;
        depth = std::max(depth, o.depth);
    }
};

}  // namespace uts
