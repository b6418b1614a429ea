# tests/app/checkpoint.sh: stop a run with a signal mid-phase, resume it on another layout, and get the same bits as
# an uninterrupted run; damaged, foreign and missing checkpoints; an unwritable checkpoint directory.
source "$(dirname "$0")/common.sh"

# job_case JOB: the job's arguments (long enough to be interrupted) and the attributes that must match.
job_case() {
  case "$1" in
    synthetic) args=(--items 3000 --mean-us 1500 --mode sleep --distribution pareto --seed 7)
               attrs=(items_processed checksum_sum checksum_xor total_cost_us) ;;
    mandelbrot) args=(--width 1600 --height 1200 --max-iterations 3000); attrs=(total_iterations) ;;
    kmeans) args=(--input "$TMP/points.h5" --generate 400000 --k 8 --max-iterations 60)
            attrs=(iterations inertia converged) ;;
  esac
}

same_as_ref() {
  local attr_args=()
  for a in "${attrs[@]}"; do attr_args+=(--attr "$a"); done
  "$H5SAME" "$TMP/ref.h5" "$1" "${attr_args[@]}" --ignore /stats >"$TMP/same" 2>&1
}

# stop_after SECONDS NP ARGS...: starts pel (with periodic checkpoints into $TMP/run.ckpt), and once the first
# checkpoint is there (so the ranks are at work, however slow the machine) waits SECONDS more and sends SIGUSR1 to
# mpirun, which forwards it; RC is the exit code.
stop_after() {
  local delay=$1 np=$2; shift 2
  timeout 120 "$MPIRUN" -np "$np" "$PEL" "$@" >"$TMP/out" 2>"$TMP/err" &
  local pid=$!
  usr1_after_checkpoint "$pid" "$TMP/run.ckpt" "$delay"
  wait "$pid"
  RC=$?
}

for job in synthetic mandelbrot kmeans; do
  job_case "$job"
  rm -f "$TMP/points.h5"
  expect_ok 1 run "$job" "${args[@]}" --output "$TMP/ref.h5"
  # Stop on 3 ranks x 1 thread (periodic checkpoints too), resume on 2 ranks x 2 threads with another schedule
  # (an adaptive one for two of the jobs: a resumed phase sizes chunks from what is left).
  stopped=no
  for delay in 0.3 0.1 0; do
    rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
    stop_after "$delay" 3 run "$job" "${args[@]}" --output "$TMP/run.h5" --checkpoint-every 0.2
    if [ "$RC" = 75 ]; then stopped=yes; break; fi
    [ "$RC" = 0 ] || { fail "$job: exit $RC after SIGUSR1: $(head -c 400 "$TMP/err")"; break; }
  done
  [ "$stopped" = yes ] && pass || fail "$job: never stopped by SIGUSR1 (exit $RC)"
  expect_contains "$TMP/out" "run the same command with --resume"
  [ -e "$TMP/run.h5" ] && fail "$job: a stopped run left a results file" || pass
  ls "$TMP/run.ckpt"/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "$job: no checkpoint after SIGUSR1"
  case "$job" in synthetic) resume_schedule=af ;; mandelbrot) resume_schedule=awf-e ;; *) resume_schedule=gss ;; esac
  expect_ok 2 run "$job" "${args[@]}" --output "$TMP/run.h5" --checkpoint-every 0.2 --threads 2 \
    --schedule "$resume_schedule" --resume
  same_as_ref "$TMP/run.h5" && pass || fail "$job: resumed run differs from the uninterrupted one: $(cat "$TMP/same")"
  [ -d "$TMP/run.ckpt" ] && fail "$job: checkpoints left after a finished run" || pass
done

# From here on: synthetic, stopped once, with two checkpoints kept.
job_case synthetic
expect_ok 1 run synthetic "${args[@]}" --output "$TMP/ref.h5"
prepare_stopped() {
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  stop_after 0.5 3 run synthetic "${args[@]}" --output "$TMP/run.h5" --checkpoint-every 0.3 --keep 2
  [ "$RC" = 75 ] || fail "synthetic was not stopped (exit $RC)"
}

