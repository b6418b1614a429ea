// jobs/taskfarm/task_list.cpp: task files and joblogs.
#include "task_list.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <pel/error.hpp>

namespace taskfarm {

namespace {

/// Opens `path` for reading or throws pel::Error::Io naming `what`. Only a regular file is read: a FIFO would block
/// the run before it starts and a device such as /dev/zero would fill memory with one endless line.
std::ifstream open_text(const std::string& path, const std::string& what) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (std::filesystem::is_directory(status)) {
        throw pel::Error::Io("taskfarm: cannot read " + what + " '" + path + "': it is a directory");
    }
    if (!ec && !std::filesystem::is_regular_file(status)) {
        throw pel::Error::Io("taskfarm: cannot read " + what + " '" + path +
                             "': it is not a regular file (a FIFO, a device or a socket)");
    }
    std::ifstream in(path);
    if (!in) throw pel::Error::Io("taskfarm: cannot read " + what + " '" + path + "': " + std::strerror(errno));
    return in;
}

void drop_carriage_return(std::string& line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
}

/// `text` as an integer of type T, or a usage error naming the joblog and line.
template <class T>
T parse_number(const std::string& text, const std::string& path, std::uint64_t line, const char* field) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw pel::Error::Usage("taskfarm: joblog '" + path + "' line " + std::to_string(line) + ": " + field + " '" +
                                text + "' is not an integer");
    }
    return value;
}

}  // namespace

std::vector<Task> read_tasks(const std::string& path) {
    if (path.empty()) throw pel::Error::Usage("taskfarm: --tasks FILE is required (one shell command per line)");
    std::ifstream in = open_text(path, "task file");
    std::vector<Task> tasks;
    std::string line;
    std::uint64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        drop_carriage_return(line);
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        tasks.push_back({number, line});
    }
    if (in.bad()) throw pel::Error::Io("taskfarm: cannot read task file '" + path + "': " + std::strerror(errno));
    if (tasks.empty()) {
        throw pel::Error::Usage("taskfarm: task file '" + path + "' has no tasks (only blank lines and # comments)");
    }
    return tasks;
}

std::uint64_t hash_tasks(const std::vector<Task>& tasks) {
    std::uint64_t h = 14695981039346656037ULL;
    const auto add = [&h](unsigned char c) {
        h ^= c;
        h *= 1099511628211ULL;
    };
    for (const Task& t : tasks) {
        for (char c : t.command) add(static_cast<unsigned char>(c));
        add('\n');
    }
    return h;
}

std::vector<JoblogRow> read_joblog(const std::string& path) {
    std::ifstream in = open_text(path, "joblog");
    std::string line;
    if (!std::getline(in, line) || !line.starts_with("Seq\t")) {
        throw pel::Error::Usage("taskfarm: '" + path +
                                "' is not a joblog (its first line should be Seq<TAB>Host<TAB>Starttime...)");
    }
    std::vector<JoblogRow> rows;
    std::uint64_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        drop_carriage_return(line);
        if (line.empty()) continue;
        // Eight tab-separated fields, then the command, which may itself hold tabs.
        std::vector<std::string> fields;
        std::size_t from = 0;
        while (fields.size() < 8) {
            const auto tab = line.find('\t', from);
            if (tab == std::string::npos) break;
            fields.push_back(line.substr(from, tab - from));
            from = tab + 1;
        }
        if (fields.size() < 8) {
            throw pel::Error::Usage("taskfarm: joblog '" + path + "' line " + std::to_string(number) +
                                    " has fewer than 9 tab-separated fields");
        }
        JoblogRow row;
        row.seq = parse_number<std::uint64_t>(fields[0], path, number, "Seq");
        row.exitval = parse_number<int>(fields[6], path, number, "Exitval");
        row.signal = parse_number<int>(fields[7], path, number, "Signal");
        row.command = line.substr(from);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::uint8_t> select_failed(const std::vector<Task>& tasks, const std::vector<JoblogRow>& rows,
                                        const std::string& joblog) {
    std::vector<std::uint8_t> listed(tasks.size(), 0), selected(tasks.size(), 0);
    for (const JoblogRow& row : rows) {
        if (row.seq >= tasks.size()) {
            throw pel::Error::Usage("taskfarm: joblog '" + joblog + "' lists task " + std::to_string(row.seq) +
                                    ", but the task file has " + std::to_string(tasks.size()) + " tasks");
        }
        if (row.command != tasks[row.seq].command) {
            throw pel::Error::Usage("taskfarm: joblog '" + joblog + "' gives task " + std::to_string(row.seq) +
                                    " as '" + row.command + "', but the task file has '" + tasks[row.seq].command +
                                    "' (another task file?)");
        }
        listed[row.seq] = 1;
        if (failed(row.exitval) || row.signal != 0) selected[row.seq] = 1;
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (listed[i] == 0) selected[i] = 1;
    }
    return selected;
}

}  // namespace taskfarm
