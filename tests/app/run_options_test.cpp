// tests/app/run_options_test.cpp: the option table of `pel run`: the command line, a config file and the effective
// config all read and write every option the same way, and replaying the effective config keeps every option.
#include "app/run_options.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pel/error.hpp"

namespace {

using pel::app::Replay;
using pel::app::RunSettings;

/// Parses `args` (without the program name) as `pel run`'s framework options.
RunSettings parse_args(std::vector<std::string> args) {
    RunSettings s;
    CLI::App app("test");
    pel::app::add_run_options(app, s);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return s;
}

/// Parses `toml` as a config file of `pel run`.
RunSettings parse_config(const std::string& toml) {
    RunSettings s;
    CLI::App app("test");
    pel::app::add_run_options(app, s);
    app.allow_config_extras(CLI::config_extras_mode::error);
    std::istringstream in(toml);
    app.parse_from_stream(in);
    return s;
}

/// A value other than the default for every option the effective config keeps.
const std::vector<std::string> kEveryOption = {"--job",
                                               "synthetic",
                                               "--output",
                                               "o.h5",
                                               "--run-dir",
                                               "rd",
                                               "--threads",
                                               "3",
                                               "--chunk-size",
                                               "7",
                                               "--schedule",
                                               "fac2",
                                               "--levels",
                                               "2",
                                               "--group-size",
                                               "4",
                                               "--weights",
                                               "1,2.5,0.125",
                                               "--prefetch",
                                               "4",
                                               "--cost-profile",
                                               "cost.h5",
                                               "--no-steal",
                                               "--trace",
                                               "t.json",
                                               "--trace-events",
                                               "123",
                                               "--max-rank-memory",
                                               "1.5M",
                                               "--job-path",
                                               "/opt/jobs:/more",
                                               "--check-merge",
                                               "--progress",
                                               "log",
                                               "--progress-every",
                                               "2.5",
                                               "--log-level",
                                               "debug",
                                               "--verbose",
                                               "--log-all-ranks",
                                               "--checkpoint-dir",
                                               "ck",
                                               "--checkpoint-every",
                                               "auto",
                                               "--mtbf",
                                               "3600.25",
                                               "--keep",
                                               "5",
                                               "--resume",
                                               "--force-resume",
                                               "--max-retries",
                                               "3",
                                               "--on-error",
                                               "skip",
                                               "--fail-on-skip",
                                               "--heartbeat-timeout",
                                               "45",
                                               "--time-limit",
                                               "7200",
                                               "--time-margin",
                                               "30.5"};

}  // namespace

TEST_CASE("every option has a unique name and help; only the resume flags are per invocation", "[app][options]") {
    std::set<std::string> names, dropped;
    for (const auto& o : pel::app::run_options()) {
        CHECK(names.insert(o.name).second);
        CHECK(!o.help.empty());
        CHECK(o.bind);
        CHECK(o.text);
        if (o.replay == Replay::dropped) dropped.insert(o.name);
    }
    CHECK(dropped == std::set<std::string>{"resume", "auto-resume", "force-resume", "fresh"});
}

TEST_CASE("the command line sets typed settings", "[app][options]") {
    const RunSettings s = parse_args(kEveryOption);
    CHECK(s.threads == 3);
    CHECK(s.schedule == pel::sched::Technique::fac2);
    CHECK(s.weights == std::vector<double>{1, 2.5, 0.125});
    CHECK(s.prefetch == 4);
    CHECK(s.levels == 2);
    CHECK(s.group_size == 4);
    CHECK(parse_args({"--levels", "auto"}).levels == 0);
    CHECK(s.no_steal);
    CHECK(s.log_level == pel::exec::LogLevel::debug);
    CHECK(s.checkpoint_auto);
    CHECK(s.mtbf_s == 3600.25);
    CHECK(s.keep == 5);
    CHECK(s.skip_failed);
    CHECK(s.resume);
    CHECK(s.force_resume);
    CHECK(!s.auto_resume);
    CHECK(parse_args({"--checkpoint-every", "90.5"}).checkpoint_every_s == 90.5);
    CHECK(!parse_args({"--checkpoint-every", "90.5"}).checkpoint_auto);
    CHECK(parse_args({"--prefetch", "auto"}).prefetch == -1);
    CHECK(s.max_rank_memory == 1572864);
    CHECK(parse_args({"--max-rank-memory", "4096"}).max_rank_memory == 4096);
    CHECK(parse_args({"--max-rank-memory", "2G"}).max_rank_memory == 2147483648ULL);
    CHECK(parse_args({"--max-rank-memory", "none"}).max_rank_memory == 0);
}

