# tests/app/taskfarm_exit.sh: a farm with failures says so: its exit code is 100 + the failed tasks (120 for 20 or
# more), its last line counts succeeded / failed / retried / timed out / skipped, `pel report` shows the same; and
# --halt stops it as GNU parallel's does (soon: no new task; now: the running ones killed too), across ranks.
source "$(dirname "$0")/common.sh"

# 30 tasks: 7 fail (exit 3), 2 time out, 1 fails once then succeeds when retried; the rest succeed.
{
  for n in $(seq 1 30); do
    if [ $((n % 4)) = 0 ] && [ "$n" -le 28 ]; then echo "exit 3"
    elif [ "$n" = 5 ] || [ "$n" = 9 ]; then echo "sleep 20"
    elif [ "$n" = 10 ]; then echo "if [ -e again ]; then exit 0; fi; touch again; exit 1"
    else echo "echo task $n"
    fi
  done
} >"$TMP/mixed.txt"
expect_code 109 2 run taskfarm --tasks "$TMP/mixed.txt" --threads 2 --retries 1 --task-timeout 0.5 \
  --output "$TMP/mixed.h5"
want="pel: taskfarm: 30 tasks: 21 succeeded, 9 failed (2 timed out, 0 killed by --halt), 10 retried, 0 skipped"
[ "$(tail -n 1 "$TMP/out" | cut -c1-${#want})" = "$want" ] && pass || fail "last line: $(tail -n 2 "$TMP/out")"
expect_contains "$TMP/out" "exit code 109"
"$PEL" report "$TMP/mixed.h5" >"$TMP/report" 2>&1 || fail "pel report failed: $(cat "$TMP/report")"
expect_contains "$TMP/report" "job: 30 tasks: 21 succeeded, 9 failed (2 timed out"
expect_contains "$TMP/report" "(exit code 109)"
check_py "counts in the results" "$TMP" <<'PY'
import sys, h5py
with h5py.File(f"{sys.argv[1]}/mixed.h5", "r") as f:
    got = {k: int(f.attrs[k]) for k in ("tasks", "succeeded", "failed", "timed_out", "retried", "not_run")}
    assert got == dict(tasks=30, succeeded=21, failed=9, timed_out=2, retried=10, not_run=0), got
    assert int(f.attrs["job_exit_code"]) == 109
PY

# The code is capped at 120 (20 or more failed), never reaching pel's own codes; no failure: 0.
for n in $(seq 1 25); do echo "exit 1"; done >"$TMP/many.txt"
expect_code 120 1 run taskfarm --tasks "$TMP/many.txt" --threads 2 --output "$TMP/many.h5"
for n in $(seq 1 5); do echo "true"; done >"$TMP/fine.txt"
expect_code 0 1 run taskfarm --tasks "$TMP/fine.txt" --output "$TMP/fine.h5"
expect_contains "$TMP/out" "pel: taskfarm: 5 tasks: 5 succeeded, 0 failed"

# --halt now,fail=1: the first failure kills the task running beside it and starts no more; the run ends at once.
{ echo "sleep 1; exit 4"; for n in $(seq 2 40); do echo "sleep 20"; done; } >"$TMP/halt.txt"
start=$(date +%s)
expect_code 102 1 run taskfarm --tasks "$TMP/halt.txt" --threads 2 --halt now,fail=1 --output "$TMP/now.h5"
[ $(($(date +%s) - start)) -lt 15 ] && pass || fail "--halt now took $(($(date +%s) - start)) s"
check_py "--halt now" "$TMP" <<'PY'
import sys, h5py
with h5py.File(f"{sys.argv[1]}/now.h5", "r") as f:
    codes = [int(x) for x in f["exit_code"][...]]
    assert codes[0] == 4, codes
    killed = [c for c in codes[1:] if c in (-15, -9)]
    assert len(killed) == 1, codes          # the one running beside it
    assert codes.count(-1001) == 38, codes   # never started
    assert int(f.attrs["halted"]) == 38
PY
expect_contains "$TMP/out" "1 killed by --halt"

# --halt soon,fail=2: running tasks finish (none killed), no new one starts.
{ for n in 1 2; do echo "sleep 0.4; exit 1"; done; for n in $(seq 3 30); do echo "sleep 0.4"; done; } >"$TMP/soon.txt"
pel_np 1 run taskfarm --tasks "$TMP/soon.txt" --threads 2 --halt soon,fail=2 --output "$TMP/soon.h5"
[ "$RC" = 102 ] && pass || fail "--halt soon: exit $RC: $(head -c 400 "$TMP/err")"
check_py "--halt soon" "$TMP" <<'PY'
import sys, h5py
with h5py.File(f"{sys.argv[1]}/soon.h5", "r") as f:
    codes = [int(x) for x in f["exit_code"][...]]
    assert codes[:2] == [1, 1], codes
    assert not [c for c in codes if c < 0 and c != -1001], codes   # nothing killed
    assert codes.count(-1001) >= 25, codes                          # at most three more started
PY

# Across ranks: a failure on one rank kills the long task another rank runs.
{ echo "sleep 1; exit 9"; for n in $(seq 2 8); do echo "sleep 30"; done; } >"$TMP/ranks.txt"
start=$(date +%s)
pel_np 2 run taskfarm --tasks "$TMP/ranks.txt" --halt now,fail=1 --output "$TMP/ranks.h5"
# 101 if one rank ran every task up to the failure, 102 with the other rank's task killed
[ "$RC" = 101 ] || [ "$RC" = 102 ] && pass || fail "--halt now across ranks: exit $RC: $(head -c 400 "$TMP/err")"
[ $(($(date +%s) - start)) -lt 20 ] && pass || fail "--halt now across ranks took $(($(date +%s) - start)) s"

# --halt now,success=1 exits 0 (GNU parallel's rule) once one task succeeded.
{ echo "true"; for n in $(seq 2 6); do echo "sleep 30"; done; } >"$TMP/success.txt"
expect_code 0 1 run taskfarm --tasks "$TMP/success.txt" --threads 2 --halt now,success=1 --output "$TMP/succ.h5"

# Bad --halt values: one line, exit 2.
for bad in "sometimes,fail=1" "now,fail=0" "now,crash=1" "soon,fail=150%" "now,fail=x"; do
  expect_error 2 "--halt '$bad'" 2 run taskfarm --tasks "$TMP/fine.txt" --halt "$bad" --output "$TMP/bad.h5"
done
finish