# A truncated newest checkpoint is named in a warning; the one before it is used, and the result is still exact.
prepare_stopped
newest=$(ls "$TMP/run.ckpt"/ckpt-*.h5 | sort | tail -1)
[ "$(ls "$TMP/run.ckpt"/ckpt-*.h5 | wc -l)" = 2 ] && pass || fail "--keep 2 kept $(ls "$TMP/run.ckpt" | wc -l) files"
truncate -s 3000 "$newest"
expect_ok 2 run synthetic "${args[@]}" --output "$TMP/run.h5" --resume
expect_contains "$TMP/err" "$(basename "$newest")"
same_as_ref "$TMP/run.h5" && pass || fail "resumed past a truncated checkpoint, the result differs: $(cat "$TMP/same")"

# A flipped byte in the newest checkpoint's data is caught by its checksum.
prepare_stopped
newest=$(ls "$TMP/run.ckpt"/ckpt-*.h5 | sort | tail -1)
size=$(stat -c %s "$newest")
printf '\xff' | dd of="$newest" bs=1 seek=$((size - 700)) conv=notrunc status=none
expect_ok 4 run synthetic "${args[@]}" --output "$TMP/run.h5" --resume
expect_contains "$TMP/err" "$(basename "$newest")"
same_as_ref "$TMP/run.h5" && pass || fail "resumed past a corrupt checkpoint, the result differs: $(cat "$TMP/same")"

# Another job's options are refused, unless forced; another job is always refused.
prepare_stopped
other=(--items 3000 --mean-us 1500 --mode sleep --distribution pareto --seed 8)
expect_error 2 "written with other options" 2 run synthetic "${other[@]}" --output "$TMP/run.h5" --resume
expect_error 2 "is from job 'synthetic'" 2 run mandelbrot --width 10 --height 10 --output "$TMP/m.h5" \
  --checkpoint-dir "$TMP/run.ckpt" --resume
expect_ok 2 run synthetic "${other[@]}" --output "$TMP/forced.h5" --checkpoint-dir "$TMP/run.ckpt" --resume \
  --force-resume
expect_contains "$TMP/err" "resuming anyway"

# A time limit: no chunk that would end after it starts; the run checkpoints and exits 75 before it, and resumes.
rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
pel_np 3 run synthetic "${args[@]}" --output "$TMP/run.h5" --time-limit 1.5 --time-margin 0.3
[ "$RC" = 75 ] && pass || fail "--time-limit did not stop the run with 75 (exit $RC): $(head -c 300 "$TMP/err")"
expect_contains "$TMP/out" "stopped before its time limit"
expect_ok 2 run synthetic "${args[@]}" --output "$TMP/run.h5" --auto-resume
same_as_ref "$TMP/run.h5" && pass || fail "resumed after a time limit, the result differs: $(cat "$TMP/same")"

# Nothing to resume: --resume is an error, --auto-resume starts afresh.
rm -rf "$TMP/none.ckpt"
expect_error 4 "no valid checkpoint in" 2 run synthetic --items 100 --output "$TMP/none.h5" --resume
expect_ok 2 run synthetic --items 100 --output "$TMP/none.h5" --auto-resume
# Every checkpoint damaged: --resume names them and fails.
prepare_stopped
for f in "$TMP/run.ckpt"/ckpt-*.h5; do truncate -s 100 "$f"; done
expect_error 4 "no valid checkpoint in" 2 run synthetic "${args[@]}" --output "$TMP/run.h5" --resume

# A checkpoint directory that cannot be created: a clear error on every rank, no results file.
: >"$TMP/plainfile"
expect_error 4 "cannot" 2 run synthetic --items 2000 --mean-us 500 --mode sleep --output "$TMP/bad.h5" \
  --checkpoint-every 0.1 --checkpoint-dir "$TMP/plainfile/ckpt"
[ -e "$TMP/bad.h5" ] && fail "a failed run left a results file" || pass
expect_error 2 "--checkpoint-every" 1 run synthetic --items 10 --checkpoint-every soon
# Young/Daly: the interval comes from the measured checkpoint cost and --mtbf (at least 10 s, so none in this run).
expect_ok 2 run synthetic "${args[@]}" --output "$TMP/auto.h5" --checkpoint-every auto --mtbf 3600 --verbose
same_as_ref "$TMP/auto.h5" && pass || fail "--checkpoint-every auto changed the results: $(cat "$TMP/same")"
[ -d "$TMP/auto.ckpt" ] && fail "checkpoints left after a finished run" || pass
finish
