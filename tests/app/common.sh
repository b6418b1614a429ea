# tests/app/common.sh: helpers for command tests. Sourced; expects PEL, MPIRUN, H5SAME from CTest's environment.
set -u
: "${PEL:?PEL must name the pel binary}" "${MPIRUN:=mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d /tmp/pel-cmd-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILURES=0
CHECKS=0

fail() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
pass() { CHECKS=$((CHECKS + 1)); }

# pel_np NP ARGS...: runs pel on NP ranks (bounded in time); stdout in $TMP/out, stderr in $TMP/err, code in $RC.
pel_np() {
  local np=$1; shift
  timeout 120 "$MPIRUN" -np "$np" "$PEL" "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  if [ "$RC" = 124 ]; then fail "hung: pel $* on $np ranks"; fi
}

# expect_ok NP ARGS...: the run must succeed.
expect_ok() {
  pel_np "$@"
  if [ "$RC" != 0 ]; then fail "exit $RC from pel ${*:2} on $1 ranks: $(head -c 600 "$TMP/err")"; else pass; fi
}

# expect_code CODE NP ARGS...: the run must complete with exit code CODE (a farm with failures: 100 + failures).
expect_code() {
  local code=$1; shift
  pel_np "$@"
  if [ "$RC" != "$code" ]; then fail "exit $RC (not $code) from pel ${*:2}: $(head -c 600 "$TMP/err")"; else pass; fi
}

# check_py NAME ARGS...: runs the Python on stdin with ARGS (Debian's python3, with h5py); a failure is reported
# under NAME.
check_py() {
  local name=$1; shift
  /usr/bin/python3 - "$@" >"$TMP/check" 2>&1 && pass || fail "$name: $(tail -c 800 "$TMP/check")"
}

# expect_error CODE FRAGMENT NP ARGS...: the run must exit CODE, and FRAGMENT must appear on exactly one
# error line of stderr (said once, not once per rank), with no crash or MPI abort.
expect_error() {
  local code=$1 fragment=$2; shift 2
  pel_np "$@"
  local lines
  lines=$(grep -c -F -- "$fragment" "$TMP/err")
  if [ "$RC" != "$code" ]; then
    fail "expected exit $code, got $RC from pel ${*:2} on $1 ranks: $(head -c 600 "$TMP/err")"
  elif [ "$lines" != 1 ]; then
    fail "expected '$fragment' once in stderr of pel ${*:2} on $1 ranks, found $lines: $(head -c 600 "$TMP/err")"
  elif grep -q -E "MPI_ABORT|Segmentation|core dumped|terminate called|Abort" "$TMP/err"; then
    fail "crash or abort from pel ${*:2}: $(head -c 600 "$TMP/err")"
  elif [ "$(grep -c 'error:' "$TMP/err")" != 1 ]; then
    fail "more than one error line from pel ${*:2}: $(head -c 600 "$TMP/err")"
  else
    pass
  fi
}

# expect_contains FILE FRAGMENT: FILE must contain FRAGMENT.
expect_contains() {
  if grep -q -F -- "$2" "$1"; then pass; else fail "'$2' not in $1: $(head -c 400 "$1")"; fi
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second; fails the check after SECONDS.
wait_for() {
  local seconds=$1 what=$2 i; shift 2
  for ((i = 0; i < seconds * 2; i++)); do "$@" && return 0; sleep 0.5; done
  fail "timed out after ${seconds}s waiting for: $what"
  return 1
}

# usr1_after_checkpoint PID CKPT_DIR DELAY: once CKPT_DIR holds a checkpoint (or PID, `timeout` around mpirun, has
# ended; at most 15 s), waits DELAY seconds and sends SIGUSR1 to PID's one child, mpirun, which forwards it.
usr1_after_checkpoint() {
  local pid=$1 dir=$2 delay=$3 i
  for i in $(seq 300); do
    ls "$dir"/ckpt-*.h5 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  sleep "$delay"
  pkill -USR1 -P "$pid"
}

finish() {
  echo "$CHECKS passed, $FAILURES failed"
  [ "$FAILURES" = 0 ]
}
