# tests/app/taskfarm.sh: the taskfarm job: a thousand tasks with exit codes, failed list, joblog and per-rank logs;
# per-task logs; retries, time limits and signals; stopped by SIGUSR1 and resumed on another layout with every task
# run exactly once; rerunning only the failed tasks; bad inputs.
source "$(dirname "$0")/common.sh"

# A thousand short tasks, 11 failing (task N exits 1 when N is a multiple of 97), with comments and blank lines
# between them that do not count as tasks.
{
  echo "# a thousand tasks"
  for n in $(seq 0 999); do
    [ $((n % 250)) = 0 ] && printf '\n   # comment\n'
    echo "echo out-$n id=\$PEL_TASK_ID rank=\$PEL_RANK; echo $n > out; exit \$(( $n % 97 == 0 ))"
  done
} >"$TMP/tasks.txt"
expect_code 111 3 run taskfarm --tasks "$TMP/tasks.txt" --threads 2 --output "$TMP/farm.h5"
check_py "1000 tasks" "$TMP" <<'PY'
import glob, os, re, sys, h5py
tmp = sys.argv[1]
want_failed = [n for n in range(1000) if n % 97 == 0]
with h5py.File(f"{tmp}/farm.h5", "r") as f:
    exits = [int(x) for x in f["exit_code"][...]]
    assert exits == [int(n % 97 == 0) for n in range(1000)], exits
    assert all(int(a) == 1 for a in f["attempts"][...])
    assert set(int(r) for r in f["rank"][...]) <= {0, 1, 2}
    assert all(d >= 0 for d in f["duration_s"][...])
    assert all(s > 1.6e9 for s in f["start_time"][...])
    assert sorted(int(t) for t in f["failed_tasks"][...]) == want_failed
    assert (int(f.attrs["tasks"]), int(f.attrs["succeeded"]), int(f.attrs["failed"])) == (1000, 989, 11)
    assert int(f.attrs["not_run"]) == 0
