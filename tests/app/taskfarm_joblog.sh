# tests/app/taskfarm_joblog.sh: the joblog is GNU parallel's: Seq from 1, Starttime and JobRuntime formatted as
# parallel does, a row appended as each task ends (there while the farm runs, and after a SIGKILL), and real GNU
# parallel (Debian's `parallel`) reruns exactly the failed tasks from it with --retry-failed and --resume-failed.
source "$(dirname "$0")/common.sh"

if ! command -v parallel >/dev/null; then
  echo "GNU parallel is not installed (apt-get install parallel; scripts/test.sh installs it)"
  exit 77
fi

# 24 tasks; N (from 1) fails while $TMP/fixed is missing when N % 4 == 1. Each says it ran in $TMP/ran.
for n in $(seq 1 24); do
  echo "echo $n >> $TMP/ran; test \$(( $n % 4 )) != 1 || test -e $TMP/fixed"
done >"$TMP/tasks.txt"
pel_np 2 run taskfarm --tasks "$TMP/tasks.txt" --threads 2 --output "$TMP/farm.h5"
[ "$RC" = 106 ] && pass || fail "exit $RC, not 106: $(head -c 400 "$TMP/err")"
check_py "joblog format" "$TMP" <<'PY'
import re, sys
tmp = sys.argv[1]
lines = open(f"{tmp}/farm.joblog.tsv").read().split("\n")
assert lines[0] == "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand", lines[0]
rows = [l.split("\t", 8) for l in lines[1:] if l]
assert sorted(int(r[0]) for r in rows) == list(range(1, 25)), [r[0] for r in rows]
for r in rows:
    assert re.fullmatch(r"\d+\.\d{3}", r[2]), r           # parallel's "%.3f"
    assert re.fullmatch(r" *\d+\.\d{3}", r[3]) and len(r[3]) >= 10, r   # parallel's "%10.3f"
    n = int(r[0])
    assert r[6] == ("1" if n % 4 == 1 else "0") and r[7] == "0", r
    assert r[8] == f"echo {n} >> {tmp}/ran; test $(( {n} % 4 )) != 1 || test -e {tmp}/fixed", r
PY

# GNU parallel --retry-failed reruns exactly the failed ones from pel's joblog (it read Seq 0 as job -1 before).
touch "$TMP/fixed"
rm -f "$TMP/ran"
( cd "$TMP" && timeout 60 parallel --retry-failed --joblog "$TMP/farm.joblog.tsv" ) >"$TMP/par.out" 2>&1
rc=$?
[ "$rc" = 0 ] && pass || fail "parallel --retry-failed exit $rc: $(head -c 400 "$TMP/par.out")"
[ "$(sort -n "$TMP/ran" 2>/dev/null | tr '\n' ' ')" = "1 5 9 13 17 21 " ] && pass ||
  fail "parallel --retry-failed ran: $(tr '\n' ' ' <"$TMP/ran" 2>/dev/null)"

# Rows are appended as tasks end: there while the farm runs, and all of them after the farm is SIGKILLed.
for n in $(seq 1 60); do echo "sleep 0.1; echo $n >> $TMP/ran2; exit \$(( $n % 5 == 0 ))"; done >"$TMP/slow.txt"
rm -f "$TMP/fixed" "$TMP/ran2"
timeout 120 "$MPIRUN" -np 1 "$PEL" run taskfarm --tasks "$TMP/slow.txt" --threads 2 --output "$TMP/crash.h5" \
  >"$TMP/out" 2>"$TMP/err" &
launcher=$!
rows() { [ -e "$TMP/crash.joblog.tsv" ] && echo $(($(wc -l <"$TMP/crash.joblog.tsv") - 1)) || echo 0; }
rows_at_least() { [ "$(rows)" -ge "$1" ]; }
wait_for 60 "joblog rows while the farm runs" rows_at_least 10
live=$(rows)
for rank in $(pgrep -P "$(pgrep -P "$launcher" | head -1)"); do kill -KILL "$rank"; done
wait "$launcher"
[ "$live" -ge 10 ] && [ "$live" -lt 60 ] && pass || fail "$live rows while running"
check_py "joblog after SIGKILL" "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
rows = [l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/crash.joblog.tsv")][1:]
ran = {int(l) for l in open(f"{tmp}/ran2")}
seqs = [int(r[0]) for r in rows]
assert len(seqs) == len(set(seqs)) and len(seqs) >= 10, seqs
assert set(seqs) <= ran, (seqs, ran)          # a row only for a task that ended
assert len(ran - set(seqs)) <= 2, (ran, seqs)  # at most the two running when it was killed
assert all(r[6] == str(int(int(r[0]) % 5 == 0)) for r in rows), rows
PY
# GNU parallel --resume-failed on it runs the failed ones and those it does not list, nothing else.
cp "$TMP/crash.joblog.tsv" "$TMP/before.tsv"
rm -f "$TMP/ran2"
( cd "$TMP" && timeout 120 parallel -j 2 --resume-failed --joblog "$TMP/crash.joblog.tsv" -a "$TMP/slow.txt" ) \
  >"$TMP/par.out" 2>&1
check_py "parallel --resume-failed" "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
rows = [l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/before.tsv")][1:]
done_ok = {int(r[0]) for r in rows if r[6] == "0" and r[7] == "0"}
want = set(range(1, 61)) - done_ok
ran = sorted(int(l) for l in open(f"{tmp}/ran2"))
assert ran == sorted(want), (ran, sorted(want))
PY
finish
