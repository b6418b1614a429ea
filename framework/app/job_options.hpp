// app/job_options.hpp: turning a job's declared options into CLI11 options.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "pel/options.hpp"

namespace pel::app {

/// Adds `spec` to `app` under `group`, with its range or choices checked.
void add_job_option(CLI::App& app, const OptionSpec& spec, const std::string& group);

/// Checks what job `job` declared before any value is read: every name once and well formed, ranges on numbers
/// only and not empty, choices on text only, every default one its own declaration allows (finite, in its range, one
/// of its choices). Throws Error::Plugin naming the job and the option: an author's mistake, not a user's.
void check_declarations(const std::string& job, const Options& declared);

/// "INT", "FLOAT", "TEXT" or "BOOL": the kind of value `spec` takes.
std::string kind_of(const OptionSpec& spec);

/// "[1, 100000]" or "{a, b}", or "" when any value of the kind is allowed.
std::string limits_of(const OptionSpec& spec);

}  // namespace pel::app
