// tests/core/random_test.cpp: pel::philox4x32 against Random123's known answers; pel::Rng streams and distributions.
#include "pel/random.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using Block = std::array<std::uint32_t, 4>;
using Key = std::array<std::uint32_t, 2>;

std::vector<std::uint64_t> draws(pel::Rng rng, int n) {
    std::vector<std::uint64_t> out(static_cast<std::size_t>(n));
    for (auto& x : out) x = rng.next_u64();
    return out;
}

struct Moments {
    double mean = 0;
    double variance = 0;
};

template <class Draw>
Moments moments(int n, Draw draw) {
    double sum = 0;
    double sum_sq = 0;
    for (int i = 0; i < n; ++i) {
        const double x = draw();
        sum += x;
        sum_sq += x * x;
    }
    const double mean = sum / n;
    return {mean, sum_sq / n - mean * mean};
}

}  // namespace

// The philox4x32 10-round lines of Random123's tests/kat_vectors (D. E. Shaw Research), as also quoted in
// DEShawResearch/Random123-Boost libs/random/test/test_philox.cpp. Columns: counter[4], key[2], expected[4].
TEST_CASE("philox4x32 matches the Random123 known-answer vectors", "[core][random]") {
    SECTION("counter 0, key 0") {
        constexpr Block out = pel::philox4x32({0, 0, 0, 0}, {0, 0});  // constexpr: usable at compile time
        CHECK(out == Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    }
    SECTION("counter and key all ones") {
        const Block out = pel::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff});
        CHECK(out == Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    }
    SECTION("digits of pi") {
        const Block out = pel::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0});
        CHECK(out == Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    }
}

TEST_CASE("Rng draws its words from philox4x32 of (item, stream, draw) keyed by the seed", "[core][random]") {
    // Pins the stream format: a change here silently changes every job's random numbers.
    const std::uint64_t seed = 0x0123456789abcdefULL;
    const std::uint64_t item = 0xfedcba9876543210ULL;
    const std::uint32_t stream = 7;
    pel::Rng rng(seed, item, stream);
    const Key key{0x89abcdef, 0x01234567};
    for (std::uint32_t draw = 0; draw < 3; ++draw) {
        const Block block = pel::philox4x32({0x76543210, 0xfedcba98, stream, draw}, key);
        CAPTURE(draw);
        CHECK(rng.next_u64() == ((std::uint64_t{block[0]} << 32) | block[1]));
        CHECK(rng.next_u64() == ((std::uint64_t{block[2]} << 32) | block[3]));
    }
}

TEST_CASE("Rng is reproducible", "[core][random]") {
    CHECK(draws(pel::Rng(42, 1000), 1000) == draws(pel::Rng(42, 1000), 1000));
    CHECK(draws(pel::Rng(42, 1000, 3), 1000) == draws(pel::Rng(42, 1000, 3), 1000));

    SECTION("a copy taken mid-stream continues identically") {
        pel::Rng a(9, 9);
        for (int i = 0; i < 3; ++i) (void)a.next_u64();  // odd: the copy starts inside a block
        pel::Rng b = a;
        CHECK(draws(a, 100) == draws(b, 100));
    }
    SECTION("doubles too") {
        pel::Rng a(5, 6);
        pel::Rng b(5, 6);
        for (int i = 0; i < 1000; ++i) {
            REQUIRE(a.uniform() == b.uniform());
            REQUIRE(a.normal() == b.normal());
            REQUIRE(a.exponential() == b.exponential());
        }
    }
}

