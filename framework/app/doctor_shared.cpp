// app/doctor_shared.cpp: whether a directory is one shared directory on every node: token files written by every
// rank and looked for by every other (see doctor_shared.hpp).
#include "app/doctor_shared.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unistd.h>

#include "pel/archive.hpp"
#include "pel/host.hpp"

namespace fs = std::filesystem;

namespace pel::app::doctor {

namespace {

/// What one rank found: where it runs, whether it could write its token (errno, 0 if so), the ranks whose tokens it
/// did not see.
struct View {
    std::string host;
    std::int32_t error = 0;
    std::vector<std::int32_t> unseen;

    template <class A>
    void fields(A& a) {
        a(host)(error)(unseen);
    }
};

/// Creates `file` (never over an existing one) holding a byte; errno on failure, else 0.
int write_token(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno;
    const char byte = 't';
    const bool written = ::write(fd, &byte, 1) == 1;
    const int error = errno;
    if (::close(fd) != 0 || !written) {
        ::unlink(file.c_str());
        return written ? EIO : error;
    }
    return 0;
}

/// The ranks whose tokens (`prefix` + "-" + host + "-" + pid + "-" + rank) are in `dir`, as this rank lists it.
std::set<std::int32_t> tokens_seen(const fs::path& dir, const std::string& prefix) {
    std::set<std::int32_t> seen;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto dash = name.rfind('-');
        if (!name.starts_with(prefix) || dash == std::string::npos || dash + 1 == name.size()) continue;
        const std::string digits = name.substr(dash + 1);
        if (digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        seen.insert(std::stoi(digits));
    }
    return seen;
}

/// Why a file cannot be created in `dir`, in words.
std::string why_unwritable(const std::string& dir, int error) {
    std::error_code ec;
    if (error == ENOENT) return "it does not exist";
    if (error == ENOTDIR)
        return fs::exists(dir, ec) ? "it is not a directory" : "a part of its path is not a directory";
    return std::strerror(error);
}

/// "host a (ranks 0-3)", for each host of `ranks`, in rank order, joined with ", ".
std::string hosts_of(const std::vector<int>& ranks, const std::vector<View>& views) {
    std::vector<std::pair<std::string, std::vector<int>>> by_host;  // in order of first rank
    for (const int r : ranks) {
        const std::string& host = views[static_cast<std::size_t>(r)].host;
        auto it = std::find_if(by_host.begin(), by_host.end(), [&](const auto& h) { return h.first == host; });
        if (it == by_host.end()) it = by_host.insert(by_host.end(), {host, {}});
        it->second.push_back(r);
    }
    std::string out;
    for (const auto& [host, rs] : by_host) out += (out.empty() ? "" : ", ") + host + " (" + rank_label(rs) + ")";
    return out;
}

/// Rank 0's verdict on every rank's view of `dir`.
Finding verdict(const char* check, const std::string& dir, const std::vector<View>& views) {
    std::set<std::string> hosts;
    std::vector<int> wrote;
    std::map<std::string, std::vector<int>> failed;  // reason -> ranks
    for (std::size_t r = 0; r < views.size(); ++r) {
        hosts.insert(views[r].host);
        if (views[r].error == 0) {
            wrote.push_back(static_cast<int>(r));
        } else {
            failed[why_unwritable(dir, views[r].error)].push_back(static_cast<int>(r));
        }
    }
    std::vector<std::string> problems;
    for (const auto& [reason, ranks] : failed) {
        problems.push_back("cannot create a file there on host " + hosts_of(ranks, views) + ": " + reason);
    }
    // Observers with the same blind spot together: "host a (rank 0) does not see files of host b (rank 1)".
    std::map<std::vector<int>, std::vector<int>> blind;  // ranks not seen (of those that wrote) -> who misses them
    for (const int r : wrote) {
        std::vector<int> missing;
        for (const std::int32_t u : views[static_cast<std::size_t>(r)].unseen) {
            if (views[static_cast<std::size_t>(u)].error == 0) missing.push_back(u);
        }
        if (!missing.empty()) blind[missing].push_back(r);
    }
    for (const auto& [missing, observers] : blind) {
        problems.push_back("host " + hosts_of(observers, views) + " does not see files of host" +
                           (missing.size() > 1 ? "s " : " ") + hosts_of(missing, views));
    }
    const std::string n_hosts = plural(hosts.size(), "host", "hosts");
    const std::string option = check == std::string(kRunDir) ? "--run-dir" : "--checkpoint-dir";
    if (problems.empty()) return {check, Verdict::ok, dir + " is shared by all " + n_hosts, ""};
    if (wrote.empty() && failed.size() == 1) {  // the same everywhere: not a question of sharing
        return {
            check, Verdict::problem, "cannot create a file in " + dir + ": " + failed.begin()->first,
            "choose a writable directory (pel run " + option + " DIR), and test it with pel doctor " + option + " DIR"};
    }
    std::string text = dir + " is NOT shared by all " + n_hosts + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i) text += (i > 0 ? "; " : "") + problems[i];
    return {check, Verdict::problem, text + ": checkpoints written there cannot be resumed on other nodes",
            "put it on a file system every node mounts at the same path (" + option +
                " DIR on a shared file system); test it with pel doctor " + option + " DIR"};
}

}  // namespace

