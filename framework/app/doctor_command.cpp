// app/doctor_command.cpp: `pel doctor`: every rank checks MPI, HDF5, its threads and their binding, Slurm, the job
// plugins, the output directory and that the checkpoint and run directories are shared by every node
// (doctor_shared.hpp); rank 0 prints one report of the findings (doctor_report.hpp).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <omp.h>
#include <sched.h>
#include <set>
#include <sstream>
#include <unistd.h>

#include "app/allocation.hpp"
#include "app/cli.hpp"
#include "app/cpus.hpp"
#include "app/doctor_report.hpp"
#include "app/doctor_shared.hpp"
#include "app/job_options.hpp"
#include "io/results_file.hpp"
#include "mpi/environment.hpp"
#include "pel/archive.hpp"
#include "pel/host.hpp"
#include "pel/plugin.hpp"
#include "plugin/loader.hpp"

namespace fs = std::filesystem;

namespace pel::app {

namespace doctor {

namespace {

struct DoctorOptions {
    std::int64_t threads = 0;
    std::string output_dir;  ///< empty: the directory of --output, else the current one
    std::string job_path;
    std::string output;  ///< as pel run's: it places the checkpoint directory by default
    std::string checkpoint_dir;
    std::string run_dir;
};

/// The checkpoint directory `pel run` would use with these options, and whether it would make it; without
/// --checkpoint-dir, --run-dir or --output, the output directory (pel run puts OUTPUT.ckpt there).
std::pair<std::string, bool> checkpoint_dir_of(const DoctorOptions& o) {
    if (!o.checkpoint_dir.empty()) return {o.checkpoint_dir, true};
    if (!o.run_dir.empty() && o.run_dir != "auto") return {(fs::path(o.run_dir) / "checkpoints").string(), true};
    if (!o.output.empty()) {
        fs::path p(o.output);
        if (p.extension() == ".h5") p.replace_extension();
        return {p.string() + ".ckpt", true};
    }
    return {o.output_dir, false};
}

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

// ---------------------------------------------------------------------------------------------------------------
// MPI

Finding check_mpi_library() {
    return {kMpiLibrary, Verdict::ok, mpi::library_version() + " (MPI " + mpi::standard_version() + " standard)", ""};
}

Finding check_thread_level() {
    const int provided = mpi::provided_thread_level();
    const int needed = mpi::Environment::required_thread_level();
    const std::string text = std::string(mpi::Environment::thread_level_name(provided)) + " provided, pel needs " +
                             mpi::Environment::thread_level_name(needed);
    if (provided >= needed) return {kThreadLevel, Verdict::ok, text, ""};
    return {kThreadLevel, Verdict::problem, text,
            "use an MPI library built with thread support (Open MPI and MPICH are by default; on a cluster, load "
            "another MPI module) and rebuild pel against it"};
}

// ---------------------------------------------------------------------------------------------------------------
// OpenMP threads and their CPUs

/// The threads per rank `pel run` would use (resolve_threads): a variable `pel run` refuses is a problem here.
ThreadCount threads_as_run_would(std::int64_t option, std::vector<Finding>& findings) {
    ThreadCount threads = resolve_threads(option);
    for (const auto& var : threads.refused) {
        findings.push_back(
            {kThreads, Verdict::problem, refused_message(var) + ": pel run refuses it",
             "set it to the threads each rank should run (export " + var.name + "=4), unset it, or pass --threads N"});
    }
    return threads;
}

/// How many physical cores `cpus` span, from sysfs (hyperthreads of one core count once); the number of CPUs when
/// the topology cannot be read.
std::size_t cores_of(const std::vector<std::int32_t>& cpus) {
    std::set<std::pair<std::string, std::string>> cores;
    for (const auto cpu : cpus) {
        const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream package(dir + "physical_package_id");
        std::ifstream core(dir + "core_id");
        std::string p, c;
        if (!(package >> p) || !(core >> c)) return cpus.size();
        cores.emplace(p, c);
    }
    return cores.size();
}

std::vector<Finding> check_threads(const ThreadCount& threads, const std::vector<std::int32_t>& cpus) {
    const auto t = static_cast<std::size_t>(threads.count);
    const std::string pe = std::to_string(threads.count);
    const std::string head = plural(t, "thread", "threads") + " per rank (" +
                             (threads.source == "default" ? std::string("the default") : "from " + threads.source) +
                             ")";
    if (cpus.empty()) {
        return {{kThreads, Verdict::note, head + "; the CPUs this rank may use are unknown (sched_getaffinity failed)",
                 ""}};
    }
    if (t > cpus.size()) {
        return {
            {kThreads, Verdict::problem,
             head + ", but this rank may run on only " + plural(cpus.size(), "CPU", "CPUs") + ": threads share cores",
             "give each rank " + pe + " CPUs (mpirun --map-by slot:PE=" + pe +
                 ", or --bind-to none; srun --cpus-per-task=" + pe + "), or run --threads " +
                 std::to_string(cpus.size())}};
    }
    const std::size_t cores = cores_of(cpus);
    const std::string room = head + "; each rank may use " + plural(cpus.size(), "CPU", "CPUs");
    if (t > cores) {
        return {{kThreads, Verdict::note,
                 room + " on " + plural(cores, "core", "cores") +
                     ": some threads share a core as hyperthreads (slower for compute-bound jobs)",
                 ""}};
    }
    return {{kThreads, Verdict::ok, room, ""}};
}

/// Whether binding is asked for (OMP_PROC_BIND, OMP_PLACES), and where the OpenMP runtime puts a team of `threads`:
/// two of them bound to one CPU share it.
std::vector<Finding> check_binding(int threads, std::size_t allowed) {
    if (threads < 2) return {};
    const std::string bind = env_or_empty("OMP_PROC_BIND");
    const std::string places = env_or_empty("OMP_PLACES");
    if (bind.empty() && places.empty()) {
        return {{kBinding, Verdict::note,
                 "OMP_PROC_BIND and OMP_PLACES are not set: threads are not pinned and may move between CPUs "
                 "(export OMP_PROC_BIND=close OMP_PLACES=cores to pin them)",
                 ""}};
    }
    if (bind == "false" || bind == "FALSE") {
        return {{kBinding, Verdict::note, "OMP_PROC_BIND=false: threads are not pinned", ""}};
    }
    const std::string settings = "OMP_PROC_BIND=" + (bind.empty() ? std::string("(unset)") : bind) +
                                 ", OMP_PLACES=" + (places.empty() ? std::string("(unset)") : places);
    // With more threads than CPUs, sharing is certain, and the threads check says so.
    if (static_cast<std::size_t>(threads) > allowed) return {{kBinding, Verdict::ok, settings, ""}};
    if (const auto pair = threads_sharing_a_cpu(thread_cpu_sets(threads))) {
        return {{kBinding, Verdict::problem,
                 "threads " + std::to_string(pair->first) + " and " + std::to_string(pair->second) +
                     " are bound to the same CPU (" + settings + ")",
                 "give each thread a place of its own: export OMP_PROC_BIND=close OMP_PLACES=cores"}};
    }
    return {{kBinding, Verdict::ok, settings + ": no two threads bound to the same CPU", ""}};
}

/// Ranks on one host whose threads outnumber the CPUs they may use between them (mpirun --bind-to none, ranks bound
/// to the same cores, oversubscription), though each rank alone has room. Added on rank 0 to each such rank.
void check_hosts(std::vector<RankReport>& reports) {
    std::map<std::string, std::vector<std::size_t>> by_host;
    for (std::size_t r = 0; r < reports.size(); ++r) by_host[reports[r].host].push_back(r);
    for (const auto& [host, ranks] : by_host) {
        if (ranks.size() < 2) continue;
        std::set<std::int32_t> cpus;
        std::int64_t threads = 0;
        bool each_has_room = true;
        for (const auto r : ranks) {
            cpus.insert(reports[r].cpus.begin(), reports[r].cpus.end());
            threads += reports[r].threads;
            if (reports[r].cpus.empty() || static_cast<std::size_t>(reports[r].threads) > reports[r].cpus.size()) {
                each_has_room = false;
            }
        }
        if (!each_has_room) continue;
        const auto n = static_cast<std::size_t>(threads);
        const std::string text = plural(ranks.size(), "rank", "ranks") + " on this host run " +
                                 plural(n, "thread", "threads") + " on " + plural(cpus.size(), "CPU", "CPUs");
        Finding finding{kHostCpus, Verdict::ok, text, ""};
        if (n > cpus.size()) {
            // Binding ranks apart helps only where the host has CPUs these ranks do not use yet.
            const auto per_rank = static_cast<std::size_t>(reports[ranks.front()].threads);
            const std::string t = std::to_string(per_rank);
            const std::size_t fit = std::max<std::size_t>(1, cpus.size() / per_rank);
            const std::string k = std::to_string(fit);
            const auto online = static_cast<std::size_t>(std::max(reports[ranks.front()].online_cpus, 0));
            finding = {kHostCpus, Verdict::problem, text + ": threads share cores",
                       n <= online
                           ? "bind each rank to CPUs of its own: mpirun --map-by slot:PE=" + t +
                                 " (srun --cpus-per-task=" + t + ")"
                           : "start at most " + plural(fit, "rank", "ranks") + " of " +
                                 plural(per_rank, "thread", "threads") + " per host (mpirun --map-by ppr:" + k +
                                 ":node:PE=" + t + ", srun --ntasks-per-node=" + k + "), or fewer threads per rank"};
        }
        for (const auto r : ranks) reports[r].findings.push_back(finding);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Slurm

std::vector<Finding> check_slurm(const ThreadCount& threads, int ranks) {
    const SlurmJob slurm = SlurmJob::from_environment();
    if (slurm.id.empty()) return {{kSlurm, Verdict::ok, "not a Slurm job (SLURM_JOB_ID is not set)", ""}};
    std::vector<Finding> findings;
    const std::string t = std::to_string(threads.count);
    const std::string& cpus = slurm.cpus_per_task;
    if (!cpus.empty()) {
        const int n = slurm.cpus();
        if (n == 0) {
            findings.push_back({kSlurm, Verdict::problem,
                                "SLURM_CPUS_PER_TASK='" + cpus + "' is not a CPU count: pel run refuses it",
                                "ask for CPUs per task with sbatch --cpus-per-task=N, and do not set the variable "
                                "by hand"});
        } else if (slurm.cpus_differ(threads.count)) {
            findings.push_back(
                {kSlurm, Verdict::problem,
                 plural(static_cast<std::size_t>(threads.count), "thread", "threads") + " per rank (from " +
                     threads.source + "), but Slurm gave each task SLURM_CPUS_PER_TASK=" + cpus +
                     " CPUs: " + threads_for_cpus(threads.count, n),
                 "run --threads " + cpus + " (or export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK), or ask Slurm for " + t +
                     ": sbatch --cpus-per-task=" + t});
        }
    }
    const std::string& tasks = slurm.ntasks;
    if (slurm.tasks_differ(ranks)) {
        const std::string r = std::to_string(ranks);
        findings.push_back({kSlurm, Verdict::problem,
                            plural(static_cast<std::size_t>(ranks), "rank", "ranks") +
                                ", but Slurm allocated SLURM_NTASKS=" + tasks + " tasks",
                            "start one rank per task (srun pel ..., or mpirun -np $SLURM_NTASKS), or ask Slurm for " +
                                r + ": sbatch --ntasks=" + r});
    }
    if (findings.empty()) {
        findings.push_back({kSlurm, Verdict::ok,
                            "job " + slurm.id + ": SLURM_CPUS_PER_TASK=" + (cpus.empty() ? "(unset)" : cpus) +
                                ", SLURM_NTASKS=" + (tasks.empty() ? "(unset)" : tasks) + ", as run",
                            ""});
    }
    return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// Job plugins

/// Loads every plugin file on the search path with pel's own loader, and makes a job object of each, as `pel run`
/// would; one finding per plugin that fails, one for those that work.
std::vector<Finding> check_plugins(const std::string& job_path) {
    std::vector<Finding> findings;
    std::map<std::string, std::string> first_of;  // job name -> the file that provides it (the first on the path)
    std::vector<std::string> dirs_used;
    std::set<fs::path> dirs_seen;  // a directory named twice on the path is looked at once
    const std::string move_off = "or take it off the search path (--job-path, PEL_JOB_PATH, pel's lib/pel/jobs)";
    for (const auto& dir : plugin::search_path(job_path)) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            findings.push_back(
                {kPlugins, Verdict::note,
                 "'" + dir + "' on the search path " + (fs::exists(dir, ec) ? "is not a directory" : "does not exist"),
                 ""});
            continue;
        }
        if (!dirs_seen.insert(fs::weakly_canonical(dir, ec)).second) continue;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            if (name.size() > 7 && name.starts_with("pel_") && name.ends_with(".so")) files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            const std::string expected = file.filename().string().substr(4, file.filename().string().size() - 7);
            try {
                const plugin::JobPlugin p = plugin::load(file.string());
                if (plugin::file_name(p.name) != file.filename().string()) {
                    findings.push_back({kPlugins, Verdict::problem,
                                        "'" + file.string() + "' calls itself '" + p.name + "', so pel run " +
                                            expected + " refuses it",
                                        "rename it " + plugin::file_name(p.name) +
                                            ", or build it with PEL_JOB(..., \"" + expected + "\", ...)"});
                    continue;
                }
                Options declared;
                const auto job = p.create();  // alive while its declarations are checked: they point into it
                job->declare_options(declared);
                try {
                    check_declarations(p.name, declared);
                } catch (const Error& e) {
                    findings.push_back(
                        {kPlugins, Verdict::problem, "'" + file.string() + "': " + e.what(),
                         "fix the job's declare_options (pel run " + p.name + " refuses it), " + move_off});
                    continue;
                }
                if (const auto found = first_of.find(p.name); found != first_of.end()) {
                    if (fs::equivalent(file, found->second, ec)) continue;  // a link to the one found first
                    findings.push_back(
                        {kPlugins, Verdict::note,
                         "'" + file.string() + "' is hidden by '" + found->second + "', found first on the search path",
                         ""});
                    continue;
                }
                first_of.emplace(p.name, file.string());
                if (std::find(dirs_used.begin(), dirs_used.end(), dir) == dirs_used.end()) dirs_used.push_back(dir);
            } catch (const Error& e) {
                findings.push_back({kPlugins, Verdict::problem, e.what(),
                                    "rebuild '" + file.string() + "' against this pel (job ABI " +
                                        std::to_string(PEL_ABI_VERSION) + ") with its libraries installed, " +
                                        move_off});
            } catch (const std::exception& e) {
                findings.push_back(
                    {kPlugins, Verdict::problem,
                     "job '" + expected + "' (" + file.string() + ") loads but cannot make a job object: " + e.what(),
                     "fix the job's constructor or declare_options, " + move_off});
            }
        }
    }
    if (first_of.empty()) {
        findings.insert(findings.begin(),
                        {kPlugins, Verdict::problem, "no job plugin loads from the search path",
                         "build pel's jobs (cmake --build build), or point --job-path or PEL_JOB_PATH at the "
                         "directory holding pel_JOB.so"});
        return findings;
    }
    std::string names, dirs;
    for (const auto& [name, file] : first_of) names += (names.empty() ? "" : ", ") + name;
    for (const auto& d : dirs_used) dirs += (dirs.empty() ? "" : ", ") + d;
    findings.insert(findings.begin(),
                    {kPlugins, Verdict::ok,
                     plural(first_of.size(), "job loads", "jobs load") + " (" + names + ") from " + dirs, ""});
    return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// The output directory, and HDF5 writing into it through MPI-IO

/// Creates `file` and writes a byte to it; returns errno on failure, else 0.
int write_probe(const std::string& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno;
    const char byte = 'p';
    const bool written = ::write(fd, &byte, 1) == 1;
    const int write_error = errno;
    const bool closed = ::close(fd) == 0;
    const int close_error = errno;
    if (!written || !closed) {
        ::unlink(file.c_str());
        return !written ? write_error : close_error;
    }
    return 0;
}

Finding unwritable(const std::string& dir, int error) {
    std::string why = std::strerror(error);
    std::string fix;
    std::error_code ec;
    const std::string elsewhere =
        "choose a writable directory (pel doctor --output-dir DIR; pel run --output or --run-dir)";
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
        why = "it is not a directory";
        fix = elsewhere;
    } else if (error == ENOENT) {
        why = "it does not exist";
        fix = "create it (mkdir -p " + dir + "), or " + elsewhere;
    } else if (error == ENOTDIR) {
        why = "a part of its path is not a directory";
        fix = elsewhere;
    } else if (error == EACCES || error == EPERM) {
        fix = "make it writable for you (chmod u+w " + dir + "), or " + elsewhere;
    } else if (error == ENOSPC || error == EDQUOT) {
        fix = "free space (or quota) there, or " + elsewhere;
    } else {
        fix = elsewhere;
    }
    return {kOutputDir, Verdict::problem, "cannot create a file in " + dir + ": " + why, fix};
}

/// Each rank creates a file in the output directory; all ranks must see the same directory (rank 0's file); then a
/// small HDF5 file is written by all ranks together through MPI-IO, as `pel run` writes its results, and removed.
/// \note collective
std::vector<Finding> check_output(const mpi::Comm& comm, const std::string& output_dir) {
    const std::string dir = shown_path(output_dir);
    std::vector<Finding> findings;
    // One name for this doctor run, from rank 0, so that ranks can look for each other's files.
    const std::string own_tag = ".pel-doctor-" + host_name() + "-" + std::to_string(::getpid());
    std::vector<std::byte> tag_bytes(reinterpret_cast<const std::byte*>(own_tag.data()),
                                     reinterpret_cast<const std::byte*>(own_tag.data()) + own_tag.size());
    comm.bcast_bytes(tag_bytes, 0);
    const std::string tag(reinterpret_cast<const char*>(tag_bytes.data()), tag_bytes.size());
    const auto probe_of = [&](int rank) { return (fs::path(dir) / (tag + "-" + std::to_string(rank))).string(); };

    const int error = write_probe(probe_of(comm.rank()));
    const bool all_wrote = comm.allreduce_min(std::int64_t{error == 0 ? 1 : 0}) == 1;
    bool shared = true;
    if (all_wrote && comm.size() > 1) {
        std::error_code ec;
        const bool sees_rank0 = fs::exists(probe_of(0), ec);
        shared = comm.allreduce_min(std::int64_t{sees_rank0 ? 1 : 0}) == 1;
        if (!sees_rank0) {
            findings.push_back({kOutputDir, Verdict::problem,
                                dir + " is writable, but not the directory rank 0 sees (a file rank 0 made there is "
                                      "missing here)",
                                "put the output on a file system every node shares (pel writes one results file from "
                                "all ranks); test it with pel doctor --output-dir DIR"});
        }
    }
    if (error == 0) ::unlink(probe_of(comm.rank()).c_str());  // after every rank looked for rank 0's
    if (error != 0) findings.push_back(unwritable(dir, error));
    if (findings.empty()) {
        findings.push_back({kOutputDir, Verdict::ok,
                            dir + " is writable" + (comm.size() > 1 ? " and the same on every rank" : ""), ""});
    }

#ifdef H5_HAVE_PARALLEL
    constexpr bool parallel_hdf5 = true;
#else
    constexpr bool parallel_hdf5 = false;
#endif
    const std::string hdf5 = H5_VERSION;
    if (!parallel_hdf5) {
        findings.insert(findings.begin(),
                        {kHdf5, Verdict::problem, hdf5 + " is not built for parallel I/O (H5_HAVE_PARALLEL)",
                         "rebuild pel against the MPI build of HDF5 (Debian: apt-get install libhdf5-openmpi-dev)"});
        return findings;
    }
    if (!all_wrote || !shared) {
        findings.insert(findings.begin(),
                        {kHdf5, Verdict::note,
                         hdf5 + ", built for parallel I/O; writing through MPI-IO not tried, as the output directory "
                                "is not usable (see below)",
                         ""});
        return findings;
    }
    const std::string file = (fs::path(dir) / (tag + ".h5")).string();
    try {
        mpi::agree(comm, [&] {
            // Never committed: the destructor removes the unfinished file.
            io::ResultsFile test(comm, file);
            test.attribute("written_by", "pel doctor");
            test.create_dataset("ranks", ScalarType::i64, {static_cast<std::uint64_t>(comm.size())});
            const std::int64_t me = comm.rank();
            io::RowBlock row{static_cast<std::uint64_t>(me), 1, {}};
            row.bytes.resize(sizeof me);
            std::memcpy(row.bytes.data(), &me, sizeof me);
            test.write_rows("ranks", {row});
        });
        findings.insert(findings.begin(), {kHdf5, Verdict::ok,
                                           hdf5 + ", built for parallel I/O; every rank wrote to a test file in " +
                                               dir + " through MPI-IO (removed)",
                                           ""});
    } catch (const mpi::AgreedError& e) {
        findings.insert(findings.begin(),
                        {kHdf5, Verdict::problem,
                         hdf5 + ", built for parallel I/O, but writing a test file in " + dir +
                             " through MPI-IO failed on rank " + std::to_string(e.origin()) + ": " + e.what(),
                         "write results on a file system with MPI-IO support that every rank shares (a parallel "
                         "file system, or NFS mounted with locking); test another with pel doctor --output-dir DIR"});
    }
    return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// The command

int command(const mpi::Comm& comm, std::vector<std::string> args) {
    DoctorOptions o;
    CLI::App app(
        "pel doctor: check MPI, HDF5, threads and their binding, Slurm, job plugins, the output directory and the "
        "checkpoint and run directories on every rank, with a fix for each problem (exit 0: no problem, 1: problems "
        "found)",
        "pel doctor");
    app.add_option("--threads", o.threads,
                   "OpenMP threads per rank to check, as pel run would run them (default: OMP_NUM_THREADS, then "
                   "SLURM_CPUS_PER_TASK, then 1)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}));
    app.add_option("--output-dir", o.output_dir,
                   "the directory results will be written to (default: that of --output, else the current one)");
    app.add_option("--job-path", o.job_path, "colon-separated directories searched first for job plugins, as pel run");
    app.add_option("--output", o.output,
                   "the results file, as pel run's: its directory is checked, and its checkpoint directory "
                   "(OUTPUT.ckpt) unless --checkpoint-dir or --run-dir says otherwise");
    app.add_option("--checkpoint-dir", o.checkpoint_dir,
                   "the checkpoint directory, as pel run's: checked to be one directory shared by every node");
    app.add_option("--run-dir", o.run_dir,
                   "the run directory, as pel run's (auto: the current directory, where pel run makes "
                   "pel-JOB-$SLURM_JOB_ID): checked to be one directory shared by every node");
    std::string help;
    mpi::agree(comm, [&] {
        try {
            std::reverse(args.begin(), args.end());
            app.parse(std::move(args));
        } catch (const CLI::CallForHelp&) {
            help = app.help();
        } catch (const CLI::ParseError& e) {
            throw Error::Usage(std::string("pel doctor: ") + e.what());
        }
    });
    if (!help.empty()) {
        print0(comm, help);
        return 0;
    }
    if (o.output_dir.empty()) {
        o.output_dir = o.output.empty() ? "." : fs::path(o.output).parent_path().string();
        if (o.output_dir.empty()) o.output_dir = ".";
    }

    RankReport mine;
    mine.host = host_name();
    mine.cpus = rank_cpus();
    mine.online_cpus = static_cast<std::int32_t>(sysconf(_SC_NPROCESSORS_ONLN));
    auto& findings = mine.findings;
    findings.push_back(check_mpi_library());
    findings.push_back(check_thread_level());
    const ThreadCount threads = threads_as_run_would(o.threads, findings);
    mine.threads = threads.count;
    for (auto& f : check_threads(threads, mine.cpus)) findings.push_back(std::move(f));
    for (auto& f : check_binding(threads.count, mine.cpus.size())) findings.push_back(std::move(f));
    for (auto& f : check_slurm(threads, comm.size())) findings.push_back(std::move(f));
    for (auto& f : check_plugins(o.job_path)) findings.push_back(std::move(f));
    for (auto& f : check_output(comm, o.output_dir)) findings.push_back(std::move(f));
    const auto [checkpoint_dir, make_it] = checkpoint_dir_of(o);
    findings.push_back(check_shared_directory(comm, kCheckpointDir, checkpoint_dir, make_it));
    if (!o.run_dir.empty()) {
        findings.push_back(check_shared_directory(comm, kRunDir, o.run_dir == "auto" ? "." : o.run_dir, true));
    }

    const auto gathered = comm.gather_bytes(to_bytes(mine), 0);
    int problems = 0;
    if (comm.rank() == 0) {
        std::vector<RankReport> reports(gathered.size());
        for (std::size_t r = 0; r < gathered.size(); ++r) from_bytes(gathered[r], reports[r]);
        check_hosts(reports);
        print0(comm, render(reports, o.output_dir, problems));
    }
    return comm.allreduce_max(std::int64_t{problems}) > 0 ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace

}  // namespace doctor

int doctor_command(const mpi::Comm& comm, std::vector<std::string> args) {
    return doctor::command(comm, std::move(args));
}

}  // namespace pel::app
