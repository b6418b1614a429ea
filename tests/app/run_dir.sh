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

# --run-dir auto names the directory after the job and its options (pel-JOB-HASH), not the Slurm job: a requeue and
# a resubmission (a new SLURM_JOB_ID) of the same command find the same directory; other job options get another.
(cd "$TMP" && SLURM_JOB_ID=4242 "$MPIRUN" -np 2 "$PEL" run synthetic --items 50 --run-dir auto >/dev/null 2>&1) && pass ||
  fail "--run-dir auto failed"
auto_dirs=("$TMP"/pel-synthetic-*)
[ ${#auto_dirs[@]} = 1 ] && [ -f "${auto_dirs[0]}/synthetic.h5" ] && [ -f "${auto_dirs[0]}/status.json" ] && pass ||
  fail "--run-dir auto did not make one pel-synthetic-HASH: $(ls "$TMP")"
(cd "$TMP" && SLURM_JOB_ID=4343 "$MPIRUN" -np 1 "$PEL" run synthetic --items 50 --run-dir auto >/dev/null 2>&1)
(cd "$TMP" && "$MPIRUN" -np 1 "$PEL" run synthetic --items 50 --threads 2 --run-dir auto >/dev/null 2>&1)
[ "$(ls -d "$TMP"/pel-synthetic-* | wc -l)" = 1 ] && pass ||
  fail "the same job options on another Slurm job, ranks or threads made another directory: $(ls "$TMP")"
(cd "$TMP" && "$MPIRUN" -np 1 "$PEL" run synthetic --items 51 --run-dir auto >/dev/null 2>&1)
[ "$(ls -d "$TMP"/pel-synthetic-* | wc -l)" = 2 ] && pass || fail "other job options share a directory: $(ls "$TMP")"

# Resubmitted after it stopped: the run says loudly (at the default warn level) that it resumes, and from where;
# --fresh starts afresh with the old checkpoints moved aside, never deleted.
rm -rf "$TMP/rd3"
timeout 120 "$MPIRUN" -np 2 "$PEL" run synthetic "${args[@]}" --run-dir "$TMP/rd3" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
wait_for_progress "$TMP/rd3" || fail "no progress in the status file"
kill -0 "$launcher" 2>/dev/null && pkill -USR1 -P "$launcher"
wait "$launcher"
expect_ok 2 run synthetic "${args[@]}" --run-dir "$TMP/rd3" --auto-resume --time-limit 1000
grep -q -E "warn: resuming run in $TMP/rd3 from checkpoint 0 \(.*\): phase 0 'items', [1-9][0-9]* of 3000 items done, [0-9.]+%" "$TMP/err" && pass ||
  fail "a resumed run does not say so at warn level: $(head -c 600 "$TMP/err")"
timeout 120 "$MPIRUN" -np 2 "$PEL" run synthetic "${args[@]}" --run-dir "$TMP/rd3" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
sleep 1; wait_for_progress "$TMP/rd3"
kill -0 "$launcher" 2>/dev/null && pkill -USR1 -P "$launcher"
wait "$launcher"
expect_ok 2 run synthetic "${args[@]}" --run-dir "$TMP/rd3" --auto-resume --fresh
expect_contains "$TMP/err" "--fresh: the earlier checkpoints in '$TMP/rd3/checkpoints' moved to"
grep -q "resuming" "$TMP/err" && fail "--fresh resumed: $(cat "$TMP/err")" || pass
ls "$TMP"/rd3/checkpoints.set-aside-*/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "--fresh lost the old checkpoints"
expect_error 2 "--fresh and --resume exclude each other" 1 run synthetic --items 5 --fresh --resume

# No run directory there: one clear error.
"$PEL" status "$TMP/nowhere" >"$TMP/status" 2>&1
[ "$?" = 4 ] && pass || fail "pel status on a missing directory did not exit 4"
expect_contains "$TMP/status" "no status file"
finish