Finding check_shared_directory(const mpi::Comm& comm, const char* check, const std::string& dir_name, bool create) {
    const std::string dir = shown_path(dir_name);
    // One name for this doctor run, from rank 0, so that tokens of another run in the same directory do not count.
    const std::string own_prefix = ".pel-doctor-share-" + host_name() + "-" + std::to_string(::getpid()) + ".";
    std::vector<std::byte> prefix_bytes(reinterpret_cast<const std::byte*>(own_prefix.data()),
                                        reinterpret_cast<const std::byte*>(own_prefix.data()) + own_prefix.size());
    comm.bcast_bytes(prefix_bytes, 0);
    const std::string prefix(reinterpret_cast<const char*>(prefix_bytes.data()), prefix_bytes.size());

    // pel run makes the directory on rank 0; so does this check, and removes what it made at the end.
    std::optional<fs::path> made;
    if (comm.rank() == 0 && create) {
        std::error_code ec;
        fs::path top = dir;
        if (!fs::exists(top, ec)) {
            while (top.has_parent_path() && top.parent_path() != top && !fs::exists(top.parent_path(), ec)) {
                top = top.parent_path();
            }
            if (fs::create_directories(dir, ec) && !ec) made = top;
        }
    }
    comm.barrier();

    const fs::path token = fs::path(dir) / (prefix + "-" + host_name() + "-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(comm.rank()));
    View mine;
    mine.host = host_name();
    mine.error = write_token(token);
    comm.barrier();  // every token is written before anyone looks
    const auto seen = tokens_seen(dir, prefix);
    for (std::int32_t r = 0; r < comm.size(); ++r) {
        if (!seen.contains(r)) mine.unseen.push_back(r);
    }
    comm.barrier();  // everyone has looked before any token goes
    if (mine.error == 0) ::unlink(token.c_str());
    OutArchive out;
    out(mine);
    const auto gathered = comm.gather_bytes(out.bytes(), 0);

    std::vector<std::byte> finding_bytes;
    if (comm.rank() == 0) {
        std::error_code ec;
        if (made) {  // only what this check made, and only if empty (fs::remove never removes a full directory)
            for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
                if (!fs::remove(p, ec) || p == *made) break;
            }
        }
        std::vector<View> views(gathered.size());
        for (std::size_t r = 0; r < gathered.size(); ++r) {
            InArchive in(gathered[r]);
            in(views[r]);
        }
        OutArchive f;
        f(verdict(check, dir, views));
        finding_bytes = f.take();
    }
    comm.bcast_bytes(finding_bytes, 0);
    Finding finding;
    InArchive in(finding_bytes);
    in(finding);
    return finding;
}

}  // namespace pel::app::doctor
