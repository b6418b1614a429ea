// tests/sched/techniques_test.cpp: the chunk sizes of fsc, mfsc, wf, awf-b..e and af, computed by hand from the
// papers' formulas for small inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pel/error.hpp"
#include "sched/policy.hpp"

namespace {

using pel::ItemRange;
using pel::sched::CostProfile;
using pel::sched::Dispenser;
using pel::sched::Params;
using pel::sched::Technique;

/// The sizes of the next `count` chunks, asked for by ranks 0, 1, ..., P - 1, 0, ...
std::vector<std::uint64_t> sizes(Dispenser& d, int ranks, int count) {
    std::vector<std::uint64_t> out;
    for (int i = 0; i < count; ++i) {
        const auto chunk = d.next(i % ranks);
        out.push_back(chunk ? chunk->size() : 0);
    }
    return out;
}

}  // namespace

TEST_CASE("mfsc hands out one size, T ln 2 / ln T with T = ceil(N / P)", "[sched][techniques]") {
    // N = 1000, P = 4: T = 250, 250 x 0.6931 / 5.5215 = 31.4 -> 31; 32 chunks of 31 and a last of 8.
    Dispenser d(Params{Technique::mfsc, 1}, 1000, 4);
    const std::vector<std::uint64_t> got = sizes(d, 4, 34);
    for (int i = 0; i < 32; ++i) CHECK(got[static_cast<std::size_t>(i)] == 31);
    CHECK(got[32] == 8);
    CHECK(got[33] == 0);
    // Resumed with 100 items left of 1000 (P = 4): T = 25, 25 x 0.6931 / 3.2189 = 5.38 -> 5.
    Dispenser resumed(Params{Technique::mfsc, 1}, 1000, 4, {{900, 1000}});
    CHECK(resumed.next(2) == ItemRange{900, 905});
}

TEST_CASE("fsc takes sigma from the first reports, or from the profile, then keeps one size", "[sched][techniques]") {
    Params params{Technique::fsc, 1};
    params.chunk_overhead_s = 1;
    Dispenser d(params, 1000, 4);
    // Nothing measured: chunks of --chunk-size.
    CHECK(d.next(0) == ItemRange{0, 1});
    CHECK(d.next(1) == ItemRange{1, 2});
    d.report(0, {1, 1.0});
    CHECK(d.next(0)->size() == 1);  // one report: no spread yet
    d.report(1, {1, 3.0});
    // Items of 1 s and 3 s: sigma^2 = 2. k = (sqrt 2 x 1000 x 1 / (sqrt 2 x 4 x sqrt(ln 4)))^(2/3)
    // = (1000 / 4.70964)^(2/3) = 212.33^(2/3) = 35.6 -> 36, from now on.
    CHECK(d.next(2) == ItemRange{3, 39});
    d.report(2, {36, 1.0});
    CHECK(d.next(3) == ItemRange{39, 75});

    // With a profile: items 0-499 cost 1, 500-999 cost 3, so mean 2 and sigma 1; the costlier half goes first.
    // k = (sqrt 2 x 1000 / 4.70964)^(2/3) = 300.28^(2/3) = 44.85 -> 45 items of mean cost, 90 s: 30 items of 3 s.
    Dispenser profiled(params, 1000, 4);
    profiled.set_profile(CostProfile(1000, {500, 1500}));
    CHECK(profiled.next(0) == ItemRange{500, 530});
    CHECK(profiled.next(1) == ItemRange{530, 560});

    // One rank, or no spread: one block per rank.
    Dispenser alone(params, 100, 1);
    alone.report(0, {1, 1.0});
    alone.report(0, {1, 1.0});
    CHECK(alone.next(0) == ItemRange{0, 100});
}

TEST_CASE("wf scales fac2's batches by the given weights", "[sched][techniques]") {
    Params params{Technique::wf, 1};
    params.weights = {1, 1, 2, 4};  // a mean of 1: 0.5, 0.5, 1, 2
    Dispenser d(params, 1000, 4);
    // Batch 1: ceil(1000 / 8) = 125 -> rank 3 250, rank 0 62.5 -> 63, rank 2 125, rank 1 63.
    CHECK(d.next(3)->size() == 250);
    CHECK(d.next(0)->size() == 63);
    CHECK(d.next(2)->size() == 125);
    CHECK(d.next(1)->size() == 63);
    // Batch 2: 499 left, ceil(499 / 8) = 63 -> rank 3 126.
    CHECK(d.next(3)->size() == 126);

    params.weights = {1, 2};
    CHECK_THROWS_AS(Dispenser(params, 1000, 4), pel::Error);  // one weight per rank
    params.weights = {1, 0, 1, 1};
    CHECK_THROWS_AS(Dispenser(params, 1000, 4), pel::Error);
}

