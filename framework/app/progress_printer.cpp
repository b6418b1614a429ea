// app/progress_printer.cpp: the progress bar on a terminal and the progress lines of a batch log.
#include "app/progress_printer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pel/error.hpp"

namespace pel::app {

namespace {

constexpr double kBarPeriod = 1.0;  // seconds between two frames of the bar
constexpr int kBarWidth = 20;       // characters of the bar itself

/// The terminal what this process writes on stderr ends up on, or "" when it does not reach one. Under Open MPI's
/// mpirun a rank's stderr is a pipe that mpirun copies to its own stderr, so for a rank started by mpirun on this
/// node, mpirun's stderr is the one that counts. (A rank on another node, started by orted, gets "".)
std::string terminal_of_stderr() {
    if (isatty(STDERR_FILENO) != 0) return "/dev/fd/2";
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) return "";
    const std::string parent = "/proc/" + std::to_string(getppid());
    std::ifstream comm(parent + "/comm");
    std::string launcher;
    std::getline(comm, launcher);
    if (launcher != "mpirun" && launcher != "mpiexec" && launcher != "orterun" && launcher != "prterun") return "";
    const std::string path = parent + "/fd/2";
    const int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return "";
    const bool tty = isatty(fd) != 0;
    close(fd);
    return tty ? path : "";
}

/// The terminal's width in columns (0: not known).
int columns(int fd) {
    winsize size{};
    if (fd < 0 || ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
    return size.ws_col;
}

std::string percent_text(double percent) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%", percent);
    return text;
}

/// The figures of a phase whose items are all done.
exec::ProgressFigures finished(exec::ProgressFigures f) {
    f.phase_finished = true;
    f.items_done = f.items_total;
    f.percent = 100;
    f.eta_s = 0;
    return f;
}

}  // namespace

ProgressMode progress_mode(const std::string& option) {
    if (option == "off") return ProgressMode::off;
    if (option == "bar") return ProgressMode::bar;
    if (option == "log") return ProgressMode::log;
    if (option == "auto") return terminal_of_stderr().empty() ? ProgressMode::log : ProgressMode::bar;
    throw Error::Usage("--progress: '" + option + "' is not one of auto, bar, log, off");
}

std::string duration_text(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    const auto total = static_cast<long long>(s + 0.5);
    char text[32];
    if (total >= 3600) {
        std::snprintf(text, sizeof text, "%lldh%02lldm%02llds", total / 3600, total / 60 % 60, total % 60);
    } else if (total >= 60) {
        std::snprintf(text, sizeof text, "%lldm%02llds", total / 60, total % 60);
    } else {
        std::snprintf(text, sizeof text, "%.1fs", s);
    }
    return text;
}

std::string rate_text(double items_per_s) {
    if (!(items_per_s > 0) || !std::isfinite(items_per_s)) return "?";
    char text[32];
    std::snprintf(text, sizeof text, items_per_s >= 100 ? "%.0f" : items_per_s >= 10 ? "%.1f" : "%.2f", items_per_s);
    return text;
}

std::string progress_text(const exec::ProgressFigures& f) {
    if (f.phase < 0) return "setting up, elapsed " + duration_text(f.elapsed_s);
    return "phase " + std::to_string(f.phase) + " '" + f.phase_name + "': " + std::to_string(f.items_done) + " of " +
           std::to_string(f.items_total) + " items (" + percent_text(f.percent) + "), " + rate_text(f.rate) +
           " items/s, elapsed " + duration_text(f.elapsed_s) + ", ETA " + duration_text(f.eta_s);
}

