// app/job_options.cpp: job options on the command line.
#include "app/job_options.hpp"

#include <cmath>
#include <sstream>

namespace pel::app {

namespace {

std::string number_text(double v) {
    std::ostringstream os;
    os.precision(15);
    os << v;
    return os.str();
}

CLI::Validator range_validator(double lo, double hi) {
    return CLI::Validator(
        [lo, hi](std::string& input) -> std::string {
            double value = 0;
            if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not a number";
            if (value < lo) return "value " + input + " is below the minimum " + number_text(lo);
            if (value > hi) return "value " + input + " is above the maximum " + number_text(hi);
            return {};
        },
        "");
}

CLI::Validator choice_validator(const std::vector<std::string>& choices) {
    return CLI::Validator(
        [choices](std::string& input) -> std::string {
            for (const auto& c : choices) {
                if (input == c) return {};
            }
            std::string list;
            for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
            return "'" + input + "' is not one of: " + list;
        },
        "");
}

}  // namespace

std::string kind_of(const OptionSpec& spec) {
    return std::visit(
        [](auto* p) -> std::string {
            using T = std::remove_pointer_t<decltype(p)>;
            if constexpr (std::is_same_v<T, std::int64_t>) return "INT";
            if constexpr (std::is_same_v<T, double>) return "FLOAT";
            if constexpr (std::is_same_v<T, std::string>) return "TEXT";
            return "BOOL";
        },
        spec.target());
}

std::string limits_of(const OptionSpec& spec) {
    if (!spec.allowed().empty()) {
        std::string list;
        for (const auto& c : spec.allowed()) list += (list.empty() ? "" : ", ") + c;
        return "{" + list + "}";
    }
    if (spec.lower() || spec.upper()) {
        const double lo = spec.lower().value_or(-INFINITY);
        const double hi = spec.upper().value_or(INFINITY);
        return "[" + (std::isinf(lo) ? std::string("-inf") : number_text(lo)) + ", " +
               (std::isinf(hi) ? std::string("inf") : number_text(hi)) + "]";
    }
    return {};
}

void add_job_option(CLI::App& app, const OptionSpec& spec, const std::string& group) {
    const std::string flag = "--" + spec.name();
    std::string help = spec.help();
    if (const std::string limits = limits_of(spec); !limits.empty()) help += " " + limits;
    CLI::Option* option = std::visit(
        [&](auto* p) -> CLI::Option* {
            using T = std::remove_pointer_t<decltype(p)>;
            if constexpr (std::is_same_v<T, bool>) {
                return app.add_flag(flag, *p, help);
            } else {
                return app.add_option(flag, *p, help)->capture_default_str();
            }
        },
        spec.target());
    option->group(group);
    if (spec.lower() || spec.upper()) {
        option->check(range_validator(spec.lower().value_or(-INFINITY), spec.upper().value_or(INFINITY)));
    }
    if (!spec.allowed().empty()) option->check(choice_validator(spec.allowed()));
}

}  // namespace pel::app
