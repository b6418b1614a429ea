// tests/exec/result_names_test.cpp: the checks of a job's result names, and README's table of reserved names held to
// the code's list.
#include "exec/result_names.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "exec/results_layout.hpp"
#include "pel/error.hpp"

namespace {

using pel::exec::ResultNames;

/// The message of the pel::Error (plugin) that `step` throws.
template <class Step>
std::string plugin_error(Step&& step) {
    try {
        step();
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::plugin);
        return e.what();
    }
    FAIL("no error");
    return {};
}

}  // namespace

TEST_CASE("result names that clash are named with both uses", "[exec][names]") {
    ResultNames names("j");
    names.item_output("labels");
    names.item_output("grid/values");
    CHECK(plugin_error([&] { names.item_output("labels"); }) == "job 'j': its item output 'labels' is declared twice");
    CHECK(plugin_error([&] { names.declare_dataset("/labels"); }) ==
          "job 'j': its result dataset 'labels' is also its item output 'labels'");
    CHECK(plugin_error([&] { names.declare_dataset("labels/x"); }) ==
          "job 'j': its result dataset 'labels/x' needs a group 'labels', which is its item output");
    CHECK(plugin_error([&] { names.declare_dataset("grid"); }) ==
          "job 'j': its result dataset 'grid' is the group of its item output 'grid/values'");
    CHECK(plugin_error([&] {
              names.declare_dataset("stats/mine");
          }).starts_with("job 'j': its result dataset 'stats/mine' is inside pel's group /stats ("));
    CHECK(plugin_error([&] { names.declare_dataset("a//b"); }).find("is not a dataset name") != std::string::npos);
    CHECK(plugin_error([&] {
              names.declare_attribute("wall_time_s");
          }).starts_with("job 'j': its result attribute 'wall_time_s' is one pel writes on the root"));
    names.declare_dataset("grid/sums");  // beside an item output in the same group: fine
    names.declare_attribute("inertia");
    CHECK(plugin_error([&] { names.declare_attribute("inertia"); }) ==
          "job 'j': its result attribute 'inertia' is declared twice");

    names.write_dataset("grid/sums");
    names.write_attribute("inertia");
    CHECK(plugin_error([&] { names.write_dataset("grid/sums"); }) == "job 'j' stores result dataset 'grid/sums' twice");
    CHECK(plugin_error([&] { names.write_attribute("inertia"); }) ==
          "job 'j': its result attribute 'inertia' is stored twice");
    CHECK(plugin_error([&] { names.write_dataset("other"); }) ==
          "job 'j' stores result dataset 'other', which its setup did not declare (ctx.result_dataset)");
}

TEST_CASE("a job that declares no result is checked as it stores each", "[exec][names]") {
    ResultNames names("j");
    names.item_output("labels");
    names.write_dataset("centroids");
    names.write_attribute("inertia");
    CHECK(plugin_error([&] { names.write_dataset("labels"); }) ==
          "job 'j': its result dataset 'labels' is also its item output 'labels'");
    CHECK(plugin_error([&] { names.write_dataset("centroids"); }) == "job 'j' stores result dataset 'centroids' twice");
    CHECK(plugin_error([&] {
              names.write_attribute("ranks");
          }).starts_with("job 'j': its result attribute 'ranks' is one pel writes on the root (the number of ranks"));
    CHECK(plugin_error([&] {
              names.write_dataset("skipped/mine");
          }).starts_with("job 'j': its result dataset 'skipped/mine' is inside pel's group /skipped"));
}

TEST_CASE("README's table of reserved names is the code's list", "[exec][names]") {
    std::ifstream in(PEL_SOURCE_DIR "/README.md");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string readme = text.str();
    const auto begin = readme.find("<!-- reserved names -->");
    const auto end = readme.find("<!-- end reserved names -->");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    const std::string table = readme.substr(begin, end - begin);
    std::set<std::string> listed;
    const std::regex row(R"(\| `([^`]+)` \| (attribute|group) \| ([^|]+) \|)");
    for (auto it = std::sregex_iterator(table.begin(), table.end(), row); it != std::sregex_iterator(); ++it) {
        listed.insert((*it)[1].str() + " " + (*it)[2].str() + " " + (*it)[3].str());
    }
    std::set<std::string> code;
    for (const auto& r : pel::exec::reserved_names()) code.insert(std::string(r.name) + " " + r.kind + " " + r.holds);
    CHECK(listed == code);
}
