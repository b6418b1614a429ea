# tests/app/trace.sh: --trace writes a Chrome trace that parses, names every rank and thread, and whose batch events
# cover every item of every phase exactly once; the results carry the same events as /stats/chunk_log; the cap
# drops events and says so; steals, pauses and checkpoints appear as instant events; bad paths fail up front.
source "$(dirname "$0")/common.sh"

# check_trace TRACE RESULTS RANKS THREADS: the trace and the chunk log agree with the run.
check_trace() {
  /usr/bin/python3 - "$@" >"$TMP/check" 2>&1 <<'PY'
import json, sys
import h5py, numpy as np
trace, results, ranks, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
doc = json.load(open(trace))
events = doc["traceEvents"]
assert doc["otherData"]["dropped_events"] == 0, doc["otherData"]
with h5py.File(results, "r") as f:
    hosts = f["stats"].attrs["hosts"].split()
    log = f["stats/chunk_log"]
    assert int(log.attrs["dropped"]) == 0
    cols = {k: log[k][...] for k in ("rank", "thread", "phase", "begin", "end", "start_s", "stop_s")}
    phases = sorted(k for k in f.keys() if k not in ("stats", "skipped"))
    items = int(f.attrs.get("items_processed", 0))
names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
assert sorted(names) == list(range(ranks)), names
for r, name in names.items():
    assert name == f"rank {r} ({hosts[r]})", name
threads_named = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert all((r, t) in threads_named for r in range(ranks) for t in range(threads)), threads_named
chunks = [e for e in events if e["ph"] == "X"]
assert chunks, "no batch events"
assert all(e["dur"] >= 0 and e["ts"] >= 0 and 0 <= e["tid"] < threads for e in chunks)
# Every item of every phase exactly once, in the trace and in the chunk log alike.
def coverage(rows):
    per_phase = {}
    for phase, begin, end in rows:
        per_phase.setdefault(phase, []).append((begin, end))
    for phase, ranges in per_phase.items():
        ranges.sort()
        n = max(e for _, e in ranges)
        hits = np.zeros(n, dtype=np.int64)
        for b, e in ranges:
            hits[b:e] += 1
        assert (hits == 1).all(), f"phase {phase}: items covered {hits.min()}..{hits.max()} times"
    return {p: max(e for _, e in r) for p, r in per_phase.items()}
traced = coverage((e["args"]["phase"], e["args"]["begin"], e["args"]["end"]) for e in chunks)
logged = coverage(zip(cols["phase"], cols["begin"], cols["end"]))
assert traced == logged, (traced, logged)
assert len(cols["rank"]) == len(chunks)
assert set(cols["rank"]) == set(range(ranks)), set(cols["rank"])
assert (cols["stop_s"] >= cols["start_s"]).all()
# The log is sorted by rank, then start time.
order = np.lexsort((cols["start_s"], cols["rank"]))
assert (order == np.arange(len(order))).all()
print(f"{len(chunks)} events over phases {traced}")
PY
}

expect_ok 3 run synthetic --items 3000 --mean-us 100 --mode sleep --threads 2 --trace "$TMP/s.json" \
  --output "$TMP/s.h5"
expect_contains "$TMP/out" "trace in"
check_trace "$TMP/s.json" "$TMP/s.h5" 3 2 && pass || fail "synthetic trace: $(cat "$TMP/check")"

# Several phases (kmeans iterates), one thread per rank: one event per chunk.
expect_ok 2 run kmeans --input "$TMP/points.h5" --generate 4000 --k 4 --max-iterations 4 --trace "$TMP/k.json" --output "$TMP/k.h5"
check_trace "$TMP/k.json" "$TMP/k.h5" 2 1 && pass || fail "kmeans trace: $(cat "$TMP/check")"

# A slow rank under static blocks: idle ranks steal from it, and each steal is an instant event.
expect_ok 3 run synthetic --items 600 --mean-us 2000 --mode sleep --schedule static --slow-rank 2 \
  --slow-factor 4 --trace "$TMP/steal.json" --output "$TMP/steal.h5"
/usr/bin/python3 - "$TMP/steal.json" >"$TMP/check" 2>&1 <<'PY' && pass || fail "no steal events: $(cat "$TMP/check")"
import json, sys
steals = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "i" and e["name"] == "steal"]
assert steals and all("from rank" in e["args"]["detail"] for e in steals), steals[:3]
PY

# Checkpoints every 0.3 s: pauses and checkpoints are instant events on rank 0's scheduler thread.
expect_ok 2 run synthetic --items 400 --mean-us 5000 --mode sleep --checkpoint-every 0.3 --trace "$TMP/c.json" \
  --output "$TMP/c.h5"
/usr/bin/python3 - "$TMP/c.json" >"$TMP/check" 2>&1 <<'PY' && pass || fail "no checkpoint events: $(cat "$TMP/check")"
import json, sys
instants = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "i"]
names = {e["name"] for e in instants}
assert {"pause", "checkpoint"} <= names, names
assert all(e["pid"] == 0 and e["tid"] == 1 for e in instants if e["name"] in ("pause", "checkpoint")), instants
PY

# The cap: far fewer events kept than batches run; the trace and the results say how many were dropped.
expect_ok 2 run synthetic --items 2000 --mean-us 50 --mode sleep --schedule ss --trace-events 10 \
  --trace "$TMP/cap.json" --output "$TMP/cap.h5"
/usr/bin/python3 - "$TMP/cap.json" "$TMP/cap.h5" >"$TMP/check" 2>&1 <<'PY' && pass || fail "cap: $(cat "$TMP/check")"
import json, sys, h5py
doc = json.load(open(sys.argv[1]))
kept = [e for e in doc["traceEvents"] if e["ph"] == "X"]
dropped = doc["otherData"]["dropped_events"]
assert len(kept) <= 10 and dropped > 1000, (len(kept), dropped)
with h5py.File(sys.argv[2], "r") as f:
    assert int(f["stats/chunk_log"].attrs["dropped"]) == dropped
    assert len(f["stats/chunk_log/begin"]) == len(kept)
PY

# --trace-events 0 records nothing: no chunk log, and --trace with it is a usage error.
expect_ok 2 run synthetic --items 100 --trace-events 0 --output "$TMP/none.h5"
h5dump -H "$TMP/none.h5" | grep -q chunk_log && fail "a chunk log with --trace-events 0" || pass
expect_error 2 "--trace-events must be more than 0" 2 run synthetic --items 100 --trace-events 0 \
  --trace "$TMP/x.json" --output "$TMP/x.h5"
# A trace file that cannot be written fails before the run, once, with exit 4.
expect_error 4 "--trace: cannot write" 2 run synthetic --items 100 --trace "$TMP/no/such/dir/t.json" \
  --output "$TMP/y.h5"
[ ! -e "$TMP/y.h5" ] && pass || fail "results written although the trace path was bad"
finish
