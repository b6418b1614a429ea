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
for layout in "2 2 --chunk-size 7" "4 1 --chunk-size 1" "1 4 --chunk-size 13" "4 2 --schedule gss"; do
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

# --- Stopped mid-phase (SIGUSR1) on 3 ranks, resumed on another layout: the same bits. Once in the first phase, and
# once in the second (the first phase's rows then travel in the checkpoint).
SLOW=(--spin-us 300 --checkpoint-every 0.2)
# ckpt_point: "PHASE DONE_ITEMS" of the newest checkpoint in $TMP/run.ckpt (nothing if there is none).
ckpt_point() {
  local newest
  newest=$(ls "$TMP/run.ckpt"/ckpt-*.h5 2>/dev/null | sort | tail -1)
  [ -n "$newest" ] || return 0
  /usr/bin/python3 - "$newest" <<'PY' 2>/dev/null
import sys, h5py
f = h5py.File(sys.argv[1], "r")
attr = lambda name: f.attrs[name].decode() if isinstance(f.attrs[name], bytes) else str(f.attrs[name])
print(attr("phase"), attr("done_items"))
PY
}
# stop_in PHASE: starts the run on 3 ranks and sends SIGUSR1 once a checkpoint of PHASE is there (so the stop falls in
# it or just after); RC is the exit code.
stop_in() {
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  timeout 120 "$MPIRUN" -np 3 "$PEL" run ragged $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" \
    >"$TMP/out" 2>"$TMP/err" &
  local pid=$! point
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    point=$(ckpt_point)
    [ "${point%% *}" = "$1" ] && break
    sleep 0.05
  done
  pkill -USR1 -P "$pid"
  wait "$pid"
  RC=$?
}
for target in 0 1; do
  resumed=no
  for attempt in 1 2 3; do
    stop_in "$target"
    [ "$RC" = 75 ] || continue
    read -r phase done_items <<<"$(ckpt_point)"
    [ "$phase" = "$target" ] && [ "$done_items" -gt 0 ] && [ "$done_items" -lt 3000 ] || continue
    if [ "$target" = 0 ]; then layout=(2 run ragged --threads 2); else layout=(4 run ragged); fi
    expect_ok "${layout[@]}" $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" --resume
    same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "stopped in phase $target, resumed: differs: $(cat "$TMP/same")"
    resumed=yes
    break
  done
  [ "$resumed" = yes ] && pass || fail "no stop fell inside phase $target (last: exit $RC, checkpoint at ${phase:-?} ${done_items:-?})"
done

# --- SIGKILL of one rank once the second phase has a checkpoint, then --auto-resume on 2 x 2: the same bits.
rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
timeout 120 "$MPIRUN" -np 3 "$PEL" run ragged $J "${ARGS[@]}" "${SLOW[@]}" --output "$TMP/run.h5" \
  >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 600); do
  kill -0 "$pid" 2>/dev/null || break
  point=$(ckpt_point)
  [ "${point%% *}" = 1 ] && break
  sleep 0.05
done
launcher=$(pgrep -P "$pid" | head -1)
victim=$(pgrep -P "$launcher" -x pel | head -1)
if [ -n "$victim" ]; then
  kill -KILL "$victim"
  wait "$pid"
  [ "$(ckpt_point | cut -d' ' -f1)" = 1 ] && pass || fail "no checkpoint of phase 1 before the kill"
  expect_ok 2 run ragged $J "${ARGS[@]}" "${SLOW[@]}" --threads 2 --output "$TMP/run.h5" --auto-resume
  expect_contains "$TMP/err" "resuming"
  same_as "$TMP/ref.h5" "$TMP/run.h5" && pass || fail "killed and resumed: differs: $(cat "$TMP/same")"
else
  wait "$pid"
  fail "the run ended before a rank could be killed (exit $?)"
fi

finish
