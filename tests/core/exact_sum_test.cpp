// tests/core/exact_sum_test.cpp: pel::ExactSum is exact, correctly rounded and independent of order and splitting.
#include "pel/exact_sum.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <type_traits>
#include <vector>

#include "pel/archive.hpp"

namespace {

__extension__ using Int128 = __int128;

std::uint64_t bits_of(double x) { return std::bit_cast<std::uint64_t>(x); }

double exact_sum(std::span<const double> terms) {
    pel::ExactSum sum;
    for (double x : terms) sum.add(x);
    return sum.value();
}

/// An independent, correctly rounded reference: Shewchuk's non-overlapping partials with the half-even fix-up of
/// CPython's math.fsum. Exact for finite terms whose partial sums do not overflow.
double reference_fsum(std::span<const double> terms) {
    std::vector<double> partials;
    for (double x : terms) {
        std::size_t kept = 0;
        for (double y : partials) {
            if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
            const double hi = x + y;
            const double lo = y - (hi - x);
            if (lo != 0.0) partials[kept++] = lo;
            x = hi;
        }
        partials.resize(kept);
        partials.push_back(x);
    }
    std::size_t n = partials.size();
    double hi = 0.0;
    double lo = 0.0;
    if (n > 0) {
        hi = partials[--n];
        while (n > 0) {
            const double x = hi;
            const double y = partials[--n];
            hi = x + y;
            lo = y - (hi - x);
            if (lo != 0.0) break;
        }
        if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
            const double y = lo * 2.0;
            const double x = hi + y;
            if (y == x - hi) hi = x;
        }
    }
    return hi;
}

/// Random doubles with full 53-bit mantissas, random signs and binary exponents in [min_exp, max_exp].
std::vector<double> wide_doubles(std::mt19937_64& gen, std::size_t n, int min_exp, int max_exp) {
    std::uniform_int_distribution<int> exponent(min_exp, max_exp);
    std::vector<double> out(n);
    for (auto& x : out) {
        const std::uint64_t mantissa = (gen() >> 11) | (std::uint64_t{1} << 52);
        x = std::ldexp(static_cast<double>(mantissa), exponent(gen) - 52);
        if ((gen() & 1) != 0) x = -x;
    }
    return out;
}

/// Splits `terms` at random points into partial sums and merges them in a random order, as ranks and threads do.
double split_and_merge(std::span<const double> terms, std::mt19937_64& gen, std::size_t parts) {
    std::vector<std::size_t> cuts{0, terms.size()};
    std::uniform_int_distribution<std::size_t> cut(0, terms.size());
    for (std::size_t i = 1; i < parts; ++i) cuts.push_back(cut(gen));
    std::sort(cuts.begin(), cuts.end());
    std::vector<pel::ExactSum> partials;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        pel::ExactSum& s = partials.emplace_back();
        for (std::size_t j = cuts[i]; j < cuts[i + 1]; ++j) s.add(terms[j]);
    }
    // Merge pairs at random until one is left: an arbitrary merge tree, not just a left fold.
    while (partials.size() > 1) {
        std::uniform_int_distribution<std::size_t> pick(0, partials.size() - 1);
        const std::size_t a = pick(gen);
        std::size_t b = pick(gen);
        if (a == b) b = (b + 1) % partials.size();
        partials[a].merge(partials[b]);
        partials.erase(partials.begin() + static_cast<std::ptrdiff_t>(b));
    }
    return partials.front().value();
}

}  // namespace

TEST_CASE("ExactSum is trivially copyable", "[core][exact_sum]") {
    STATIC_REQUIRE(std::is_trivially_copyable_v<pel::ExactSum>);  // partials travel between ranks as bytes
}

TEST_CASE("ExactSum of nothing is +0", "[core][exact_sum]") {
    pel::ExactSum sum;
    CHECK(bits_of(sum.value()) == bits_of(0.0));
    sum.add(0.0);
    sum.add(-0.0);
    CHECK(bits_of(sum.value()) == bits_of(0.0));
}

TEST_CASE("ExactSum of a single term is that term", "[core][exact_sum]") {
    std::mt19937_64 gen(7);
    std::vector<double> terms = wide_doubles(gen, 2000, -1074, 1023);
    terms.insert(terms.end(), {DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 1.0, -1.0,
                               std::nextafter(DBL_MIN, 0.0), 0.1, -0.3});
    for (double x : terms) {
        pel::ExactSum sum;
        sum.add(x);
        INFO("x = " << x);
        CHECK(bits_of(sum.value()) == bits_of(x));
    }
}

