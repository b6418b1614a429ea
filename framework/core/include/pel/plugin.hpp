// pel/plugin.hpp: how a job becomes a loadable plugin. One macro, PEL_JOB, per shared library.
//
//   class Heat final : public pel::Job<HeatSums> { ... };
//   PEL_JOB(Heat, "heat", "1.0", "explicit 2-D heat equation on a grid of rows")
//
// The macro defines one exported C function, pel_job_query(), that returns the plugin's ABI version, name,
// version, description and factory, and one exported plain-C object, pel_abi_fingerprint, that says how the plugin
// was built (pel version, compiler, standard library ABI, debug mode). pel reads the fingerprint before it calls
// anything in the plugin, and refuses a plugin whose fingerprint differs from its own.
#pragma once

#include <cstdint>

#include "pel/job.hpp"
#include "pel/version.hpp"

/// Bumped whenever the layout of pel::JobBase, the contexts, the sinks, pel::OptionSpec or PelJobInfo changes (2:
/// OptionSpec::allow_non_finite; 3: SetupContext::declare_result, output_path and run_dir, Context::thread and
/// stop_requested, JobBase::outcome; 4: Phase::spawn_bytes, pel::Spawner, JobBase::seed_any and expand_any; item
/// inputs (Context::input_bytes, SetupContext::declare_input, read_input_items, want_total_on_every_rank);
/// ragged outputs (SetupContext::declare_ragged, ItemSink::append_bytes); Context::request_stop).
#define PEL_ABI_VERSION 4u

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

extern "C" {
/// How a plugin was built, as plain C data that pel can read without running any of the plugin's code. Each
/// string is computed from the compiler's macros in the translation unit that expands PEL_JOB, so it describes
/// the plugin, not pel; pel compares it with the same macros expanded in its own loader.
struct PelAbiFingerprint {
    std::uint32_t abi_version;  ///< PEL_ABI_VERSION; first, so that any pel can read it
    std::uint32_t size;         ///< sizeof(PelAbiFingerprint) as the plugin was compiled
    const char* pel_version;    ///< the pel whose headers the plugin was built with
    const char* compiler;       ///< family and major version: name mangling and inline code differ between them
    const char* library_abi;    ///< the C++ standard library and its ABI (std::string and std::list layouts)
    const char* debug_mode;     ///< _GLIBCXX_DEBUG changes the layout of every standard container
};
}

/// The exported object pel reads first in each plugin.
#define PEL_ABI_FINGERPRINT_SYMBOL "pel_abi_fingerprint"

#define PEL_STRINGIFY_(x) #x
#define PEL_STRINGIFY(x) PEL_STRINGIFY_(x)
#if defined(__clang__)
#define PEL_ABI_COMPILER "clang " PEL_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define PEL_ABI_COMPILER "gcc " PEL_STRINGIFY(__GNUC__)
#else
#define PEL_ABI_COMPILER "an unknown compiler"
#endif
#if defined(_LIBCPP_VERSION)
#define PEL_ABI_LIBRARY "libc++"
#elif defined(__GLIBCXX__) && _GLIBCXX_USE_CXX11_ABI
#define PEL_ABI_LIBRARY "libstdc++ with _GLIBCXX_USE_CXX11_ABI=1"
#elif defined(__GLIBCXX__)
#define PEL_ABI_LIBRARY "libstdc++ with _GLIBCXX_USE_CXX11_ABI=0"
#else
#define PEL_ABI_LIBRARY "an unknown standard library"
#endif
// _GLIBCXX_ASSERTIONS adds checks but keeps every layout, so a plugin built with it works with a pel built without.
#if defined(_GLIBCXX_DEBUG)
#define PEL_ABI_DEBUG_MODE "_GLIBCXX_DEBUG"
#else
#define PEL_ABI_DEBUG_MODE "no _GLIBCXX_DEBUG"
#endif

/// The fingerprint of the translation unit that expands this macro.
#define PEL_ABI_FINGERPRINT_VALUE                                                                                     \
    {                                                                                                                 \
        PEL_ABI_VERSION, static_cast<std::uint32_t>(sizeof(PelAbiFingerprint)), PEL_VERSION_STRING, PEL_ABI_COMPILER, \
            PEL_ABI_LIBRARY, PEL_ABI_DEBUG_MODE                                                                       \
    }

/// Makes `JobClass` (default-constructible, derived from pel::JobBase) the job of this shared library.
#define PEL_JOB(JobClass, name, version, description)                                               \
    extern "C" __attribute__((visibility("default"))) const PelAbiFingerprint pel_abi_fingerprint = \
        PEL_ABI_FINGERPRINT_VALUE;                                                                  \
    extern "C" __attribute__((visibility("default"))) const PelJobInfo* pel_job_query() {           \
        static const PelJobInfo info{PEL_ABI_VERSION,                                               \
                                     static_cast<std::uint32_t>(sizeof(PelJobInfo)),                \
                                     name,                                                          \
                                     version,                                                       \
                                     description,                                                   \
                                     []() -> pel::JobBase* { return new JobClass(); },              \
                                     [](pel::JobBase* job) { delete job; }};                        \
        return &info;                                                                               \
    }
