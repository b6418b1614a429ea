// app/progress_printer.hpp: rank 0's live view of a run on stderr: one line refreshed in place on a terminal, a
// plain time-stamped line every few seconds in a batch log.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "exec/log.hpp"
#include "exec/progress.hpp"

namespace pel::app {

/// How progress is shown (--progress).
enum class ProgressMode {
    off,  ///< not at all
    bar,  ///< one line refreshed in place, at most once a second: for a terminal
    log,  ///< a plain line every --progress-every seconds: for a batch log read with `tail -f`
};

/// --progress: "bar", "log", "off", or "auto": bar when stderr reaches a terminal, else log.
ProgressMode progress_mode(const std::string& option);

/// Seconds as a person reads them: 4.2s, 3m05s, 2h01m00s; "?" when not known (negative or not finite).
std::string duration_text(double s);
/// Items per second with three significant digits or so; "?" when not known (0).
std::string rate_text(double items_per_s);
/// The figures as one line: "phase 0 'items': 1234 of 3000 items (41.1%), 812 items/s, elapsed 1.5s, ETA 2.2s".
std::string progress_text(const exec::ProgressFigures& f);

/// Rank 0's thread that shows a run's progress on stderr (and, every `every_s` seconds, in the rank's log file)
/// until stopped. It only reads the Progress the run keeps anyway: it costs a wake-up a second.
class ProgressPrinter {
  public:
    ProgressPrinter(const exec::Progress& progress, const exec::Log& log, ProgressMode mode, double every_s,
                    std::chrono::steady_clock::time_point run_started);
    /// Stops, as stop() does.
    ~ProgressPrinter();
    ProgressPrinter(const ProgressPrinter&) = delete;
    ProgressPrinter& operator=(const ProgressPrinter&) = delete;

    /// Stops the thread and shows the last figures: the bar's final frame with its newline; in a log, a last line
    /// when any was printed. Idempotent.
    void stop();

  private:
    void loop();
    /// A refresh of the bar with the figures `f`.
    void refresh_bar(const exec::ProgressFigures& f);
    /// Shows `f` as the bar's frame.
    void draw(const exec::ProgressFigures& f) const;

    const exec::Progress& progress_;
    const exec::Log& log_;
    ProgressMode mode_;
    double every_s_;
    exec::ProgressMeter meter_;
    int terminal_fd_ = -1;  ///< the terminal stderr reaches, for its width (-1: unknown)

    // The bar's state, touched by the thread and then by stop() after it ended.
    bool bar_open_ = false;       ///< a frame is on show, not finished with a newline
    exec::ProgressFigures last_;  ///< the frame on show
    int closed_phase_ = -1;       ///< the last phase whose line was finished
    bool printed_line_ = false;   ///< a periodic line was printed

    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    bool stopped_ = false;
    std::thread thread_;
};

}  // namespace pel::app