TEST_CASE("ExactSum is bit-identical for any order and any split into merged partial sums", "[core][exact_sum]") {
    std::mt19937_64 gen(20240601);
    struct Case {
        int min_exp;
        int max_exp;
        std::size_t n;
    };
    for (const Case c : {Case{-1074, 1000, 4000}, Case{-60, 60, 4000}, Case{-5, 5, 4000}, Case{-1074, -1000, 2000},
                         Case{900, 1000, 2000}}) {
        CAPTURE(c.min_exp, c.max_exp, c.n);
        std::vector<double> terms = wide_doubles(gen, c.n, c.min_exp, c.max_exp);
        const double in_order = exact_sum(terms);
        CHECK(bits_of(in_order) == bits_of(reference_fsum(terms)));
        for (int trial = 0; trial < 4; ++trial) {
            std::shuffle(terms.begin(), terms.end(), gen);
            CHECK(bits_of(exact_sum(terms)) == bits_of(in_order));
            for (std::size_t parts : {std::size_t{2}, std::size_t{7}, std::size_t{64}}) {
                CAPTURE(trial, parts);
                CHECK(bits_of(split_and_merge(terms, gen, parts)) == bits_of(in_order));
            }
        }
        std::sort(terms.begin(), terms.end(), [](double a, double b) { return std::fabs(a) < std::fabs(b); });
        CHECK(bits_of(exact_sum(terms)) == bits_of(in_order));
        std::reverse(terms.begin(), terms.end());
        CHECK(bits_of(exact_sum(terms)) == bits_of(in_order));
    }
}

