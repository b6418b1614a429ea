// app/run_dir.cpp: the status file of a run directory, written by rank 0 and read by `pel status`.
#include "app/run_dir.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "app/printable.hpp"
#include "app/progress_printer.hpp"
#include "pel/durable_file.hpp"
#include "pel/error.hpp"

namespace pel::app {

namespace {

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

/// The most bytes a status file may have: pel's are under a few kilobytes, and `pel status` must not read a huge one.
constexpr off_t kStatusFileMax = 1 << 20;

/// The text of the status file `path` of run directory `dir`. Opened without blocking and read only if it is a
/// regular file of sane size: a FIFO or a device planted there must not hang or flood `pel status`.
std::string read_status_file(const std::filesystem::path& path, const std::string& dir) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        throw Error::Io("pel status: no status file '" + printable(path.string()) + "' (is '" + printable(dir) +
                        "' a run directory?)");
    }
    std::string text;
    struct stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && st.st_size <= kStatusFileMax) {
        text.resize(static_cast<std::size_t>(st.st_size));
        std::size_t got = 0;
        while (got < text.size()) {
            const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        text.resize(got);
    }
    ::close(fd);
    if (!regular) throw Error::Io("pel status: '" + printable(path.string()) + "' is not a regular file");
    if (st.st_size > kStatusFileMax) {
        throw Error::Io("pel status: '" + printable(path.string()) + "' is " + std::to_string(st.st_size) +
                        " bytes, too large for a status file");
    }
    return text;
}

}  // namespace

StatusWriter::StatusWriter(std::string dir, RunFacts facts, const exec::Progress& progress, double every_s)
    : dir_(std::move(dir)),
      facts_(std::move(facts)),
      progress_(progress),
      meter_(exec::ProgressMeter::Clock::now()),
      started_(unix_now()) {
    write("running", 0, "");
    thread_ = std::thread([this, every_s] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::duration<double>(every_s), [this] { return done_; })) {
            try {
                write("running", 0, "");
            } catch (const Error&) {
                // A status file that cannot be written must not stop the run; the final write reports it.
            }
        }
    });
}

