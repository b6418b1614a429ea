// plugin/loader.cpp: dlopen, the ABI fingerprint check, a probe of each plugin in a child process, and the search
// path.
#include "plugin/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <poll.h>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "pel/options.hpp"
#include "pel/plugin.hpp"

namespace fs = std::filesystem;

namespace pel::plugin {

namespace {

void split_into(const std::string& list, std::vector<std::string>& out) {
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t colon = list.find(':', start);
        std::string dir = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (!dir.empty()) out.push_back(std::move(dir));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
}

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

bool is_plugin_file(const fs::path& p) {
    const std::string f = p.filename().string();
    return f.starts_with("pel_") && f.ends_with(".so") && f.size() > 7;
}

std::string name_of(const fs::path& p) {
    const std::string f = p.filename().string();
    return f.substr(4, f.size() - 7);
}

}  // namespace

std::unique_ptr<JobBase, void (*)(JobBase*)> JobPlugin::create() const {
    JobBase* job = create_fn();
    if (job == nullptr) throw Error::Plugin("job '" + name + "' (" + path + ") failed to create a job object");
    return {job, destroy_fn};
}

std::vector<std::string> search_path(const std::string& job_path) {
    std::vector<std::string> dirs;
    split_into(job_path, dirs);
    if (const char* env = std::getenv("PEL_JOB_PATH")) split_into(env, dirs);
    const fs::path exe = executable_dir();
    if (!exe.empty()) dirs.push_back((exe / PEL_JOB_DIR_FROM_BINDIR).lexically_normal().string());
    return dirs;
}

std::string file_name(const std::string& name) { return "pel_" + name + ".so"; }

namespace {

/// One line naming what differs between a plugin's fingerprint and pel's, or nothing if they match.
std::optional<std::string> fingerprint_mismatch(const std::string& file, const PelAbiFingerprint& theirs) {
    static const PelAbiFingerprint ours = PEL_ABI_FINGERPRINT_VALUE;
    if (theirs.abi_version != ours.abi_version) {
        return "job plugin '" + file + "' was built for pel ABI version " + std::to_string(theirs.abi_version) +
               ", this pel has ABI version " + std::to_string(ours.abi_version) + "; rebuild the plugin";
    }
    if (theirs.size != sizeof(PelAbiFingerprint)) {
        return "job plugin '" + file + "' has a malformed ABI fingerprint; rebuild the plugin";
    }
    std::string differences;
    const auto compare = [&](const char* what, const char* plugin, const char* pel) {
        const std::string p = plugin != nullptr ? std::string(plugin).substr(0, 80) : "nothing";
        if (p == pel) return;
        differences += (differences.empty() ? "" : ", ") + std::string(what) + " " + p + " (pel: " + pel + ")";
    };
    compare("pel version", theirs.pel_version, ours.pel_version);
    compare("compiler", theirs.compiler, ours.compiler);
    compare("standard library", theirs.library_abi, ours.library_abi);
    compare("debug mode", theirs.debug_mode, ours.debug_mode);
    if (differences.empty()) return std::nullopt;
    return "job plugin '" + file + "' was built differently from this pel: " + differences +
           "; rebuild it with pel's compiler and flags";
}

/// dlopen, the fingerprint check (before any of the plugin's code is called), then the plugin's description.
JobPlugin open(const std::string& file) {
    // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW reports missing symbols here, not mid-run.
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        throw Error::Plugin("cannot load job plugin '" + file + "': " + (why != nullptr ? why : "unknown reason"));
    }
    dlerror();
    void* symbol = dlsym(handle, PEL_JOB_QUERY_SYMBOL);
    if (symbol == nullptr) {
        dlclose(handle);
        throw Error::Plugin(
            "'" + file + "' is not a pel job plugin: it has no " PEL_JOB_QUERY_SYMBOL " (define the job with PEL_JOB)");
    }
    const auto* fingerprint = static_cast<const PelAbiFingerprint*>(dlsym(handle, PEL_ABI_FINGERPRINT_SYMBOL));
    if (fingerprint == nullptr) {
        dlclose(handle);
        throw Error::Plugin("job plugin '" + file +
                            "' has no " PEL_ABI_FINGERPRINT_SYMBOL
                            ": it was built for an older pel; rebuild the plugin");
    }
    if (const auto mismatch = fingerprint_mismatch(file, *fingerprint)) {
        dlclose(handle);
        throw Error::Plugin(*mismatch);
    }
    using Query = const PelJobInfo* (*)();
    const auto* info = reinterpret_cast<Query>(symbol)();
    if (info == nullptr) {
        dlclose(handle);
        throw Error::Plugin("job plugin '" + file + "' returned no job description");
    }
    if (info->abi_version != PEL_ABI_VERSION) {
        const auto theirs = info->abi_version;
        dlclose(handle);
        throw Error::Plugin("job plugin '" + file + "' was built for pel ABI version " + std::to_string(theirs) +
                            ", this pel has ABI version " + std::to_string(PEL_ABI_VERSION) + "; rebuild the plugin");
    }
    if (info->info_size != sizeof(PelJobInfo) || info->name == nullptr || info->create == nullptr ||
        info->destroy == nullptr) {
        dlclose(handle);
        throw Error::Plugin("job plugin '" + file + "' has a malformed description");
    }
    // The handle stays open: job objects and their code live until the process ends.
    return {info->name,
            info->version != nullptr ? info->version : "",
            info->description != nullptr ? info->description : "",
            file,
            info->create,
            info->destroy};
}

/// In a child process: loads the plugin, makes a job object and has it declare its options, and exits with the
/// reason it was refused written to `out` (nothing if it was fine). Never returns.
[[noreturn]] void probe_child(const std::string& file, int out) {
    // A plugin that calls exit() while loading would run the parent's exit handlers (MPI's, HDF5's) in this
    // copy of it; this handler, registered last, runs first and leaves at once with the plugin's code.
    on_exit([](int code, void*) { _exit(code == 0 ? 120 : code); }, nullptr);
    // MPI's handlers of fatal signals print a backtrace; here a crash is an answer, for the parent to put in words.
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) std::signal(sig, SIG_DFL);
    std::string refusal;
    try {
        const JobPlugin plugin = open(file);
        Options declared;
        plugin.create()->declare_options(declared);
    } catch (const std::exception& e) {
        refusal = e.what();
        if (refusal.empty()) refusal = "job plugin '" + file + "' failed while loading";
    }
    std::size_t written = 0;
    while (written < refusal.size()) {
        const ssize_t n = ::write(out, refusal.data() + written, refusal.size() - written);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    _exit(0);
}

/// Why the plugin in `file` is refused, found in a child process so that a plugin that crashes, aborts or exits
/// while loading (a static initializer, its job's constructor) takes down only the child; nothing if it is fine.
std::optional<std::string> probe(const std::string& file) {
    // A plugin that neither finishes nor crashes in this long is as good as hung.
    constexpr int kProbeTimeoutMs = 60'000;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;  // no probe: load it in this process as before
    std::fflush(nullptr);  // the child must not write out a copy of this process's buffered output
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return std::nullopt;
    }
    if (child == 0) {
        ::close(fds[0]);
        probe_child(file, fds[1]);
    }
    ::close(fds[1]);
    std::string refusal;
    bool timed_out = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kProbeTimeoutMs);
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            timed_out = ready == 0;
            break;
        }
        char buffer[4096];
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        refusal.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (timed_out) ::kill(child, SIGKILL);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        return "job plugin '" + file + "' did not finish loading in " + std::to_string(kProbeTimeoutMs / 1000) +
               " s (a static initializer or the job's constructor hangs)";
    }
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* abbrev = sigabbrev_np(sig);
        return "job plugin '" + file + "' crashed while loading (" +
               (abbrev != nullptr ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig)) +
               "): a static initializer, the job's constructor or declare_options";
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        return "job plugin '" + file + "' called exit(" +
               std::to_string(WEXITSTATUS(status) == 120 ? 0 : WEXITSTATUS(status)) +
               ") while loading: a static initializer, the job's constructor or declare_options";
    }
    if (!refusal.empty()) return refusal;
    return std::nullopt;
}

}  // namespace

