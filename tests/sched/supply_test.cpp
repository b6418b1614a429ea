// tests/sched/supply_test.cpp: a group leader's scheduler, whose items come from the level above chunk by chunk
// (Scheduler::expect_supply): idle ranks wait instead of ending while more may come, supplied chunks go first to
// the ranks waiting, a chunk not yet handed out (or the back of one being handed out) can be given back, and in a
// randomised group every item supplied is done exactly once, here or (given back) elsewhere.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "sched/scheduler.hpp"

namespace {

using namespace pel::sched;
using pel::ItemRange;

/// The leader's own team, as far as thieves see it: nothing to split (its chunks are done whole in these tests).
struct IdleOwn final : OwnTeam {
    std::uint64_t unclaimed() override { return 0; }
    ItemRange split() override { return {}; }
    [[nodiscard]] std::uint64_t unreported() const override { return 0; }
};

SchedulerSettings fac2() {
    SchedulerSettings s;
    s.schedule = {Technique::fac2, 1};
    return s;
}

std::vector<Action> take(Scheduler& s) {
    std::vector<Action> a;
    s.take_actions(a);
    return a;
}

int count_phase_over(const std::vector<Action>& actions) {
    int n = 0;
    for (const Action& a : actions) {
        const auto* reply = std::get_if<Reply>(&a);
        n += reply != nullptr && std::holds_alternative<PhaseOver>(reply->answer) ? 1 : 0;
        const auto* own = std::get_if<OwnGrant>(&a);
        n += own != nullptr && !own->chunk ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("a leader's scheduler waits for supply, hands it to the waiting ranks, and ends when it is closed",
          "[sched][levels]") {
    IdleOwn own;
    Scheduler s(fac2(), 1000, 3, {}, own);
    s.expect_supply();
    s.start(0.0);
    // Nothing to grant yet: the workers' first requests wait instead of ending the phase.
    REQUIRE(count_phase_over(take(s)) == 0);
    s.own_request({}, 0.0);
    REQUIRE(count_phase_over(take(s)) == 0);

    s.supply({100, 160});
    const std::vector<Action> granted = take(s);
    std::uint64_t items = 0;
    for (const Action& a : granted) {
        if (const auto* reply = std::get_if<Reply>(&a)) items += std::get<Grant>(reply->answer).items.size();
        if (const auto* g = std::get_if<OwnGrant>(&a)) items += g->chunk ? g->chunk->size() : 0;
    }
    CHECK(granted.size() == 3);  // the two workers and the leader's own team, all parked
    CHECK(items == 30);          // fac2: the first batch is half of the 60 supplied
    CHECK(s.supply_left() == 30);

    // A second chunk waits behind the first and can be given back to the level above untouched.
    s.supply({500, 540});
    CHECK(s.supply_left() == 70);
    CHECK(s.take_back_supply() == ItemRange{500, 540});
    // Then the back half of what the dispenser has not granted of the current chunk: [130, 160) is left.
    CHECK(s.take_back_supply() == ItemRange{145, 160});
    CHECK(s.supply_left() == 15);
}

TEST_CASE("without a supply the same scheduler ends an idle rank's phase at once", "[sched][levels]") {
    IdleOwn own;
    Scheduler s(fac2(), 10, 2, {}, own);
    s.start(0.0);
    CHECK(count_phase_over(take(s)) == 1);
}

TEST_CASE("every supplied item is done exactly once in a randomised group", "[sched][levels]") {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng(seed);
        IdleOwn own;
        constexpr int kRanks = 4;
        constexpr std::uint64_t kItems = 5000;
        Scheduler s(fac2(), kItems, kRanks, {}, own);
        s.expect_supply();
        s.start(0.0);
        std::vector<int> times_done(kItems, 0);
        std::vector<std::vector<ItemRange>> held(kRanks);  // per worker: chunks granted, not yet done
        std::vector<bool> over(kRanks, false);
        std::uint64_t next_supply = 0;
        bool closed = false;
        std::vector<Action> actions;
        const auto carry = [&] {
            s.take_actions(actions);
            for (const Action& a : actions) {
                if (const auto* g = std::get_if<OwnGrant>(&a)) {
                    if (g->chunk) held[0].push_back(*g->chunk);
                    if (!g->chunk) over[0] = true;
                } else if (const auto* reply = std::get_if<Reply>(&a)) {
                    if (const auto* grant = std::get_if<Grant>(&reply->answer)) held[reply->to].push_back(grant->items);
                    if (std::holds_alternative<PhaseOver>(reply->answer)) over[reply->to] = true;
                } else if (const auto* order = std::get_if<Order>(&a)) {
                    const auto& steal = std::get<StealRequest>(order->control);
                    auto& victim = held[order->to];
                    ItemRange given;
                    if (!victim.empty()) {
                        given = victim.back();
                        victim.pop_back();
                    }
                    s.receive(order->to, ItemsGiven{given}, 0.0);
                    (void)steal;
                }
            }
        };
        carry();
        s.own_request({}, 0.0);
        carry();
        for (int step = 0; step < 100000; ++step) {
            const int r = static_cast<int>(rng() % kRanks);
            if (rng() % 16 == 0) {  // the level above steals for another group: done there
                const ItemRange back = s.take_back_supply();
                for (std::uint64_t i = back.begin; i < back.end; ++i) ++times_done[i];
                carry();
                continue;
            }
            if (rng() % 4 == 0 && !closed) {
                if (next_supply < kItems) {
                    const std::uint64_t size = 1 + rng() % 700;
                    const ItemRange chunk{next_supply, std::min(kItems, next_supply + size)};
                    next_supply = chunk.end;
                    s.supply(chunk);
                } else {
                    s.close_supply();
                    closed = true;
                }
                carry();
                continue;
            }
            if (over[r] && held[r].empty()) continue;  // a rank told the phase is over still finishes what it has
            // Worker r finishes what it holds and asks for more.
            std::uint64_t n = 0;
            for (const ItemRange& c : held[r]) {
                for (std::uint64_t i = c.begin; i < c.end; ++i) ++times_done[i];
                n += c.size();
            }
            held[r].clear();
            if (r == 0) {
                if (over[0]) {
                    s.own_report({n, 0.0});
                } else {
                    s.own_request({n, 0.0}, 0.0);
                }
            } else if (over[r]) {
                s.receive(r, Update{{n, 0.0}}, 0.0);
            } else {
                s.receive(r, WorkRequest{{n, 0.0}, false}, 0.0);
            }
            carry();
            bool all_over = true;
            for (int w = 0; w < kRanks; ++w) all_over = all_over && over[w];
            if (all_over) break;
        }
        for (int w = 0; w < kRanks; ++w) {
            INFO("seed " << seed << " rank " << w << " holds " << held[w].size() << " chunks, closed " << closed);
            REQUIRE(over[w]);
        }
        REQUIRE(closed);
        for (std::uint64_t i = 0; i < kItems; ++i) REQUIRE(times_done[i] == 1);
    }
}
