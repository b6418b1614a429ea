// jobs/taskfarm/joblog.hpp: the joblog in GNU parallel's --joblog format, a row appended and flushed as each task
// ends, by whichever rank ran it, so that it can be followed with tail -f and holds every finished task after a
// crash.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace taskfarm {

/// The header line of a joblog.
inline constexpr const char* kJoblogHeader =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// What a joblog row says of one task.
struct JoblogEntry {
    std::uint64_t seq = 0;  ///< the task's number from 1 (GNU parallel's {#})
    std::string host;
    double start = 0;            ///< seconds since the epoch
    double runtime = 0;          ///< seconds
    std::uint64_t received = 0;  ///< bytes it wrote to stdout
    int exit_code = 0;           ///< as taskfarm records it: -N for signal N
    std::string command;
};

/// The row of `e`, as GNU parallel writes it: Starttime "%.3f", JobRuntime "%10.3f", Send 0, Exitval and Signal
/// apart (a task killed by signal N has Exitval 0 and Signal N), a newline in the command written as a NUL.
std::string joblog_row(const JoblogEntry& e);

/// A joblog that ranks append rows to: opened (O_APPEND, never through a link) at the first row, one write per row,
/// so rows from several threads and ranks never mix on a local or Lustre file system.
class Joblog {
  public:
    explicit Joblog(std::string path) : path_(std::move(path)) {}
    Joblog(const Joblog&) = delete;
    Joblog& operator=(const Joblog&) = delete;
    ~Joblog();

    /// Starts a joblog afresh, replacing the file: its header, then `rows` (text of whole rows). Throws pel::Error::Io.
    void start(const std::string& rows) const;
    /// Appends `row`. Thread-safe. Throws pel::Error::Io.
    void append(const std::string& row);
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
    std::mutex mutex_;
    int fd_ = -1;
};

}  // namespace taskfarm
