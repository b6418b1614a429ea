// tests/core/options_test.cpp: pel::Options binds a job's members and records what values they allow.
#include "pel/options.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <variant>
#include <vector>

namespace {

struct Settings {
    std::int64_t steps = 100;
    double tolerance = 0.5;
    std::string mode = "fast";
    bool verbose = false;
};

}  // namespace

TEST_CASE("Options::add binds each supported type to the member", "[core][options]") {
    Settings s;
    pel::Options opts;
    opts.add("steps", s.steps, "number of steps");
    opts.add("tolerance", s.tolerance, "stop below this");
    opts.add("mode", s.mode, "how to run");
    opts.add("verbose", s.verbose, "say more");

    const auto& specs = opts.specs();
    REQUIRE(specs.size() == 4);
    CHECK(specs[0].name() == "steps");
    CHECK(specs[1].name() == "tolerance");
    CHECK(specs[2].name() == "mode");
    CHECK(specs[3].name() == "verbose");
    CHECK(specs[0].help() == "number of steps");
    CHECK(specs[3].help() == "say more");

    REQUIRE(std::holds_alternative<std::int64_t*>(specs[0].target()));
    REQUIRE(std::holds_alternative<double*>(specs[1].target()));
    REQUIRE(std::holds_alternative<std::string*>(specs[2].target()));
    REQUIRE(std::holds_alternative<bool*>(specs[3].target()));
    CHECK(std::get<std::int64_t*>(specs[0].target()) == &s.steps);
    CHECK(std::get<double*>(specs[1].target()) == &s.tolerance);
    CHECK(std::get<std::string*>(specs[2].target()) == &s.mode);
    CHECK(std::get<bool*>(specs[3].target()) == &s.verbose);

    SECTION("writing through the target sets the member") {
        *std::get<std::int64_t*>(specs[0].target()) = 7;
        *std::get<std::string*>(specs[2].target()) = "slow";
        CHECK(s.steps == 7);
        CHECK(s.mode == "slow");
    }
    SECTION("a spec without constraints has none") {
        CHECK_FALSE(specs[0].lower().has_value());
        CHECK_FALSE(specs[0].upper().has_value());
        CHECK(specs[2].allowed().empty());
    }
}

TEST_CASE("OptionSpec::value_text shows the member's current value as TOML would", "[core][options]") {
    Settings s;
    pel::Options opts;
    opts.add("steps", s.steps, "");
    opts.add("tolerance", s.tolerance, "");
    opts.add("mode", s.mode, "");
    opts.add("verbose", s.verbose, "");
    const auto& specs = opts.specs();

    CHECK(specs[0].value_text() == "100");
    CHECK(specs[1].value_text() == "0.5");
    CHECK(specs[2].value_text() == "\"fast\"");
    CHECK(specs[3].value_text() == "false");

    s.steps = std::numeric_limits<std::int64_t>::min();
    s.tolerance = -2.25;
    s.mode = "";
    s.verbose = true;
    CHECK(specs[0].value_text() == "-9223372036854775808");
    CHECK(specs[1].value_text() == "-2.25");
    CHECK(specs[2].value_text() == "\"\"");
    CHECK(specs[3].value_text() == "true");

    s.steps = std::numeric_limits<std::int64_t>::max();
    CHECK(specs[0].value_text() == "9223372036854775807");

    SECTION("doubles are written with enough digits to read back exactly") {
        for (double x : {0.1, 1.0 / 3, 1e-300, 6.02214076e23, -123456.789, std::numeric_limits<double>::max(),
                         std::numeric_limits<double>::denorm_min()}) {
            s.tolerance = x;
            const std::string text = specs[1].value_text();
            CAPTURE(text);
            CHECK(std::strtod(text.c_str(), nullptr) == x);
        }
    }
}

TEST_CASE("OptionSpec stores ranges and choices", "[core][options]") {
    std::int64_t threads = 1;
    double rate = 0.1;
    std::string kernel = "a";
    pel::Options opts;
    pel::OptionSpec& returned = opts.add("threads", threads, "").range(1, 64);
    CHECK(&returned == &opts.specs().back());  // range() chains on the spec just added
    opts.add("rate", rate, "").min(0.0);
    opts.add("kernel", kernel, "").choices({"a", "b", "c"});

    const auto& specs = opts.specs();
    REQUIRE(specs.size() == 3);
    CHECK(specs[0].lower() == 1.0);
    CHECK(specs[0].upper() == 64.0);
    CHECK(specs[1].lower() == 0.0);
    REQUIRE(specs[1].upper().has_value());
    CHECK(std::isinf(*specs[1].upper()));
    CHECK(*specs[1].upper() > 0);
    CHECK(specs[2].allowed() == std::vector<std::string>{"a", "b", "c"});
    CHECK_FALSE(specs[2].lower().has_value());
    CHECK(specs[0].allowed().empty());

    SECTION("a later range replaces an earlier one") {
        pel::Options more;
        more.add("threads", threads, "").min(2).range(-1, 1);
        CHECK(more.specs()[0].lower() == -1.0);
        CHECK(more.specs()[0].upper() == 1.0);
    }
}