ProgressPrinter::ProgressPrinter(const exec::Progress& progress, const exec::Log& log, ProgressMode mode,
                                 double every_s, std::chrono::steady_clock::time_point run_started)
    : progress_(progress),
      log_(log),
      mode_(mode),
      every_s_(std::min(every_s, 1e7)),  // a line every 115 days at most: the clock's arithmetic cannot overflow
      meter_(run_started) {
    if (mode_ == ProgressMode::off) return;
    if (mode_ == ProgressMode::bar) {
        const std::string terminal = terminal_of_stderr();
        if (!terminal.empty()) terminal_fd_ = open(terminal.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    }
    thread_ = std::thread([this] { loop(); });
}

ProgressPrinter::~ProgressPrinter() {
    try {
        stop();
    } catch (...) {
        // Nothing to do: the run's own outcome matters more than its last progress frame.
    }
}

void ProgressPrinter::loop() {
    using Clock = std::chrono::steady_clock;
    const auto period = [](double s) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    };
    const auto start = Clock::now();
    auto next_frame = start + period(kBarPeriod);
    auto next_line = start + period(every_s_);
    std::unique_lock lock(mutex_);
    while (true) {
        const auto wake = mode_ == ProgressMode::bar ? std::min(next_frame, next_line) : next_line;
        if (wake_.wait_until(lock, wake, [this] { return done_; })) return;
        const auto now = Clock::now();
        const exec::ProgressFigures f = meter_.read(progress_);
        if (mode_ == ProgressMode::bar && now >= next_frame) {
            refresh_bar(f);
            next_frame += period(kBarPeriod);
            if (next_frame <= now) next_frame = now + period(kBarPeriod);
        }
        if (now >= next_line) {
            // On the terminal in a log; in the log file (if any) in both modes, so that it reads well in tail -f.
            log_.progress(progress_text(f), mode_ == ProgressMode::log);
            printed_line_ = true;
            next_line += period(every_s_);
            if (next_line <= now) next_line = now + period(every_s_);
        }
    }
}

void ProgressPrinter::refresh_bar(const exec::ProgressFigures& f) {
    if (bar_open_ && last_.phase >= 0 && f.phase != last_.phase) {
        // The phase on show has ended (phases only move on): its last frame, then its newline.
        exec::ProgressFigures end = finished(last_);
        end.elapsed_s = f.elapsed_s;
        draw(end);
        exec::end_status_line();
        bar_open_ = false;
        closed_phase_ = last_.phase;
    }
    if (f.phase >= 0 && f.phase == closed_phase_) return;  // finished; the next phase has not begun
    if (f.phase_finished && !bar_open_) {
        closed_phase_ = f.phase;  // began and ended between two frames: not worth a line
        return;
    }
    draw(f);
    last_ = f;
    bar_open_ = true;
    if (f.phase_finished) {
        exec::end_status_line();
        bar_open_ = false;
        closed_phase_ = f.phase;
    }
}

void ProgressPrinter::draw(const exec::ProgressFigures& f) const {
    std::string text;
    if (f.phase < 0) {
        text = "pel: " + progress_text(f);
    } else {
        const int filled = std::clamp(static_cast<int>(f.percent / 100.0 * kBarWidth), 0, kBarWidth);
        char percent[16];
        std::snprintf(percent, sizeof percent, "%5.1f%%", f.percent);
        text = "pel [" + std::string(static_cast<std::size_t>(filled), '#') +
               std::string(static_cast<std::size_t>(kBarWidth - filled), '-') + "] " + percent + "  phase " +
               std::to_string(f.phase) + " '" + f.phase_name + "'  " + std::to_string(f.items_done) + "/" +
               std::to_string(f.items_total) + " items  " + rate_text(f.rate) + " items/s  elapsed " +
               duration_text(f.elapsed_s) + "  ETA " + duration_text(f.eta_s);
    }
    // A line longer than the terminal would wrap, and the carriage return would then go back to its last part only.
    if (const int width = columns(terminal_fd_); width > 1 && text.size() >= static_cast<std::size_t>(width)) {
        text.resize(static_cast<std::size_t>(width - 1));
    }
    exec::show_status_line(text);
}

void ProgressPrinter::stop() {
    {
        const std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopped_ = true;
        done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (mode_ != ProgressMode::off) {
        const exec::ProgressFigures f = meter_.read(progress_);
        if (mode_ == ProgressMode::bar) {
            refresh_bar(f);
            if (bar_open_) exec::end_status_line();  // a phase that did not finish: a stopped or failed run
            bar_open_ = false;
        }
        if (printed_line_) log_.progress(progress_text(f), mode_ == ProgressMode::log);
    }
    if (terminal_fd_ >= 0) close(terminal_fd_);
    terminal_fd_ = -1;
}

}  // namespace pel::app
