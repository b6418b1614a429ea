# tests/app/faults.sh: a kernel that throws on some items: retried elsewhere (same bits as a clean run), skipped and
# listed, or the run ends naming the item; a rank that stops answering ends the run naming the rank and host.
source "$(dirname "$0")/common.sh"
args=(--items 5000 --mean-us 20 --seed 4)
attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
expect_ok 1 run synthetic "${args[@]}" --output "$TMP/ref.h5"

# Items that fail only on rank 1 succeed when run again elsewhere: the results are those of a clean run.
for layout in "4 1 awf" "3 2 ss" "2 1 static"; do
  read -r np threads schedule <<<"$layout"
  expect_ok "$np" run synthetic "${args[@]}" --fail-every 97 --fail-rank 1 --max-retries 2 --threads "$threads" \
    --schedule "$schedule" --output "$TMP/r.h5"
  "$H5SAME" "$TMP/ref.h5" "$TMP/r.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "retried run on $layout differs from a clean one: $(cat "$TMP/same")"
  expect_contains "$TMP/err" "fails (--fail-every)"
done

# Items that fail everywhere are skipped with --on-error skip, and listed.
expect_ok 3 run synthetic "${args[@]}" --fail-every 250 --on-error skip --output "$TMP/s.h5"
/usr/bin/python3 - "$TMP/s.h5" >"$TMP/check" 2>&1 <<'PY' && pass || fail "skipped items: $(cat "$TMP/check")"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    items = sorted(int(i) for i in f["skipped/item"][...])
    assert items == list(range(249, 5000, 250)), items
    assert int(f.attrs["skipped_items"]) == 20
    assert int(f.attrs["items_processed"]) == 4980
    assert all(int(p) == 0 for p in f["skipped/phase"][...])
    assert all(0 <= int(r) < 3 for r in f["skipped/rank"][...])
PY
h5dump -a skipped_items "$TMP/ref.h5" | grep -q "(0): 0" && pass || fail "a clean run does not say it skipped none"
# The same with the phase pausing for checkpoints: a skipped item is not granted again after a pause.
expect_ok 3 run synthetic --items 3000 --mean-us 300 --mode sleep --seed 4 --fail-every 250 --on-error skip \
  --checkpoint-every 0.1 --output "$TMP/sp.h5" --verbose
expect_contains "$TMP/err" "checkpoint"
h5dump -a skipped_items "$TMP/sp.h5" | grep -q "(0): 12" && pass || fail "skip with pauses: $(h5dump -a skipped_items "$TMP/sp.h5")"

# Without --on-error skip, an item that keeps failing ends the run on every rank, naming it.
expect_error 1 "of phase 'items' 3 times, last on rank" 3 run synthetic "${args[@]}" --fail-every 250 \
  --max-retries 2 --output "$TMP/a.h5"
expect_error 1 "failed on items [" 2 run synthetic "${args[@]}" --fail-every 250 --output "$TMP/a.h5"
[ -e "$TMP/a.h5" ] && fail "a failed run left a results file" || pass
expect_error 2 "--on-error" 1 run synthetic --items 10 --on-error ignore

# A worker that waits a long time for rank 0 (parked: another rank still has work that may come back) keeps sending
# heartbeats: rank 1 is 25 times slower, so ranks 0 and 2 wait for it far longer than the timeout. (Its helper
# thread could not take the lock the waiting thread held: the run ended with "rank 2 sent nothing for 2 s".)
expect_ok 3 run synthetic --items 6 --mean-us 120000 --mode sleep --slow-rank 1 --slow-factor 25 \
  --heartbeat-timeout 2 --schedule gss --output "$TMP/parked.h5"

# A worker that stops answering (SIGSTOP) ends the run within the heartbeat timeout, naming its rank and host.
# (The heartbeat is watched while a phase runs: wait until the status file shows progress before stopping it.)
timeout 60 "$MPIRUN" -np 3 "$PEL" run synthetic --items 4000 --mean-us 2000 --mode sleep --heartbeat-timeout 1.5 \
  --run-dir "$TMP/hb" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
# The victim is rank 1 (rank 0 is the one watching), found by the rank Open MPI puts in each process's environment.
victim=
for _ in $(seq 50); do
  sleep 0.2
  for p in $(pgrep -x pel); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" &&
      tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--heartbeat-timeout 1.5" && victim=$p
  done
  [ -n "$victim" ] && break
done
for _ in $(seq 100); do
  grep -q -E '"items_done": [1-9]' "$TMP/hb/status.json" 2>/dev/null && break
  sleep 0.2
done
if [ -n "$victim" ]; then
  kill -STOP "$victim"
  wait "$launcher"
  RC=$?
  kill -CONT "$victim" 2>/dev/null
  [ "$RC" != 0 ] && [ "$RC" != 124 ] && pass || fail "a stopped rank did not end the run (exit $RC)"
  expect_contains "$TMP/err" "sent nothing for"
  expect_contains "$TMP/err" "on host $(hostname)"
else
  fail "no pel rank found to stop"
  wait "$launcher"
fi
finish