StatusWriter::~StatusWriter() {
    {
        const std::lock_guard lock(mutex_);
        done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void StatusWriter::finish(const std::string& state, int exit_code, const std::string& message) {
    {
        const std::lock_guard lock(mutex_);
        done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    write(state, exit_code, message);
}

void StatusWriter::write(const std::string& state, int exit_code, const std::string& message) {
    const double now = unix_now();
    nlohmann::json j;
    j["format"] = "pel-status-1";
    j["state"] = state;
    j["job"] = facts_.job;
    j["output"] = facts_.output;
    j["checkpoint_dir"] = facts_.checkpoint_dir;
    j["host"] = facts_.host;  // rank 0's
    j["hosts"] = nlohmann::json::array();
    for (const auto& h : facts_.hosts) j["hosts"].push_back({{"host", h.host}, {"ranks", h.ranks}});
    j["slurm_job_id"] = facts_.slurm_job_id;
    j["ranks"] = facts_.ranks;
    j["threads"] = facts_.threads;
    j["started"] = started_;
    j["updated"] = now;
    j["elapsed_s"] = now - started_;
    const exec::ProgressFigures f = meter_.read(progress_);
    j["phase"] = f.phase;
    j["phase_name"] = f.phase_name;
    j["phases_done"] = f.phases_done;
    j["items_done"] = f.items_done;
    j["items_total"] = f.items_total;
    j["percent"] = f.percent;
    j["rate_items_per_s"] = f.rate;  // over the last 20 s or since the phase began; 0: not known yet
    j["eta_s"] = f.eta_s >= 0 ? nlohmann::json(f.eta_s) : nlohmann::json();  // of the phase; null: not known yet
    j["checkpoints"] = f.checkpoints;
    if (exit_code != 0 || state != "running") j["exit_code"] = exit_code;
    if (!message.empty()) j["message"] = message;
    write_file_durably(std::filesystem::path(dir_) / "status.json", j.dump(2) + "\n");
}

int status_command(const std::vector<std::string>& args) {
    if (args.size() != 1 || args[0].starts_with("-")) {
        if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
            std::puts(
                "pel status DIR: summarise the run in run directory DIR (its status.json), while it runs or after");
            return 0;
        }
        throw Error::Usage("pel status: give one run directory (pel status DIR)");
    }
    const std::filesystem::path path = std::filesystem::path(args[0]) / "status.json";
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_status_file(path, args[0]));
    } catch (const nlohmann::json::exception& e) {
        throw Error::Io("pel status: '" + path.string() + "' is not a status file: " + printable(e.what()));
    }
    std::ostringstream os;
    try {  // a value of another type than pel writes (a damaged or foreign file) is said as such
        const auto get = [&](const char* key, auto fallback) {
            return j.contains(key) ? j[key].get<decltype(fallback)>() : fallback;
        };
        const std::string state = get("state", std::string("?"));
        const double now = unix_now();
        const double elapsed = get("elapsed_s", 0.0);
        const double updated = get("updated", 0.0);
        const auto done = get("items_done", std::uint64_t{0});
        const auto total = get("items_total", std::uint64_t{0});
        os.setf(std::ios::fixed);
        os.precision(1);
        os << get("job", std::string("?")) << " in " << args[0] << ": " << state;
        if (j.contains("exit_code")) os << " (exit " << j["exit_code"].get<int>() << ")";
        os << "\n  " << get("ranks", 0) << " ranks x " << get("threads", 0) << " threads on ";
        if (j.contains("hosts") && j["hosts"].is_array() && !j["hosts"].empty()) {
            // Every host, with its ranks (a status file from an older pel names only rank 0's).
            const auto& hosts = j["hosts"];
            os << hosts.size() << (hosts.size() == 1 ? " host: " : " hosts: ");
            for (std::size_t h = 0; h < hosts.size(); ++h) {
                const int ranks = hosts[h].value("ranks", 0);
                os << (h == 0 ? "" : ", ") << hosts[h].value("host", std::string("?")) << " (" << ranks
                   << (ranks == 1 ? " rank)" : " ranks)");
            }
        } else {
            os << get("host", std::string("?"));
        }
        if (const auto id = get("slurm_job_id", std::string()); !id.empty()) os << ", Slurm job " << id;
        os << "\n  phase " << get("phase", -1) << " '" << get("phase_name", std::string()) << "': " << done << " of "
           << total << " items";
        if (total > 0) os << " (" << 100.0 * static_cast<double>(done) / static_cast<double>(total) << "%)";
        os << ", " << get("phases_done", 0) << " phases done, " << get("checkpoints", std::uint64_t{0})
           << " checkpoints\n  elapsed " << duration_text(elapsed);
        if (state == "running") {
            // The rate and ETA as of the last update (a status file from an older pel has neither).
            if (j.contains("rate_items_per_s")) {
                const bool eta_known = j.contains("eta_s") && j["eta_s"].is_number();
                os << ", " << rate_text(get("rate_items_per_s", 0.0)) << " items/s, ETA "
                   << (eta_known ? duration_text(j["eta_s"].get<double>()) : std::string("?"));
            }
            os << ", last update " << duration_text(now - updated) << " ago";
            if (now - updated > 60) os << " (stale: the run may have died)";
        }
        os << "\n";
        if (j.contains("message")) os << "  " << j["message"].get<std::string>() << "\n";
        os << "  results: " << get("output", std::string("?")) << "\n";
    } catch (const nlohmann::json::exception& e) {
        throw Error::Io("pel status: '" + printable(path.string()) +
                        "' is not a pel status file: " + printable(e.what()));
    }
    std::fputs(printable(os.str()).c_str(), stdout);  // the file's text must not drive the terminal
    return 0;
}

}  // namespace pel::app
