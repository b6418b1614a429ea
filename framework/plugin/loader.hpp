// plugin/loader.hpp: job plugins are shared modules named pel_<job>.so on a search path.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pel/job.hpp"

namespace pel::plugin {

/// A loaded job plugin: what it says of itself, and a factory.
struct JobPlugin {
    std::string name;
    std::string version;
    std::string description;
    std::string path;  ///< the file it was loaded from

    /// A new job object; the plugin stays loaded for the life of the process.
    [[nodiscard]] std::unique_ptr<JobBase, void (*)(JobBase*)> create() const;

    JobBase* (*create_fn)() = nullptr;
    void (*destroy_fn)(JobBase*) = nullptr;
};

/// Where plugins are looked for, in order: each of `job_path` (colon-separated), each of $PEL_JOB_PATH, then
/// pel's own job directory, found from the executable as the install lays it out (../lib/pel/jobs, or lib64 or
/// lib/<multiarch> where that is the library directory).
std::vector<std::string> search_path(const std::string& job_path);

/// The file name of job `name`'s plugin: pel_<name>.so.
std::string file_name(const std::string& name);

/// Loads the plugin in `file`; throws pel::Error (plugin) if it cannot be loaded, has no pel_job_query, or its ABI
/// fingerprint (ABI and pel version, compiler, standard library ABI, debug mode) differs from pel's. It is first
/// loaded in a child process, so that a plugin that crashes, aborts, exits or hangs while loading or making its
/// job object is refused with one line naming the file, instead of taking this process with it.
JobPlugin load(const std::string& file);

/// Finds and loads job `name`; throws pel::Error (plugin) naming the jobs that do exist if it is not found.
JobPlugin find(const std::string& name, const std::vector<std::string>& dirs);

/// Every job on the search path (the first of each name wins). Plugins that fail to load are reported in
/// `problems` and skipped.
std::vector<JobPlugin> discover(const std::vector<std::string>& dirs, std::vector<std::string>& problems);

}  // namespace pel::plugin
