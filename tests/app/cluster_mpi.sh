# tests/app/cluster_mpi.sh: pel across an emulated cluster of 3 nodes (scripts/local-cluster.sh: network, UTS and
# mount namespaces, Open MPI launched through its rsh agent, TCP between the nodes): every shipped job on 3 nodes x 2
# ranks gives the bits of 1 rank on 1 node, /stats names the three hosts, --verbose gives each rank's node and CPUs;
# each node's /tmp is private while checkpoints go to the shared directory; a run whose node3 ranks are all killed
# resumes on the 2 nodes left with the same bits; a node whose ranks stop answering is named by the heartbeat error;
# status.json, pel status and pel report list every host; pel doctor tells a shared directory from a node's own.
# Skipped (exit 77) where namespaces cannot be made.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/cluster_common.sh"

step "an up killed half-way, then down"
# `down` after an `up` killed half-way (some namespaces made, others not) removes what was made, and only that.
main_dir=$PEL_CLUSTER_DIR main_prefix=$PEL_CLUSTER_PREFIX
export PEL_CLUSTER_DIR=$TMP/half PEL_CLUSTER_PREFIX=${main_prefix}h
# In a process group of its own, so that the kill takes its `ip` commands too (one finishing after `down` would
# leave a namespace behind).
setsid "$CLUSTER" up --nodes 6 --no-slurm >"$TMP/half.log" 2>&1 &
up=$!
for _ in $(seq 200); do [ "$(wc -l 2>/dev/null <"$PEL_CLUSTER_DIR/made")" -ge 4 ] 2>/dev/null && break; sleep 0.01; done
kill -KILL -- "-$up" 2>/dev/null || kill -KILL "$up"
wait "$up" 2>/dev/null
made=$(awk '{print $2}' "$PEL_CLUSTER_DIR/made" 2>/dev/null | tr '\n' ' ')
echo "an up killed after making: $made"
[ -n "$made" ] && pass || fail "the killed up recorded nothing in $PEL_CLUSTER_DIR/made"
cluster_down
export PEL_CLUSTER_DIR=$main_dir PEL_CLUSTER_PREFIX=$main_prefix

cluster_up --nodes 3 --slots 2 --no-slurm
step "3 nodes up"
cd "$SHARED" || exit 1

# Each node has its own host name and its own /tmp; the shared directory is the same everywhere.
for k in 1 2 3; do
  [ "$(on "node$k" hostname)" = "node$k" ] && pass || fail "node$k calls itself '$(on "node$k" hostname)'"
done
on node2 sh -c 'echo private > /tmp/pel-node2-only-$PEL_CLUSTER_PREFIX && echo shared > '"$SHARED"'/from-node2'
on node2 test -e /tmp/pel-node2-only-$PEL_CLUSTER_PREFIX && pass || fail "node2 does not see the file it made in its /tmp"
on node1 test -e /tmp/pel-node2-only-$PEL_CLUSTER_PREFIX && fail "node1 sees node2's /tmp" || pass
on node3 test -e /tmp/pel-node2-only-$PEL_CLUSTER_PREFIX && fail "node3 sees node2's /tmp" || pass
[ -e /tmp/pel-node2-only-$PEL_CLUSTER_PREFIX ] && fail "the host sees node2's /tmp" || pass
[ "$(on node3 cat "$SHARED/from-node2")" = shared ] && pass || fail "node3 does not see node2's file in $SHARED"
on node1 sh -c "getent hosts node3 | grep -q '^10\.213\.0\.3 '" && pass || fail "node1 does not resolve node3"

# Bad requests get one clear line and a non-zero exit.
expect_script_error() {
  local code=$1 fragment=$2; shift 2
  "$CLUSTER" "$@" >"$TMP/script.out" 2>&1
  local rc=$?
  [ "$rc" = "$code" ] && grep -q -F -- "$fragment" "$TMP/script.out" && pass ||
    fail "local-cluster.sh $*: exit $rc (not $code) or no '$fragment': $(cat "$TMP/script.out")"
}
expect_script_error 1 "no node 'node4' in this cluster (node1..node3)" exec node4 true
expect_script_error 1 "holds a cluster already" up --nodes 2
expect_script_error 2 "--nodes must be 1 to 200, not 'x'" up --nodes x
expect_script_error 2 "usage:" frobnicate
host=$(hostname)
expect_script_error 1 "'enter' is internal" enter node1 / true
[ "$(hostname)" = "$host" ] && pass || fail "'enter' run by hand renamed the host to $(hostname)"

