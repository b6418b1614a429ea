// app/doctor_report.cpp: the report `pel doctor` prints on rank 0, ranks with the same findings together.
#include "app/doctor_report.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

namespace pel::app::doctor {

namespace {

/// One line of the report, and the ranks that found it.
struct Group {
    Finding finding;
    std::vector<int> ranks;
};

}  // namespace

std::string rank_label(const std::vector<int>& ranks) {
    std::string out;
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        std::size_t j = i;
        while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about the same as one concatenation.
        if (!out.empty()) out += ',';
        out += std::to_string(ranks[i]);
        if (j > i) out += '-' + std::to_string(ranks[j]);
        i = j;
    }
    return (ranks.size() == 1 ? "rank " : "ranks ") + out;
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string shown_path(const std::string& dir) {
    std::string p = std::filesystem::absolute(dir).lexically_normal().string();
    if (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

std::string render(const std::vector<RankReport>& reports, const std::string& output_dir, int& problems) {
    std::vector<Group> groups;
    for (const char* check : kCheckOrder) {
        const auto first = static_cast<std::ptrdiff_t>(groups.size());
        for (std::size_t r = 0; r < reports.size(); ++r) {
            for (const auto& f : reports[r].findings) {
                if (f.check != check) continue;
                const auto same =
                    std::find_if(groups.begin() + first, groups.end(), [&](const Group& g) { return g.finding == f; });
                if (same == groups.end()) {
                    groups.push_back({f, {static_cast<int>(r)}});
                } else if (same->ranks.back() != static_cast<int>(r)) {
                    same->ranks.push_back(static_cast<int>(r));
                }
            }
        }
    }
    std::size_t width = 0;
    for (const auto& g : groups) width = std::max(width, rank_label(g.ranks).size());

    std::set<std::string> hosts;
    for (const auto& r : reports) hosts.insert(r.host);
    std::string where = hosts.size() == 1 ? "host " + *hosts.begin() : plural(hosts.size(), "host", "hosts");
    std::ostringstream os;
    os << "pel doctor: " << plural(reports.size(), "rank", "ranks") << " on " << where << ", "
       << plural(static_cast<std::size_t>(reports.front().threads), "thread", "threads")
       << " per rank, output directory " << shown_path(output_dir) << "\n";
    problems = 0;
    for (const auto& [f, ranks] : groups) {
        std::string verdict = f.verdict == Verdict::ok ? "ok" : f.verdict == Verdict::note ? "note" : "PROBLEM";
        verdict.resize(9, ' ');
        std::string label = rank_label(ranks);
        label.resize(width, ' ');
        os << verdict << label << "  " << f.check << ": " << f.text << "\n";
        if (f.verdict != Verdict::problem) continue;
        ++problems;
        if (!f.fix.empty()) os << std::string(9 + width + 2, ' ') << "fix: " << f.fix << "\n";
    }
    if (problems == 0) {
        os << "pel doctor: no problems found\n";
    } else {
        os << "pel doctor: " << plural(static_cast<std::size_t>(problems), "problem", "problems") << " found\n";
    }
    return os.str();
}

}  // namespace pel::app::doctor
