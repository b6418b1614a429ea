// app/report_command.cpp: `pel report OUTPUT.h5`: a run's summary from its results file alone.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "io/arrays.hpp"
#include "pel/error.hpp"

namespace pel::app {

namespace {

std::vector<double> per_rank(const std::string& file, const std::string& name) {
    std::vector<std::uint64_t> dims;
    const auto bytes = io::read_array(file, "stats/" + name, ScalarType::f64, dims);
    std::vector<double> values(bytes.size() / sizeof(double));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(double));
    return values;
}

}  // namespace

int report_command(const std::vector<std::string>& args) {
    if (args.size() != 1 || args[0].starts_with("-")) {
        if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
            std::puts(
                "pel report OUTPUT.h5: the run's summary from its results file: a per-rank table and the POP "
                "efficiency metrics");
            return 0;
        }
        throw Error::Usage("pel report: give one results file (pel report OUTPUT.h5)");
    }
    const std::string& file = args[0];
    const auto text = [&](const std::string& object, const std::string& name) {
        return io::read_attribute_text(file, object, name).value_or("?");
    };
    const auto number = [&](const std::string& name) {
        const auto v = io::read_attribute_number(file, "stats", name);
        if (!v)
            throw Error::Io("pel report: '" + file + "' has no /stats attribute '" + name +
                            "' (not a pel results file?)");
        return *v;
    };
    const double makespan = number("makespan_s");
    const double lower = number("lower_bound_s");
    const auto items = per_rank(file, "items");
    const auto chunks = per_rank(file, "chunks");
    const auto busy = per_rank(file, "busy_s");
    const auto idle = per_rank(file, "idle_s");
    const auto wait = per_rank(file, "wait_s");
    std::vector<std::string> hosts;
    {
        std::istringstream in(text("stats", "hosts"));
        for (std::string h; std::getline(in, h);) hosts.push_back(h);
    }
    const double threads = io::read_attribute_number(file, "/", "threads").value_or(1);

    std::ostringstream os;
    char line[256];
    os << "pel report " << file << ": job " << text("/", "job") << " " << text("/", "job_version") << ", "
       << items.size() << " ranks x " << threads << " threads, schedule " << text("stats", "schedule") << ", "
       << text("/", "start_time") << "\n\n";
    std::snprintf(line, sizeof line, "%5s  %-16s %12s %8s %12s %12s %10s\n", "rank", "host", "items", "chunks",
                  "busy thr-s", "idle thr-s", "wait s");
    os << line;
    double busy_sum = 0, busy_max = 0;
    for (std::size_t r = 0; r < items.size(); ++r) {
        std::snprintf(line, sizeof line, "%5zu  %-16s %12.0f %8.0f %12.3f %12.3f %10.3f\n", r,
                      r < hosts.size() ? hosts[r].c_str() : "?", items[r], chunks[r], busy[r], idle[r], wait[r]);
        os << line;
        busy_sum += busy[r];
        busy_max = std::max(busy_max, busy[r]);
    }
    // POP metrics (Performance Optimisation and Productivity CoE): load balance = mean useful time / max useful
    // time; communication efficiency = max useful time / runtime; parallel efficiency = their product. Useful time
    // is a rank's kernel time per thread.
    const double ranks = static_cast<double>(items.size());
    const double mean_useful = ranks > 0 ? busy_sum / ranks / threads : 0;
    const double max_useful = busy_max / threads;
    const double load_balance = max_useful > 0 ? mean_useful / max_useful : 1;
    const double comm_eff = makespan > 0 ? max_useful / makespan : 1;
    std::snprintf(line, sizeof line,
                  "\nmakespan %.3f s, lower bound %.3f s: efficiency against the lower bound %.3f\n"
                  "POP: load balance %.3f, communication efficiency %.3f, parallel efficiency %.3f\n"
                  "imbalance (max busy / mean busy) %.3f, wall time %s s\n",
                  makespan, lower, makespan > 0 ? lower / makespan : 1, load_balance, comm_eff, load_balance * comm_eff,
                  number("imbalance"), text("/", "wall_time_s").c_str());
    os << line;
    std::fputs(os.str().c_str(), stdout);
    return 0;
}

}  // namespace pel::app