# Every job: 3 nodes x 2 ranks (ranks 0-1 on node1, 2-3 on node2, 4-5 on node3) against 1 rank on node1.
spread=(-np 6 --map-by ppr:2:node)
for job in synthetic mandelbrot kmeans; do
  case "$job" in
    mandelbrot) args=(--width 240 --height 160 --max-iterations 400); attrs=(total_iterations) ;;
    kmeans) args=(--input "$SHARED/points.h5" --generate 20000 --k 6 --max-iterations 30)
            attrs=(iterations inertia converged) ;;
    synthetic) args=(--items 4000 --mean-us 2 --distribution pareto --seed 11)
               attrs=(items_processed checksum_sum checksum_xor total_cost_us max_cost_us) ;;
  esac
  attr_flags=()
  for a in "${attrs[@]}"; do attr_flags+=(--attr "$a"); done
  step "$job"
  expect_cluster_ok -np 1 --host node1 "$PEL" run "$job" "${args[@]}" --output "$SHARED/$job-ref.h5"
  expect_cluster_ok "${spread[@]}" "$PEL" run "$job" "${args[@]}" --schedule gss --output "$SHARED/$job-3x2.h5"
  "$H5SAME" "$SHARED/$job-ref.h5" "$SHARED/$job-3x2.h5" "${attr_flags[@]}" --ignore /stats >"$TMP/same" 2>&1 &&
    pass || fail "$job on 3 nodes x 2 ranks differs from 1 rank on 1 node: $(cat "$TMP/same")"
done

# /stats records each rank's host: three nodes, two ranks each, in rank order.
/usr/bin/python3 - "$SHARED/synthetic-3x2.h5" >"$TMP/check" 2>&1 <<'PY' && pass || fail "/stats hosts: $(cat "$TMP/check")"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    hosts = f["stats"].attrs["hosts"]
    hosts = (hosts.decode() if isinstance(hosts, bytes) else str(hosts)).split()
    assert hosts == ["node1", "node1", "node2", "node2", "node3", "node3"], hosts
PY

step taskfarm
# taskfarm: tasks run on every node, in directories under the shared output; exit codes as on one rank.
for n in $(seq 0 59); do echo "echo task-$n on \$(hostname); echo $n > out; exit \$(( $n % 7 == 0 ))"; done \
  >"$SHARED/tasks.txt"
# 9 of the 60 tasks fail: the farm's exit code is 100 + 9.
for layout in one spread; do
  if [ $layout = one ]; then
    pel_cluster -np 1 --host node1 "$PEL" run taskfarm --tasks "$SHARED/tasks.txt" --output "$SHARED/farm-ref.h5"
  else
    pel_cluster "${spread[@]}" "$PEL" run taskfarm --tasks "$SHARED/tasks.txt" --output "$SHARED/farm.h5"
  fi
  [ "$RC" = 109 ] && pass || fail "taskfarm ($layout): exit $RC, not 109: $(head -c 800 "$TMP/err")"
done
/usr/bin/python3 - "$SHARED" >"$TMP/check" 2>&1 <<'PY' && pass || fail "taskfarm across nodes: $(cat "$TMP/check")"
import sys, h5py
d = sys.argv[1]
with h5py.File(f"{d}/farm-ref.h5", "r") as ref, h5py.File(f"{d}/farm.h5", "r") as f:
    for name in ("exit_code", "attempts", "failed_tasks"):
        assert list(ref[name][...]) == list(f[name][...]), name
    assert [int(x) for x in f["exit_code"][...]] == [int(n % 7 == 0) for n in range(60)]
