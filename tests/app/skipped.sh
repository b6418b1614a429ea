#!/usr/bin/env bash
# tests/app/skipped.sh: --on-error skip says what it skipped. The summary line and pel report count the skipped
# items by phase; a skipped item's row does not read as a real 0 (NaN in a floating output, 1 in
# /skipped/rows/OUTPUT for every output); --fail-on-skip makes the exit code 5 with the results still written.
# Usage: skipped.sh AUTHOR_PLUGIN_DIR (the authors test job: a floating and an integer output, --fail-at).
source "$(dirname "$0")/common.sh"
A="--job-path ${1:?the directory of the authors test plugin}"
unset PEL_JOB_PATH PEL_TEST_AUTHOR

# check_rows FILE SKIPPED...: the rows of the skipped items hold no value, and are marked; every other row is real.
check_rows() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
skipped = sorted(int(i) for i in sys.argv[2:])
value, count = f["value"][:], f["count"][:]
assert f.attrs["skipped_items"] == len(skipped), f.attrs["skipped_items"]
assert sorted(f["skipped/item"][:].tolist()) == skipped, f["skipped/item"][:]
for name in ("value", "count"):
    mask = f["skipped/rows/" + name][:]
    assert mask.dtype == np.uint8 and mask.shape == (len(value),), (name, mask.dtype, mask.shape)
    assert np.flatnonzero(mask).tolist() == skipped, (name, np.flatnonzero(mask))
assert np.isnan(value[skipped]).all(), value[skipped]
assert np.isfinite(np.delete(value, skipped)).all(), "a row that was computed reads NaN"
assert (np.delete(count[:, 1], skipped) == -1).all(), "an integer row that was computed is not as written"
PY
}

# --- Skipped on 2 ranks: exit 0, the summary line counts it, the rows are NaN and marked.
expect_ok 2 run authors $A --items 40 --fail-at 7 --on-error skip --output "$TMP/s.h5"
expect_contains "$TMP/out" "pel: 1 item skipped (phase 0: 1) by --on-error skip; listed in /skipped, their rows hold no value"
check_rows "$TMP/s.h5" 7 && pass || fail "the skipped row of item 7 is not marked as without a value"
pel_np 1 report "$TMP/s.h5"
[ "$RC" = 0 ] && pass || fail "pel report exited $RC"
expect_contains "$TMP/out" "skipped: 1 item skipped (phase 0: 1) by --on-error skip"

# --- Retried first, still skipped; on 1 rank and with threads too.
expect_ok 1 run authors $A --items 40 --fail-at 0 --max-retries 1 --on-error skip --threads 2 --output "$TMP/s1.h5"
check_rows "$TMP/s1.h5" 0 && pass || fail "the skipped row of item 0 is not marked"

# --- --fail-on-skip: exit 5, the results file written all the same, the summary says why.
pel_np 2 run authors $A --items 40 --fail-at 39 --on-error skip --fail-on-skip --output "$TMP/f.h5"
[ "$RC" = 5 ] && pass || fail "--fail-on-skip with a skipped item exited $RC, not 5: $(head -c 600 "$TMP/err")"
expect_contains "$TMP/out" "1 item skipped (phase 0: 1) by --on-error skip"
expect_contains "$TMP/out" "exit 5 (--fail-on-skip)"
check_rows "$TMP/f.h5" 39 && pass || fail "--fail-on-skip left no complete results file"
# Nothing skipped: exit 0, and nothing said of skips.
expect_ok 2 run authors $A --items 40 --on-error skip --fail-on-skip --output "$TMP/n.h5"
grep -q "skipped" "$TMP/out" && fail "a run that skipped nothing talks of skips: $(cat "$TMP/out")" || pass
pel_np 1 report "$TMP/n.h5"
expect_contains "$TMP/out" "skipped: none"
# Without --on-error skip, --fail-on-skip means nothing: a usage error.
expect_error 2 "--fail-on-skip needs --on-error skip" 2 run authors $A --fail-on-skip --output "$TMP/u.h5"

# --- pel run --help documents both.
"$PEL" run --help >"$TMP/help" 2>&1
expect_contains "$TMP/help" "NaN in floating outputs, 1 in /skipped/rows/OUTPUT"
expect_contains "$TMP/help" "exit 5 instead of 0 when any item was skipped"

finish
