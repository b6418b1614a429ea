// tests/app/job_options_test.cpp: a job's declared options: the checks of the declarations themselves (an author's
// mistakes), and of the values given (finite, whole where declared so, in range), the same as pel's own options.
#include "app/job_options.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "app/number_check.hpp"
#include "pel/error.hpp"

namespace {

using pel::Options;

/// The message of check_declarations for `declared` of job "demo", or "" when it accepts them.
std::string declaration_error(const Options& declared) {
    try {
        pel::app::check_declarations("demo", declared);
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::plugin);
        return e.what();
    }
    return "";
}

/// The message from parsing `args` against `declared`'s options, or "" when they parse.
std::string parse_error(const Options& declared, std::vector<std::string> args) {
    CLI::App app("test");
    for (const auto& spec : declared.specs()) pel::app::add_job_option(app, spec, "job");
    std::reverse(args.begin(), args.end());
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("right declarations pass the checks", "[app][options]") {
    std::int64_t items = 10;
    double ratio = 0.5, wild = NAN;
    std::string mode = "fast";
    Options o;
    o.add("items", items, "").min(0);
    o.add("ratio", ratio, "").range(0, 1);
    o.add("wild", wild, "").allow_non_finite();
    o.add("mode", mode, "").choices({"fast", "slow"});
    CHECK(declaration_error(o).empty());
}

TEST_CASE("an option declared twice is named as the job's mistake", "[app][options]") {
    double a = 0, b = 0;
    Options o;
    o.add("ratio", a, "");
    o.add("ratio", b, "");
    CHECK(declaration_error(o) == "job 'demo' declares option --ratio twice");
}

TEST_CASE("a default its own declaration refuses is a declaration error", "[app][options]") {
    std::string colour = "green";
    std::int64_t width = 0;
    double level = NAN, ratio = 2;
    {
        Options o;
        o.add("colour", colour, "").choices({"red", "blue"});
        CHECK(declaration_error(o) ==
              "job 'demo' declares option --colour with the default 'green', which is not one of its choices {red, "
              "blue}");
    }
    {
        Options o;
        o.add("width", width, "").range(1, 10);
        CHECK(declaration_error(o) ==
              "job 'demo' declares option --width with a default its own declaration refuses: value 0 is below the "
              "minimum 1");
    }
    {
        Options o;
        o.add("level", level, "");
        CHECK(declaration_error(o) ==
              "job 'demo' declares option --level with a default its own declaration refuses: 'nan' is not a finite "
              "number");
    }
    {
        Options o;
        o.add("ratio", ratio, "").range(0, 1);
        CHECK(declaration_error(o).ends_with("value 2 is above the maximum 1"));
    }
}

TEST_CASE("ranges on text, choices on numbers, empty ranges and bad names are declaration errors", "[app][options]") {
    std::string text;
    double number = 1;
    {
        Options o;
        o.add("name", text, "").range(0, 1);
        CHECK(declaration_error(o) == "job 'demo' declares option --name with a range, but it is not a number");
    }
    {
        Options o;
        o.add("n", number, "").choices({"1"});
        CHECK(declaration_error(o) == "job 'demo' declares option --n with choices, but it is not a text option");
    }
    {
        Options o;
        o.add("n", number, "").range(2, 1);
        CHECK(declaration_error(o) == "job 'demo' declares option --n with the range [2, 1], which holds no value");
    }
    {
        Options o;
        o.add("--n", number, "");
        CHECK(declaration_error(o).starts_with("job 'demo' declares an option named '--n'"));
    }
}

TEST_CASE("a job's number options refuse NaN, infinities, fractions and overflows", "[app][options]") {
    std::int64_t items = 10;
    double ratio = 0.5, shift = 0, wild = 0;
    Options o;
    o.add("items", items, "").min(0);
    o.add("ratio", ratio, "").range(0, 1);
    o.add("shift", shift, "");
    o.add("wild", wild, "").allow_non_finite();
    CHECK(parse_error(o, {"--ratio", "nan"}) == "--ratio: 'nan' is not a finite number");
    CHECK(parse_error(o, {"--shift", "-inf"}) == "--shift: '-inf' is not a finite number");
    CHECK(parse_error(o, {"--items", "1.5"}) == "--items: '1.5' is not a whole number");
    CHECK(parse_error(o, {"--items", "x"}) == "--items: 'x' is not a number");
    CHECK(parse_error(o, {"--items", "18446744073709551616"}) ==
          "--items: value 18446744073709551616 is above the maximum 9223372036854775807");
    CHECK(parse_error(o, {"--items", "-1"}) == "--items: value -1 is below the minimum 0");
    CHECK(parse_error(o, {"--wild", "nan", "--items", "010", "--ratio", "0x1p-1"}).empty());
    CHECK(std::isnan(wild));
    CHECK(items == 10);  // decimal, not octal
    CHECK(ratio == 0.5);
    CHECK(parse_error(o, {"--wild", "-inf"}).empty());
    CHECK(wild == -INFINITY);
}

TEST_CASE("a value is quoted bounded in a message", "[app][options]") {
    const std::string huge(100000, '9');
    CHECK(pel::shown("short") == "short");
    CHECK(pel::shown(huge) == std::string(80, '9') + "... (100000 characters)");
    std::string text = huge + "x";
    const std::string problem = pel::app::number_problem(text, pel::app::NumberRule{});
    CHECK(problem.size() < 200);
    CHECK(problem.ends_with("characters)' is not a number"));
}