rows = [l.split("\t") for l in open(f"{d}/farm.joblog.tsv")][1:]
assert sorted(int(r[0]) for r in rows) == list(range(1, 61)), [r[0] for r in rows]  # appended by every node
assert {r[1] for r in rows} == {"node1", "node2", "node3"}, {r[1] for r in rows}
assert all(open(f"{d}/farm.work/task-{n:06d}/out").read() == f"{n}\n" for n in range(60))
PY

step "--verbose"
# --verbose: every rank's line names its node and the CPUs of its threads.
expect_cluster_ok "${spread[@]}" "$PEL" run synthetic --items 200 --verbose --output "$SHARED/verbose.h5"
for r in 0 1 2 3 4 5; do
  grep -q -E "rank $r: host node$((r / 2 + 1)): thread 0 on CPUs [0-9]" "$TMP/err" && pass ||
    fail "--verbose does not place rank $r on node$((r / 2 + 1)): $(grep "rank $r:" "$TMP/err")"
done

step "status, report and doctor list every host"
# status.json, `pel status` and `pel report` name the three hosts with their ranks, not only rank 0's.
expect_cluster_ok "${spread[@]}" "$PEL" run synthetic --items 300 --run-dir "$SHARED/st"
"$PEL" status "$SHARED/st" >"$TMP/status" 2>&1 && pass || fail "pel status failed: $(cat "$TMP/status")"
expect_contains "$TMP/status" "on 3 hosts: node1 (2 ranks), node2 (2 ranks), node3 (2 ranks)"
"$PEL" report "$SHARED/st/synthetic.h5" >"$TMP/report" 2>&1 && pass || fail "pel report failed: $(cat "$TMP/report")"
expect_contains "$TMP/report" "3 hosts: node1 (2 ranks), node2 (2 ranks), node3 (2 ranks)"
/usr/bin/python3 - "$SHARED/st/status.json" >"$TMP/check" 2>&1 <<'PY' && pass || fail "status.json hosts: $(cat "$TMP/check")"
import json, sys
hosts = json.load(open(sys.argv[1]))["hosts"]
names = sorted(h["host"] if isinstance(h, dict) else h[0] for h in hosts)
assert names == ["node1", "node2", "node3"], hosts
PY
# pel doctor: the shared directory is one directory on every node; a directory under each node's private /tmp is
# not, and the check fails naming the hosts that cannot see each other's files.
expect_cluster_ok "${spread[@]}" "$PEL" doctor --checkpoint-dir "$SHARED/doctor-ckpt" --output "$SHARED/d.h5"
expect_contains "$TMP/out" "checkpoint directory: $SHARED/doctor-ckpt is shared by all 3 hosts"
pel_cluster "${spread[@]}" "$PEL" doctor --checkpoint-dir /tmp/doctor-ckpt --output "$SHARED/d.h5"
[ "$RC" != 0 ] && [ "$RC" != 124 ] && pass || fail "doctor passed a checkpoint directory only node1 has"
grep -q -E "is NOT shared by all 3 hosts: cannot create a file there on host node2 \(ranks 2-3\), node3" "$TMP/out" &&
  pass || fail "doctor does not name the hosts missing the directory: $(grep -i -m3 'checkpoint directory' "$TMP/out")"
for n in 1 2 3; do mkdir -p "$PEL_CLUSTER_DIR/node$n/tmp/doctor-ckpt"; done  # there on every node, but not shared
pel_cluster "${spread[@]}" "$PEL" doctor --checkpoint-dir /tmp/doctor-ckpt --output "$SHARED/d.h5"
[ "$RC" != 0 ] && [ "$RC" != 124 ] && pass || fail "doctor passed a checkpoint directory in each node's private /tmp"
grep -q -E "host node[123] \(ranks? [0-9-]+\) does not see files of hosts? node[123]" "$TMP/out" "$TMP/err" && pass ||
  fail "doctor does not name the hosts of an unshared directory: $(grep -i -m3 'checkpoint directory' "$TMP/out" "$TMP/err")"
