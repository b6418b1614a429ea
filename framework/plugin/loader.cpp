// plugin/loader.cpp: dlopen, the ABI check and the search path.
#include "plugin/loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <set>
#include <unistd.h>

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

JobPlugin load(const std::string& file) {
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