TEST_CASE("ExactSum matches exact integer arithmetic", "[core][exact_sum]") {
    std::mt19937_64 gen(99);

    SECTION("integers, summed exactly in long double") {
        std::uniform_int_distribution<std::int64_t> value(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
        std::vector<double> terms(100000);
        long double reference = 0.0L;  // every partial sum is an integer below 2^57: exact in 64 bits of mantissa
        for (auto& x : terms) {
            x = static_cast<double>(value(gen));
            reference += x;
        }
        CHECK(bits_of(exact_sum(terms)) == bits_of(static_cast<double>(reference)));
    }

    SECTION("fixed-point fractions k * 2^-60, summed exactly in 128-bit integers") {
        std::uniform_int_distribution<std::int64_t> value(-(std::int64_t{1} << 53) + 1, (std::int64_t{1} << 53) - 1);
        std::vector<double> terms(20000);
        Int128 units = 0;  // the exact sum in units of 2^-60
        for (auto& x : terms) {
            const std::int64_t k = value(gen);
            x = std::ldexp(static_cast<double>(k), -60);
            units += k;
        }
        const double expected = std::ldexp(static_cast<double>(units), -60);  // one rounding, then an exact scaling
        CHECK(bits_of(exact_sum(terms)) == bits_of(expected));
        CHECK(bits_of(reference_fsum(terms)) == bits_of(expected));
    }
}

TEST_CASE("ExactSum known cases", "[core][exact_sum]") {
    SECTION("1e100 + 1 - 1e100 is 1") { CHECK(exact_sum(std::vector{1e100, 1.0, -1e100}) == 1.0); }

    SECTION("0.1 ten times is the correctly rounded exact sum, not the naive one") {
        // 0.1 is 3602879701896397 * 2^-55; ten of them are 36028797018963970 * 2^-55 = 1 + 2^-54, which rounds to 1.
        CHECK(std::ldexp(3602879701896397.0, -55) == 0.1);
        const Int128 units = Int128{10} * 3602879701896397;
        const double expected = std::ldexp(static_cast<double>(units), -55);
        const std::vector<double> terms(10, 0.1);
        double naive = 0.0;
        for (double x : terms) naive += x;
        CHECK(expected == 1.0);
        CHECK(naive != 1.0);
        CHECK(bits_of(exact_sum(terms)) == bits_of(expected));
    }

    SECTION("cancellation to exactly +0") {
        std::mt19937_64 gen(5);
        std::vector<double> terms = wide_doubles(gen, 3000, -1074, 1000);
        const std::size_t n = terms.size();
        for (std::size_t i = 0; i < n; ++i) terms.push_back(-terms[i]);
        std::shuffle(terms.begin(), terms.end(), gen);
        CHECK(bits_of(exact_sum(terms)) == bits_of(0.0));
        // Leave one term out of the cancellation: exactly that term remains, however tiny.
        const std::vector<double> extra{DBL_TRUE_MIN, -3.5, 1e-300, -DBL_MAX};
        for (double x : extra) {
            std::vector<double> with_extra = terms;
            with_extra.push_back(x);
            std::shuffle(with_extra.begin(), with_extra.end(), gen);
            CHECK(bits_of(exact_sum(with_extra)) == bits_of(x));
        }
    }

    SECTION("negative totals") {
        CHECK(exact_sum(std::vector{1.0, -3.0}) == -2.0);
        CHECK(exact_sum(std::vector{-1e100, 1.0, 1e100, -2.0}) == -1.0);
        CHECK(exact_sum(std::vector{-0.1, -0.2}) == -0.30000000000000004);  // the correctly rounded exact sum
        std::mt19937_64 gen(11);
        std::vector<double> terms = wide_doubles(gen, 3000, -1074, 1000);
        for (auto& x : terms) x = -std::fabs(x);
        const double negative_total = exact_sum(terms);
        CHECK(negative_total < 0.0);
        CHECK(bits_of(negative_total) == bits_of(reference_fsum(terms)));
        for (auto& x : terms) x = -x;
        CHECK(bits_of(exact_sum(terms)) == bits_of(-negative_total));  // rounding is symmetric
    }

    SECTION("intermediate sums beyond DBL_MAX are harmless") {
        std::vector<double> terms(1000, DBL_MAX);
        terms.insert(terms.end(), 999, -DBL_MAX);
        CHECK(exact_sum(terms) == DBL_MAX);
        std::vector<double> negative(1000, -DBL_MAX);
        negative.insert(negative.end(), 999, DBL_MAX);
        negative.push_back(1.0);
        CHECK(exact_sum(negative) == -DBL_MAX);  // 1 is far below half an ulp of DBL_MAX
    }

    SECTION("a total beyond DBL_MAX rounds to infinity") {
        CHECK(exact_sum(std::vector{DBL_MAX, DBL_MAX}) == std::numeric_limits<double>::infinity());
        CHECK(exact_sum(std::vector{-DBL_MAX, -DBL_MAX}) == -std::numeric_limits<double>::infinity());
        // DBL_MAX + half an ulp (2^970) is a tie; DBL_MAX's last bit is odd, so it rounds up to 2^1024 = inf.
        CHECK(exact_sum(std::vector{DBL_MAX, std::ldexp(1.0, 970)}) == std::numeric_limits<double>::infinity());
        CHECK(exact_sum(std::vector{DBL_MAX, std::ldexp(1.0, 969)}) == DBL_MAX);
        CHECK(exact_sum(std::vector{DBL_MAX, std::ldexp(1.0, 970), -DBL_TRUE_MIN}) == DBL_MAX);
    }
}

TEST_CASE("ExactSum rounds to nearest, ties to even", "[core][exact_sum]") {
    const double half_ulp = std::ldexp(1.0, -53);    // half an ulp of 1
    const double one_up = std::nextafter(1.0, 2.0);  // 1 + 2^-52
    const double two_up = std::nextafter(one_up, 2.0);

    CHECK(exact_sum(std::vector{1.0, half_ulp}) == 1.0);                            // tie, 1 is even
    CHECK(exact_sum(std::vector{1.0, half_ulp, std::ldexp(1.0, -105)}) == one_up);  // just above the tie
    CHECK(exact_sum(std::vector{1.0, half_ulp, DBL_TRUE_MIN}) == one_up);           // sticky bit 1000 bits down
    CHECK(exact_sum(std::vector{1.0, half_ulp, -DBL_TRUE_MIN}) == 1.0);             // just below the tie
    CHECK(exact_sum(std::vector{one_up, half_ulp}) == two_up);                      // tie, odd rounds up to even
    CHECK(exact_sum(std::vector{one_up, half_ulp, -DBL_TRUE_MIN}) == one_up);
    CHECK(exact_sum(std::vector{1.0, std::ldexp(1.0, -54)}) == 1.0);         // below half an ulp
    CHECK(exact_sum(std::vector{1.0, 3 * std::ldexp(1.0, -54)}) == one_up);  // above half an ulp

    // The same, negated: rounding is symmetric.
    CHECK(exact_sum(std::vector{-1.0, -half_ulp}) == -1.0);
    CHECK(exact_sum(std::vector{-1.0, -half_ulp, -std::ldexp(1.0, -105)}) == -one_up);
    CHECK(exact_sum(std::vector{-1.0, -half_ulp, -DBL_TRUE_MIN}) == -one_up);
    CHECK(exact_sum(std::vector{-one_up, -half_ulp}) == -two_up);

    // Ties far from 1, where the 32-bit digit boundaries fall elsewhere in the mantissa.
    for (int e : {-1000, -600, -31, -1, 7, 32, 33, 64, 500, 1000}) {
        CAPTURE(e);
        const double x = std::ldexp(1.0, e);
        const double tie = std::ldexp(1.0, e - 53);
        const double x_up = std::nextafter(x, 2 * x);
        CHECK(exact_sum(std::vector{x, tie}) == x);
        CHECK(exact_sum(std::vector{x_up, tie}) == std::nextafter(x_up, 2 * x));
        CHECK(exact_sum(std::vector{x, tie, DBL_TRUE_MIN}) == x_up);
        CHECK(exact_sum(std::vector{x, tie, -DBL_TRUE_MIN}) == x);
    }
}

TEST_CASE("ExactSum handles subnormals exactly", "[core][exact_sum]") {
    SECTION("DBL_TRUE_MIN many times") {
        pel::ExactSum sum;
        for (int i = 0; i < 100000; ++i) sum.add(DBL_TRUE_MIN);
        CHECK(sum.value() == 100000 * DBL_TRUE_MIN);
        CHECK(bits_of(sum.value()) == 100000);  // a subnormal's bits are its multiple of 2^-1074
    }
    SECTION("2^52 smallest subnormals make DBL_MIN, by merging") {
        pel::ExactSum sum;
        sum.add(DBL_TRUE_MIN);
        for (int i = 0; i < 52; ++i) sum.merge(sum);
        CHECK(sum.value() == DBL_MIN);
    }
    SECTION("sums crossing the subnormal boundary") {
        CHECK(exact_sum(std::vector{DBL_MIN, -DBL_TRUE_MIN}) == std::nextafter(DBL_MIN, 0.0));
        CHECK(exact_sum(std::vector{DBL_MIN / 2, DBL_MIN / 2}) == DBL_MIN);
        CHECK(exact_sum(std::vector{std::nextafter(DBL_MIN, 0.0), DBL_TRUE_MIN}) == DBL_MIN);
        CHECK(exact_sum(std::vector{-DBL_TRUE_MIN, -DBL_TRUE_MIN, -DBL_TRUE_MIN}) == -3 * DBL_TRUE_MIN);
        CHECK(exact_sum(std::vector{1.0, DBL_TRUE_MIN, -1.0}) == DBL_TRUE_MIN);
    }
    SECTION("random subnormals") {
        std::mt19937_64 gen(3);
        std::uniform_int_distribution<std::uint64_t> multiple(1, (std::uint64_t{1} << 52) - 1);
        std::vector<double> terms(5000);
        Int128 units = 0;
        for (auto& x : terms) {
            const auto m = static_cast<std::int64_t>(multiple(gen)) * ((gen() & 1) != 0 ? -1 : 1);
            x = std::ldexp(static_cast<double>(m), -1074);
            units += m;
        }
        // One rounding in the conversion, then an exact scaling (the total is a multiple of 2^-1074).
        const double expected = std::ldexp(static_cast<double>(units), -1074);
        CHECK(bits_of(exact_sum(terms)) == bits_of(expected));
    }
}

TEST_CASE("ExactSum propagates infinities and NaN as IEEE addition does", "[core][exact_sum]") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(exact_sum(std::vector{1.0, inf, -DBL_MAX}) == inf);
    CHECK(exact_sum(std::vector{inf, inf}) == inf);
    CHECK(exact_sum(std::vector{-inf, 1e300, 1e300}) == -inf);
    CHECK(std::isnan(exact_sum(std::vector{inf, -inf})));
    CHECK(std::isnan(exact_sum(std::vector{-inf, 2.0, inf})));
    CHECK(std::isnan(exact_sum(std::vector{nan})));
    CHECK(std::isnan(exact_sum(std::vector{1.0, nan, 2.0})));
    CHECK(std::isnan(exact_sum(std::vector{inf, nan})));
    CHECK(std::isnan(exact_sum(std::vector{-nan, -inf})));

    SECTION("through merges") {
        pel::ExactSum a;
        pel::ExactSum b;
        a.add(inf);
        b.add(5.0);
        b.merge(a);
        CHECK(b.value() == inf);
        pel::ExactSum c;
        c.add(-inf);
        c.merge(b);
        CHECK(std::isnan(c.value()));
        pel::ExactSum d;
        d.add(nan);
        pel::ExactSum e;
        e.add(1.0);
        e.merge(d);
        CHECK(std::isnan(e.value()));
    }
}

