// tests/sched/rank_stats_test.cpp: per-rank measurements: means, variance from per-report means, weighted rates.
#include "sched/rank_stats.hpp"

#include <catch2/catch.hpp>

using pel::sched::RankStats;

TEST_CASE("A rank's mean and variance come from its reports", "[sched][stats]") {
    RankStats stats(2);
    CHECK(stats.of(0).mean() == 0);
    stats.add(0, 10, 10, -1);  // a mean of 1 s over 10 items
    CHECK(stats.of(0).mean() == Approx(1));
    CHECK(stats.of(0).variance() == 0);  // one report says nothing of the spread
    stats.add(0, 10, 30, -1);            // then 3 s
    // mu = 40 / 20 = 2; sum t^2 / n = 100 / 10 + 900 / 10 = 100; sigma^2 = (100 - 2 x 40) / (2 - 1) = 20, which is
    // 10 x (1 - 2)^2 + 10 x (3 - 2)^2: each mean over 10 items varies by sigma^2 / 10.
    CHECK(stats.of(0).mean() == Approx(2));
    CHECK(stats.of(0).variance() == Approx(20));
    CHECK(stats.of(1).reports == 0);
    CHECK(stats.pooled().reports == 2);
    stats.add(1, 0, 5, -1);  // no items: nothing learnt
    stats.add(5, 1, 1, -1);  // no such rank: ignored
    CHECK(stats.of(1).reports == 0);
}

TEST_CASE("Report-weighted rates count a rank's j-th report j times", "[sched][stats]") {
    RankStats stats(2);
    stats.add(0, 100, 2.0, -1);
    stats.add(0, 100, 1.0, -1);
    // (1 x 100 + 2 x 100) / (1 x 2 + 2 x 1) = 75 items a second, where the plain mean gives 200 / 3.
    CHECK(stats.of(0).ranked_rate() == Approx(75));
    stats.add(1, 100, 1.0, -1);
    // Rates 75 and 100, mean 87.5.
    CHECK(stats.ranked_weight(0) == Approx(75 / 87.5));
    CHECK(stats.ranked_weight(1) == Approx(100 / 87.5));
}

TEST_CASE("Wall-time rates measure from one report to the next", "[sched][stats]") {
    RankStats stats(2);
    stats.add(0, 100, 0.5, 10.0);  // the first report: no wall time yet
    CHECK(stats.of(0).ranked_elapsed_rate() == 0);
    CHECK(stats.elapsed_weight(0) == 1.0);
    stats.add(0, 100, 0.5, 12.0);  // 100 items in 2 s of wall time, though 0.5 s of kernel time
    CHECK(stats.of(0).ranked_elapsed_rate() == Approx(50));
    stats.add(1, 100, 0.5, 10.0);
    stats.add(1, 100, 0.5, 11.0);
    CHECK(stats.elapsed_weight(0) == Approx(50 / 75.0));
    CHECK(stats.elapsed_weight(1) == Approx(100 / 75.0));
    CHECK(stats.ranked_weight(0) == Approx(1));  // kernel times are alike
}
