// perf/uts/serial.cpp: the serial baseline for perf/uts: the same UTS tree (jobs/uts/uts_tree.hpp) traversed depth
// first with a plain stack, no pel, no MPI, no threads. Prints one JSON line: nodes, leaves, depth, seconds.
//
// Usage: pel_bench_uts_serial TYPE SHAPE DEPTH ROOT_BRANCHING SEED NON_LEAF_PROB NUM_CHILDREN
//        (the UTS reference's -t -a -d -b -r -q -m; T1: 1 3 10 4 19 0.234375 4, T3: 0 0 6 2000 42 0.124875 8)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../../jobs/uts/uts_tree.hpp"

int main(int argc, char** argv) {
    if (argc != 8) {
        std::fprintf(stderr, "usage: %s TYPE SHAPE DEPTH ROOT_BRANCHING SEED NON_LEAF_PROB NUM_CHILDREN\n", argv[0]);
        return 2;
    }
    uts::Params p;
    p.type = std::atoi(argv[1]);
    p.shape = std::atoi(argv[2]);
    p.depth = std::atoi(argv[3]);
    p.root_branching = std::atof(argv[4]);
    p.root_seed = std::atoi(argv[5]);
    p.non_leaf_prob = std::atof(argv[6]);
    p.non_leaf_children = std::atoi(argv[7]);
    const auto t0 = std::chrono::steady_clock::now();
    uts::Count count;
    std::vector<uts::Node> stack{uts::root(p)};
    while (!stack.empty()) {
        const uts::Node node = stack.back();
        stack.pop_back();
        const int kids = uts::children(p, node);
        count.add(node, kids);
        for (int i = 0; i < kids; ++i) stack.push_back(uts::child(p, node, i));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"nodes\": %llu, \"leaves\": %llu, \"depth\": %llu, \"seconds\": %.6f}\n",
                static_cast<unsigned long long>(count.nodes), static_cast<unsigned long long>(count.leaves),
                static_cast<unsigned long long>(count.depth), seconds);
    return 0;
}
