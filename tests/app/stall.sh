# tests/app/stall.sh: a long item never holds unstarted items hostage (issue 15). Items a rank was granted but has not
# started, behind long items all its threads are running (the rest of its chunk, the chunk it asked for ahead), start
# elsewhere soon after, not once the dispenser is empty or the long item ends. Checked by order, not by timing: each
# such item starts before items far later in the grant order do. On 3 ranks of one thread (rank 0 and a worker
# stuck), then on 2 ranks of two threads (a worker stuck only once both its threads are). Then a farm run again with
# --cost-profile (its long tasks start first), and checkpoints taken while stuck ranks give back (exactly once).
source "$(dirname "$0")/common.sh"

# 200 tasks; tasks 0 and 4 sleep 8 s, the others 0.02 s. With `--schedule ss --chunk-size 4` on 3 ranks of one
# thread, rank 0 starts with [0, 4) and rank 1 with [4, 8): each is stuck in its first task with three more behind
# it (and rank 1 with the chunk it asked for ahead), while rank 2 works through the short tasks alone.
for n in $(seq 0 199); do
  if [ "$n" = 0 ] || [ "$n" = 4 ]; then echo "sleep 8"; else echo "sleep 0.02"; fi
done >"$TMP/tasks.txt"
expect_ok 3 run taskfarm --tasks "$TMP/tasks.txt" --task-dirs no --schedule ss --chunk-size 4 --threads 1 \
  --trace "$TMP/farm.json" --output "$TMP/farm.h5"