TEST_CASE("the effective config keeps every option but the resume flags, and replays to the same settings",
          "[app][options]") {
    const RunSettings given = parse_args(kEveryOption);
    const RunSettings defaults;
    for (const auto& o : pel::app::run_options()) {
        INFO("--" << o.name);
        // The test gives every kept option a value of its own, so a dropped one cannot hide behind its default.
        if (o.replay == Replay::kept) CHECK(o.text(given) != o.text(defaults));
    }
    const std::string config = pel::app::kept_options(given);
    CHECK(config.find("mtbf = 3600.25\n") != std::string::npos);
    CHECK(config.find("checkpoint-every = \"auto\"\n") != std::string::npos);
    CHECK(config.find("resume") == std::string::npos);

    const RunSettings replayed = parse_config(config);
    CHECK(pel::app::kept_options(replayed) == config);
    for (const auto& o : pel::app::run_options()) {
        INFO("--" << o.name);
        // Paths replay absolute, so that a run directory's config.toml replays from any directory.
        if (o.replay == Replay::kept && (!o.path || o.name == "job-path")) CHECK(o.text(replayed) == o.text(given));
        if (o.replay == Replay::kept && o.path && o.name != "job-path") {
            CHECK(o.text(replayed) == std::filesystem::absolute(o.text(given)).lexically_normal().string());
        }
        if (o.replay == Replay::dropped) CHECK(o.text(replayed) == o.text(defaults));
    }
    // The defaults, as resolved, replay as themselves too (flags written as false, empty texts as "").
    RunSettings resolved;
    resolved.job = "synthetic";
    resolved.threads = 1;
    pel::app::resolve(resolved);
    CHECK(pel::app::kept_options(parse_config(pel::app::kept_options(resolved))) == pel::app::kept_options(resolved));
}

TEST_CASE("--config reads a file of the same keys; the command line wins over it", "[app][options]") {
    std::string dir = (std::filesystem::temp_directory_path() / "pel-options-XXXXXX").string();
    REQUIRE(mkdtemp(dir.data()) != nullptr);
    const std::string file = dir + "/c.toml";
    std::ofstream(file) << "mtbf = 100\nkeep = 4\nno-steal = true\nschedule = \"ss\"\n";
    const RunSettings s = parse_args({"--config", file, "--mtbf", "250"});
    std::filesystem::remove_all(dir);
    CHECK(s.mtbf_s == 250);
    CHECK(s.keep == 4);
    CHECK(s.no_steal);
    CHECK(s.schedule == pel::sched::Technique::ss);
}

TEST_CASE("values an option cannot read are usage errors naming it", "[app][options]") {
    const auto message = [](std::vector<std::string> args) -> std::string {
        try {
            parse_args(std::move(args));
        } catch (const pel::Error& e) {
            CHECK(e.code() == pel::ExitCode::usage);
            return e.what();
        } catch (const CLI::ParseError& e) {
            return e.what();
        }
        return "";
    };
    CHECK(message({"--prefetch", "65"}) == "--prefetch: '65' is not a depth from 0 to 64 or auto");
    CHECK(message({"--checkpoint-every", "soon"}) ==
          "--checkpoint-every: 'soon' is not a number of seconds (0 for none) or auto");
    CHECK(message({"--schedule", "nope"}).starts_with("--schedule: unknown technique 'nope'"));
    CHECK(message({"--weights", "1,,2"}).starts_with("--weights: '' in '1,,2' is not a positive number"));
    CHECK(message({"--weights", "1,-2"}).starts_with("--weights: '-2' in '1,-2' is not a positive number"));
    CHECK(message({"--threads", "0"}).starts_with("--threads: "));
    CHECK(message({"--on-error", "ignore"}).starts_with("--on-error: "));
    CHECK(message({"--log-level", "loud"}).starts_with("--log-level: loud"));
}