JobPlugin load(const std::string& file) {
    // dlopen reads what it is given: a FIFO there would block the probe until its time runs out (and be named as a
    // plugin that hangs while loading); a directory or a device is no shared library either.
    std::error_code ec;
    const auto status = fs::status(file, ec);
    if (!ec && !fs::is_regular_file(status)) {
        throw Error::Plugin("job plugin '" + file + "' is not a regular file (" +
                            (fs::is_directory(status) ? "a directory" : "a FIFO, a device or a socket") + ")");
    }
    if (const auto refusal = probe(file)) throw Error::Plugin(*refusal);
    return open(file);
}

JobPlugin find(const std::string& name, const std::vector<std::string>& dirs) {
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (valid) {
        for (const auto& dir : dirs) {
            const fs::path candidate = fs::path(dir) / file_name(name);
            std::error_code ec;
            if (!fs::exists(candidate, ec)) continue;
            JobPlugin plugin = load(candidate.string());
            if (plugin.name != name) {
                throw Error::Plugin("job plugin '" + candidate.string() + "' calls itself '" + plugin.name +
                                    "', not '" + name + "'");
            }
            return plugin;
        }
    }
    std::set<std::string> known;
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (is_plugin_file(entry.path())) known.insert(name_of(entry.path()));
        }
    }
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error::Plugin("unknown job '" + shown(name) + "' (known jobs: " + (list.empty() ? "none found" : list) +
                        "; searched --job-path, PEL_JOB_PATH and pel's job directory)");
}

std::vector<JobPlugin> discover(const std::vector<std::string>& dirs, std::vector<std::string>& problems) {
    std::vector<JobPlugin> found;
    std::set<std::string> seen;
    for (const auto& dir : dirs) {
        std::error_code ec;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (is_plugin_file(entry.path())) files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            if (seen.contains(name_of(file))) continue;
            seen.insert(name_of(file));
            try {
                found.push_back(load(file.string()));
            } catch (const Error& e) {
                problems.emplace_back(e.what());
            }
        }
    }
    return found;
}

}  // namespace pel::plugin
