# tests/app/item_inputs.sh: item inputs (pel::ItemInput) under a per-rank memory cap. kmeans reads its points batch
# by batch; with --max-rank-memory far below the input's size its results are bit-identical to an uncapped run at
# 1, 2 and 4 ranks x 1-4 threads and across a stop mid-phase and a resume on another layout; /stats/input_peak_bytes
# stays under the cap on every rank. Bad inputs and caps are one error line and a non-zero exit on every rank.
source "$(dirname "$0")/common.sh"

# 40000 points x 4 coordinates (1.25 MiB) around 12 blobs, written by h5py so that no pel code makes them.
/usr/bin/python3 - "$TMP/points.h5" <<'PY' || { echo "cannot write the points"; exit 1; }
import sys, h5py, numpy as np
rng = np.random.default_rng(5)
centres = rng.uniform(-50, 50, size=(12, 4))
points = centres[rng.integers(0, 12, size=40000)] + rng.normal(size=(40000, 4))
with h5py.File(sys.argv[1], "w") as f:
    f["points"] = points
    f["flat"] = points[:, 0]
    f["scalar"] = 3.0
    f["words"] = np.array([b"a", b"b"])
PY
base=(--input "$TMP/points.h5" --tolerance 0)
args=("${base[@]}" --k 16 --max-iterations 8)
attrs=(--attr iterations --attr inertia --attr converged --attr last_move)
cap=131072  # 128 KiB: 1/10 of the input
same_as_ref() { "$H5SAME" "$TMP/ref.h5" "$1" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1; }
# peaks_within FILE CAP: every rank held some input, and never more than CAP bytes.
peaks_within() {
  check_py "input_peak_bytes of $1" "$1" "$2" <<'PY'
import sys, h5py
peaks = h5py.File(sys.argv[1], "r")["stats/input_peak_bytes"][()]
cap = int(sys.argv[2])
assert len(peaks) > 0 and all(0 < p <= cap for p in peaks), f"peaks {list(peaks)} against cap {cap}"
print(list(peaks))
PY
}

expect_ok 1 run kmeans "${args[@]}" --output "$TMP/ref.h5"
for layout in "1 1" "1 4" "2 2" "4 1" "2 3"; do
  read -r np threads <<<"$layout"
  out="$TMP/capped-$np-$threads.h5"
  expect_ok "$np" run kmeans "${args[@]}" --threads "$threads" --max-rank-memory 128K --output "$out"
  same_as_ref "$out" && pass || fail "capped kmeans on $np x $threads differs from the uncapped run: $(cat "$TMP/same")"
  peaks_within "$out" "$cap"
done

# Stop on 2 ranks mid-phase (SIGUSR1 once the first periodic checkpoint is there), resume on 4 ranks x 2 threads
# with another schedule, under the cap: the same bits.
stopped=no
for delay in 0.2 0.05 0; do
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  timeout 120 "$MPIRUN" -np 2 "$PEL" run kmeans "${base[@]}" --k 200 --max-iterations 15 --max-rank-memory 128K \
    --output "$TMP/run.h5" --checkpoint-every 0.1 >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  usr1_after_checkpoint "$pid" "$TMP/run.ckpt" "$delay"
  wait "$pid"
  RC=$?
  if [ "$RC" = 75 ]; then stopped=yes; break; fi
done
if [ "$stopped" = yes ]; then
  pass
  expect_ok 1 run kmeans "${base[@]}" --k 200 --max-iterations 15 --output "$TMP/ref-long.h5"
  expect_ok 4 run kmeans "${base[@]}" --k 200 --max-iterations 15 --max-rank-memory 128K --threads 2 --schedule gss \
    --output "$TMP/run.h5" --checkpoint-every 0.1 --resume
  expect_contains "$TMP/err" "resuming"
  grep -q -E "resuming .*, [1-9][0-9]* of 40000 items done" "$TMP/err" && pass ||
    echo "note: the checkpoint resumed from fell between phases: $(grep resuming "$TMP/err" | head -1)"
  "$H5SAME" "$TMP/ref-long.h5" "$TMP/run.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "stopped and resumed under the cap, kmeans differs: $(cat "$TMP/same")"
  peaks_within "$TMP/run.h5" "$cap"
else
  fail "kmeans was never stopped by SIGUSR1 (exit $RC): $(head -c 400 "$TMP/err")"
fi

# Bad inputs and caps: one line, every rank ends.
expect_error 2 "kmeans: dataset '/flat' in '$TMP/points.h5' is 1-D; it must be 2-D" 2 run kmeans \
  --input "$TMP/points.h5" --dataset /flat --output "$TMP/x.h5"
expect_error 4 "item input '/scalar' in '$TMP/points.h5' is a scalar" 2 run kmeans --input "$TMP/points.h5" \
  --dataset /scalar --output "$TMP/x.h5"
expect_error 4 "item input '/words' in '$TMP/points.h5' does not hold numbers" 2 run kmeans --input "$TMP/points.h5" \
  --dataset /words --output "$TMP/x.h5"
expect_error 4 "dataset '/nothing' not found in '$TMP/points.h5'" 3 run kmeans --input "$TMP/points.h5" \
  --dataset /nothing --output "$TMP/x.h5"
expect_error 4 "has 40000 rows, fewer than the 200000 items x 1 rows per item the job needs" 2 run kmeans \
  --input "$TMP/points.h5" --points 200000 --output "$TMP/x.h5"
expect_error 2 "--max-rank-memory 64: one item's inputs take 32 bytes on each of 4 threads; the cap must be at least 128 bytes" \
  2 run kmeans --input "$TMP/points.h5" --threads 4 --max-rank-memory 64 --output "$TMP/x.h5"
expect_error 2 "--max-rank-memory: '12Q' is not a size in bytes" 2 run kmeans --input "$TMP/points.h5" \
  --max-rank-memory 12Q --output "$TMP/x.h5"
finish
