// exec/signals.hpp: SIGUSR1, SIGTERM and SIGINT (Ctrl-C) ask a run to write a checkpoint and stop.
#pragma once

namespace pel::exec {

/// Installs handlers for SIGUSR1, SIGTERM and SIGINT that only note the signal (async-signal-safe); the run sees it
/// between batches, writes a checkpoint and exits with ExitCode::resumable. A second SIGTERM or SIGINT 2 s or more
/// after the first ends the process at once with 128 + the signal (one sooner is the same request by another path).
/// Unblocks all three, should the mask that pel was started with block them.
void install_stop_signals();

/// The signal that asked the run to stop, or 0.
[[nodiscard]] int stop_signal() noexcept;

/// What stop_signal() says when the run stops itself before its time limit (not a real signal number).
constexpr int kTimeLimitStop = 1000;

/// What stop_signal() says when a kernel asked to end its phase early (Context::request_stop): rank 0 pauses the
/// phase as for a signal, and the run then forgets it (forget_job_stop) instead of stopping.
constexpr int kJobStop = 1001;

/// Forgets kJobStop, and nothing else: a real signal that came since stays noted.
void forget_job_stop() noexcept;

/// Asks the run to checkpoint and stop as a signal would, with `reason` (kTimeLimitStop) unless a signal came first.
void request_stop(int reason) noexcept;

/// Forgets a noted signal (for tests).
void clear_stop_signal() noexcept;

}  // namespace pel::exec
