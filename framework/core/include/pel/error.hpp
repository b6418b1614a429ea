// pel/error.hpp: the one error root of pel; every failure a user can cause becomes a pel::Error.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pel {

/// Process exit codes. Every rank of a failed run exits with the same non-zero code.
enum class ExitCode : int {
    ok = 0,
    failure = 1,     ///< the run started but a job or the framework failed
    usage = 2,       ///< bad command line, option value or config file
    plugin = 3,      ///< a job plugin could not be found or loaded
    io = 4,          ///< an input or output file could not be read or written
    skipped = 5,     ///< the run finished and wrote its results, but skipped items (--on-error skip --fail-on-skip)
    internal = 70,   ///< a bug in pel (EX_SOFTWARE)
    resumable = 75,  ///< stopped by a signal or a time limit after writing a checkpoint: run again with --resume
                     ///< (EX_TEMPFAIL)
};

/// The root of every error pel reports. `what()` is one line naming what is wrong.
class Error : public std::runtime_error {
  public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

    /// The exit code the process ends with when this error stops a run.
    [[nodiscard]] ExitCode code() const noexcept { return code_; }

    /// A bad option value, config key or command line.
    static Error Usage(const std::string& message) { return {ExitCode::usage, message}; }
    /// A job plugin that cannot be found, loaded or trusted.
    static Error Plugin(const std::string& message) { return {ExitCode::plugin, message}; }
    /// A file that cannot be read or written.
    static Error Io(const std::string& message) { return {ExitCode::io, message}; }
    /// A job or run failure after start-up.
    static Error Failure(const std::string& message) { return {ExitCode::failure, message}; }
    /// A broken invariant inside pel.
    static Error Internal(const std::string& message) { return {ExitCode::internal, "internal error: " + message}; }

  private:
    ExitCode code_;
};

/// `text` as a message quotes it: whole up to 80 characters, else its first 80 and "... (N characters)", so that a
/// value of a megabyte (a job name, an option's value) does not become an error line of a megabyte.
inline std::string shown(std::string_view text) {
    constexpr std::size_t kShownChars = 80;
    if (text.size() <= kShownChars) return std::string(text);
    return std::string(text.substr(0, kShownChars)) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace pel
