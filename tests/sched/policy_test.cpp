// tests/sched/policy_test.cpp: every technique's Dispenser grants each item exactly once, in chunks of the right size.
#include "sched/policy.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pel/error.hpp"

namespace {

using pel::ItemRange;
using pel::sched::Dispenser;
using pel::sched::Params;
using pel::sched::Technique;

constexpr std::uint64_t kItemCounts[] = {0, 1, 2, 3, 7, 10, 64, 100, 1000, 4099};
constexpr int kRankCounts[] = {1, 2, 3, 4, 7, 16};
constexpr std::uint64_t kChunkSizes[] = {0, 1, 2, 5, 64, 1000};

/// Every technique --schedule knows.
std::vector<Technique> all_techniques() {
    std::vector<Technique> all;
    for (const std::string& name : pel::sched::technique_names()) all.push_back(pel::sched::parse_technique(name));
    return all;
}

/// A request answered by the dispenser.
struct Grant {
    int rank;
    ItemRange chunk;
};

/// Asks for work from random ranks until every rank has been told there is none; returns the grants in order.
/// Checks on the way that remaining() counts down and that a rank told "no more" stays without work. With `reporting`,
/// each request first reports the rank's previous chunk done in a random time, at a clock that moves on, so that the
/// adaptive techniques adapt on the way.
std::vector<Grant> simulate(Dispenser& dispenser, std::uint64_t items, int ranks, std::mt19937_64& gen,
                            bool reporting = false) {
    std::vector<std::uint64_t> in_hand(static_cast<std::size_t>(ranks));
    std::uniform_real_distribution<double> item_time(0.001, 0.1);
    double now = 0;
    std::vector<Grant> grants;
    std::vector<int> active(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r) active[static_cast<std::size_t>(r)] = r;
    const std::uint64_t max_requests = items + static_cast<std::uint64_t>(ranks) + 1;
    std::uint64_t requests = 0;
    while (!active.empty()) {
        ++requests;
        REQUIRE(requests <= max_requests);  // every request but a rank's last grants at least one item
        std::uniform_int_distribution<std::size_t> pick(0, active.size() - 1);
        const std::size_t slot = pick(gen);
        const int rank = active[slot];
        if (reporting) {
            const std::uint64_t done = std::exchange(in_hand[static_cast<std::size_t>(rank)], 0);
            const double busy = static_cast<double>(done) * item_time(gen) * (rank % 3 == 0 ? 3 : 1);
            now += item_time(gen);
            dispenser.report(rank, {done, busy}, now);
        }
        const std::uint64_t before = dispenser.remaining();
        const std::optional<ItemRange> chunk = dispenser.next(rank);
        if (!chunk) {
            active.erase(active.begin() + static_cast<std::ptrdiff_t>(slot));
            CHECK_FALSE(dispenser.next(rank).has_value());  // asking again does not revive it
            continue;
        }
        REQUIRE(chunk->begin < chunk->end);
        REQUIRE(chunk->end <= items);
        REQUIRE(dispenser.remaining() == before - chunk->size());
        grants.push_back({rank, *chunk});
        in_hand[static_cast<std::size_t>(rank)] = chunk->size();
    }
    return grants;
}

/// The chunks tile [0, items): sorted by start, each begins where the previous ended and the last ends at items.
bool tiles(std::vector<Grant> grants, std::uint64_t items) {
    std::sort(grants.begin(), grants.end(),
              [](const Grant& a, const Grant& b) { return a.chunk.begin < b.chunk.begin; });
    std::uint64_t next = 0;
    for (const Grant& g : grants) {
        if (g.chunk.begin != next) return false;
        next = g.chunk.end;
    }
    return next == items;
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<pel::ItemRange> {
    static std::string convert(const pel::ItemRange& r) {
        return "[" + std::to_string(r.begin) + ", " + std::to_string(r.end) + ")";
    }
};
template <>
struct StringMaker<std::optional<pel::ItemRange>> {
    static std::string convert(const std::optional<pel::ItemRange>& r) {
        return r ? StringMaker<pel::ItemRange>::convert(*r) : "nothing";
    }
};
}  // namespace Catch

TEST_CASE("Dispenser grants every item exactly once, for every technique", "[sched][policy]") {
    std::mt19937_64 gen(12345);
    for (const Technique technique : all_techniques()) {
        for (const bool reporting : {false, true}) {
            for (const std::uint64_t items : kItemCounts) {
                for (const int ranks : kRankCounts) {
                    for (const std::uint64_t chunk_size : kChunkSizes) {
                        CAPTURE(pel::sched::technique_name(technique), reporting, items, ranks, chunk_size);
                        Dispenser dispenser(Params{technique, chunk_size}, items, ranks);
                        CHECK(dispenser.remaining() == items);
                        const std::vector<Grant> grants = simulate(dispenser, items, ranks, gen, reporting);
                        CHECK(tiles(grants, items));
                        CHECK(dispenser.remaining() == 0);
                    }
                }
            }
        }
    }
}

TEST_CASE("ss hands out chunks of chunk_size in order, the last possibly smaller", "[sched][policy]") {
    std::mt19937_64 gen(1);
    for (const std::uint64_t items : kItemCounts) {
        for (const int ranks : kRankCounts) {
            for (const std::uint64_t chunk_size : kChunkSizes) {
                CAPTURE(items, ranks, chunk_size);
                Dispenser dispenser(Params{Technique::ss, chunk_size}, items, ranks);
                const std::vector<Grant> grants = simulate(dispenser, items, ranks, gen);
                const std::uint64_t size = std::max<std::uint64_t>(chunk_size, 1);  // 0 means 1
                std::uint64_t next = 0;
                for (std::size_t i = 0; i < grants.size(); ++i) {
                    const ItemRange c = grants[i].chunk;
                    CHECK(c.begin == next);
                    if (i + 1 < grants.size()) {
                        CHECK(c.size() == size);
                    } else {
                        CHECK(c.size() <= size);
                        CHECK(c.size() == items - (items - 1) / size * size);
                    }
                    next = c.end;
                }
                CHECK(grants.size() == (items + size - 1) / size);
            }
        }
    }
}

TEST_CASE("gss chunks shrink with the work left and never fall below chunk_size but for the last", "[sched][policy]") {
    std::mt19937_64 gen(2);
    for (const std::uint64_t items : kItemCounts) {
        for (const int ranks : kRankCounts) {
            for (const std::uint64_t chunk_size : kChunkSizes) {
                CAPTURE(items, ranks, chunk_size);
                Dispenser dispenser(Params{Technique::gss, chunk_size}, items, ranks);
                const std::vector<Grant> grants = simulate(dispenser, items, ranks, gen);
                const std::uint64_t min_size = std::max<std::uint64_t>(chunk_size, 1);
                const auto p = static_cast<std::uint64_t>(ranks);
                std::uint64_t next = 0;
                for (std::size_t i = 0; i < grants.size(); ++i) {
                    const ItemRange c = grants[i].chunk;
                    CAPTURE(i, c.begin, c.end);
                    CHECK(c.begin == next);
                    if (i > 0) CHECK(c.size() <= grants[i - 1].chunk.size());
                    if (i + 1 < grants.size()) CHECK(c.size() >= min_size);
                    // Guided self-scheduling: ceil(remaining / P), at least chunk_size, at most what is left.
                    const std::uint64_t left = items - c.begin;
                    CHECK(c.size() == std::min(left, std::max(min_size, (left + p - 1) / p)));
                    next = c.end;
                }
            }
        }
    }

    SECTION("the first chunk of 1000 items on 4 ranks is 250") {
        Dispenser dispenser(Params{Technique::gss, 1}, 1000, 4);
        CHECK(dispenser.next(2) == ItemRange{0, 250});
        CHECK(dispenser.next(0) == ItemRange{250, 438});  // ceil(750 / 4) = 188
    }
}

TEST_CASE("static gives rank r exactly [r n / P, (r + 1) n / P), once, whatever order ranks ask", "[sched][policy]") {
    std::mt19937_64 gen(3);
    for (const std::uint64_t items : kItemCounts) {
        for (const int ranks : kRankCounts) {
            CAPTURE(items, ranks);
            Dispenser dispenser(Params{Technique::static_block, 7}, items, ranks);
            const std::vector<Grant> grants = simulate(dispenser, items, ranks, gen);
            std::vector<int> grants_per_rank(static_cast<std::size_t>(ranks), 0);
            for (const Grant& g : grants) {
                const auto r = static_cast<std::uint64_t>(g.rank);
                const auto p = static_cast<std::uint64_t>(ranks);
                CAPTURE(g.rank);
                CHECK(g.chunk == ItemRange{r * items / p, (r + 1) * items / p});
                ++grants_per_rank[static_cast<std::size_t>(g.rank)];
            }
            for (int r = 0; r < ranks; ++r) {
                const auto ru = static_cast<std::uint64_t>(r);
                const auto p = static_cast<std::uint64_t>(ranks);
                // A rank whose block is empty gets nothing.
                const int expected = (ru + 1) * items / p > ru * items / p ? 1 : 0;
                CAPTURE(r);
                CHECK(grants_per_rank[static_cast<std::size_t>(r)] == expected);
            }
        }
    }

    SECTION("a rank's block does not depend on who asked first") {
        Dispenser forward(Params{Technique::static_block, 1}, 10, 3);
        Dispenser backward(Params{Technique::static_block, 1}, 10, 3);
        const auto f0 = forward.next(0);
        const auto b2 = backward.next(2);
        const auto b1 = backward.next(1);
        const auto b0 = backward.next(0);
        const auto f1 = forward.next(1);
        const auto f2 = forward.next(2);
        CHECK(f0 == b0);
        CHECK(f1 == b1);
        CHECK(f2 == b2);
        CHECK(f0 == ItemRange{0, 3});
        CHECK(f1 == ItemRange{3, 6});
        CHECK(f2 == ItemRange{6, 10});
    }
    SECTION("remaining() counts the blocks of ranks that have not asked yet") {
        Dispenser dispenser(Params{Technique::static_block, 1}, 10, 3);
        (void)dispenser.next(1);
        CHECK(dispenser.remaining() == 7);
    }
    SECTION("a rank outside [0, P) gets nothing") {
        Dispenser dispenser(Params{Technique::static_block, 1}, 10, 3);
        CHECK_FALSE(dispenser.next(3).has_value());
        CHECK_FALSE(dispenser.next(-1).has_value());
        CHECK(dispenser.remaining() == 10);
    }
}

TEST_CASE("Dispenser treats a rank count below 1 as 1", "[sched][policy]") {
    for (const Technique technique : {Technique::static_block, Technique::ss, Technique::gss}) {
        CAPTURE(pel::sched::technique_name(technique));
        Dispenser dispenser(Params{technique, 1000}, 10, 0);
        CHECK(dispenser.next(0) == ItemRange{0, 10});
        CHECK_FALSE(dispenser.next(0).has_value());
    }
}

// Chunk arithmetic must not wrap in 64 bits: static's r * n / P and gss's ceil(remaining / P) near 2^64.
TEST_CASE("Dispenser handles item counts near 2^64", "[sched][policy]") {
    SECTION("static with 2^62 items on 8 ranks") {
        const std::uint64_t n = std::uint64_t{1} << 62;
        Dispenser dispenser(Params{Technique::static_block, 1}, n, 8);
        CHECK(dispenser.next(7) == ItemRange{7 * (n / 8), n});
        CHECK(dispenser.remaining() == n - n / 8);
    }
    SECTION("gss with 2^64 - 1 items on 3 ranks") {
        const std::uint64_t n = std::numeric_limits<std::uint64_t>::max();
        Dispenser dispenser(Params{Technique::gss, 1}, n, 3);
        CHECK(dispenser.next(0) == ItemRange{0, n / 3});  // ceil((2^64 - 1) / 3) = (2^64 - 1) / 3 exactly
    }
}

TEST_CASE("Technique names", "[sched][policy]") {
    const std::vector<std::string> names = pel::sched::technique_names();
    CHECK(names == std::vector<std::string>{"static", "ss", "gss", "tss", "fac2", "awf", "fsc", "mfsc", "wf", "awf-b",
                                            "awf-c", "awf-d", "awf-e", "af", "auto"});
    for (const std::string& name : names) CHECK(pel::sched::technique_name(pel::sched::parse_technique(name)) == name);
    CHECK(pel::sched::parse_technique("static") == Technique::static_block);
    CHECK(pel::sched::parse_technique("ss") == Technique::ss);
    CHECK(pel::sched::parse_technique("gss") == Technique::gss);

    SECTION("an unknown name is a usage error that lists the known names") {
        for (const std::string bad : {"fac3", "", "SS", "gss ", "static_block"}) {
            CAPTURE(bad);
            try {
                (void)pel::sched::parse_technique(bad);
                FAIL("parse_technique accepted '" << bad << "'");
            } catch (const pel::Error& e) {
                CHECK(e.code() == pel::ExitCode::usage);
                const std::string message = e.what();
                CHECK_THAT(message, Catch::Contains("'" + bad + "'"));
                for (const std::string& name : names) CHECK_THAT(message, Catch::Contains(name));
            }
        }
    }
}

TEST_CASE("tss chunks fall linearly from N / 2P towards chunk_size", "[sched][policy]") {
    Dispenser dispenser(Params{Technique::tss, 1}, 1000, 4);  // f = 125, l = 1, C = 16, delta = 124 / 15
    std::vector<std::uint64_t> sizes;
    while (const auto c = dispenser.next(0)) sizes.push_back(c->size());
    REQUIRE(sizes.size() >= 2);
    CHECK(sizes[0] == 125);
    CHECK(sizes[1] == 117);  // ceil(125 - 8.27)
    for (std::size_t i = 1; i + 1 < sizes.size(); ++i) CHECK(sizes[i] <= sizes[i - 1]);
    std::uint64_t total = 0;
    for (auto s : sizes) total += s;
    CHECK(total == 1000);
}

TEST_CASE("fac2 hands out batches of P equal chunks, each batch half of what remains", "[sched][policy]") {
    Dispenser dispenser(Params{Technique::fac2, 1}, 1000, 4);
    std::vector<std::uint64_t> sizes;
    for (int i = 0; i < 8; ++i) sizes.push_back(dispenser.next(i % 4)->size());
    CHECK(sizes == std::vector<std::uint64_t>{125, 125, 125, 125, 63, 63, 63, 63});
}

TEST_CASE("awf gives a rank measured twice as slow chunks half as large", "[sched][policy]") {
    Dispenser dispenser(Params{Technique::awf, 1}, 100000, 4);
    CHECK(dispenser.weight(0) == 1.0);  // nothing measured: every rank alike
    for (int r = 0; r < 4; ++r) dispenser.report(r, {100, r == 3 ? 2.0 : 1.0});
    // Rates 100, 100, 100, 50: mean 87.5, so weights 8/7 and 4/7.
    CHECK(dispenser.weight(0) == Approx(8.0 / 7.0));
    CHECK(dispenser.weight(3) == Approx(4.0 / 7.0));
    const auto fast = dispenser.next(0);
    const auto slow = dispenser.next(3);
    REQUIRE(fast);
    REQUIRE(slow);
    CHECK(static_cast<double>(slow->size()) / static_cast<double>(fast->size()) == Approx(0.5).epsilon(0.01));
    CHECK(fast->size() == static_cast<std::uint64_t>(std::round(12500 * 8.0 / 7.0)));
}

TEST_CASE("A cost profile reads cumulative cost and finds where a chunk reaches a cost", "[sched][profile]") {
    // 8 items in 4 bins of 2: bin seconds 1, 3, 0, 4 -> cumulative at item boundaries 0, .5, 1, 2.5, 4, 4, 4, 6, 8.
    const pel::sched::CostProfile p(8, {1, 3, 0, 4});
    CHECK(p.total() == 8);
    CHECK(p.cumulative(0) == 0);
    CHECK(p.cumulative(1) == Approx(0.5));
    CHECK(p.cumulative(3) == Approx(2.5));
    CHECK(p.cumulative(6) == Approx(4));
    CHECK(p.cumulative(8) == 8);
    CHECK(p.end_for_cost(0, 2.0) == 3);  // [0, 3) costs 2.5, [0, 2) only 1
    CHECK(p.end_for_cost(4, 0.1) == 7);  // bin 2 is free: the chunk runs into bin 3
    CHECK(p.end_for_cost(5, 100) == 8);
    CHECK(pel::sched::CostProfile(3, {1, 1, 1, 1}).empty());  // more bins than items: unusable
}

TEST_CASE("With a profile, static cuts blocks of equal cost and every technique still tiles", "[sched][profile]") {
    // Item i costs i + 1: with 2 ranks over 100 items, equal cost puts the cut near 70.
    std::vector<double> costs(100);
    for (std::size_t i = 0; i < costs.size(); ++i) costs[i] = static_cast<double>(i + 1);
    Dispenser fixed(Params{Technique::static_block, 1}, 100, 2);
    fixed.set_profile(pel::sched::CostProfile(100, costs));
    const auto first = fixed.next(0);
    REQUIRE(first);
    CHECK(first->begin == 0);
    CHECK(first->end >= 69);
    CHECK(first->end <= 72);
    std::mt19937_64 gen(7);
    for (const Technique technique : all_techniques()) {
        for (const int ranks : kRankCounts) {
            for (const bool reporting : {false, true}) {
                CAPTURE(pel::sched::technique_name(technique), ranks, reporting);
                Dispenser dispenser(Params{technique, 1}, 100, ranks);
                dispenser.set_profile(pel::sched::CostProfile(100, costs));
                CHECK(tiles(simulate(dispenser, 100, ranks, gen, reporting), 100));
            }
        }
    }
    // gss by cost: a chunk holds a 1/P share of the remaining cost, so fewer of the costly items. Over 2 ranks, only
    // items costing more than 5050 / 2 / 32 = 78.9 are heavy (78..99); what is left costs 3081.
    Dispenser guided(Params{Technique::gss, 1}, 100, 2);
    guided.set_profile(pel::sched::CostProfile(100, costs));
    for (std::uint64_t item = 99; item >= 78; --item) REQUIRE(guided.next(0) == ItemRange{item, item + 1});
    // Then the costliest class: items 63..77 (costs 64..78) in one chunk, as they cost less than half of 3081 and a
    // chunk never crosses into the next class; then class 5 from item 31 up to half of what is left (2016 / 2).
    CHECK(guided.next(0) == ItemRange{63, 78});
    CHECK(guided.next(0) == ItemRange{31, 55});
}

TEST_CASE("With a profile, the costliest items go first, each alone; the rest keep their order", "[sched][profile]") {
    // 1000 items costing 1 but for 3 long ones: 500 at item 10, 200 at 700, 90 at 999. With 8 ranks a rank's share
    // is 1787 / 8 = 223, and heavy means more than 223 / 32 = 7.
    std::vector<double> costs(1000, 1.0);
    costs[10] = 500;
    costs[700] = 200;
    costs[999] = 90;
    for (const Technique technique : {Technique::ss, Technique::gss, Technique::tss, Technique::fac2, Technique::awf}) {
        CAPTURE(pel::sched::technique_name(technique));
        Dispenser dispenser(Params{technique, 1}, 1000, 8);
        dispenser.set_profile(pel::sched::CostProfile(1000, costs));
        REQUIRE(dispenser.order().size() == 6);
        CHECK(dispenser.next(3) == ItemRange{10, 11});
        CHECK(dispenser.next(1) == ItemRange{700, 701});
        CHECK(dispenser.next(0) == ItemRange{999, 1000});
        const auto after = dispenser.next(2);
        REQUIRE(after);
        CHECK(after->begin == 0);
        CHECK(after->end <= 10);  // chunks never cross into a range that was granted out of order
        std::mt19937_64 gen(11);
        std::vector<Grant> grants = simulate(dispenser, 1000, 8, gen);
        grants.push_back({0, {10, 11}});
        grants.push_back({0, {700, 701}});
        grants.push_back({0, {999, 1000}});
        grants.push_back({0, *after});
        CHECK(tiles(grants, 1000));
    }
    // Static keeps its blocks; even costs leave the order alone.
    Dispenser fixed(Params{Technique::static_block, 1}, 1000, 8);
    fixed.set_profile(pel::sched::CostProfile(1000, costs));
    CHECK(fixed.order().size() == 1);
    Dispenser even(Params{Technique::gss, 1}, 1000, 8);
    even.set_profile(pel::sched::CostProfile(1000, std::vector<double>(1000, 2.0)));
    CHECK(even.order() == std::vector<ItemRange>{{0, 1000}});
}

TEST_CASE("With a profile, the items that are not heavy go by falling cost class, each class in item order",
          "[sched][profile]") {
    // Items 0-299 cost 1, 300-599 cost 3, 600-999 cost 1.5 (class 0); none is heavy. The phase starts on the costliest
    // class and ends on the cheapest, which keeps its two stretches in item order.
    std::vector<double> costs(1000, 1.0);
    for (int i = 300; i < 600; ++i) costs[static_cast<std::size_t>(i)] = 3.0;
    for (int i = 600; i < 1000; ++i) costs[static_cast<std::size_t>(i)] = 1.5;
    for (const Technique technique : {Technique::ss, Technique::gss, Technique::fac2, Technique::awf}) {
        CAPTURE(pel::sched::technique_name(technique));
        Dispenser dispenser(Params{technique, 1}, 1000, 4);
        dispenser.set_profile(pel::sched::CostProfile(1000, costs));
        CHECK(dispenser.order() == std::vector<ItemRange>{{300, 600}, {0, 300}, {600, 1000}});
        std::mt19937_64 gen(5);
        CHECK(tiles(simulate(dispenser, 1000, 4, gen), 1000));
    }
}

TEST_CASE("A dispenser with items to do grants exactly those, for every technique", "[sched][policy]") {
    // What a resumed or paused phase has left: holes at the start, middle and end, with and without a profile.
    const std::vector<ItemRange> todo{{3, 40}, {41, 42}, {100, 380}, {512, 1000}};
    std::uint64_t to_do = 0;
    for (const ItemRange& r : todo) to_do += r.size();
    std::vector<double> costs(1000, 1.0);
    costs[200] = 400;  // heavy, and in the to-do list
    costs[50] = 400;   // heavy, but done already
    std::mt19937_64 gen(3);
    for (const bool profiled : {false, true}) {
        for (const Technique technique : all_techniques()) {
            for (const int ranks : {1, 3, 8}) {
                CAPTURE(profiled, pel::sched::technique_name(technique), ranks);
                Dispenser dispenser(Params{technique, 2}, 1000, ranks, todo);
                if (profiled) dispenser.set_profile(pel::sched::CostProfile(1000, costs));
                REQUIRE(dispenser.remaining() == to_do);
                std::vector<Grant> grants = simulate(dispenser, 1000, ranks, gen, true);
                std::sort(grants.begin(), grants.end(),
                          [](const Grant& a, const Grant& b) { return a.chunk.begin < b.chunk.begin; });
                std::vector<ItemRange> covered;
                for (const Grant& g : grants) {
                    if (!covered.empty() && covered.back().end == g.chunk.begin) {
                        covered.back().end = g.chunk.end;
                    } else {
                        covered.push_back(g.chunk);
                    }
                }
                CHECK(covered == todo);
                CHECK(dispenser.remaining() == 0);
            }
        }
    }
    Dispenser first(Params{Technique::gss, 1}, 1000, 4, todo);
    first.set_profile(pel::sched::CostProfile(1000, costs));
    CHECK(first.next(0) == ItemRange{200, 201});
}
