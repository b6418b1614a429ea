// app/job_options.cpp: job options on the command line.
#include "app/job_options.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "app/number_check.hpp"
#include "pel/error.hpp"

namespace pel::app {

namespace {

std::string number_text(double v) {
    std::ostringstream os;
    os.precision(15);
    os << v;
    return os.str();
}

/// The number rule of a job's number option (none for text and flags).
std::optional<NumberRule> number_rule(const OptionSpec& spec) {
    const double lo = spec.lower().value_or(-INFINITY);
    const double hi = spec.upper().value_or(INFINITY);
    if (std::holds_alternative<std::int64_t*>(spec.target())) {
        return whole_rule(static_cast<double>(std::numeric_limits<std::int64_t>::min()),
                          static_cast<double>(std::numeric_limits<std::int64_t>::max()), lo, hi);
    }
    if (std::holds_alternative<double*>(spec.target())) return NumberRule{false, lo, hi, spec.allows_non_finite()};
    return std::nullopt;
}

/// The default of `spec` (its bound value before parsing) as text.
std::string default_text(const OptionSpec& spec) {
    if (auto* const* text = std::get_if<std::string*>(&spec.target())) return **text;
    return spec.value_text();
}

CLI::Validator choice_validator(const std::vector<std::string>& choices) {
    return CLI::Validator(
        [choices](std::string& input) -> std::string {
            for (const auto& c : choices) {
                if (input == c) return {};
            }
            std::string list;
            for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
            return "'" + shown(input) + "' is not one of: " + list;
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
    if (const auto rule = number_rule(spec)) option->transform(number_check(*rule));
    if (!spec.allowed().empty()) option->check(choice_validator(spec.allowed()));
}

void check_declarations(const std::string& job, const Options& declared) {
    const auto mistake = [&](const OptionSpec& spec, const std::string& what) {
        return Error::Plugin("job '" + shown(job) + "' declares option --" + shown(spec.name()) + " " + what);
    };
    const auto& specs = declared.specs();
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const OptionSpec& spec = specs[i];
        if (spec.name().empty() || spec.name().starts_with('-') ||
            spec.name().find_first_of(" \t=\"'") != std::string::npos) {
            throw Error::Plugin("job '" + shown(job) + "' declares an option named '" + shown(spec.name()) +
                                "': a name is letters, digits and dashes, without leading dashes");
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (specs[j].name() == spec.name()) throw mistake(spec, "twice");
        }
        const bool number =
            std::holds_alternative<std::int64_t*>(spec.target()) || std::holds_alternative<double*>(spec.target());
        if ((spec.lower() || spec.upper()) && !number) throw mistake(spec, "with a range, but it is not a number");
        if (spec.lower() || spec.upper()) {
            const double lo = spec.lower().value_or(-INFINITY);
            const double hi = spec.upper().value_or(INFINITY);
            if (std::isnan(lo) || std::isnan(hi) || lo > hi) {
                throw mistake(spec, "with the range " + limits_of(spec) + ", which holds no value");
            }
        }
        if (!spec.allowed().empty() && !std::holds_alternative<std::string*>(spec.target())) {
            throw mistake(spec, "with choices, but it is not a text option");
        }
        if (!spec.allowed().empty()) {
            const std::string value = default_text(spec);
            if (std::find(spec.allowed().begin(), spec.allowed().end(), value) == spec.allowed().end()) {
                throw mistake(spec, "with the default '" + shown(value) + "', which is not one of its choices " +
                                        limits_of(spec));
            }
        }
        if (const auto rule = number_rule(spec)) {
            std::string value = spec.value_text();
            if (const std::string problem = number_problem(value, *rule); !problem.empty()) {
                throw mistake(spec, "with a default its own declaration refuses: " + problem);
            }
        }
    }
}

}  // namespace pel::app