TEST_CASE("every number option refuses NaN, infinities, fractions of whole numbers and overflows", "[app][options]") {
    const auto message = [](std::vector<std::string> args) -> std::string {
        try {
            parse_args(std::move(args));
        } catch (const pel::Error& e) {
            return e.what();
        } catch (const CLI::ParseError& e) {
            return e.what();
        }
        return "";
    };
    for (const auto& o : pel::app::run_options()) {
        if (!o.number || o.number->whole) continue;
        for (const char* bad : {"nan", "inf", "-inf", "NaN", "infinity"}) {
            CHECK(message({"--" + o.name, bad}) == "--" + o.name + ": '" + bad + "' is not a finite number");
        }
    }
    CHECK(message({"--chunk-size", "18446744073709551616"}) ==
          "--chunk-size: value 18446744073709551616 is above the maximum 9223372036854775807");
    CHECK(message({"--chunk-size", "1.5"}) == "--chunk-size: '1.5' is not a whole number");
    CHECK(message({"--threads", "4097"}) == "--threads: value 4097 is above the maximum 4096");
    CHECK(message({"--keep", "99999999999999999999"}) ==
          "--keep: value 99999999999999999999 is above the maximum 1000");
    CHECK(message({"--mtbf", "0.5"}) == "--mtbf: value 0.5 is below the minimum 1");
    CHECK(message({"--checkpoint-every", "1e-6"}) ==
          "--checkpoint-every: 1e-6 s is shorter than the shortest interval, 0.01 s (0: only on a signal; auto)");
    CHECK(message({"--checkpoint-every", "0.01", "--chunk-size", "010", "--time-limit", "0x10"}).empty());
    const RunSettings s = parse_args({"--checkpoint-every", "0.01", "--chunk-size", "010", "--time-limit", "0x10"});
    CHECK(s.checkpoint_every_s == 0.01);
    CHECK(s.chunk_size == 10);  // decimal, as written; not octal
    CHECK(s.time_limit_s == 16);
}

TEST_CASE("a config's values are checked as the command line's", "[app][options]") {
    const auto message = [](const std::string& toml) -> std::string {
        try {
            parse_config(toml);
        } catch (const pel::Error& e) {
            return e.what();
        } catch (const CLI::ParseError& e) {
            return e.what();
        }
        return "";
    };
    CHECK(message("time-limit = nan\n") == "--time-limit: 'nan' is not a finite number");
    CHECK(message("heartbeat-timeout = inf\n") == "--heartbeat-timeout: 'inf' is not a finite number");
    // A float where an integer belongs is refused by the TOML reader's typing, before the option's own check.
    CHECK(message("chunk-size = 1.5\n") == "the config file, line 1: 'chunk-size' must be an integer, not a float");
}

TEST_CASE("resolve fills the defaults that depend on other options and checks them together", "[app][options]") {
    RunSettings s;
    s.job = "mandelbrot";
    s.threads = 2;
    pel::app::resolve(s);
    CHECK(s.output == "mandelbrot.h5");
    CHECK(s.checkpoint_dir == "mandelbrot.ckpt");
    CHECK(s.threads == 2);

    RunSettings in_dir;
    in_dir.job = "kmeans";
    in_dir.threads = 1;
    in_dir.run_dir = "rd";
    pel::app::resolve(in_dir);
    CHECK(in_dir.output == "rd/kmeans.h5");
    CHECK(in_dir.checkpoint_dir == "rd/checkpoints");

    RunSettings both;
    both.job = "kmeans";
    both.threads = 1;
    both.resume = both.auto_resume = true;
    CHECK_THROWS_WITH(pel::app::resolve(both), Catch::Contains("exclude each other"));

    RunSettings slow;
    slow.job = "kmeans";
    slow.threads = 1;
    slow.progress_every_s = 0;
    CHECK_THROWS_WITH(pel::app::resolve(slow), "--progress-every: 0 is not a number of seconds above 0");
}

