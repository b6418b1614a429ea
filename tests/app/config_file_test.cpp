// tests/app/config_file_test.cpp: configs read by toml++ (TOML 1.0 exactly, each key's type checked, the options'
// own checks applied) and written by it, so that any string replays exactly.
#include "app/config_file.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "app/run_options.hpp"
#include "pel/error.hpp"

namespace {

using pel::app::RunSettings;

/// Parses `toml` as a config of `pel run` with the framework's options and one job option of each type.
struct Parsed {
    RunSettings settings;
    std::int64_t width = 10;
    double ratio = 0.5;
    std::string label = "x";
    bool fast = false;
};

Parsed parse_config(const std::string& toml, std::vector<std::string> args = {}) {
    Parsed p;
    CLI::App app("test");
    pel::app::add_run_options(app, p.settings);
    pel::Options declared;
    declared.add("width", p.width, "an integer").range(1, 100);
    declared.add("ratio", p.ratio, "a number");
    declared.add("label", p.label, "a string");
    declared.add("fast", p.fast, "a flag");
    for (const auto& spec : declared.specs()) {
        std::visit(
            [&](auto* target) {
                using T = std::remove_pointer_t<decltype(target)>;
                if constexpr (std::is_same_v<T, bool>) {
                    app.add_flag("--" + spec.name(), *target);
                } else {
                    auto* option = app.add_option("--" + spec.name(), *target);
                    if (spec.lower()) option->check(CLI::Range(*spec.lower(), *spec.upper()));
                }
            },
            spec.target());
        pel::app::toml_config(app).expect(spec.name(), pel::app::config_type(spec));
    }
    pel::app::toml_config(app).set_source("c.toml");
    std::istringstream in(toml);
    std::reverse(args.begin(), args.end());
    app.parse(args);  // the command line first: options given there win over the config
    app.parse_from_stream(in);
    return p;
}

/// The message of the error that parsing `toml` raises, or "" when it parses.
std::string error_of(const std::string& toml) {
    try {
        parse_config(toml);
    } catch (const CLI::ParseError& e) {
        return e.what();
    } catch (const pel::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a config's values reach the options as the command line gives them, typed", "[app][config]") {
    const Parsed p = parse_config(
        "width = 42\nratio = 3\nlabel = \"a\\tb\\u00e9\"\nfast = true\nmtbf = 1e3\n"
        "threads = 2\nprefetch = 3\ncheckpoint-every = 90.5\nschedule = 'gss'\n");
    CHECK(p.width == 42);
    CHECK(p.ratio == 3.0);  // an integer is a number
    CHECK(p.label == "a\tb\xc3\xa9");
    CHECK(p.fast);
    CHECK(p.settings.mtbf_s == 1000);
    CHECK(p.settings.threads == 2);
    CHECK(p.settings.prefetch == 3);  // a string or a number
    CHECK(p.settings.checkpoint_every_s == 90.5);
    CHECK(p.settings.schedule == pel::sched::Technique::gss);
    CHECK(parse_config("prefetch = \"auto\"\ncheckpoint-every = \"auto\"\n").settings.checkpoint_auto);
    CHECK(parse_config("ratio = 0.1\n").ratio == 0.1);  // exactly
}

TEST_CASE("the command line wins over the config", "[app][config]") {
    const Parsed p = parse_config("width = 42\nmtbf = 5\n", {"--width", "7"});
    CHECK(p.width == 7);
    CHECK(p.settings.mtbf_s == 5);
}

TEST_CASE("a config that is not TOML 1.0, or holds a value of the wrong type, is an error naming line and key",
          "[app][config]") {
    CHECK(error_of("width = 10\nwidth = 20\n").starts_with("the config file c.toml, line 2: not valid TOML"));
    CHECK(error_of("width = \"800\"\n") == "the config file c.toml, line 1: 'width' must be an integer, not a string");
    CHECK(error_of("\nwidth = 8.5\n") == "the config file c.toml, line 2: 'width' must be an integer, not a float");
    CHECK(error_of("fast = 1\n") ==
          "the config file c.toml, line 1: 'fast' must be a boolean (true or false), not an integer");
    CHECK(error_of("ratio = \"0.5\"\n") == "the config file c.toml, line 1: 'ratio' must be a number, not a string");
    CHECK(error_of("label = 5\n") == "the config file c.toml, line 1: 'label' must be a string, not an integer");
    CHECK(error_of("threads = \"2\"\n") ==
          "the config file c.toml, line 1: 'threads' must be an integer, not a string");
    CHECK(error_of("output = [\"a.h5\"]\n") ==
          "the config file c.toml, line 1: 'output' must be a string, not an array");
    CHECK(error_of("prefetch = true\n") ==
          "the config file c.toml, line 1: 'prefetch' must be a string or a number, not a boolean");
    CHECK(error_of("label = \"\xff\"\n").starts_with("the config file c.toml, line 1: not valid TOML"));
    CHECK(error_of("# \xc3\n").starts_with("the config file c.toml, line 1: not valid TOML"));
    CHECK(error_of("label = \"a\\qb\"\n").starts_with("the config file c.toml, line 1: not valid TOML"));
    CHECK(error_of("width = 99999999999999999999\n").starts_with("the config file c.toml, line 1: not valid TOML"));
}

TEST_CASE("a key no option has is an error naming it; the first problem in the file is the one told", "[app][config]") {
    CHECK(error_of("width = 1\nflavour = \"x\"\n") == "unknown option 'flavour' in the config file c.toml, line 2");
    CHECK(error_of("[mandelbrot]\nwidth = 1\n") == "unknown option 'mandelbrot' in the config file c.toml, line 1");
    CHECK(error_of("[job]\nwidth = 1\n") == "the config file c.toml, line 1: 'job' must be a string, not a table");
    CHECK(error_of("zz = 1\naa = 2\n") == "unknown option 'zz' in the config file c.toml, line 1");
    CHECK(error_of("config = \"c.toml\"\n") == "unknown option 'config' in the config file c.toml, line 1");
    // CLI11 gives "++" and "--" a meaning of their own (a section's start and end): here they are unknown keys.
    CHECK(error_of("\"++\" = 1\n") == "unknown option '++' in the config file c.toml, line 1");
    // A long key is cut short in the message.
    CHECK(error_of(std::string(5000, 'k') + " = 1\n").size() < 200);
}

TEST_CASE("the options' own checks apply to a config's values", "[app][config]") {
    CHECK(error_of("width = 0\n").find("width") != std::string::npos);
    CHECK(error_of("prefetch = 65\n") == "--prefetch: '65' is not a depth from 0 to 64 or auto");
    CHECK(error_of("threads = 0\n").starts_with("--threads: "));
}

TEST_CASE("strings are written as TOML that reads back exactly", "[app][config]") {
    CHECK(pel::app::toml_string("plain") == "\"plain\"");
    CHECK(pel::app::toml_string("a\"b\\c#d") == "\"a\\\"b\\\\c#d\"");
    CHECK(pel::app::toml_string("line\nnext") == "\"line\\nnext\"");
    CHECK(pel::app::toml_line("odd key", "1") == "\"odd key\" = 1\n");
    CHECK(pel::app::toml_line("chunk-size", "1") == "chunk-size = 1\n");
    for (const std::string& text : {std::string("#\"\\ \n\t\r\x01\x7f \xc3\xa9\xe2\x82\xac'''\"\"\" [x] = y"),
                                    std::string(), std::string("'"), std::string("\\u0041")}) {
        INFO(text);
        CHECK(parse_config(pel::app::toml_line("label", pel::app::toml_string(text))).label == text);
    }
}

TEST_CASE("the framework's kept options with hostile paths replay exactly", "[app][config]") {
    RunSettings s;
    s.threads = 2;
    s.output = "/tmp/a #b \"c\" \\d\nline \xc3\xa9.h5";
    s.run_dir = "/tmp/x'y";
    s.job_path = "/p#1:/p\"2";
    s.mtbf_s = 3600.5;
    const std::string config = pel::app::kept_options(s);
    const Parsed replayed = parse_config(config);
    CHECK(replayed.settings.output == s.output);
    CHECK(replayed.settings.run_dir == s.run_dir);
    CHECK(replayed.settings.job_path == s.job_path);
    CHECK(replayed.settings.mtbf_s == 3600.5);
    CHECK(pel::app::kept_options(replayed.settings) == config);
}
