// app/number_check.cpp: the check of a number option's text: kind, finiteness, range; messages naming the value.
#include "app/number_check.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "pel/error.hpp"

namespace pel::app {

namespace {

/// `text` read whole as a floating-point number (strtod: also "nan", "inf", hex floats), or false.
bool read_double(const std::string& text, double& value) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front())) != 0) return false;
    char* end = nullptr;
    errno = 0;
    value = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}

std::string range_problem(const std::string& shown_text, double value, const NumberRule& rule) {
    if (value < rule.lo) return "value " + shown_text + " is below the minimum " + bound_text(rule.lo);
    if (value > rule.hi) return "value " + shown_text + " is above the maximum " + bound_text(rule.hi);
    return {};
}

/// A bound of a whole number as a message shows it: 2^63 - 1 and -2^63 exactly, which a double cannot hold.
std::string whole_bound_text(double v) {
    if (v >= 0x1p63) return std::to_string(std::numeric_limits<std::int64_t>::max());
    if (v <= -0x1p63) return std::to_string(std::numeric_limits<std::int64_t>::min());
    return bound_text(v);
}

std::string whole_problem(std::string& text, const NumberRule& rule) {
    const std::string quoted = shown(text);
    std::int64_t value = 0;
    const char* first = text.c_str() + (text.starts_with('+') ? 1 : 0);
    const char* last = text.c_str() + text.size();
    const auto [end, ec] = std::from_chars(first, last, value);
    if (end == last && first != last && ec == std::errc::result_out_of_range) {
        // Beyond 64 bits: a whole number still, out of every option's range; the sign says which end.
        return "value " + quoted + " is " +
               (text.starts_with('-') ? "below the minimum " + whole_bound_text(rule.lo)
                                      : "above the maximum " + whole_bound_text(rule.hi));
    }
    if (end != last || first == last || ec != std::errc()) {
        double number = 0;
        if (read_double(text, number)) return "'" + quoted + "' is not a whole number";
        return "'" + quoted + "' is not a number";
    }
    // Compared as integers where a double would round (2^63 - 1 is not a double).
    if (static_cast<double>(value) < rule.lo ||
        (rule.lo > -9.2e18 && value < static_cast<std::int64_t>(std::ceil(rule.lo)))) {
        return "value " + quoted + " is below the minimum " + whole_bound_text(rule.lo);
    }
    if (static_cast<double>(value) > rule.hi ||
        (rule.hi < 9.2e18 && value > static_cast<std::int64_t>(std::floor(rule.hi)))) {
        return "value " + quoted + " is above the maximum " + whole_bound_text(rule.hi);
    }
    text = std::to_string(value);  // CLI11 reads "010" as octal: give it the decimal checked
    return {};
}

}  // namespace

std::string bound_text(double v) {
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    if (v == std::trunc(v) && std::fabs(v) < 9.2e18) return std::to_string(static_cast<std::int64_t>(v));
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    return std::string(text, end);
}

NumberRule whole_rule(double type_lo, double type_hi, double lo, double hi) {
    NumberRule rule;
    rule.whole = true;
    rule.lo = std::max(type_lo, lo);
    rule.hi = std::min(type_hi, hi);
    return rule;
}

std::string number_problem(std::string& text, const NumberRule& rule) {
    if (rule.whole) return whole_problem(text, rule);
    const std::string quoted = shown(text);
    double value = 0;
    if (!read_double(text, value)) return "'" + quoted + "' is not a number";
    if (!rule.non_finite && !std::isfinite(value)) return "'" + quoted + "' is not a finite number";
    if (std::isnan(value)) return {};
    if (std::string problem = range_problem(quoted, value, rule); !problem.empty()) return problem;
    if (std::isfinite(value)) text = bound_text(value);  // one exact form, whatever CLI11 would make of hex
    return {};
}

CLI::Validator number_check(const NumberRule& rule) {
    return CLI::Validator([rule](std::string& text) { return number_problem(text, rule); }, "");
}

}  // namespace pel::app
