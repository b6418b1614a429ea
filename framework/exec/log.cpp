// exec/log.cpp: rank-tagged output.
#include "exec/log.hpp"

#include <cstdio>
#include <mutex>

namespace pel::exec {

namespace {
std::mutex print_mutex;
}

void Log::info(const std::string& line) const {
    if (verbose_) print("", line);
}

void Log::warn(const std::string& line) const { print("warning: ", line); }

void Log::error(const std::string& line) const { print("error: ", line); }

void Log::print(const char* kind, const std::string& line) const {
    const std::lock_guard lock(print_mutex);
    std::fprintf(stderr, "pel[%d]: %s%s\n", rank_, kind, line.c_str());
    std::fflush(stderr);
}

}  // namespace pel::exec