TEST_CASE("Rng streams differ across seeds, items and streams", "[core][random]") {
    const auto base = draws(pel::Rng(42, 1000, 0), 16);
    CHECK(draws(pel::Rng(43, 1000, 0), 16) != base);
    CHECK(draws(pel::Rng(42 + (std::uint64_t{1} << 32), 1000, 0), 16) != base);  // the high half of the seed counts
    CHECK(draws(pel::Rng(42, 1001, 0), 16) != base);
    CHECK(draws(pel::Rng(42, 1000 + (std::uint64_t{1} << 32), 0), 16) != base);  // the high half of the item counts
    CHECK(draws(pel::Rng(42, 1000, 1), 16) != base);

    SECTION("no two of many neighbouring streams share a first word") {
        std::vector<std::uint64_t> firsts;
        for (std::uint64_t seed = 0; seed < 4; ++seed) {
            for (std::uint64_t item = 0; item < 64; ++item) {
                for (std::uint32_t stream = 0; stream < 4; ++stream) {
                    firsts.push_back(pel::Rng(seed, item, stream).next_u64());
                }
            }
        }
        std::sort(firsts.begin(), firsts.end());
        CHECK(std::adjacent_find(firsts.begin(), firsts.end()) == firsts.end());
    }
    SECTION("words within one stream do not repeat") {
        auto words = draws(pel::Rng(1, 2, 3), 10000);
        std::sort(words.begin(), words.end());
        CHECK(std::adjacent_find(words.begin(), words.end()) == words.end());
    }
}

TEST_CASE("Rng::uniform is uniform on [0, 1) with 53 random bits", "[core][random]") {
    constexpr int kDraws = 100000;
    pel::Rng rng(2024, 17);
    double lo = 1.0;
    double hi = 0.0;
    double sum = 0;
    double sum_sq = 0;
    std::array<int, 10> deciles{};
    bool all_on_grid = true;
    for (int i = 0; i < kDraws; ++i) {
        const double u = rng.uniform();
        lo = std::min(lo, u);
        hi = std::max(hi, u);
        sum += u;
        sum_sq += u * u;
        deciles[static_cast<std::size_t>(u * 10)] += 1;
        const double scaled = std::ldexp(u, 53);
        all_on_grid = all_on_grid && scaled == std::floor(scaled);
    }
    const double mean = sum / kDraws;
    const double variance = sum_sq / kDraws - mean * mean;
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    CHECK(lo < 1e-3);
    CHECK(hi > 1 - 1e-3);
    CHECK(all_on_grid);
    // Standard errors: mean 0.00091, variance 0.00024; allow about 5 of them.
    CHECK(mean == Approx(0.5).margin(0.005));
    CHECK(variance == Approx(1.0 / 12).margin(0.0012));
    // Each decile holds 10000 +- 95 (one standard deviation); allow 5.
    for (int count : deciles) CHECK(std::abs(count - kDraws / 10) < 475);
}

TEST_CASE("Rng::uniform_open is on (0, 1]", "[core][random]") {
    pel::Rng rng(77, 0);
    double lo = 1.0;
    double hi = 0.0;
    for (int i = 0; i < 100000; ++i) {
        const double u = rng.uniform_open();
        lo = std::min(lo, u);
        hi = std::max(hi, u);
    }
    CHECK(lo > 0.0);
    CHECK(hi <= 1.0);
    CHECK(lo < 1e-3);
}

TEST_CASE("Rng::normal has mean 0 and standard deviation 1", "[core][random]") {
    constexpr int kDraws = 100000;
    pel::Rng rng(31337, 4);
    int within_one_sd = 0;
    double sum = 0;
    double sum_sq = 0;
    double sum_4 = 0;
    for (int i = 0; i < kDraws; ++i) {
        const double z = rng.normal();
        REQUIRE(std::isfinite(z));
        sum += z;
        sum_sq += z * z;
        sum_4 += z * z * z * z;
        if (std::fabs(z) < 1.0) ++within_one_sd;
    }
    const double mean = sum / kDraws;
    const double variance = sum_sq / kDraws - mean * mean;
    CHECK(mean == Approx(0.0).margin(0.016));  // 5 standard errors of 0.0032
    CHECK(std::sqrt(variance) == Approx(1.0).margin(0.012));
    CHECK(sum_4 / kDraws == Approx(3.0).margin(0.15));  // kurtosis of a normal
    CHECK(static_cast<double>(within_one_sd) / kDraws == Approx(0.682689).margin(0.0075));
}

TEST_CASE("Rng::exponential has mean 1 and variance 1", "[core][random]") {
    pel::Rng rng(8, 8, 8);
    double lo = 1.0;
    const Moments m = moments(100000, [&] {
        const double x = rng.exponential();
        lo = std::min(lo, x);
        return x;
    });
    CHECK(lo >= 0.0);
    CHECK(m.mean == Approx(1.0).margin(0.016));
    CHECK(m.variance == Approx(1.0).margin(0.06));
}
