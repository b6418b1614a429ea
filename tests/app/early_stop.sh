#!/usr/bin/env bash
# tests/app/early_stop.sh: a kernel ends its phase early (Context::request_stop; the ragged test job's
# --stop-one-in). The first item that asks is the same on every layout, so the results are: every item up to it,
# none after (their rows empty and their share of the partial gone); bit-identical on 1, 2 and 4 ranks x 1-4
# threads and any chunk size, and after a stop signal mid-phase resumed on another layout.
# Usage: early_stop.sh RAGGED_PLUGIN_DIR
source "$(dirname "$0")/common.sh"
J="--job-path ${1:?the directory of the ragged test plugin}"
unset PEL_JOB_PATH
ARGS=(--items 20000 --stop-one-in 3000 --stop-from 5000 --seed 3)

same_as() {
  "$H5SAME" "$1" "$2" --attr total_values --ignore /stats >"$TMP/same" 2>&1
}

# --- On one rank: the stop is the first item the rule picks; nothing after it, the total only of items up to it.
expect_ok 1 run ragged $J "${ARGS[@]}" --output "$TMP/ref.h5" --verbose
check_py "first stop" "$TMP/ref.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
count, off = f["count"][:], f["divisors/offsets"][:]
last = np.flatnonzero(count).max()
assert 5000 <= last < 19000, last
assert (count[last + 1:] == 0).all() and (np.diff(off)[last + 1:] == 0).all(), "rows after the stop"
assert f.attrs["total_values"] == count.sum() == off[-1], (f.attrs["total_values"], count.sum(), off[-1])
PY
stop=$(grep -o "stops after item [0-9]*" "$TMP/err" | grep -o "[0-9]*$")
[ -n "$stop" ] && pass || fail "no line says where the phase stopped: $(head -c 400 "$TMP/err")"
# The rule, as the job computes it (Philox is pel's; the first item it picks is checked against the line above):
# the rows after the stop are empty, and the item itself is the last that may have values.
check_py "stop item" "$TMP/ref.h5" "${stop:-0}" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
stop = int(sys.argv[2])
count = f["count"][:]
assert (count[stop + 1:] == 0).all() and count[:stop + 1].sum() == f.attrs["total_values"], stop
PY

# --- Any layout: the same bits.
for layout in "2 2" "4 1 --chunk-size 5" "1 4 --chunk-size 3" "3 2 --spin-us 20"; do
  set -- $layout
  np=$1 threads=$2; shift 2
  expect_ok "$np" run ragged $J "${ARGS[@]}" --threads "$threads" "$@" --output "$TMP/l.h5"
  same_as "$TMP/ref.h5" "$TMP/l.h5" && pass || fail "$np ranks x $threads threads $*: differs: $(cat "$TMP/same")"
done

# --- A stop signal mid-phase on 3 ranks (before or after the kernel's stop), resumed on 2 x 2: the same bits.
SLOW=(--spin-us 300 --checkpoint-every 0.2)
rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
timeout 120 "$MPIRUN" -np 3 "$PEL" run ragged $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 600); do
  ls "$TMP/run.ckpt"/ckpt-*.h5 >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
pkill -USR1 -P "$pid"
wait "$pid"
RC=$?
if [ "$RC" = 75 ]; then
  pass
  expect_ok 2 run ragged $J "${ARGS[@]}" "${SLOW[@]}" --threads 2 --output "$TMP/run.h5" --resume
  same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "stopped and resumed: differs: $(cat "$TMP/same")"
else
  fail "not stopped by SIGUSR1 (exit $RC): $(head -c 400 "$TMP/err")"
fi
finish
