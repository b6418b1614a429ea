#!/usr/bin/env bash
# tests/app/ragged.sh: ragged item outputs (the ragged test job). The layout is readable with h5py alone
# (NAME/values, NAME/offsets) and holds what each item appended; it is bit-identical on 1, 2 and 4 ranks x 1-4
# threads and any chunk size, and after a stop mid-phase (in the first phase and in the second, with the first's
# rows in the checkpoint) resumed on another layout.
# Usage: ragged.sh RAGGED_PLUGIN_DIR
source "$(dirname "$0")/common.sh"
J="--job-path ${1:?the directory of the ragged test plugin}"
unset PEL_JOB_PATH
ARGS=(--items 3000 --phases 2 --max-values 6 --seed 11)

same_as() {
  "$H5SAME" "$1" "$2" --attr total_values --ignore /stats >"$TMP/same" 2>&1
}

# --- The layout, read without pel: offsets from 0, one more than items, their steps the counts; the values.
expect_ok 1 run ragged $J "${ARGS[@]}" --output "$TMP/ref.h5"
check_py layout "$TMP/ref.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
off, val, count = f["divisors/offsets"][:], f["divisors/values"][:], f["count"][:]
assert off.dtype == np.uint64 and off.shape == (3001,), (off.dtype, off.shape)
assert val.dtype == np.int64 and val.ndim == 1, val.dtype
assert off[0] == 0 and off[-1] == len(val), (off[0], off[-1], len(val))
assert (np.diff(off) == count).all(), "offsets do not step by the counts"
assert f.attrs["total_values"] == len(val), (f.attrs["total_values"], len(val))
assert 0 < (count == 0).sum() < 3000, "no empty rows or only empty rows: a poor test"
for i in (0, 1, 2, 1234, 2999):  # the second phase (1) rewrote the first: its values
    assert val[off[i]:off[i + 1]].tolist() == [i * 1000 + k + 1 for k in range(count[i])], (i, val[off[i]:off[i + 1]])
expect = np.concatenate([np.arange(c) + i * 1000 + 1 for i, c in enumerate(count)])
assert (val == expect).all(), "values out of item order"
so, sv = f["sizes/offsets"][:], f["sizes/values"][:]
assert sv.dtype == np.float32 and (np.diff(so) == (count > 0)).all() and (sv == count[count > 0]).all()
PY

# --- Bit-identical on other layouts and chunk sizes.
for layout in "2 1 --chunk-size 7" "2 2" "4 1 --chunk-size 1" "1 4 --chunk-size 13" "4 2 --schedule gss"; do
  set -- $layout
  np=$1 threads=$2; shift 2
  expect_ok "$np" run ragged $J "${ARGS[@]}" --threads "$threads" "$@" --output "$TMP/l.h5"
  same_as "$TMP/ref.h5" "$TMP/l.h5" && pass || fail "$np ranks x $threads threads $*: differs: $(cat "$TMP/same")"
done

# --- An empty output (no item appends a value) and zero items: empty values, offsets all 0.
expect_ok 2 run ragged $J --items 50 --max-values 0 --output "$TMP/e.h5"
expect_ok 2 run ragged $J --items 0 --output "$TMP/z.h5"
check_py empty "$TMP/e.h5" "$TMP/z.h5" <<'PY'
import sys, h5py
for path, items in ((sys.argv[1], 50), (sys.argv[2], 0)):
    f = h5py.File(path, "r")
    assert f["divisors/values"].shape == (0,) and f["divisors/offsets"][:].tolist() == [0] * (items + 1), path
PY

# --- Stopped mid-phase (SIGUSR1) on 3 ranks, resumed on 2 ranks x 2 threads and on 4 x 1: the same bits. Early and
# late stops, so that one falls in the first phase and one in the second (the first's rows in the checkpoint).
SLOW=(--spin-us 400 --checkpoint-every 0.2)
stop_after() {
  local delay=$1; shift
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  timeout 120 "$MPIRUN" -np 3 "$PEL" run ragged $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" "$@" \
    >"$TMP/out" 2>"$TMP/err" &
  local pid=$!
  for _ in $(seq 300); do
    ls "$TMP/run.ckpt"/ckpt-*.h5 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  sleep "$delay"
  pkill -USR1 -P "$pid"
  wait "$pid"
  RC=$?
}
phases_seen=""
for delay in 0 0.7; do
  stop_after "$delay"
  if [ "$RC" != 75 ]; then fail "not stopped after ${delay}s (exit $RC): $(head -c 400 "$TMP/err")"; continue; fi
  phases_seen+=" $(grep -o 'phase [0-9]' "$TMP/err" | tail -1)"
  expect_ok 2 run ragged $J "${ARGS[@]}" "${SLOW[@]}" --threads 2 --output "$TMP/run.h5" --resume
  same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "stopped at ${delay}s, resumed on 2x2: differs: $(cat "$TMP/same")"
done
stop_after 0.3
if [ "$RC" = 75 ]; then
  expect_ok 4 run ragged $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" --resume
  same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "resumed on 4 ranks: differs: $(cat "$TMP/same")"
else
  fail "not stopped after 0.3s (exit $RC)"
fi
echo "stops fell in:$phases_seen"


finish
