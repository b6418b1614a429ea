// exec/log.cpp: tagged log lines, and the terminal's status line they must not run into.
#include "exec/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <unistd.h>

#include "pel/durable_file.hpp"
#include "pel/error.hpp"
#include "pel/host.hpp"

namespace pel::exec {

namespace {

std::mutex print_mutex;            // one whole line at a time on stderr, from every thread
bool status_line_showing = false;  // guarded by print_mutex

/// The host's name up to its first dot, read once.
const std::string& short_host() {
    static const std::string host = [] {
        const std::string name = host_name();
        return name.substr(0, name.find('.'));
    }();
    return host;
}

/// With print_mutex held: a status line on show gets its newline, so the next line starts on a line of its own.
void end_status_line_locked() {
    if (!status_line_showing) return;
    std::fputc('\n', stderr);
    status_line_showing = false;
}

}  // namespace

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

LogLevel parse_log_level(const std::string& name) {
    for (const LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
        if (name == log_level_name(level)) return level;
    }
    throw Error::Usage("--log-level: '" + name + "' is not one of error, warn, info, debug");
}

const char* log_level_name(LogLevel level) {
    switch (level) {
        case LogLevel::error:
            return "error";
        case LogLevel::warn:
            return "warn";
        case LogLevel::info:
            return "info";
        case LogLevel::debug:
            return "debug";
    }
    return "?";
}

std::string log_tag(int rank) { return utc_now() + " pel[" + std::to_string(rank) + "@" + short_host() + "]"; }

void report_error(int rank, const std::string& message) {
    const std::string line = log_tag(rank) + " error: " + message + "\n";
    const std::lock_guard lock(print_mutex);
    end_status_line_locked();
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

Log::Log(int rank, LogLevel terminal, bool all_ranks)
    : rank_(rank), terminal_(rank == 0 || all_ranks ? terminal : std::min(terminal, LogLevel::warn)) {}

void Log::error(const std::string& line) const { print("error", line, true); }

void Log::warn(const std::string& line) const { print("warn", line, terminal_ >= LogLevel::warn); }

void Log::info(const std::string& line) const {
    if (terminal_ >= LogLevel::info || file_) print("info", line, terminal_ >= LogLevel::info);
}

void Log::debug(const std::string& line) const {
    if (terminal_ >= LogLevel::debug || file_) print("debug", line, terminal_ >= LogLevel::debug);
}

void Log::progress(const std::string& line, bool terminal) const { print("progress", line, terminal); }

bool Log::enabled(LogLevel level) const noexcept { return terminal_ >= level || file_ != nullptr; }

void Log::also_to(const std::string& path) {
    const int fd = open_log_file(path);  // never through a planted link, never a FIFO or a device
    std::FILE* f = ::fdopen(fd, "a");
    if (f == nullptr) {
        const int saved = errno;
        ::close(fd);
        throw Error::Io("cannot open log file '" + path + "': " + std::strerror(saved));
    }
    file_.reset(f, [](std::FILE* p) { std::fclose(p); });
}

void Log::print(const char* kind, const std::string& line, bool terminal) const {
    if (!terminal && !file_) return;
    const std::string text = log_tag(rank_) + " " + kind + ": " + line + "\n";
    const std::lock_guard lock(print_mutex);
    if (terminal) {
        end_status_line_locked();
        std::fputs(text.c_str(), stderr);
        std::fflush(stderr);
    }
    if (file_) {
        std::fputs(text.c_str(), file_.get());
        std::fflush(file_.get());
    }
}

void show_status_line(const std::string& text) {
    const std::lock_guard lock(print_mutex);
    std::fputs(("\r" + text + "\033[K").c_str(), stderr);
    std::fflush(stderr);
    status_line_showing = true;
}

void end_status_line() {
    const std::lock_guard lock(print_mutex);
    end_status_line_locked();
    std::fflush(stderr);
}

}  // namespace pel::exec
