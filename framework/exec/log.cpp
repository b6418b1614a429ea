// exec/log.cpp: rank-tagged output.
#include "exec/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "pel/error.hpp"

namespace pel::exec {

namespace {
std::mutex print_mutex;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

void Log::info(const std::string& line) const {
    if (verbose_ || file_) print("", line);
}

void Log::also_to(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "a");
    if (f == nullptr) throw Error::Io("cannot open log file '" + path + "': " + std::strerror(errno));
    file_.reset(f, [](std::FILE* p) { std::fclose(p); });
}

void Log::warn(const std::string& line) const { print("warning: ", line); }

void Log::error(const std::string& line) const { print("error: ", line); }

void Log::print(const char* kind, const std::string& line) const {
    const std::lock_guard lock(print_mutex);
    if (verbose_ || *kind != '\0') {
        std::fprintf(stderr, "pel[%d]: %s%s\n", rank_, kind, line.c_str());
        std::fflush(stderr);
    }
    if (file_) {
        std::fprintf(file_.get(), "%s pel[%d]: %s%s\n", utc_now().c_str(), rank_, kind, line.c_str());
        std::fflush(file_.get());
    }
}

}  // namespace pel::exec
