// pel/options.hpp: how a job declares its options, independent of any command-line library.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pel {

/// One declared option: a name, a help line, where its value lives, and what values are allowed.
class OptionSpec {
  public:
    using Target = std::variant<std::int64_t*, double*, std::string*, bool*>;

    OptionSpec(std::string name, Target target, std::string help)
        : name_(std::move(name)), target_(target), help_(std::move(help)) {}

    /// Allows only values >= lo and <= hi (numbers only).
    OptionSpec& range(double lo, double hi) {
        min_ = lo;
        max_ = hi;
        return *this;
    }
    /// Allows only values >= lo (numbers only).
    OptionSpec& min(double lo) { return range(lo, std::numeric_limits<double>::infinity()); }
    /// Allows only one of `choices` (strings only).
    OptionSpec& choices(std::vector<std::string> choices) {
        choices_ = std::move(choices);
        return *this;
    }

    /// Allows NaN and infinities (a floating-point option). Without it they are refused: a NaN passes every range
    /// check, and few computations mean anything with one.
    OptionSpec& allow_non_finite() {
        non_finite_ = true;
        return *this;
    }

    /// Marks a text option as a file or directory path: a relative path given in a config file is taken relative to
    /// that file's directory (on the command line, to the working directory).
    OptionSpec& path() {
        path_ = true;
        return *this;
    }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] bool is_path() const noexcept { return path_; }
    [[nodiscard]] bool allows_non_finite() const noexcept { return non_finite_; }
    [[nodiscard]] const std::string& help() const noexcept { return help_; }
    [[nodiscard]] const Target& target() const noexcept { return target_; }
    [[nodiscard]] std::optional<double> lower() const noexcept { return min_; }
    [[nodiscard]] std::optional<double> upper() const noexcept { return max_; }
    [[nodiscard]] const std::vector<std::string>& allowed() const noexcept { return choices_; }

    /// The current value as text, as it would be written in a TOML config.
    [[nodiscard]] std::string value_text() const {
        return std::visit(
            [](auto* p) -> std::string {
                using T = std::remove_pointer_t<decltype(p)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    std::string quoted = "\"";
                    for (char c : *p) {
                        if (c == '"' || c == '\\') quoted += '\\';
                        quoted += c;
                    }
                    return quoted + '"';
                } else if constexpr (std::is_same_v<T, bool>) {
                    return *p ? "true" : "false";
                } else {
                    char text[32];
                    const auto end = std::to_chars(text, text + sizeof text, *p).ptr;  // shortest exact form
                    return std::string(text, end);
                }
            },
            target_);
    }

  private:
    std::string name_;
    Target target_;
    std::string help_;
    std::optional<double> min_;
    std::optional<double> max_;
    std::vector<std::string> choices_;
    bool path_ = false;
    bool non_finite_ = false;
};

/// The options a job declares. Each `add` binds an option `--name` to a member of the job, whose current
/// value is the default. Declared once per job object, before the command line is parsed. pel checks the
/// declarations before it reads any value: a name declared twice, or a default that its own range or choices
/// refuse, is an error naming the job and the option.
class Options {
  public:
    /// Declares `--name` bound to `value`; its current value is the default.
    template <class T>
    OptionSpec& add(std::string name, T& value, std::string help) {
        return specs_.emplace_back(std::move(name), OptionSpec::Target{&value}, std::move(help));
    }

    [[nodiscard]] const std::vector<OptionSpec>& specs() const noexcept { return specs_; }

  private:
    std::vector<OptionSpec> specs_;
};

}  // namespace pel
