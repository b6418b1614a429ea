// app/jobs_command.cpp: `pel jobs`: every job on the search path, a line on what it does, and its options.
#include <algorithm>
#include <sstream>

#include "app/cli.hpp"
#include "app/job_options.hpp"
#include "exec/log.hpp"
#include "plugin/loader.hpp"

namespace pel::app {

namespace {

/// Each job of `plugins` with its options; a job whose option declarations pel run would refuse is left out and
/// named in `problems` instead (listing it would show options no run can use).
std::string describe(const std::vector<plugin::JobPlugin>& plugins, std::vector<std::string>& problems) {
    std::ostringstream os;
    for (const auto& plugin : plugins) {
        const auto job = plugin.create();
        Options declared;
        job->declare_options(declared);
        try {
            check_declarations(plugin.name, declared);
        } catch (const Error& e) {
            problems.push_back("'" + plugin.path + "': " + e.what());
            continue;
        }
        os << plugin.name << " " << plugin.version << ": " << plugin.description << "\n";
        os << "  from " << plugin.path << "\n";
        for (const auto& spec : declared.specs()) {
            std::string head = "  --" + spec.name() + " " + kind_of(spec);
            head.resize(std::max<std::size_t>(head.size() + 1, 28), ' ');
            os << head << spec.help() << " (default " << spec.value_text() << ")";
            if (const std::string limits = limits_of(spec); !limits.empty()) os << " " << limits;
            os << "\n";
        }
        os << "\n";
    }
    return os.str();
}

}  // namespace

int jobs_command(const mpi::Comm& comm, std::vector<std::string> args) {
    std::string job_path;
    CLI::App app("pel jobs: list the jobs pel can find, with their options", "pel jobs");
    app.add_option("--job-path", job_path, "colon-separated directories to search for job plugins first");
    std::string help;
    std::vector<std::string> problems;
    const std::string listing = mpi::agree(comm, [&] {
        try {
            std::reverse(args.begin(), args.end());
            app.parse(std::move(args));
        } catch (const CLI::CallForHelp&) {
            help = app.help();
            return std::string();
        } catch (const CLI::ParseError& e) {
            throw Error::Usage(std::string("pel jobs: ") + e.what());
        }
        const auto plugins = plugin::discover(plugin::search_path(job_path), problems);
        if (plugins.empty() && problems.empty())
            return std::string("no jobs found (searched --job-path, PEL_JOB_PATH and pel's job directory)\n");
        return describe(plugins, problems);
    });
    if (!help.empty()) {
        print0(comm, help);
        return 0;
    }
    print0(comm, listing);
    if (comm.rank() == 0) {
        for (const auto& problem : problems) {
            std::fprintf(stderr, "%s warn: skipped %s\n", exec::log_tag(0).c_str(), problem.c_str());
        }
    }
    return 0;
}

}  // namespace pel::app
