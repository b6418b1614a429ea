// exec/log.hpp: tagged log lines (UTC time, rank, host, level) on stderr and in a per-rank log file.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace pel::exec {

/// The time now in UTC, as 2026-11-26T05:10:00Z (ISO 8601): for logs, checkpoints and provenance.
std::string utc_now();

/// How much a log shows, from least to most.
enum class LogLevel { error, warn, info, debug };

/// "error", "warn", "info" or "debug" as a LogLevel; anything else is an Error::Usage.
LogLevel parse_log_level(const std::string& name);
/// The name parse_log_level reads.
const char* log_level_name(LogLevel level);

/// What starts every line: "2026-11-26T07:01:02Z pel[3@node12]" (time, rank, host without its domain).
std::string log_tag(int rank);

/// `text` made one safe line: control characters (the newline too), C1 controls and bytes that are not valid
/// UTF-8 shown as `\xNN`. A message quotes values from the command line and from files, and one of those must
/// neither split the line nor send an escape sequence to the terminal.
std::string one_line(std::string_view text);

/// Prints one tagged error line on stderr (ending a status line first): main's report of a failed command.
void report_error(int rank, const std::string& message);

/// Writes tagged lines, one whole line per call, safe from any thread. Every line goes to the per-rank log file when
/// there is one (also_to), whatever the level; on stderr, rank 0 prints lines up to its terminal level and the
/// other ranks only their warnings and errors (pel says what all ranks share from rank 0 once), unless every rank
/// is asked to print (--log-all-ranks).
class Log {
  public:
    /// A log printing up to `terminal` on stderr; `all_ranks`: every rank does, not only rank 0.
    Log(int rank, LogLevel terminal, bool all_ranks = false);
    /// The older form: info lines on the terminal when `verbose`, else warnings and errors only.
    Log(int rank, bool verbose) : Log(rank, verbose ? LogLevel::info : LogLevel::warn) {}

    /// Something went wrong and the run cannot go on.
    void error(const std::string& line) const;
    /// Something the user should fix or know, although the run goes on.
    void warn(const std::string& line) const;
    /// What the run does: phases, checkpoints, the layout (--log-level info, --verbose).
    void info(const std::string& line) const;
    /// Details for finding a problem: options in force, decisions taken (--log-level debug).
    void debug(const std::string& line) const;
    /// A progress report: always written to the log file, and to stderr when `terminal`.
    void progress(const std::string& line, bool terminal) const;

    /// Whether a line of `level` goes anywhere (the terminal or the log file): lets a caller skip building it.
    [[nodiscard]] bool enabled(LogLevel level) const noexcept;
    /// Whether info lines go anywhere.
    [[nodiscard]] bool verbose() const noexcept { return enabled(LogLevel::info); }
    /// The level up to which this rank prints on stderr.
    [[nodiscard]] LogLevel terminal_level() const noexcept { return terminal_; }
    /// Also appends every line, debug included, to `path` (a per-rank log file).
    void also_to(const std::string& path);

  private:
    void print(const char* kind, const std::string& line, bool terminal) const;
    int rank_;
    LogLevel terminal_;
    std::shared_ptr<std::FILE> file_;
};

/// Shows `text` as the terminal's status line (a progress bar): it replaces what the line showed (carriage return,
/// then cleared to its end), without a newline. Any other line printed through a Log first ends it.
void show_status_line(const std::string& text);
/// Ends the status line with a newline, if one is showing.
void end_status_line();

}  // namespace pel::exec
