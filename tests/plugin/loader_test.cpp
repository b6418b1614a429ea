// tests/plugin/loader_test.cpp: finding and loading job plugins, and refusing the wrong ones with a clear reason.
#include "plugin/loader.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "pel/plugin.hpp"

namespace {

const std::string kDir = PEL_TEST_PLUGIN_DIR;
const std::string kFaultDir = PEL_FAULT_PLUGIN_DIR;

std::string load_error(const std::string& file, const std::string& dir = kDir) {
    try {
        pel::plugin::load(dir + "/" + file);
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::plugin);
        return e.what();
    }
    return "loaded";
}

}  // namespace

TEST_CASE("a plugin built with PEL_JOB loads and creates its job", "[plugin]") {
    const auto plugin = pel::plugin::find("faulty", {kDir});
    CHECK(plugin.name == "faulty");
    CHECK(plugin.path == kDir + "/pel_faulty.so");
    CHECK_FALSE(plugin.description.empty());
    const auto job = plugin.create();
    pel::Options options;
    job->declare_options(options);
    CHECK_FALSE(options.specs().empty());
}

TEST_CASE("a plugin of another ABI version is refused with both versions named", "[plugin]") {
    const std::string why = load_error("pel_wrongabi.so");
    CHECK_THAT(why,
               Catch::Contains("ABI version 999") && Catch::Contains("ABI version " + std::to_string(PEL_ABI_VERSION)));
}

TEST_CASE("a plugin built with other standard library flags is refused by its fingerprint", "[plugin]") {
    CHECK_THAT(load_error("pel_debugmode.so", kFaultDir),
               Catch::Contains("pel_debugmode.so' was built differently from this pel: debug mode _GLIBCXX_DEBUG"));
    CHECK_THAT(load_error("pel_oldstringabi.so", kFaultDir),
               Catch::Contains("standard library libstdc++ with _GLIBCXX_USE_CXX11_ABI=0 (pel: libstdc++ with "
                               "_GLIBCXX_USE_CXX11_ABI=1)"));
    // Its pel_job_query traps if called: the fingerprint must be read first.
    CHECK_THAT(load_error("pel_oldpel.so", kFaultDir),
               Catch::Contains("pel version 0.0.1 (pel: " + std::string(PEL_VERSION_STRING) + ")"));
}

TEST_CASE("a plugin that crashes or exits while loading is refused, and this process goes on", "[plugin]") {
    CHECK_THAT(load_error("pel_crashsegv.so", kFaultDir), Catch::Contains("crashed while loading (SIGSEGV)"));
    CHECK_THAT(load_error("pel_crashabort.so", kFaultDir), Catch::Contains("crashed while loading (SIGABRT)"));
    CHECK_THAT(load_error("pel_crashexit.so", kFaultDir), Catch::Contains("called exit(7) while loading"));
}

TEST_CASE("a shared library without pel_job_query is not a plugin", "[plugin]") {
    CHECK_THAT(load_error("pel_noquery.so"), Catch::Contains("is not a pel job plugin"));
}

TEST_CASE("a file that is not a shared library fails to load with dlopen's reason", "[plugin]") {
    CHECK_THAT(load_error("pel_garbage.so"),
               Catch::Contains("cannot load job plugin") && Catch::Contains("pel_garbage.so"));
}

TEST_CASE("a plugin with an unresolved symbol fails at load, not mid-run", "[plugin]") {
    CHECK_THAT(load_error("pel_unresolved.so"), Catch::Contains("undefined symbol"));
}

TEST_CASE("an unknown job lists the jobs that exist", "[plugin]") {
    try {
        pel::plugin::find("nosuchjob", {kDir});
        FAIL("found a job that does not exist");
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::plugin);
        CHECK_THAT(e.what(), Catch::Contains("unknown job 'nosuchjob'") && Catch::Contains("faulty"));
    }
}

TEST_CASE("the search path puts --job-path first, then PEL_JOB_PATH, then pel's own directory", "[plugin]") {
    // This test program sits beside pel (bin/), so its "own directory" is where the build puts pel's jobs: under
    // the configured library directory (lib64, lib/<multiarch>), not always lib.
    setenv("PEL_JOB_PATH", "/env/a:/env/b", 1);
    const auto dirs = pel::plugin::search_path("/cli/x::/cli/y");
    unsetenv("PEL_JOB_PATH");
    REQUIRE(dirs.size() == 5);
    CHECK(dirs[0] == "/cli/x");
    CHECK(dirs[1] == "/cli/y");
    CHECK(dirs[2] == "/env/a");
    CHECK(dirs[3] == "/env/b");
    CHECK(std::filesystem::equivalent(dirs[4], PEL_JOB_OUTPUT_DIR));
}

TEST_CASE("discover lists loadable plugins and reports the broken ones", "[plugin]") {
    std::vector<std::string> problems;
    const auto found = pel::plugin::discover({kDir}, problems);
    // Two loadable jobs there: faulty (fails at run time) and declarations (its option declarations are refused by
    // pel run, not by loading).
    REQUIRE(found.size() == 2);
    std::vector<std::string> names{found[0].name, found[1].name};
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"declarations", "faulty"});
    CHECK(problems.size() == 4);
}
