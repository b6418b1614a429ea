# tests/app/disk_full.sh: checkpoints on a file system that fills up: one clear error on every rank, the previous
# checkpoint intact, and a resume from it that ends with the exact results. Needs root to mount a small tmpfs;
# skipped (exit 77, which CTest reports as skipped) where that is not allowed.
source "$(dirname "$0")/common.sh"
mkdir -p "$TMP/small"
if ! mount -t tmpfs -o size=3m tmpfs "$TMP/small" 2>/dev/null; then
  echo "SKIPPED: cannot mount a tmpfs here (needs root): the full-disk test did not run"
  exit 77
fi
trap 'umount "$TMP/small" 2>/dev/null; rm -rf "$TMP"' EXIT
args=(--width 1200 --height 900 --max-iterations 2000)
expect_ok 1 run mandelbrot "${args[@]}" --output "$TMP/ref.h5"
# 1200 x 900 rows of 4 bytes are 4.3 MB: early checkpoints fit in 3 MB, later ones cannot.
expect_error 4 "checkpoint" 2 run mandelbrot "${args[@]}" --output "$TMP/run.h5" --checkpoint-every 0.05 \
  --checkpoint-dir "$TMP/small/ckpt" --keep 1
expect_contains "$TMP/err" "space"
[ -e "$TMP/run.h5" ] && fail "a run that failed left a results file" || pass
ls "$TMP/small/ckpt"/*.part >/dev/null 2>&1 && fail "a partial checkpoint was left behind" || pass
ls "$TMP/small/ckpt"/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "the previous checkpoint is gone"
expect_ok 2 run mandelbrot "${args[@]}" --output "$TMP/run.h5" --checkpoint-dir "$TMP/small/ckpt" --resume
"$H5SAME" "$TMP/ref.h5" "$TMP/run.h5" --attr total_iterations --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "resumed after a full disk, the result differs: $(cat "$TMP/same")"
h5dump -a resumed_from "$TMP/run.h5" >/dev/null 2>&1 && pass || fail "the run did not resume from the checkpoint"
finish