TEST_CASE("--run-dir auto is named after the job and its options, the same for every attempt", "[app][options]") {
    const std::string a = pel::app::auto_run_dir("synthetic", "items = 10\nseed = 1\n");
    CHECK(a.starts_with("pel-synthetic-"));
    CHECK(a.size() == std::string("pel-synthetic-").size() + 8);
    CHECK(a == pel::app::auto_run_dir("synthetic", "items = 10\nseed = 1\n"));
    CHECK(a != pel::app::auto_run_dir("synthetic", "items = 10\nseed = 2\n"));
    CHECK(a != pel::app::auto_run_dir("mandelbrot", "items = 10\nseed = 1\n"));

    // Not tied to Slurm: a resubmission gets a new SLURM_JOB_ID and must find the same directory.
    RunSettings s;
    s.job = "synthetic";
    s.threads = 1;
    s.run_dir = "auto";
    setenv("SLURM_JOB_ID", "111", 1);
    pel::app::resolve(s, "items = 10\n");
    RunSettings again = RunSettings{};
    again.job = "synthetic";
    again.threads = 1;
    again.run_dir = "auto";
    setenv("SLURM_JOB_ID", "222", 1);
    pel::app::resolve(again, "items = 10\n");
    unsetenv("SLURM_JOB_ID");
    CHECK(s.run_dir == again.run_dir);
    CHECK(s.output == s.run_dir + "/synthetic.h5");
}

TEST_CASE("a time limit not longer than the margin is an error at the start", "[app][options]") {
    RunSettings s;
    s.job = "synthetic";
    s.threads = 1;
    s.time_limit_s = 60;  // --time 1 (minute) with the default margin of 60 s
    CHECK_THROWS_WITH(pel::app::resolve(s),
                      Catch::Contains("60 s left by --time-limit is not more than --time-margin"));
    s.time_limit_s = 61;
    CHECK_NOTHROW(pel::app::resolve(s));

    RunSettings slurm;
    slurm.job = "synthetic";
    slurm.threads = 1;
    setenv("SLURM_JOB_END_TIME", std::to_string(std::time(nullptr) + 30).c_str(), 1);
    CHECK_THROWS_WITH(pel::app::resolve(slurm), Catch::Contains("of the Slurm job (SLURM_JOB_END_TIME)"));
    setenv("SLURM_JOB_END_TIME", std::to_string(std::time(nullptr) + 3600).c_str(), 1);
    CHECK_NOTHROW(pel::app::resolve(slurm));
    unsetenv("SLURM_JOB_END_TIME");
    CHECK(std::isinf(pel::app::time_left_s(slurm, 0)));

    RunSettings fresh;
    fresh.job = "synthetic";
    fresh.threads = 1;
    fresh.fresh = fresh.resume = true;
    CHECK_THROWS_WITH(pel::app::resolve(fresh), Catch::Contains("--fresh and --resume exclude each other"));
}

TEST_CASE("paths in a config are relative to the config's directory, on the command line to the working one",
          "[app][options]") {
    CHECK(pel::app::path_in_config("configs", "tasks.txt") == "configs/tasks.txt");
    CHECK(pel::app::path_in_config("/etc/pel", "../data/p.h5") == "/etc/data/p.h5");
    CHECK(pel::app::path_in_config("configs", "/abs/p.h5") == "/abs/p.h5");
    CHECK(pel::app::path_in_config("", "p.h5") == "p.h5");  // a config in the working directory
    CHECK(pel::app::path_in_config("configs", "").empty());

    RunSettings s;
    s.output = "out.h5";
    s.trace = "t.json";
    s.run_dir = "auto";
    s.job_path = "jobs:/opt/jobs";
    pel::app::config_paths(s, "/cfg", [](const std::string& name) { return name == "trace"; });
    CHECK(s.output == "/cfg/out.h5");
    CHECK(s.trace == "t.json");  // given on the command line
    CHECK(s.run_dir == "auto");
    CHECK(s.job_path == "/cfg/jobs:/opt/jobs");
}
