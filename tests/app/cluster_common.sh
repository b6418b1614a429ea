# tests/app/cluster_common.sh: helpers for the multi-node tests (ctest label `cluster`). Sourced after common.sh:
# each test gets an emulated cluster of its own (scripts/local-cluster.sh, state in $TMP/cluster, namespaces named
# with a prefix of its own), torn down on exit even on failure, and the check that `down` left nothing behind.
: "${REPO:?REPO must name the source tree}"
CLUSTER=$REPO/scripts/local-cluster.sh
export PEL_CLUSTER_DIR=$TMP/cluster PEL_CLUSTER_PREFIX=pelt${TMP##*-}
SHARED=$PEL_CLUSTER_DIR/shared
CLUSTER_DAEMONS=""

skip() { echo "SKIPPED: $*"; exit 77; }
# step WHAT: a time-stamped line in the test's output, to see where the time goes.
step() { echo "[$(date +%T)] $*"; }

# check_nothing_left: after `down`, nothing of the cluster may remain: no namespace with its prefix, no daemon it
# started, no mount of its state directory in any process, no /etc/netns entry, and no state directory.
check_nothing_left() {
  local left="" ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in "$PEL_CLUSTER_PREFIX"-*) left+=" namespace $ns;" ;; esac
  done
  for pid in $CLUSTER_DAEMONS; do kill -0 "$pid" 2>/dev/null && left+=" daemon pid $pid;"; done
  for pid in $(grep -l -F -e " $PEL_CLUSTER_DIR/" -e " $PEL_CLUSTER_DIR " /proc/[0-9]*/mountinfo 2>/dev/null |
               cut -d/ -f3); do
    left+=" a mount of $PEL_CLUSTER_DIR in pid $pid;"
  done
  compgen -G "/etc/netns/$PEL_CLUSTER_PREFIX-*" >/dev/null && left+=" /etc/netns/$PEL_CLUSTER_PREFIX-*;"
  [ -e "$PEL_CLUSTER_DIR" ] && left+=" $PEL_CLUSTER_DIR;"
  if [ -n "$left" ]; then fail "left behind after local-cluster.sh down:$left"; return 1; fi
  pass
}

# cluster_down: takes the cluster down (a check in itself) and checks that nothing is left.
cluster_down() {
  [ -e "$PEL_CLUSTER_DIR/made" ] || return 0
  if "$CLUSTER" down >"$TMP/down.log" 2>&1; then pass; else fail "local-cluster.sh down: $(tail -n 5 "$TMP/down.log")"; fi
  check_nothing_left
}

cluster_cleanup() {
  local rc=$?
  if [ -e "$PEL_CLUSTER_DIR/made" ]; then
    cluster_down || rc=1
    [ "$FAILURES" = 0 ] || rc=1
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cluster_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sweep_stale_clusters: takes down the clusters of earlier cluster tests that were killed before their own cleanup
# could run (ctest's timeout kills with SIGKILL): those whose test process, named in their `owner` file, is gone.
sweep_stale_clusters() {
  local made dir owner
  for made in /tmp/pel-cmd-*/cluster/made; do
    [ -e "$made" ] || continue
    dir=${made%/made}
    owner=$(cat "$dir/owner" 2>/dev/null)
    [ -n "$owner" ] || continue
    kill -0 "$owner" 2>/dev/null && continue
    echo "taking down the cluster of a killed test in $dir"
    PEL_CLUSTER_DIR=$dir "$CLUSTER" down >"$TMP/sweep.log" 2>&1 || cat "$TMP/sweep.log"
  done
}

# cluster_up ARGS...: `local-cluster.sh up ARGS`; skips the test (77) where this machine cannot emulate a cluster.
cluster_up() {
  [ "$(id -u)" = 0 ] || skip "needs root for network namespaces and mounts"
  sweep_stale_clusters
  # The owner first: another test's sweep must never take this cluster for a stale one.
  mkdir -p "$PEL_CLUSTER_DIR" && echo $$ >"$PEL_CLUSTER_DIR/owner"
  "$CLUSTER" up "$@" >"$TMP/up.log" 2>&1
  local rc=$?
  [ "$rc" = 77 ] && skip "$(grep -m1 'cannot run here' "$TMP/up.log")"
  if [ "$rc" != 0 ]; then cat "$TMP/up.log"; fail "local-cluster.sh up $*: exit $rc"; exit 1; fi
  local f
  for f in "$PEL_CLUSTER_DIR"/slurm/slurmctld.pid "$PEL_CLUSTER_DIR"/slurm/node*/slurmd.pid; do
    [ -r "$f" ] && CLUSTER_DAEMONS+=" $(cat "$f")"
  done
  [ -r "$PEL_CLUSTER_DIR/munge/munged.pid" ] && CLUSTER_DAEMONS+=" $(cat "$PEL_CLUSTER_DIR/munge/munged.pid")"
  grep "MPI plugins" "$TMP/up.log"
  pass
}

# on NODE CMD...: CMD on a node of the cluster.
on() { "$CLUSTER" exec "$@"; }

# pel_cluster ARGS...: mpirun ARGS across the cluster (bounded in time); stdout in $TMP/out, stderr in $TMP/err.
pel_cluster() {
  timeout 180 "$CLUSTER" mpirun "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  [ "$RC" = 124 ] && fail "hung: mpirun $*"
}

# expect_cluster_ok ARGS...: the mpirun across the cluster must succeed.
expect_cluster_ok() {
  pel_cluster "$@"
  if [ "$RC" != 0 ]; then fail "exit $RC from mpirun $*: $(head -c 800 "$TMP/err")"; else pass; fi
}

# node_pids NODE NAME: pids of the processes called NAME running on NODE (in its network namespace).
node_pids() {
  local pid
  for pid in $(ip netns pids "$PEL_CLUSTER_PREFIX-$1" 2>/dev/null); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
  done
}
