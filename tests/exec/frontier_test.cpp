// tests/exec/frontier_test.cpp: a rank's frontier of spawned items, worked by real threads that take from each other:
// every item of a tree runs exactly once, and work() reaches 0 only when none is left, however the threads race.
#include "exec/frontier.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <thread>
#include <vector>

using pel::exec::Frontier;
using pel::exec::RecordSpawner;

namespace {

/// A node of a test tree: its id; node n has kids(n) children, ids 5n+1 .., down to a depth.
struct TestNode {
    std::uint64_t id;
    std::uint32_t depth;
};

/// 0 to 4 children, 2 on average, scattered by a multiplicative hash.
std::uint64_t kids(std::uint64_t id) { return ((id * 0x9E3779B97F4A7C15ull) >> 59) % 5; }

/// Runs the tree from `root` with `threads` threads as a dynamic phase does; returns the sum of ids and the count.
std::pair<std::uint64_t, std::uint64_t> run_tree(int threads, std::uint32_t max_depth) {
    Frontier frontier(threads, sizeof(TestNode));
    {
        std::vector<std::byte> seed;
        RecordSpawner spawner(sizeof(TestNode), seed);
        spawner.spawn_value(TestNode{1, 0});
        frontier.add(seed);
    }
    std::atomic<std::uint64_t> sum{0}, count{0};
    std::atomic<bool> over{false};
    std::atomic<int> early{0};  // a thread saw work() == 0 while items were still to come
    const std::uint64_t expected_count = [&] {
        std::uint64_t n = 0;
        std::vector<TestNode> stack{{1, 0}};
        while (!stack.empty()) {
            const TestNode node = stack.back();
            stack.pop_back();
            ++n;
            if (node.depth < max_depth) {
                for (std::uint64_t c = 0; c < kids(node.id); ++c)
                    stack.push_back({5 * node.id + 1 + c, node.depth + 1});
            }
        }
        return n;
    }();
    std::vector<std::thread> team;
    for (int t = 0; t < threads; ++t) {
        team.emplace_back([&, t] {
            std::vector<std::byte>& stack = frontier.stack(t);
            RecordSpawner spawner(sizeof(TestNode), stack);
            std::vector<std::byte> record(frontier.record_bytes());
            bool holding = false, hungry = false;
            std::uint64_t done = 0;
            while (!over.load()) {
                if (!stack.empty()) {
                    std::memcpy(record.data(), stack.data() + stack.size() - record.size(), record.size());
                    stack.resize(stack.size() - record.size());
                    TestNode node;
                    std::memcpy(&node, pel::exec::record_payload(record).data(), sizeof node);
                    sum += node.id;
                    ++count;
                    if (node.depth < max_depth) {
                        for (std::uint64_t c = 0; c < kids(node.id); ++c) {
                            spawner.spawn_value(TestNode{5 * node.id + 1 + c, node.depth + 1});
                        }
                    }
                    if (++done % 4 == 0 && frontier.hungry()) frontier.share(t);
                    continue;
                }
                if (frontier.refill(t, holding)) {
                    holding = true;
                    if (hungry) frontier.set_hungry(hungry = false);
                    continue;
                }
                holding = false;
                if (!hungry) frontier.set_hungry(hungry = true);
                if (frontier.work() == 0) {
                    if (count.load() != expected_count) ++early;
                    over = true;
                }
                std::this_thread::yield();
            }
            if (hungry) frontier.set_hungry(false);
            frontier.park(t, holding);
        });
    }
    for (auto& th : team) th.join();
    REQUIRE(early.load() == 0);
    REQUIRE(count.load() == expected_count);
    REQUIRE(frontier.work() == 0);
    REQUIRE(frontier.queued() == 0);
    return {sum.load(), count.load()};
}

}  // namespace

TEST_CASE("a frontier runs every item of a tree once on any number of threads", "[frontier]") {
    const auto one = run_tree(1, 14);
    REQUIRE(one.second > 10000);
    for (int threads : {2, 3, 4}) {
        for (int rep = 0; rep < 3; ++rep) REQUIRE(run_tree(threads, 14) == one);
    }
}

TEST_CASE("a frontier gives away its oldest items and saves what it holds", "[frontier]") {
    Frontier frontier(2, 8);
    std::vector<std::byte> records;
    RecordSpawner spawner(8, records);
    for (std::uint64_t i = 0; i < 5; ++i) spawner.spawn_value(i);
    frontier.add(records);
    REQUIRE(frontier.queued() == 5);
    REQUIRE(frontier.work() == 5);
    const std::vector<std::byte> oldest = frontier.take_oldest(3);
    REQUIRE(oldest.size() == 3 * frontier.record_bytes());
    REQUIRE(frontier.queued() == 2);
    REQUIRE(frontier.work() == 2);
    // Pools were filled in turn (0, 1, 0, 1, 0): the oldest three are items 0, 1 and 2.
    std::uint64_t ids = 0;
    for (int r = 0; r < 3; ++r) {
        std::uint64_t v = 0;
        std::memcpy(
            &v,
            pel::exec::record_payload({oldest.data() + r * frontier.record_bytes(), frontier.record_bytes()}).data(),
            8);
        ids += v;
    }
    REQUIRE(ids == 0 + 1 + 2);
    REQUIRE(frontier.saved().size() == 2 * frontier.record_bytes());
}

TEST_CASE("a payload over spawn_bytes is the job's error", "[frontier]") {
    std::vector<std::byte> records;
    RecordSpawner spawner(4, records);
    REQUIRE_THROWS_WITH(spawner.spawn_value(std::uint64_t{1}),
                        Catch::Contains("more than the phase's spawn_bytes (4)"));
    REQUIRE(records.empty());
}
