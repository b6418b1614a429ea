# tests/app/levels.sh: two scheduling levels (--levels 2): the same bits as one rank for groups of every shape; a
# stop mid-phase and a SIGKILL of a group leader's rank, each resumed (on another layout, or with two levels again)
# to the bits of an uninterrupted run; the choice recorded in /stats; bad values refused with one clear line. (What
# --levels auto picks, and why, is unit-tested: tests/exec/levels_test.cpp.)
source "$(dirname "$0")/common.sh"

attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
same_as() { "$H5SAME" "$1" "$2" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1; }
# stats_levels FILE: the /stats levels attribute.
stats_levels() {
  /usr/bin/python3 -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r")["stats"].attrs["levels"])' "$1"
}

# Groups of one, two and three ranks, by count and by node (one node here: one group of all ranks but rank 0).
quick=(--items 2000 --mean-us 50 --mode sleep --distribution pareto --seed 7)
expect_ok 1 run synthetic "${quick[@]}" --output "$TMP/quick.h5"
for layout in "4 1 ss --group-size 2" "7 1 awf --group-size 3" "4 2 gss"; do
  read -r np threads schedule more <<<"$layout"
  read -r -a more_args <<<"$more"
  expect_ok "$np" run synthetic "${quick[@]}" --threads "$threads" --schedule "$schedule" --levels 2 \
    "${more_args[@]}" --output "$TMP/l.h5"
  same_as "$TMP/quick.h5" "$TMP/l.h5" && pass || fail "--levels 2 on $layout differs from 1 rank: $(cat "$TMP/same")"
  [ "$(stats_levels "$TMP/l.h5")" = "2 (asked for)" ] && pass || fail "/stats levels: $(stats_levels "$TMP/l.h5")"
done
# Bad values: one clear line, a usage exit on every rank.
expect_error 2 "--levels: '3' is not 1, 2 or auto" 1 run synthetic --items 10 --levels 3
expect_error 2 "--levels 2 with --on-error skip" 1 run synthetic --items 10 --levels 2 --on-error skip

# A stop mid-phase (SIGUSR1, after the first periodic checkpoint) with two levels, resumed on one level elsewhere.
long=(--items 1500 --mean-us 800 --mode sleep --distribution pareto --seed 7)
expect_ok 1 run synthetic "${long[@]}" --output "$TMP/ref.h5"
# start_run NP ARGS...: pel in the background ($RUN: timeout's pid), once its first checkpoint is in $TMP/run.ckpt.
start_run() {
  local np=$1; shift
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  timeout 120 "$MPIRUN" -np "$np" "$PEL" "$@" >"$TMP/out" 2>"$TMP/err" &
  RUN=$!
  for _ in $(seq 400); do
    ls "$TMP/run.ckpt"/ckpt-*.h5 >/dev/null 2>&1 && return 0
    kill -0 "$RUN" 2>/dev/null || return 1
    sleep 0.05
  done
}
stopped=no
for delay in 0.3 0.1 0; do
  start_run 5 run synthetic "${long[@]}" --levels 2 --group-size 2 --output "$TMP/run.h5" --checkpoint-every 0.2
  sleep "$delay"
  pkill -USR1 -P "$RUN"  # timeout's one child: mpirun, which forwards it
  wait "$RUN"
  RC=$?
  if [ "$RC" = 75 ]; then stopped=yes; break; fi
  [ "$RC" = 0 ] || { fail "exit $RC after SIGUSR1 with --levels 2: $(head -c 400 "$TMP/err")"; break; }
done
[ "$stopped" = yes ] && pass || fail "--levels 2 never stopped by SIGUSR1 (exit $RC)"
expect_ok 3 run synthetic "${long[@]}" --levels 1 --threads 2 --output "$TMP/run.h5" --checkpoint-every 0.2 --resume
expect_contains "$TMP/err" "resuming"
same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "stopped with 2 levels, resumed with 1: $(cat "$TMP/same")"

# SIGKILL of a leader's rank (rank 2 leads ranks 2-3 with groups of 2) mid-phase: the run dies; resumed with two
# levels on another grouping, the result is exact.
killed=no
for delay in 0.4 0.2 0; do
  start_run 5 run synthetic "${long[@]}" --levels 2 --group-size 2 --output "$TMP/run.h5" --checkpoint-every 0.2
  sleep "$delay"
  mpirun_pid=$(pgrep -P "$RUN" | head -1)
  leader=""
  for p in $(pgrep -P "$mpirun_pid"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=2; then leader=$p; fi
  done
  [ -n "$leader" ] && kill -KILL "$leader"
  wait "$RUN"
  RC=$?
  if [ -n "$leader" ] && [ "$RC" != 0 ] && [ "$RC" != 124 ]; then killed=yes; break; fi
done
[ "$killed" = yes ] && pass || fail "no SIGKILL of a leader's rank interrupted a run (exit $RC)"
ls "$TMP/run.ckpt"/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "no checkpoint left after the kill"
expect_ok 6 run synthetic "${long[@]}" --levels 2 --group-size 3 --output "$TMP/run.h5" --checkpoint-every 0.2 \
  --resume
expect_contains "$TMP/err" "resuming"
same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "a leader killed, resumed with 2 levels: $(cat "$TMP/same")"
finish
