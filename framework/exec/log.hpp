// exec/log.hpp: rank-tagged lines on stderr.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

namespace pel::exec {

/// The time now in UTC, as 2026-11-26T05:10:00Z (ISO 8601): for logs, checkpoints and provenance.
std::string utc_now();

/// Prints rank-tagged lines on stderr, one whole line per call, safe from any thread.
class Log {
  public:
    Log(int rank, bool verbose) : rank_(rank), verbose_(verbose) {}

    /// A progress line, printed with --verbose only.
    void info(const std::string& line) const;
    /// Printed always.
    void warn(const std::string& line) const;
    /// Printed always, as an error.
    void error(const std::string& line) const;
    [[nodiscard]] bool verbose() const noexcept { return verbose_; }
    /// Also appends every line, progress lines included and time-stamped, to `path` (a per-rank log file).
    void also_to(const std::string& path);

  private:
    void print(const char* kind, const std::string& line) const;
    int rank_;
    bool verbose_;
    std::shared_ptr<std::FILE> file_;
};

}  // namespace pel::exec
