// jobs/taskfarm/halt.cpp: parsing --halt and sharing its counts across ranks (see halt.hpp).
#include "halt.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pel/error.hpp>

#include "task_list.hpp"

namespace taskfarm {

namespace {

pel::Error bad_halt(const std::string& spec, const std::string& why) {
    return pel::Error::Usage("taskfarm: --halt '" + pel::shown(spec) + "': " + why +
                             " (expected never, or now|soon,fail|success|done=N or =P%, as GNU parallel)");
}

/// "N" or "P%" after the '=' of `spec`.
void parse_amount(const std::string& spec, std::string text, HaltRule& rule) {
    rule.percent = text.ends_with("%");
    if (rule.percent) text.pop_back();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
        throw bad_halt(spec, "'" + pel::shown(text) + "' is not a number");
    }
    if (value <= 0 || (rule.percent && value > 100) || (!rule.percent && value != std::floor(value))) {
        throw bad_halt(spec, rule.percent ? "a percentage is more than 0 and at most 100"
                                          : "a count of tasks is a whole number of at least 1");
    }
    rule.count = value;
}

}  // namespace

HaltRule parse_halt(const std::string& spec) {
    using When = HaltRule::When;
    using Why = HaltRule::Why;
    HaltRule rule;
    if (spec.empty() || spec == "never" || spec == "0") return rule;
    if (spec == "1" || spec == "2") return {spec == "1" ? When::soon : When::now, Why::fail, 1, false};
    if (spec == "-1" || spec == "-2") return {spec == "-1" ? When::soon : When::now, Why::success, 1, false};
    const auto comma = spec.find(',');
    if (comma == std::string::npos) {
        if (!spec.ends_with("%")) throw bad_halt(spec, "no 'when,why'");
        rule.when = When::soon;  // the old form P%: soon,fail=P%
        parse_amount(spec, spec, rule);
        return rule;
    }
    const std::string when = spec.substr(0, comma), why = spec.substr(comma + 1);
    if (when == "now") {
        rule.when = When::now;
    } else if (when == "soon") {
        rule.when = When::soon;
    } else {
        throw bad_halt(spec, "'" + pel::shown(when) + "' is neither now nor soon");
    }
    const auto eq = why.find('=');
    const std::string kind = why.substr(0, eq);
    if (kind == "fail") {
        rule.why = Why::fail;
    } else if (kind == "success") {
        rule.why = Why::success;
    } else if (kind == "done") {
        rule.why = Why::done;
    } else {
        throw bad_halt(spec, "'" + pel::shown(kind) + "' is not fail, success or done");
    }
    if (eq == std::string::npos) throw bad_halt(spec, "no '=' after " + kind);
    parse_amount(spec, why.substr(eq + 1), rule);
    return rule;
}

Halt::Halt(HaltRule rule, std::string dir, std::uint64_t tasks) : rule_(rule), dir_(std::move(dir)) {
    // As GNU parallel: the count a percentage stands for is of every task, reached when met or passed.
    threshold_ = rule_.percent ? static_cast<std::uint64_t>(std::ceil(static_cast<double>(tasks) * rule_.count / 100.0))
                               : static_cast<std::uint64_t>(rule_.count);
    if (threshold_ == 0) threshold_ = 1;
}

Halt::~Halt() {
    if (fd_ >= 0) close(fd_);
}

std::string Halt::counter(HaltRule::Why why) const {
    return dir_ + (why == HaltRule::Why::fail      ? "/.halt-failed"
                   : why == HaltRule::Why::success ? "/.halt-succeeded"
                                                   : "/.halt-ended");
}

void Halt::reset() const {
    if (rule_.when == HaltRule::When::never) return;
    for (auto why : {HaltRule::Why::fail, HaltRule::Why::success, HaltRule::Why::done}) unlink(counter(why).c_str());
    unlink((dir_ + "/.halt").c_str());
}

void Halt::count(int exit_code) {
    if (rule_.when == HaltRule::When::never) return;
    const bool counts =
        rule_.why == HaltRule::Why::done || (rule_.why == HaltRule::Why::fail ? failed(exit_code) : exit_code == 0);
    if (!counts) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (fd_ < 0) {
        fd_ = open(counter(rule_.why).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            throw pel::Error::Io("taskfarm: --halt: cannot write '" + counter(rule_.why) +
                                 "': " + std::strerror(errno));
        }
    }
    if (write(fd_, "x", 1) != 1) {
        throw pel::Error::Io("taskfarm: --halt: cannot write '" + counter(rule_.why) + "': " + std::strerror(errno));
    }
    struct stat st {};
    if (fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= threshold_) {
        const int marker = open((dir_ + "/.halt").c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (marker >= 0) close(marker);
        halted_ = true;
    }
}

bool Halt::halted() const {
    if (rule_.when == HaltRule::When::never) return false;
    if (halted_) return true;
    struct stat st {};
    if (lstat((dir_ + "/.halt").c_str(), &st) == 0) halted_ = true;
    return halted_;
}

}  // namespace taskfarm
