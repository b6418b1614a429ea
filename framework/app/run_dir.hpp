// app/run_dir.hpp: a directory per run (config, results, checkpoints, per-rank logs, a status file) and
// `pel status DIR`, which reads the status file from a login node while the run goes on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exec/progress.hpp"

namespace pel::app {

/// A host of the run and how many of its ranks run there.
struct HostRanks {
    std::string host;
    int ranks = 0;
};

/// What the status file says besides the progress: fixed for the run.
struct RunFacts {
    std::string job;
    std::string output;
    std::string checkpoint_dir;
    std::string host;
    std::string slurm_job_id;
    int ranks = 1;
    int threads = 1;
    std::vector<HostRanks> hosts;  ///< every host of the run, in the order of their first rank
};

/// Rank 0's writer of DIR/status.json: every `every_s` seconds while the run goes on, and once at the end. Each
/// write is durable (a pel::DurableFile renamed over the old one), so a reader never sees half a file.
class StatusWriter {
  public:
    StatusWriter(std::string dir, RunFacts facts, const exec::Progress& progress, double every_s);
    ~StatusWriter();
    StatusWriter(const StatusWriter&) = delete;
    StatusWriter& operator=(const StatusWriter&) = delete;

    /// Stops the periodic writes and writes the final state: "finished", "stopped" (resumable) or "failed".
    void finish(const std::string& state, int exit_code, const std::string& message);

  private:
    void write(const std::string& state, int exit_code, const std::string& message);

    std::string dir_;
    RunFacts facts_;
    const exec::Progress& progress_;
    exec::ProgressMeter meter_;  ///< percent, rate and ETA, from the writes' readings
    double started_;             ///< Unix seconds
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

/// `pel status DIR`: prints a summary of DIR/status.json (state, phase, items done, rate, ETA, age of the file).
int status_command(const std::vector<std::string>& args);

}  // namespace pel::app