[ -z "$(find "$PEL_CLUSTER_DIR"/node*/tmp/doctor-ckpt "$SHARED/doctor-ckpt" -type f 2>/dev/null)" ] && pass ||
  fail "doctor left its tokens: $(find "$PEL_CLUSTER_DIR"/node*/tmp/doctor-ckpt "$SHARED/doctor-ckpt" -type f)"

step "kill node3, resume on node1 and node2"
# Kill every rank on node3 mid-run (after a checkpoint reached the shared directory), then resume on node1 and
# node2 only: the results are those of an uninterrupted run.
slow=(--items 2400 --mean-us 8000 --mode sleep --distribution pareto --seed 5)
slow_attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
expect_cluster_ok -np 1 --host node1 "$PEL" run synthetic "${slow[@]}" --threads 4 --output "$SHARED/slow-ref.h5"
timeout 180 "$CLUSTER" mpirun "${spread[@]}" "$PEL" run synthetic "${slow[@]}" --checkpoint-every 0.5 \
  --output "$SHARED/slow.h5" >"$TMP/kill.out" 2>"$TMP/kill.err" &
launcher=$!
for _ in $(seq 150); do compgen -G "$SHARED/slow.ckpt/ckpt-*.h5" >/dev/null && break; sleep 0.1; done
victims=$(node_pids node3 pel)
if [ -z "$victims" ] || ! compgen -G "$SHARED/slow.ckpt/ckpt-*.h5" >/dev/null; then
  fail "no checkpoint in $SHARED/slow.ckpt or no pel on node3 (pids: ${victims:-none})"
fi
[ "$(echo $victims | wc -w)" = 2 ] && pass || fail "expected 2 pel ranks on node3, found: $victims"
# shellcheck disable=SC2086
kill -KILL $victims 2>/dev/null
wait "$launcher"
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && pass || fail "killing node3's ranks did not end the run (exit $rc)"
[ -e "$SHARED/slow.h5" ] && fail "the killed run wrote its results: the kill came too late" || pass
compgen -G "$PEL_CLUSTER_DIR/node*/tmp/*.ckpt" >/dev/null && fail "checkpoints went to a node's /tmp" || pass
expect_cluster_ok -np 4 --host node1:2,node2:2 "$PEL" run synthetic "${slow[@]}" --checkpoint-every 0.5 \
  --output "$SHARED/slow.h5" --resume
"$H5SAME" "$SHARED/slow-ref.h5" "$SHARED/slow.h5" "${slow_attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "resumed on 2 nodes after node3 was killed: results differ: $(cat "$TMP/same")"
h5dump -a resumed_from "$SHARED/slow.h5" >/dev/null 2>&1 && pass || fail "the run on 2 nodes did not resume"

step "stop node3: the heartbeat"
# Stop (SIGSTOP) the ranks of node3 once the run makes progress: the heartbeat error names a rank on node3.
timeout 120 "$CLUSTER" mpirun "${spread[@]}" "$PEL" run synthetic --items 12000 --mean-us 2000 --mode sleep \
  --heartbeat-timeout 2 --run-dir "$SHARED/hb" >"$TMP/hb.out" 2>"$TMP/hb.err" &
launcher=$!
for _ in $(seq 150); do
  grep -q -E '"items_done": [1-9]' "$SHARED/hb/status.json" 2>/dev/null && break
  sleep 0.1
done
victims=$(node_pids node3 pel)
if [ -n "$victims" ]; then
  # shellcheck disable=SC2086
  kill -STOP $victims
  wait "$launcher"
  rc=$?
  # shellcheck disable=SC2086
  kill -CONT $victims 2>/dev/null
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && pass || fail "stopped ranks on node3 did not end the run (exit $rc)"
  expect_contains "$TMP/hb.err" "sent nothing for"
  grep -q -E "rank [45] on host node3 sent nothing for" "$TMP/hb.err" && pass ||
    fail "the heartbeat error does not name node3: $(grep -m1 'error' "$TMP/hb.err")"
else
  fail "no pel rank found on node3 to stop"
  wait "$launcher"
fi

step down
cd "$TMP" || exit 1
cluster_down
finish
