# tests/app/taskfarm_kill.sh: tasks never outlive pel: SIGKILL every rank while tasks (and what they started) run,
# and no task process is left; resumed, no task runs beside an orphan of itself (each holds a lock while it runs).
source "$(dirname "$0")/common.sh"
command -v flock >/dev/null || { echo "flock (util-linux) is missing"; exit 77; }

# task_processes: the processes of this test's tasks: their shells and flock name $TMP/lock-N, and their
# grandchildren run $TMP/nap (a copy of sleep), so that none is mistaken for another's. (Listing only.)
cp "$(command -v sleep)" "$TMP/nap"
task_processes() { pgrep -f -- "$TMP/(nap|lock-)"; }
none_left() { [ -z "$(task_processes)" ]; }
some_running() { [ -n "$(task_processes)" ]; }

# Each task holds a lock for $NAP s in a grandchild (flock forks it); a lock already held means an orphan of the task
# runs. 30 s in the runs that are killed, 1 s in the resumed one (the task file must stay the same).
for n in $(seq 1 8); do echo "flock -n $TMP/lock-$n sh -c '$TMP/nap \$NAP; true' || exit 99"; done >"$TMP/locks.txt"
export NAP=30
run_farm() {
  timeout 120 "$MPIRUN" -np 2 "$PEL" run taskfarm --tasks "$TMP/locks.txt" --threads 2 --output "$TMP/farm.h5" \
    --checkpoint-every 0.5 "$@" >"$TMP/out" 2>"$TMP/err" &
  launcher=$!
}
run_farm
wait_for 60 "tasks running" some_running
sleep 1
[ -n "$(task_processes)" ] && pass || fail "no task running to kill"
mpirun_pid=$(pgrep -P "$launcher" | head -1)
for rank in $(pgrep -P "$mpirun_pid"); do kill -KILL "$rank"; done
wait "$launcher"
wait_for 3 "every task process gone after SIGKILL of the ranks" none_left && pass
left=$(task_processes)
if [ -n "$left" ]; then
  fail "task processes outlived pel: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
fi
# Resumed (or started again, had no checkpoint been written), no task finds its lock held by an orphan.
NAP=1 timeout 120 "$MPIRUN" -np 2 "$PEL" run taskfarm --tasks "$TMP/locks.txt" --threads 2 --output "$TMP/farm.h5" \
  --auto-resume >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 0 ] && pass || fail "the resumed farm exit $rc (99: a task ran beside its orphan): $(tail -c 400 "$TMP/out")"
/usr/bin/python3 - "$TMP" >"$TMP/check" 2>&1 <<'PY' && pass || fail "resumed tasks: $(cat "$TMP/check")"
import sys, h5py
with h5py.File(f"{sys.argv[1]}/farm.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0] * 8, f["exit_code"][...]
PY

# A second SIGTERM ends pel at once: its tasks go with it.
run_farm
wait_for 60 "tasks running" some_running
sleep 0.5
mpirun_pid=$(pgrep -P "$launcher" | head -1)
for rank in $(pgrep -P "$mpirun_pid"); do kill -TERM "$rank"; done
sleep 2.2
for rank in $(pgrep -P "$mpirun_pid"); do kill -TERM "$rank"; done
wait "$launcher"
wait_for 3 "every task process gone after a second SIGTERM" none_left && pass
finish
