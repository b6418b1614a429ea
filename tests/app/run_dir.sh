# tests/app/run_dir.sh: a run directory holds the results, checkpoints, the effective config, per-rank logs and a
# status file that `pel status` reads while the run goes on and after it ends.
source "$(dirname "$0")/common.sh"
# wait_for_progress DIR: until DIR/status.json shows items done (at most 30 s; the machine may be busy).
wait_for_progress() {
  for _ in $(seq 150); do
    grep -q -E '"items_done": [1-9]' "$1/status.json" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}
args=(--items 3000 --mean-us 3000 --mode sleep --seed 2)
timeout 120 "$MPIRUN" -np 3 "$PEL" run synthetic "${args[@]}" --run-dir "$TMP/rd" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
wait_for_progress "$TMP/rd" || fail "no progress in the status file"
"$PEL" status "$TMP/rd" >"$TMP/status" 2>&1 && pass || fail "pel status failed while running: $(cat "$TMP/status")"
expect_contains "$TMP/status" "synthetic in $TMP/rd: running"
expect_contains "$TMP/status" "3 ranks x 1 threads"
grep -q -E "phase 0 'items': [1-9][0-9]* of 3000 items" "$TMP/status" && pass ||
  fail "pel status shows no progress while running: $(cat "$TMP/status")"
wait "$launcher" && pass || fail "the run failed: $(head -c 400 "$TMP/err")"
"$PEL" status "$TMP/rd" >"$TMP/status" 2>&1
expect_contains "$TMP/status" "finished (exit 0)"
expect_contains "$TMP/status" "3000 of 3000 items"
[ -f "$TMP/rd/synthetic.h5" ] && pass || fail "no results in the run directory"
for r in 0 1 2; do
  grep -q "pel\[$r@[^]]*\] info: phase 0 'items'" "$TMP/rd/logs/rank-$r.log" && pass || fail "rank $r's log lacks its lines"
done
# The config kept there replays the run.
expect_ok 2 run --config "$TMP/rd/config.toml" --output "$TMP/replay.h5"
"$H5SAME" "$TMP/rd/synthetic.h5" "$TMP/replay.h5" --attr checksum_sum --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the run directory's config.toml does not replay the run: $(cat "$TMP/same")"

# Stopped by a signal: status says so; checkpoints are in the run directory; resuming there finishes the run.
rm -rf "$TMP/rd2"
timeout 120 "$MPIRUN" -np 3 "$PEL" run synthetic "${args[@]}" --run-dir "$TMP/rd2" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
wait_for_progress "$TMP/rd2" || fail "no progress in the status file"
kill -0 "$launcher" 2>/dev/null && pkill -USR1 -P "$launcher"  # only while it still runs: never a reused pid
wait "$launcher"
[ "$?" = 75 ] && pass || fail "a signalled run did not exit 75"
"$PEL" status "$TMP/rd2" >"$TMP/status" 2>&1
expect_contains "$TMP/status" "stopped (exit 75)"
ls "$TMP/rd2/checkpoints"/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "no checkpoint in the run directory"
expect_ok 2 run synthetic "${args[@]}" --run-dir "$TMP/rd2" --auto-resume
"$H5SAME" "$TMP/rd/synthetic.h5" "$TMP/rd2/synthetic.h5" --attr checksum_sum --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the resumed run in its run directory differs: $(cat "$TMP/same")"
"$PEL" status "$TMP/rd2" >"$TMP/status" 2>&1
expect_contains "$TMP/status" "finished (exit 0)"

# --run-dir auto names the directory after the Slurm job (the same for every attempt of a requeued job).
(cd "$TMP" && SLURM_JOB_ID=4242 "$MPIRUN" -np 2 "$PEL" run synthetic --items 50 --run-dir auto >/dev/null 2>&1) &&
  [ -f "$TMP/pel-synthetic-4242/synthetic.h5" ] && [ -f "$TMP/pel-synthetic-4242/status.json" ] && pass ||
  fail "--run-dir auto did not make pel-synthetic-4242"
slurm_job=${SLURM_JOB_ID-}
unset SLURM_JOB_ID
expect_error 2 "--run-dir auto: SLURM_JOB_ID is not set" 1 run synthetic --items 5 --run-dir auto
[ -n "$slurm_job" ] && export SLURM_JOB_ID=$slurm_job

# No run directory there: one clear error.
"$PEL" status "$TMP/nowhere" >"$TMP/status" 2>&1
[ "$?" = 4 ] && pass || fail "pel status on a missing directory did not exit 4"
expect_contains "$TMP/status" "no status file"
finish
