// tests/exec/levels_test.cpp: what --levels picks (exec::choose_levels) and the reason /stats records.
#include "exec/levels.hpp"

#include <catch2/catch.hpp>

using pel::exec::choose_levels;

TEST_CASE("--levels 1 and 2 are kept as asked, but two levels need a group of two beside rank 0", "[levels]") {
    CHECK(choose_levels(1, 100000, 1e-6).levels == 1);
    CHECK(choose_levels(2, 3, 0).levels == 2);
    CHECK(choose_levels(2, 3, 0).reason == "asked for");
    const auto two_ranks = choose_levels(2, 2, 0);
    CHECK(two_ranks.levels == 1);
    CHECK(two_ranks.reason.find("fewer than 3 ranks") != std::string::npos);
}

TEST_CASE("--levels auto: two from 128, 256 or 1024 ranks by measured item cost, 1024 unmeasured", "[levels]") {
    CHECK(choose_levels(0, 127, 10e-6).levels == 1);
    CHECK(choose_levels(0, 128, 10e-6).levels == 2);
    CHECK(choose_levels(0, 255, 100e-6).levels == 1);
    CHECK(choose_levels(0, 256, 100e-6).levels == 2);
    CHECK(choose_levels(0, 256, 100e-6).reason.find("mean item 100 us measured (2 from 256 ranks)") !=
          std::string::npos);
    CHECK(choose_levels(0, 1023, 1e-3).levels == 1);
    CHECK(choose_levels(0, 1024, 1e-3).levels == 2);
    // Cold: nothing measured.
    CHECK(choose_levels(0, 1023, 0).levels == 1);
    CHECK(choose_levels(0, 1024, 0).levels == 2);
    CHECK(choose_levels(0, 64, 0).reason.find("not measured") != std::string::npos);
}
