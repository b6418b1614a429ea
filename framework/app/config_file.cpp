// app/config_file.cpp: TOML configs read and written with toml++ (Debian's libtomlplusplus-dev, header-only here so
// that pel's package needs no library for it at run time).
#include "app/config_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <variant>

#include "exec/log.hpp"
#include "pel/error.hpp"

namespace pel::app {

namespace {

/// `text` cut to `limit` bytes for a message: a 1 MB key or path must not make a 1 MB error line.
std::string bounded(std::string_view text, std::size_t limit = 80) {
    if (text.size() <= limit) return std::string(text);
    return std::string(text.substr(0, limit)) + "...";
}

/// "a string", "an integer", ...: the TOML type of `node`, for messages.
std::string type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        default:
            return "nothing";
    }
}

/// What an option of `type` takes, for messages.
std::string expected_name(ConfigType type) {
    switch (type) {
        case ConfigType::text:
            return "a string";
        case ConfigType::integer:
            return "an integer";
        case ConfigType::number:
            return "a number";
        case ConfigType::boolean:
            return "a boolean (true or false)";
        case ConfigType::text_or_number:
            return "a string or a number";
    }
    return "a value";
}

/// The shortest text that reads back as `v` exactly ("nan", "inf" and "-inf" included).
std::string float_text(double v) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    return std::string(text, end);
}

/// `node` as the text CLI11 would get on the command line, when its TOML type suits an option of `type`.
std::optional<std::string> command_line_text(const toml::node& node, ConfigType type) {
    const bool text = type == ConfigType::text || type == ConfigType::text_or_number;
    const bool number = type == ConfigType::number || type == ConfigType::text_or_number;
    if (const auto* s = node.as_string(); s != nullptr && text) return s->get();
    if (const auto* i = node.as_integer(); i != nullptr && (number || type == ConfigType::integer)) {
        return std::to_string(i->get());
    }
    if (const auto* f = node.as_floating_point(); f != nullptr && number) return float_text(f->get());
    if (const auto* b = node.as_boolean(); b != nullptr && type == ConfigType::boolean) {
        return std::string(b->get() ? "true" : "false");
    }
    return std::nullopt;
}

}  // namespace

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
    const std::string document{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
    const std::string where = "the config file" + (source_.empty() ? "" : " " + bounded(source_, 200));
    toml::table table;
    try {
        table = toml::parse(std::string_view(document), std::string_view(source_));
    } catch (const toml::parse_error& e) {
        throw CLI::ConfigError(where + ", line " + std::to_string(e.source().begin.line) +
                               ": not valid TOML: " + bounded(e.description(), 160));
    }
    // In the order of the file (toml++ keeps keys sorted), so that the first problem told is the first one there.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto &x = a.first->source().begin, &y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    std::vector<CLI::ConfigItem> values;
    for (const auto& [key, node] : entries) {
        const std::string name(key->str());
        const std::string line = ", line " + std::to_string(key->source().begin.line);
        const auto type = types_.find(name);
        if (type == types_.end()) {
            if (!strict_) continue;
            throw CLI::ConfigError("unknown option '" + bounded(name) + "' in " + where + line);
        }
        std::optional<std::string> text = command_line_text(*node, type->second);
        if (!text) {
            throw CLI::ConfigError(where + line + ": '" + name + "' must be " + expected_name(type->second) + ", not " +
                                   type_name(node->type()));
        }
        CLI::ConfigItem item;
        item.name = name;
        item.inputs = {std::move(*text)};
        values.push_back(std::move(item));
    }
    return values;
}

std::string TomlConfig::to_config(const CLI::App* /*app*/, bool /*default_also*/, bool /*write_description*/,
                                  std::string /*prefix*/) const {
    return {};
}

TomlConfig& toml_config(CLI::App& app) {
    auto config = std::dynamic_pointer_cast<TomlConfig>(app.get_config_formatter());
    if (config == nullptr) throw std::logic_error("toml_config: add_run_options() installs the config reader");
    return *config;
}

ConfigType config_type(const OptionSpec& spec) {
    return std::visit(
        [](auto* p) {
            using T = std::remove_pointer_t<decltype(p)>;
            if constexpr (std::is_same_v<T, std::int64_t>) return ConfigType::integer;
            if constexpr (std::is_same_v<T, double>) return ConfigType::number;
            if constexpr (std::is_same_v<T, std::string>) return ConfigType::text;
            return ConfigType::boolean;
        },
        spec.target());
}

std::string config_argument(const std::vector<std::string>& args) {
    std::string file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) file = args[i + 1];
        if (args[i].starts_with("--config=")) file = args[i].substr(std::string("--config=").size());
    }
    return file;
}

void check_config_file(const std::string& path) {
    // A config is a few kilobytes; 16 MB leaves room for any real one and keeps a mistaken file from filling memory.
    constexpr off_t kConfigMax = off_t{16} << 20;
    if (path.empty()) return;
    // O_NONBLOCK: opening a FIFO without a writer must not wait for one.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        throw Error::Usage("--config: cannot read '" + bounded(exec::one_line(path), 200) +
                           "': " + std::strerror(errno));
    }
    struct stat st {};
    const int rc = ::fstat(fd, &st);
    ::close(fd);
    const std::string name = "--config: '" + bounded(exec::one_line(path), 200) + "'";
    if (rc != 0) throw Error::Usage(name + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw Error::Usage(name + " is a directory, not a config file");
    if (!S_ISREG(st.st_mode)) throw Error::Usage(name + " is not a regular file (a FIFO, a device or a socket)");
    if (st.st_size > kConfigMax) {
        throw Error::Usage(name + " is " + std::to_string(st.st_size) + " bytes, more than a config file may have (" +
                           std::to_string(kConfigMax) + ")");
    }
}

std::string toml_string(const std::string& text) {
    std::ostringstream os;
    // Only UTF-8 kept as it is: no literal or multi-line strings, so that every value is one "..." on one line.
    os << toml::toml_formatter{toml::value<std::string>(text), toml::format_flags::allow_unicode_strings};
    return os.str();
}

std::string toml_line(const std::string& key, const std::string& value) {
    const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    return (bare ? key : toml_string(key)) + " = " + value + "\n";
}

std::string toml_value(const OptionSpec& spec) {
    if (const auto* const* text = std::get_if<std::string*>(&spec.target())) return toml_string(**text);
    return spec.value_text();  // numbers (shortest exact form, inf and nan as TOML writes them) and booleans
}

}  // namespace pel::app
