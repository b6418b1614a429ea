// pel/plugin.hpp: how a job becomes a loadable plugin. One macro, PEL_JOB, per shared library.
//
//   class Heat final : public pel::Job<HeatSums> { ... };
//   PEL_JOB(Heat, "heat", "1.0", "explicit 2-D heat equation on a grid of rows")
//
// The macro defines one exported C function, pel_job_query(), that returns the plugin's ABI version, name,
// version, description and factory. pel refuses a plugin whose ABI version differs from its own.
#pragma once

#include <cstdint>

#include "pel/job.hpp"

/// Bumped whenever the layout of pel::JobBase, the contexts, the sinks, pel::OptionSpec or PelJobInfo changes (2:
/// OptionSpec::allow_non_finite).
#define PEL_ABI_VERSION 2u

extern "C" {
/// What a plugin tells pel about itself. abi_version comes first so that pel can read it from any version.
struct PelJobInfo {
    std::uint32_t abi_version;
    std::uint32_t info_size;    ///< sizeof(PelJobInfo) as the plugin was compiled
    const char* name;           ///< the job's name on the command line: lowercase, digits, '-' and '_'
    const char* version;        ///< the job's own version, stored with its results
    const char* description;    ///< one line for `pel jobs`
    pel::JobBase* (*create)();  ///< a new job object, owned by the caller (delete it with destroy)
    void (*destroy)(pel::JobBase*);
};
}

/// The exported symbol pel looks up in each plugin.
#define PEL_JOB_QUERY_SYMBOL "pel_job_query"

/// Makes `JobClass` (default-constructible, derived from pel::JobBase) the job of this shared library.
#define PEL_JOB(JobClass, name, version, description)                                     \
    extern "C" __attribute__((visibility("default"))) const PelJobInfo* pel_job_query() { \
        static const PelJobInfo info{PEL_ABI_VERSION,                                     \
                                     static_cast<std::uint32_t>(sizeof(PelJobInfo)),      \
                                     name,                                                \
                                     version,                                             \
                                     description,                                         \
                                     []() -> pel::JobBase* { return new JobClass(); },    \
                                     [](pel::JobBase* job) { delete job; }};              \
        return &info;                                                                     \
    }
