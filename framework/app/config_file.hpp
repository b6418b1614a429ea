// app/config_file.hpp: `pel run --config FILE` read by a real TOML 1.0 parser (toml++), each key's type checked
// against the option it sets, and the TOML text pel writes back (config.toml, the results' `options` attribute).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pel/options.hpp"

namespace pel::app {

/// The TOML types a config key may hold: that of the option's value.
enum class ConfigType : std::uint8_t {
    text,            ///< a string
    integer,         ///< an integer
    number,          ///< an integer or a float (inf and nan included: the option's own checks decide)
    boolean,         ///< true or false
    text_or_number,  ///< a string or a number (--prefetch 2 or auto, --checkpoint-every 600 or auto)
};

/// The config reader CLI11 calls for --config: toml++ parses the file (TOML 1.0 exactly: escapes, duplicate keys and
/// invalid UTF-8 are errors), every key must be an option declared with expect() and hold a value of its type, and
/// each value goes to CLI11 as text, as if given on the command line, so the option's own checks apply and the
/// command line wins. Errors are CLI::ConfigError naming the file, the line and the key.
class TomlConfig : public CLI::Config {
  public:
    /// Allows `key` in a config, holding a value of `type`.
    void expect(const std::string& key, ConfigType type) { types_[key] = type; }
    /// Whether a key that was not expected is an error (the default) or skipped (a first pass that knows only some
    /// of the options).
    void set_strict(bool strict) { strict_ = strict; }
    /// Names the file in messages (CLI11 does not tell the reader which file it reads).
    void set_source(std::string path) { source_ = std::move(path); }

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
    /// Not used: pel writes its configs with toml_line() (kept_options(), the effective config).
    std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                          std::string prefix) const override;

  private:
    std::map<std::string, ConfigType, std::less<>> types_;
    bool strict_ = true;
    std::string source_;
};

/// The TomlConfig that add_run_options() installed in `app`.
TomlConfig& toml_config(CLI::App& app);

/// The config type of a job's option: that of the value it is bound to.
ConfigType config_type(const OptionSpec& spec);

/// The value of `--config` on the command line `args` (the last one given, `--config F` or `--config=F`), or "".
std::string config_argument(const std::vector<std::string>& args);

/// Refuses (a usage error naming it) a config file `path` that exists but is not a regular file, or is larger than
/// any config: CLI11 would read a FIFO, a device or a huge file to its end, and block or fill memory doing so. A
/// missing file is left to CLI11, which names it.
void check_config_file(const std::string& path);

/// `text` as a TOML basic string, written by toml++ (quotes, backslashes and control characters escaped; UTF-8 kept).
std::string toml_string(const std::string& text);

/// One line of a TOML config, "key = value\n": `key` bare when TOML allows it, else quoted; `value` already TOML
/// (a toml_string(), a number or a boolean).
std::string toml_line(const std::string& key, const std::string& value);

/// A job option's value as TOML: the string through toml_string(), else the shortest text that reads back exactly.
std::string toml_value(const OptionSpec& spec);

}  // namespace pel::app