TEST_CASE("wf without weights measures them once every rank reported, and keeps them", "[sched][techniques]") {
    Dispenser d(Params{Technique::wf, 1}, 1000, 4);
    CHECK(sizes(d, 4, 4) == std::vector<std::uint64_t>{125, 125, 125, 125});
    for (int r = 0; r < 3; ++r) d.report(r, {125, 1.0});
    // Rank 3 has not reported when the second batch starts: weights stay 1 for that batch.
    const std::vector<std::uint64_t> unweighted{63, 63, 63, 63};
    CHECK(sizes(d, 4, 4) == unweighted);
    d.report(3, {125, 2.0});
    // Batch 3 (248 left, 31 each): rates 125, 125, 125, 62.5, weights 8/7 and 4/7: 35 and 18.
    CHECK(sizes(d, 4, 4) == std::vector<std::uint64_t>{35, 35, 35, 18});
}

TEST_CASE("wf without weights fixes the weights it measured", "[sched][techniques]") {
    Dispenser d(Params{Technique::wf, 1}, 1000, 4);
    CHECK(sizes(d, 4, 4) == std::vector<std::uint64_t>{125, 125, 125, 125});
    for (int r = 0; r < 4; ++r) d.report(r, {125, r == 3 ? 2.0 : 1.0});
    // Batch 2 (500 left, 63 each): rates 125, 125, 125, 62.5, weights 8/7 and 4/7: 72 and 36.
    CHECK(sizes(d, 4, 4) == std::vector<std::uint64_t>{72, 72, 72, 36});
    // Later reports change nothing: the weights are fixed. Batch 3: 248 left, 31 each: 35 and 18.
    for (int r = 0; r < 4; ++r) d.report(r, {72, r == 0 ? 10.0 : 1.0});
    CHECK(sizes(d, 4, 4) == std::vector<std::uint64_t>{35, 35, 35, 18});
}

TEST_CASE("awf-b sizes batches once, awf-c each chunk from what remains", "[sched][techniques]") {
    for (const Technique t : {Technique::awf_b, Technique::awf_c}) {
        CAPTURE(pel::sched::technique_name(t));
        Dispenser d(Params{t, 1}, 1000, 4);
        CHECK(d.next(0)->size() == 125);  // nothing measured: weight 1
        d.report(0, {125, 1.0});          // 125 items a second
        d.report(3, {125, 2.0});          // 62.5: weights 4/3 and 2/3
        // awf-b: the batch's chunk stays 125: 166.67 -> 167 and 83.33 -> 83.
        // awf-c: 875 left, ceil(875 / 8) = 110 -> 146.67 -> 147; then 728 left, 91 -> 60.67 -> 61.
        const std::uint64_t fast = d.next(0)->size();
        const std::uint64_t slow = d.next(3)->size();
        if (t == Technique::awf_b) {
            CHECK(fast == 167);
            CHECK(slow == 83);
        } else {
            CHECK(fast == 147);
            CHECK(slow == 61);
        }
    }
}

TEST_CASE("awf-d and awf-e weigh ranks by wall time between requests", "[sched][techniques]") {
    for (const Technique t : {Technique::awf_d, Technique::awf_e, Technique::awf_c}) {
        CAPTURE(pel::sched::technique_name(t));
        Dispenser d(Params{t, 1}, 1000, 4);
        for (int r = 0; r < 4; ++r) d.report(r, {100, 0.5}, 0.0);
        // Kernel time alike, but rank 3 took twice the wall time: 100 items in 1 s against 2 s.
        for (int r = 0; r < 4; ++r) d.report(r, {100, 0.5}, r == 3 ? 2.0 : 1.0);
        // Rates 100, 100, 100, 50: weights 8/7 and 4/7 of 125 (1000 left).
        const std::uint64_t slow = d.next(3)->size();
        CHECK(slow == (t == Technique::awf_c ? 125 : 71));
    }
}

TEST_CASE("af sizes chunks from each rank's mean and variance", "[sched][techniques]") {
    Dispenser d(Params{Technique::af, 1}, 100, 2);
    CHECK(d.next(0) == ItemRange{0, 1});  // not measured: --chunk-size
    d.report(0, {10, 10.0});
    d.report(0, {10, 30.0});  // rank 0: mu 2, sigma^2 20
    d.report(1, {10, 10.0});  // rank 1: mu 1, sigma^2 0
    // D = 20 / 2 + 0 = 10, T = 1 / (1/2 + 1) = 2/3, R = 99:
    // rank 0: (10 + 132 - sqrt(100 + 4 x 10 x 2/3 x 99)) / (2 x 2) = (142 - 52.345) / 4 = 22.41 -> 22.
    CHECK(d.next(0) == ItemRange{1, 23});
    // rank 1, R = 77: (10 + 102.67 - sqrt(100 + 2053.33)) / 2 = 33.13, above N / 2P = 25: 25.
    CHECK(d.next(1) == ItemRange{23, 48});
}

TEST_CASE("Every new technique reads its name back", "[sched][techniques]") {
    for (const char* name : {"fsc", "mfsc", "wf", "awf-b", "awf-c", "awf-d", "awf-e", "af"}) {
        CHECK(pel::sched::technique_name(pel::sched::parse_technique(name)) == name);
    }
}
