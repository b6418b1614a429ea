// app/number_check.hpp: the one check of a number option's text, shared by pel's own options and jobs' options, on
// the command line and in a config: a number of the option's kind, finite, within the option's range.
#pragma once

#include <CLI/CLI.hpp>
#include <limits>
#include <string>

namespace pel::app {

/// What values a number option takes.
struct NumberRule {
    bool whole = false;  ///< an integer option: "1.5" and "1e3" are refused, and so is a value beyond [lo, hi]
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    bool non_finite = false;  ///< NaN and infinities allowed (a floating-point option that says so)
};

/// The rule of an integer option of a C++ type that holds [type_lo, type_hi], narrowed to [lo, hi].
NumberRule whole_rule(double type_lo, double type_hi, double lo, double hi);

/// Why `text` is not a value `rule` allows ("'1.5' is not a whole number"), or "" when it is one; the value is quoted
/// bounded (pel::shown). On success, `text` is rewritten in a canonical form the option's conversion reads as the
/// value checked (a decimal integer, or the shortest exact decimal of a floating-point number).
std::string number_problem(std::string& text, const NumberRule& rule);

/// A CLI11 validator applying number_problem(): runs on every value, from the command line or a config file, before
/// CLI11 converts it.
CLI::Validator number_check(const NumberRule& rule);

/// `v` as a message shows a bound: the shortest exact decimal, "inf" or "-inf".
std::string bound_text(double v);

}  // namespace pel::app