rows = [l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/farm.joblog.tsv")]
assert rows[0] == "Seq Host Starttime JobRuntime Send Receive Exitval Signal Command".split(), rows[0]
rows = sorted(rows[1:], key=lambda r: int(r[0]))
assert len(rows) == 1000, len(rows)
assert [int(r[0]) for r in rows] == list(range(1, 1001))
assert [int(r[6]) for r in rows] == [int(n % 97 == 0) for n in range(1000)]
assert all(r[7] == "0" and r[1] == os.uname().nodename for r in rows)
assert all(r[8].startswith(f"echo out-{n} ") for n, r in enumerate(rows))
# Per-rank logs hold every task's header and output exactly once, with PEL_TASK_ID = the task number.
logs = sorted(glob.glob(f"{tmp}/farm.logs/rank-*.out"))
assert [os.path.basename(p) for p in logs] == ["rank-0.out", "rank-1.out", "rank-2.out"], logs
text = "".join(open(p).read() for p in logs)
headers = re.findall(r"^==> task (\d+) \(exit (\d+), [0-9.]+ s\) <==$", text, re.M)
assert sorted(int(t) for t, _ in headers) == list(range(1000)), len(headers)
assert all(int(c) == int(int(t) % 97 == 0) for t, c in headers)
outs = re.findall(r"^out-(\d+) id=(\d+) rank=(\d+)$", text, re.M)
assert sorted(int(n) for n, _, _ in outs) == list(range(1000)), len(outs)
assert all(n == i for n, i, _ in outs)
assert not glob.glob(f"{tmp}/farm.logs/task-*"), "per-task logs without --task-logs"
# Each task ran in its own directory.
assert all(open(f"{tmp}/farm.work/task-{n:06d}/out").read() == f"{n}\n" for n in range(0, 1000, 37))
PY

# --task-logs: a file per task (stdout and stderr), no rank logs; --task-dirs no: tasks run in the current directory.
for n in $(seq 0 19); do echo "echo hello-$n; echo oops-$n >&2; pwd > where-$n"; done >"$TMP/small.txt"
mkdir -p "$TMP/cwd"
cd "$TMP/cwd" || exit 1
expect_ok 2 run taskfarm --tasks "$TMP/small.txt" --task-logs --task-dirs no --logdir "$TMP/tl" --output "$TMP/tl.h5"
cd - >/dev/null || exit 1
check_py "--task-logs" "$TMP" <<'PY'
import glob, sys
tmp = sys.argv[1]
for n in range(20):
    assert open(f"{tmp}/tl/task-{n:06d}.out").read() == f"hello-{n}\n"
    assert open(f"{tmp}/tl/task-{n:06d}.err").read() == f"oops-{n}\n"
    assert open(f"{tmp}/cwd/where-{n}").read().strip() == f"{tmp}/cwd"
assert not glob.glob(f"{tmp}/tl/rank-*"), "rank logs with --task-logs"
PY
[ -e "$TMP/cwd/tl.work" ] || [ -e "$TMP/tl.work" ] && fail "--task-dirs no made a work directory" || pass

# Retries, time limits, signals, commands that cannot run.
cat >"$TMP/misc.txt" <<'EOF2'
if [ -e marker ]; then echo second; else touch marker; echo first; exit 3; fi
exit 4
sleep 30; echo never
kill -TERM $$
/nonexistent/command
(sleep 40 &); sleep 30
EOF2
expect_code 105 2 run taskfarm --tasks "$TMP/misc.txt" --threads 2 --retries 1 --task-timeout 0.5 --output "$TMP/misc.h5"
check_py "retries, timeouts, signals" "$TMP" <<'PY'
import sys, h5py
tmp = sys.argv[1]
with h5py.File(f"{tmp}/misc.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0, 4, 124, -15, 127, 124], f["exit_code"][...]
    assert [int(x) for x in f["attempts"][...]] == [2, 2, 2, 2, 2, 2], f["attempts"][...]
    assert all(d < 5 for d in f["duration_s"][...]), f["duration_s"][...]
    assert sorted(int(t) for t in f["failed_tasks"][...]) == [1, 2, 3, 4, 5]
rows = sorted([l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/misc.joblog.tsv")][1:], key=lambda r: int(r[0]))
assert [(r[6], r[7]) for r in rows] == [("0", "0"), ("4", "0"), ("124", "0"), ("0", "15"), ("127", "0"),
                                        ("124", "0")], rows
log = open(f"{tmp}/misc.logs/rank-0.out").read() + open(f"{tmp}/misc.logs/rank-1.out").read()
assert "==> task 0 (exit 3," in log and "==> task 0 attempt 2 (exit 0," in log and "second" in log, log
PY
sleep 0.2
pgrep -f "sleep 40" >/dev/null && fail "a timed-out task's background process survived" || pass

# Stopped by SIGUSR1 mid-run (periodic checkpoints too), resumed on another layout: every task ran exactly once,
# and the exit codes are those of an uninterrupted run.
for n in $(seq 0 239); do echo "sleep 0.05; echo $n >> \"\$RAN\"; exit \$(( $n % 13 == 0 ? 2 : 0 ))"; done \
  >"$TMP/slow.txt"
export RAN=$TMP/ran-ref
expect_code 119 2 run taskfarm --tasks "$TMP/slow.txt" --threads 2 --output "$TMP/ref.h5"
# stop_when LINES NP ARGS...: starts pel and sends SIGUSR1 to mpirun (which forwards it) once $RAN has LINES lines
# (so the ranks are running tasks and have their signal handlers); RC is the exit code.
stop_when() {
  local lines=$1 np=$2; shift 2
  timeout 120 "$MPIRUN" -np "$np" "$PEL" "$@" >"$TMP/out" 2>"$TMP/err" &
  local pid=$!
  for _ in $(seq 600); do
    [ "$(cat "$RAN" 2>/dev/null | wc -l)" -ge "$lines" ] && break
    sleep 0.05
  done
  pkill -USR1 -P "$pid"  # timeout's one child: mpirun (or mpiexec); never a pattern that other runs match
  wait "$pid"
  RC=$?
}
export RAN=$TMP/ran
rm -f "$RAN"
stop_when 30 3 run taskfarm --tasks "$TMP/slow.txt" --output "$TMP/run.h5" --checkpoint-every 0.2 --threads 2
[ "$RC" = 75 ] && stopped=yes || { stopped=no; echo "exit $RC: $(head -c 400 "$TMP/err")" >&2; }
[ "$stopped" = yes ] && pass || fail "taskfarm never stopped by SIGUSR1 (exit $RC)"
before=$(wc -l <"$RAN")
[ "$before" -gt 0 ] && [ "$before" -lt 240 ] && pass || fail "stopped after $before of 240 tasks"
expect_code 119 2 run taskfarm --tasks "$TMP/slow.txt" --output "$TMP/run.h5" --checkpoint-every 0.2 --threads 2 \
  --schedule gss --resume
check_py "stop and resume" "$TMP" "$RAN" <<'PY'
import glob, re, sys, h5py
tmp, ran = sys.argv[1], sys.argv[2]
lines = sorted(int(l) for l in open(ran))
assert lines == list(range(240)), f"{len(lines)} lines; doubled: {sorted(set(x for x in lines if lines.count(x) > 1))}"
with h5py.File(f"{tmp}/ref.h5", "r") as ref, h5py.File(f"{tmp}/run.h5", "r") as run:
    assert list(ref["exit_code"][...]) == list(run["exit_code"][...])
    assert list(ref["failed_tasks"][...]) == list(run["failed_tasks"][...])
    assert all(int(a) == 1 for a in run["attempts"][...])
    for a in ("tasks", "succeeded", "failed"):
        assert ref.attrs[a] == run.attrs[a], a
    assert "resumed_from" in run.attrs
rows = [l.split("\t") for l in open(f"{tmp}/run.joblog.tsv")][1:]
assert sorted(int(r[0]) for r in rows) == list(range(1, 241)) and all(float(r[2]) > 1.6e9 for r in rows)
text = "".join(open(p).read() for p in glob.glob(f"{tmp}/run.logs/rank-*.out"))
assert sorted(int(t) for t in re.findall(r"^==> task (\d+) ", text, re.M)) == list(range(240))
PY
[ -d "$TMP/run.ckpt" ] && fail "checkpoints left after a finished run" || pass
# A changed task file is refused when resuming.
rm -rf "$TMP/run.h5" "$TMP/run.ckpt" "$RAN"
stop_when 10 2 run taskfarm --tasks "$TMP/slow.txt" --output "$TMP/run.h5"
if [ "$RC" = 75 ]; then
  echo "echo one more" >>"$TMP/slow.txt"
  expect_error 2 "has changed since the checkpoint" 2 run taskfarm --tasks "$TMP/slow.txt" --output "$TMP/run.h5" \
    --resume
else
  fail "taskfarm not stopped for the changed-file check (exit $RC)"
fi

# Rerun only the failed tasks: odd tasks fail until their file appears; a rerun from the joblog (or the results
# file) runs only them, and marks the rest not run (-1000), not failed.
for n in $(seq 0 9); do echo "[ -e \"$TMP/ok-$n\" ] || { echo no-$n; exit 5; }; echo yes-$n"; done >"$TMP/fix.txt"
for n in 0 2 4 6 8; do : >"$TMP/ok-$n"; done
expect_code 105 2 run taskfarm --tasks "$TMP/fix.txt" --output "$TMP/fix1.h5"
for n in 1 3 5 7 9; do : >"$TMP/ok-$n"; done
expect_ok 3 run taskfarm --tasks "$TMP/fix.txt" --output "$TMP/fix2.h5" --failed-from "$TMP/fix1.joblog.tsv"
expect_ok 2 run taskfarm --tasks "$TMP/fix.txt" --output "$TMP/fix3.h5" --failed-from "$TMP/fix1.h5"
check_py "--failed-from" "$TMP" <<'PY'
import glob, re, sys, h5py
tmp = sys.argv[1]
with h5py.File(f"{tmp}/fix1.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0, 5] * 5
for run in ("fix2", "fix3"):
    with h5py.File(f"{tmp}/{run}.h5", "r") as f:
        assert [int(x) for x in f["exit_code"][...]] == [-1000, 0] * 5, f["exit_code"][...]
        assert [int(x) for x in f["attempts"][...]] == [0, 1] * 5
        assert [int(x) for x in f["rank"][...]][0::2] == [-1] * 5
        assert (int(f.attrs["succeeded"]), int(f.attrs["failed"]), int(f.attrs["not_run"])) == (5, 0, 5)
        assert "failed_tasks" not in f
    # Tasks not selected are listed as done (Exitval 0, no host), so that a rerun of this joblog skips them too.
    rows = sorted([l.rstrip("\n").split("\t") for l in open(f"{tmp}/{run}.joblog.tsv")][1:], key=lambda r: int(r[0]))
    assert [int(r[0]) for r in rows] == list(range(1, 11)), rows
    assert [int(r[6]) for r in rows] == [0] * 10, rows
    assert [r[1] == "-" for r in rows] == [True, False] * 5, rows
    text = "".join(open(p).read() for p in glob.glob(f"{tmp}/{run}.logs/rank-*.out"))
    assert sorted(int(t) for t in re.findall(r"^==> task (\d+) ", text, re.M)) == [1, 3, 5, 7, 9], text
PY
# A joblog from another task file is refused.
expect_error 2 "another task file?" 2 run taskfarm --tasks "$TMP/small.txt" --output "$TMP/x.h5" \
  --failed-from "$TMP/fix1.joblog.tsv"

# Bad inputs: one clear line, the same non-zero exit on every rank, no results file.
printf '# only a comment\n\n   \n' >"$TMP/empty.txt"
: >"$TMP/plainfile"
expect_error 2 "--tasks FILE (one shell command per line) or --command TEMPLATE with --args FILE is required" 2 \
  run taskfarm --output "$TMP/bad.h5"
expect_error 4 "cannot read task file '$TMP/missing.txt'" 2 run taskfarm --tasks "$TMP/missing.txt" \
  --output "$TMP/bad.h5"
expect_error 4 "it is a directory" 2 run taskfarm --tasks "$TMP" --output "$TMP/bad.h5"
expect_error 2 "has no tasks" 3 run taskfarm --tasks "$TMP/empty.txt" --output "$TMP/bad.h5"
expect_error 4 "cannot create work directory" 2 run taskfarm --tasks "$TMP/small.txt" \
  --workdir "$TMP/plainfile/work" --output "$TMP/bad.h5"
expect_error 4 "cannot create log directory" 2 run taskfarm --tasks "$TMP/small.txt" \
  --logdir "$TMP/plainfile/logs" --output "$TMP/bad.h5"
expect_error 2 "is not a joblog" 2 run taskfarm --tasks "$TMP/small.txt" --failed-from "$TMP/small.txt" \
  --output "$TMP/bad.h5"
expect_error 2 "--retries" 1 run taskfarm --tasks "$TMP/small.txt" --retries -1 --output "$TMP/bad.h5"
[ -e "$TMP/bad.h5" ] && fail "a failed run left a results file" || pass
finish
