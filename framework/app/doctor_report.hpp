// app/doctor_report.hpp: what `pel doctor`'s checks find on each rank, and the one report rank 0 prints of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pel::app::doctor {

/// How a finding counts: a problem comes with a fix, and makes `pel doctor` exit 1.
enum class Verdict : std::uint8_t { ok, note, problem };

/// What one check found on one rank: a line of the report, and for a problem the command or setting that fixes it.
struct Finding {
    std::string check;
    Verdict verdict = Verdict::ok;
    std::string text;
    std::string fix;

    bool operator==(const Finding&) const = default;
    template <class A>
    void fields(A& a) {
        a(check)(verdict)(text)(fix);
    }
};

/// The checks, in the order the report lists them.
inline constexpr const char* kMpiLibrary = "MPI library";
inline constexpr const char* kThreadLevel = "MPI thread level";
inline constexpr const char* kHdf5 = "HDF5";
inline constexpr const char* kThreads = "OpenMP threads";
inline constexpr const char* kBinding = "OpenMP binding";
inline constexpr const char* kHostCpus = "CPUs per host";
inline constexpr const char* kSlurm = "Slurm";
inline constexpr const char* kPlugins = "job plugins";
inline constexpr const char* kOutputDir = "output directory";
inline constexpr const char* kCheckpointDir = "checkpoint directory";
inline constexpr const char* kRunDir = "run directory";
inline constexpr const char* kCheckOrder[] = {kMpiLibrary, kThreadLevel,   kHdf5,  kThreads,
                                              kBinding,    kHostCpus,      kSlurm, kPlugins,
                                              kOutputDir,  kCheckpointDir, kRunDir};

/// What one rank sends rank 0: where it runs, what it may run on, and what it found.
struct RankReport {
    std::string host;
    std::int32_t threads = 1;
    std::vector<std::int32_t> cpus;  ///< the CPUs this rank may run on
    std::int32_t online_cpus = 0;    ///< the CPUs its host has online
    std::vector<Finding> findings;

    template <class A>
    void fields(A& a) {
        a(host)(threads)(cpus)(online_cpus)(findings);
    }
};

/// "rank 3", "ranks 0-3", "ranks 0-1,4", of sorted `ranks`.
std::string rank_label(const std::vector<int>& ranks);

/// "1 rank", "2 ranks".
std::string plural(std::size_t n, const std::string& one, const std::string& many);

/// `dir` made absolute and tidy, for messages: "." becomes the current directory.
std::string shown_path(const std::string& dir);

/// The report rank 0 prints: check by check, each distinct finding once with the ranks that found it; `problems`
/// counts the problem lines.
std::string render(const std::vector<RankReport>& reports, const std::string& output_dir, int& problems);

}  // namespace pel::app::doctor
