// jobs/taskfarm/joblog.cpp: joblog rows and appending them (see joblog.hpp).
#include "joblog.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

#include <pel/durable_file.hpp>
#include <pel/error.hpp>

#include "launch.hpp"
#include "task_list.hpp"

namespace taskfarm {

std::string joblog_row(const JoblogEntry& e) {
    char numbers[128];
    const bool signalled = e.exit_code < 0 && e.exit_code != kNotRun && e.exit_code != kHalted;
    std::snprintf(numbers, sizeof numbers, "%.3f\t%10.3f\t0\t%llu\t%d\t%d\t", e.start, e.runtime,
                  static_cast<unsigned long long>(e.received), signalled ? 0 : e.exit_code,
                  signalled ? -e.exit_code : 0);
    std::string command = e.command;
    std::replace(command.begin(), command.end(), '\n', '\0');
    return std::to_string(e.seq) + "\t" + (e.host.empty() ? std::string("-") : e.host) + "\t" + numbers + command +
           "\n";
}

Joblog::~Joblog() {
    if (fd_ >= 0) close(fd_);
}

void Joblog::start(const std::string& rows) const {
    try {  // durably and through a temporary, so that a link planted at the name is replaced, never followed
        pel::write_file_durably(path_, std::string(kJoblogHeader) + rows);
    } catch (const pel::Error& e) {
        throw pel::Error::Io(std::string("taskfarm: --joblog: ") + e.what());
    }
}

void Joblog::append(const std::string& row) {
    const std::lock_guard<std::mutex> lock(mutex_);
    try {
        if (fd_ < 0) fd_ = pel::open_log_file(path_, false);
    } catch (const pel::Error& e) {
        throw pel::Error::Io(std::string("taskfarm: --joblog: ") + e.what());
    }
    write_all(fd_, row, "joblog '" + path_ + "'");
}

}  // namespace taskfarm
