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

namespace {

/// The length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one (RFC 3629: no overlong
/// forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    std::size_t n = 0;
    unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
    } else {
        return 0;
    }
    if (text.size() < n || byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < n; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    }
    return n;
}

}  // namespace

std::string one_line(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const auto escape = [&out](unsigned char c) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
        out += hex;
    };
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                escape(c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence(text.substr(i));
        const bool c1_control = n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f;
        if (n == 0 || c1_control) {
            escape(c);  // one byte at a time: the rest may start a valid sequence
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

namespace {

/// `text` cut in its middle when it is longer than a reader can take in: a message that quotes a path of 5,000
/// characters keeps its start (what failed) and its end (why), and says how much was left out.
std::string shortened(const std::string& text) {
    constexpr std::size_t kHead = 600, kTail = 300;
    if (text.size() <= kHead + kTail + 100) return text;
    std::size_t head = kHead, tail = text.size() - kTail;
    while (head > 0 && (static_cast<unsigned char>(text[head]) & 0xc0) == 0x80) --head;  // whole UTF-8 characters
    while (tail < text.size() && (static_cast<unsigned char>(text[tail]) & 0xc0) == 0x80) ++tail;
    return text.substr(0, head) + " [... " + std::to_string(tail - head) + " bytes left out ...] " + text.substr(tail);
}

}  // namespace

std::string log_tag(int rank) { return utc_now() + " pel[" + std::to_string(rank) + "@" + short_host() + "]"; }

void report_error(int rank, const std::string& message) {
    const std::string line = log_tag(rank) + " error: " + shortened(one_line(message)) + "\n";
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
    const std::string text = log_tag(rank_) + " " + kind + ": " + one_line(line) + "\n";
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