TEST_CASE("ExactSum stays exact through repeated self-merges", "[core][exact_sum]") {
    // Doubling by self-merge drives the deferred-carry counter past its limit many times over. Negative totals are
    // the hardest case: once carries are propagated, every digit below the top is 0xffffffff.
    std::mt19937_64 gen(17);
    const std::vector<std::vector<double>> starts{
        wide_doubles(gen, 100, -200, 200), {-DBL_TRUE_MIN}, {-1.0, DBL_TRUE_MIN}, {1.0, -DBL_TRUE_MIN}};
    for (const auto& terms : starts) {
        pel::ExactSum sum;
        for (double x : terms) sum.add(x);
        const double start = sum.value();
        REQUIRE(start == reference_fsum(terms));
        for (int k = 1; k <= 64; ++k) {
            sum.merge(sum);
            CAPTURE(start, k);
            REQUIRE(bits_of(sum.value()) == bits_of(std::ldexp(start, k)));  // scaling by 2^k commutes with rounding
        }
    }
}

TEST_CASE("ExactSum survives a round trip through pel::to_bytes/from_bytes", "[core][exact_sum][archive]") {
    std::mt19937_64 gen(23);
    const std::vector<double> terms = wide_doubles(gen, 1000, -1074, 1000);
    pel::ExactSum original;
    for (std::size_t i = 0; i < 500; ++i) original.add(terms[i]);

    const std::vector<std::byte> bytes = pel::to_bytes(original);
    pel::ExactSum restored;
    restored.add(123.0);  // loading replaces, it does not add
    pel::from_bytes(bytes, restored);
    CHECK(bits_of(restored.value()) == bits_of(original.value()));

    for (std::size_t i = 500; i < terms.size(); ++i) {
        original.add(terms[i]);
        restored.add(terms[i]);
    }
    CHECK(bits_of(restored.value()) == bits_of(original.value()));
    CHECK(bits_of(restored.value()) == bits_of(reference_fsum(terms)));

    SECTION("the flags travel too") {
        pel::ExactSum with_inf;
        with_inf.add(std::numeric_limits<double>::infinity());
        pel::ExactSum copy;
        pel::from_bytes(pel::to_bytes(with_inf), copy);
        CHECK(copy.value() == std::numeric_limits<double>::infinity());
        copy.add(-std::numeric_limits<double>::infinity());
        CHECK(std::isnan(copy.value()));
    }
    SECTION("a truncated ExactSum is an io error") {
        const std::span<const std::byte> cut(bytes.data(), bytes.size() - 1);
        pel::ExactSum target;
        CHECK_THROWS_MATCHES(pel::from_bytes(cut, target), pel::Error,
                             Catch::Matchers::Predicate<pel::Error>(
                                 [](const pel::Error& e) { return e.code() == pel::ExitCode::io; }, "code is io"));
    }
}

TEST_CASE("ExactSum of ten million terms", "[core][exact_sum]") {
    constexpr int kCount = 10'000'000;
    pel::ExactSum ones;
    pel::ExactSum tenths;
    for (int i = 0; i < kCount; ++i) {
        ones.add(1.0);
        tenths.add(0.1);
    }
    CHECK(ones.value() == 1e7);
    // Ten million times 3602879701896397 * 2^-55 is 1e6 + 5.55e-11, under half an ulp of 1e6 (5.8e-11).
    const double expected = std::ldexp(static_cast<double>(Int128{kCount} * 3602879701896397), -55);
    CHECK(expected == 1e6);
    CHECK(bits_of(tenths.value()) == bits_of(expected));
}
