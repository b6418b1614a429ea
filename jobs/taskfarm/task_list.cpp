// jobs/taskfarm/task_list.cpp: task files and joblogs.
#include "task_list.hpp"

#include <algorithm>
#include <cctype>
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

/// `text` with every `from` replaced by `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

/// The directive of a disBatch line (`#DISBATCH BARRIER` gives "BARRIER"), or empty when it is none.
std::string directive(const std::string& trimmed) {
    constexpr std::string_view kPrefix = "#DISBATCH";
    if (!trimmed.starts_with(kPrefix) || trimmed.size() == kPrefix.size() ||
        (trimmed[kPrefix.size()] != ' ' && trimmed[kPrefix.size()] != '\t')) {
        return "";
    }
    const std::string rest = trimmed.substr(kPrefix.size());
    return rest.substr(rest.find_first_not_of(" \t"));
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
    if (path.empty()) {
        throw pel::Error::Usage(
            "taskfarm: --tasks FILE (one shell command per line) or --command TEMPLATE with "
            "--args FILE is required");
    }
    std::ifstream in = open_text(path, "task file");
    std::vector<Task> tasks;
    std::string line;
    std::uint64_t number = 0;
    std::uint32_t group = 0;
    while (std::getline(in, line)) {
        ++number;
        drop_carriage_return(line);
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        const std::string trimmed = line.substr(first, line.find_last_not_of(" \t") + 1 - first);
        if (trimmed == "BARRIER" || directive(trimmed) == "BARRIER") {
            // An empty group (a barrier first, or two in a row) is no group.
            if (!tasks.empty() && tasks.back().group == group) ++group;
            continue;
        }
        if (const std::string d = directive(trimmed); !d.empty()) {
            throw pel::Error::Usage("taskfarm: task file '" + path + "' line " + std::to_string(number) +
                                    ": '#DISBATCH " + pel::shown(d) + "' is not supported (only #DISBATCH BARRIER)");
        }
        if (line[first] == '#') continue;
        const std::string serial = std::to_string(tasks.size() + 1);
        tasks.push_back({number, group, replace_all(line, "{#}", serial)});
    }
    if (in.bad()) throw pel::Error::Io("taskfarm: cannot read task file '" + path + "': " + std::strerror(errno));
    if (tasks.empty()) {
        throw pel::Error::Usage("taskfarm: task file '" + path + "' has no tasks (only blank lines and # comments)");
    }
    return tasks;
}

std::vector<Task> read_arguments(const std::string& path, const std::string& command) {
    std::ifstream in = open_text(path, "argument file");
    const bool placed = command.find("{}") != std::string::npos;
    std::vector<Task> tasks;
    std::string line;
    std::uint64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        drop_carriage_return(line);
        const std::string serial = std::to_string(tasks.size() + 1);
        const std::string quoted = shell_quote(line);
        std::string text = replace_all(command, "{#}", serial);
        text = placed ? replace_all(text, "{}", quoted) : text + " " + quoted;
        tasks.push_back({number, 0, std::move(text)});
    }
    if (in.bad()) throw pel::Error::Io("taskfarm: cannot read argument file '" + path + "': " + std::strerror(errno));
    if (tasks.empty()) throw pel::Error::Usage("taskfarm: argument file '" + path + "' is empty");
    return tasks;
}

std::string with_slot(const std::string& command, int slot) {
    return replace_all(command, "{%}", std::to_string(slot));
}

std::string shell_quote(std::string_view text) {
    const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || (c != 0 && std::strchr("_-./:+,@%", c) != nullptr);
    });
    if (plain) return std::string(text);
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
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
        for (int shift = 0; shift < 32; shift += 8) add(static_cast<unsigned char>(t.group >> shift));
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

namespace {

/// True if `logged` is `command` as it ran: equal, but for a number in place of each {%} (the slot it ran in).
bool same_command(const std::string& command, const std::string& logged) {
    std::size_t c = 0, l = 0;
    while (c < command.size()) {
        if (command.compare(c, 3, "{%}") == 0) {
            const std::size_t digits = l;
            while (l < logged.size() && std::isdigit(static_cast<unsigned char>(logged[l])) != 0) ++l;
            if (l == digits) return false;
            c += 3;
        } else {
            if (l >= logged.size() || logged[l] != command[c]) return false;
            ++c;
            ++l;
        }
    }
    return l == logged.size();
}

}  // namespace

std::vector<std::uint8_t> select_failed(const std::vector<Task>& tasks, const std::vector<JoblogRow>& rows,
                                        const std::string& joblog) {
    // A task's last row counts: a task run again after a crash is listed twice.
    std::vector<std::uint8_t> listed(tasks.size(), 0), selected(tasks.size(), 0);
    for (const JoblogRow& row : rows) {
        if (row.seq == 0 || row.seq > tasks.size()) {
            throw pel::Error::Usage("taskfarm: joblog '" + joblog + "' lists job " + std::to_string(row.seq) +
                                    ", but the task file has jobs 1 to " + std::to_string(tasks.size()));
        }
        const Task& task = tasks[row.seq - 1];
        if (!same_command(task.command, row.command)) {
            throw pel::Error::Usage("taskfarm: joblog '" + joblog + "' gives job " + std::to_string(row.seq) + " as '" +
                                    pel::shown(row.command) + "', but the task file has '" + pel::shown(task.command) +
                                    "' (another task file?)");
        }
        listed[row.seq - 1] = 1;
        selected[row.seq - 1] = failed(row.exitval) || row.signal != 0 ? 1 : 0;
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (listed[i] == 0) selected[i] = 1;
    }
    return selected;
}

}  // namespace taskfarm