/usr/bin/python3 - "$TMP" >"$TMP/check" 2>&1 <<'PY' && pass || fail "hostage items: $(tail -c 1500 "$TMP/check")"
import json, sys
import h5py, numpy as np
tmp = sys.argv[1]
with h5py.File(f"{tmp}/farm.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0] * 200
    assert [int(x) for x in f["attempts"][...]] == [1] * 200
    log = f["stats/chunk_log"]
    log_begin, log_end = log["begin"][...], log["end"][...]
    log_start, log_stop = log["start_s"][...], log["stop_s"][...]
# When each task started at the earliest, and ended at the latest: a chunk log event is tasks run one after another
# by one thread, from its start to its stop.
earliest, latest = np.full(200, np.nan), np.full(200, np.nan)
for b, e, s, t in zip(log_begin, log_end, log_start, log_stop):
    assert np.isnan(earliest[b:e]).all(), f"tasks [{b}, {e}) ran twice"
    earliest[b:e], latest[b:e] = s, t
assert not np.isnan(earliest).any(), "tasks never ran"
# Tasks 1-3 and 5-7 were held behind tasks 0 and 4: each must be done before any task 100 or more places later starts
# (the old code left them until the dispenser was empty or the long task ended: after all of those).
late = [(t, j) for t in (1, 2, 3, 5, 6, 7) for j in range(t + 100, 200) if earliest[j] < latest[t]]
assert not late, f"held behind a long task: {late[:5]} ({len(late)} pairs); started {earliest[:12]}"
# Both ranks stuck in a long task gave back what they held: rank 0 (its own chunk) and rank 1 (a worker).
doc = json.load(open(f"{tmp}/farm.json"))
returns = [e["args"]["detail"] for e in doc["traceEvents"] if e.get("ph") == "i" and e["name"] == "return"]
assert any("by rank 0," in d for d in returns), returns
assert any("by rank 1," in d for d in returns), returns
print(returns)
PY

# A rank stuck only when every thread is: 2 ranks of 2 threads, tasks 4 and 5 of 8 s take both threads of rank 1,
# with tasks 6 and 7 (and the chunk it asked for ahead) behind them.
for n in $(seq 0 199); do
  if [ "$n" = 4 ] || [ "$n" = 5 ]; then echo "sleep 8"; else echo "sleep 0.02"; fi
done >"$TMP/tasks2.txt"
expect_ok 2 run taskfarm --tasks "$TMP/tasks2.txt" --task-dirs no --schedule ss --chunk-size 4 --threads 2 \
  --output "$TMP/two.h5"
/usr/bin/python3 - "$TMP" >"$TMP/check" 2>&1 <<'PY' && pass || fail "two threads: $(tail -c 1500 "$TMP/check")"
import sys
import h5py, numpy as np
with h5py.File(f"{sys.argv[1]}/two.h5", "r") as f:
    assert [int(x) for x in f["attempts"][...]] == [1] * 200
    log = f["stats/chunk_log"]
    rows = zip(log["begin"][...], log["end"][...], log["start_s"][...], log["stop_s"][...])
    earliest, latest = np.full(200, np.nan), np.full(200, np.nan)
    for b, e, s, t in rows:
        earliest[b:e], latest[b:e] = s, t
late = [(t, j) for t in (6, 7) for j in range(t + 100, 200) if earliest[j] < latest[t]]
assert not late, f"held behind two long tasks: {late[:5]} ({len(late)} pairs); started {earliest[:12]}"
PY

# A farm run again with --cost-profile starts its long tasks first (longest processing time first): tasks 50 and 55
# of 60 sleep 1.5 s, the others 0.02 s; on 3 ranks of one thread the first run reaches them after most short tasks,
# the second (with the first's profile) starts them at once, on two ranks, while the third runs the short ones.
for n in $(seq 0 59); do
  if [ "$n" = 50 ] || [ "$n" = 55 ]; then echo "sleep 1.5"; else echo "sleep 0.02"; fi
done >"$TMP/tasks3.txt"
for run in cold warm; do
  expect_ok 3 run taskfarm --tasks "$TMP/tasks3.txt" --task-dirs no --threads 1 --cost-profile "$TMP/profile.h5" \
    --output "$TMP/$run.h5"
done
/usr/bin/python3 - "$TMP" >"$TMP/check" 2>&1 <<'PY' && pass || fail "warm run: $(tail -c 1500 "$TMP/check")"
import sys
import h5py, numpy as np
def short_ended_before_long(name):
    with h5py.File(f"{sys.argv[1]}/{name}.h5", "r") as f:
        log = f["stats/chunk_log"]
        rows = list(zip(log["begin"][...], log["end"][...], log["start_s"][...], log["stop_s"][...]))
    long_start = max(s for b, e, s, t in rows if b <= 50 < e or b <= 55 < e)
    # Chunk log events are tasks run one after another: count the short tasks of events over before it.
    return sum(e - b for b, e, s, t in rows if t <= long_start and not (b <= 50 < e or b <= 55 < e))
cold, warm = short_ended_before_long("cold"), short_ended_before_long("warm")
assert cold >= 20, f"the first run already started the long tasks early ({cold} short tasks before)"
assert warm <= 3, f"the second run started its long tasks after {warm} short tasks (first run: {cold})"
print(cold, warm)
PY

# Checkpoints while items are given back: the first case shortened (tasks 0 and 4 sleep 2 s) with a checkpoint every
# 0.7 s, so that a round pauses after the ranks stuck in them gave back what they held (0.5 s into a round) and
# while other ranks run the given-back tasks: every task runs exactly once, and the joblog has each once.
for n in $(seq 0 119); do
  if [ "$n" = 0 ] || [ "$n" = 4 ]; then echo "sleep 2"; else echo "sleep 0.02"; fi
done >"$TMP/tasks4.txt"
expect_ok 3 run taskfarm --tasks "$TMP/tasks4.txt" --task-dirs no --schedule ss --chunk-size 4 --threads 1 \
  --checkpoint-every 0.7 --trace "$TMP/ckpt.json" --joblog "$TMP/ckpt.joblog" --output "$TMP/ckpt.h5"
/usr/bin/python3 - "$TMP" >"$TMP/check" 2>&1 <<'PY' && pass || fail "checkpoints: $(tail -c 1500 "$TMP/check")"
import json, sys
import h5py
tmp = sys.argv[1]
with h5py.File(f"{tmp}/ckpt.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0] * 120
    assert [int(x) for x in f["attempts"][...]] == [1] * 120
seqs = [int(line.split("\t")[0]) for line in open(f"{tmp}/ckpt.joblog").read().splitlines()[1:]]
assert sorted(seqs) == list(range(1, 121)), f"joblog rows: {len(seqs)}"
names = [e["name"] for e in json.load(open(f"{tmp}/ckpt.json"))["traceEvents"] if e.get("ph") == "i"]
assert "return" in names and "pause" in names, sorted(set(names))
print(names.count("return"), names.count("pause"))
PY

finish
