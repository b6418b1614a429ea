#!/usr/bin/env bash
# scripts/local-cluster.sh: a multi-node cluster emulated on this one machine, for trying and testing pel across
# nodes: each node is a Linux network namespace with its own address, host name and /tmp; Open MPI and Slurm run
# across them as across real nodes.
#
#   scripts/local-cluster.sh up [--nodes N] [--slots S] [--no-slurm]
#                                           make N nodes (default 3) of S cores each (default: this machine's, which
#                                           they share) and, unless --no-slurm, start Slurm on them
#   scripts/local-cluster.sh status         the nodes, the daemons and sinfo
#   scripts/local-cluster.sh exec NODE CMD...   run CMD on NODE (node1..nodeN), e.g. `exec node1 sbatch job.sh`
#   scripts/local-cluster.sh mpirun ARGS... mpirun from node1 across all nodes (hostfile with S slots per node)
#   scripts/local-cluster.sh down           cancel jobs, stop the daemons it started (by pid), delete the namespaces
#                                           and files it made, and check that nothing is left
#
# What a node is: network namespace $PREFIX-nodeK with address $SUBNET.K/24 on eth0 and loopback up; the nodes'
# eth0s are veth pairs to a bridge br0 that lives in a namespace of its own ($PREFIX-br), so nothing of the cluster
# appears in the host's network namespace. A command on a node (`exec`) also gets a UTS namespace with host name
# nodeK, and a private mount namespace in which $DIR/nodeK/tmp is bound over /tmp (the state directory is bound
# back at its own path, so $DIR/shared, the stand-in for a parallel file system, is the same on every node).
# node1..nodeN resolve through $DIR/hosts, bound over /etc/hosts in that mount namespace (the host's /etc/hosts is
# left alone; /sys stays the host's, so slurmd finds the cgroup file systems). $DIR/bin/rsh is Open MPI's
# plm_rsh_agent: `rsh HOST CMD...` runs CMD on HOST with a clean environment, as ssh would.
#
# Slurm: slurmctld on node1 and one slurmd per node (NodeName=nodeK NodeAddr=$SUBNET.K CPUs=S), each in its node's
# namespaces, with their own pid, log and spool files under $DIR; clients run on a node with SLURM_CONF set by
# `exec` (e.g. `scripts/local-cluster.sh exec node1 sbatch --nodes=2 ...`). The cluster has a munged of its own
# (key and socket in $DIR/munge; the socket is a path, the same in every network namespace), so it neither uses nor
# stops a munged another Slurm on this machine relies on.
#
# Settings (environment): PEL_CLUSTER_DIR state directory (default /tmp/pel-cluster), PEL_CLUSTER_PREFIX name
# prefix of the namespaces (default pelc), PEL_CLUSTER_SUBNET first three octets (default 10.213.0),
# PEL_CLUSTER_PORT slurmctld's port inside the cluster (default 6937; slurmd's is one more),
# PEL_CLUSTER_CRED_EXPIRE seconds before a requeued job may start again (default 20).
# Everything made is listed in $DIR/made before it is made, so `down` also cleans up after a half-failed `up`.
# Needs root, iproute2 and util-linux (unshare, mount). Exit codes: 0 done, 1 failed, 2 bad arguments,
# 77 this machine cannot emulate a cluster (the reason is printed).
set -u

SELF=$(readlink -f "${BASH_SOURCE[0]}")
DIR=${PEL_CLUSTER_DIR:-/tmp/pel-cluster}
DIR=$(readlink -m "$DIR")
# `down` removes the whole directory: never a top-level one such as / or /tmp.
case "$DIR" in
  /*/*) ;;
  *) echo "local-cluster: error: PEL_CLUSTER_DIR must be a directory of its own, not '$DIR'" >&2; exit 2 ;;
esac

say() { echo "local-cluster: $*"; }
die() { echo "local-cluster: error: $*" >&2; exit 1; }
cannot() { echo "local-cluster: cannot run here: $*" >&2; exit 77; }

# The cluster's settings: from $DIR/cluster.env once `up` wrote it, else from the environment.
load_settings() {
  PREFIX=${PEL_CLUSTER_PREFIX:-pelc}
  SUBNET=${PEL_CLUSTER_SUBNET:-10.213.0}
  PORT=${PEL_CLUSTER_PORT:-6937}
  NODES=0
  SLOTS=2
  # shellcheck disable=SC1091
  [ -r "$DIR/cluster.env" ] && source "$DIR/cluster.env"
  CONF=$DIR/slurm.conf
}

# alive PIDFILE: true when the file names a running process.
alive() {
  local pid
  [ -r "$1" ] && pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pid NAME PID: SIGTERM, SIGKILL after 15 s; waits until it is gone.
stop_pid() {
  local name=$1 pid=$2 _
  kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "local-cluster: error: $name (pid $pid) is still running" >&2
  return 1
}

stop_pidfile() {
  local name=$1 file=$2
  [ -r "$file" ] || return 0
  stop_pid "$name" "$(cat "$file")" && rm -f "$file"
}

# made KIND NAME: records a thing before making it, so that `down` removes it even if `up` fails half-way.
made() { echo "$1 $2" >>"$DIR/made"; }

node_ns() { echo "$PREFIX-$1"; }

# valid_node NAME: node1..nodeN of this cluster.
valid_node() {
  case "$1" in node[1-9]*) ;; *) return 1 ;; esac
  local k=${1#node}
  [[ "$k" =~ ^[0-9]+$ ]] && [ "$k" -ge 1 ] && [ "$k" -le "$NODES" ]
}

# --- running on a node ----------------------------------------------------------------------------------------------

# cmd_exec NODE CMD...: enters the node's network namespace, then new UTS and mount namespaces (propagation
# private, so the mounts below never reach the host), and continues in `enter` there.
cmd_exec() {
  [ $# -ge 2 ] || { echo "usage: $0 exec NODE CMD..." >&2; exit 2; }
  local node=$1; shift
  [ "$NODES" -gt 0 ] || die "no cluster is up in $DIR (run: $0 up)"
  valid_node "$node" || die "no node '$node' in this cluster (node1..node$NODES)"
  exec nsenter --net="/run/netns/$(node_ns "$node")" unshare --uts --mount --propagation private -- \
    "$SELF" enter "$node" "$PWD" "$@"
}

# cmd_enter NODE CWD CMD...: inside the node's namespaces: host name, private /tmp, the state directory at its own
# path, the cluster's settings in the environment; then CMD in CWD (or in the shared directory, where CWD is not
# on this node).
cmd_enter() {
  local node=$1 cwd=$2; shift 2
  # Only in namespaces of its own (nsenter and unshare exec, so the parent is exec's caller): never mount over the
  # host's /tmp or rename the host, should someone run `enter` by hand.
  if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/$PPID/ns/mnt)" ] ||
     [ "$(readlink /proc/self/ns/uts)" = "$(readlink /proc/$PPID/ns/uts)" ]; then
    die "'enter' is internal: use '$0 exec NODE CMD...'"
  fi
  hostname "$node" || die "cannot set the host name on $node"
  local tmp=$DIR/$node/tmp
  case "$DIR/" in
    /tmp/*)
      # The state directory is under /tmp: bind it inside the node's /tmp first, so that it stays visible.
      local inner=$tmp/${DIR#/tmp/}
      mkdir -p "$inner" && mount --bind "$DIR" "$inner" || die "cannot bind $DIR on $node"
      ;;
  esac
  mount --rbind "$tmp" /tmp || die "cannot bind $tmp over /tmp on $node"
  mount --bind "$DIR/hosts" /etc/hosts || die "cannot bind $DIR/hosts over /etc/hosts on $node"
  export PEL_CLUSTER_DIR=$DIR PEL_CLUSTER_NODE=$node
  [ -f "$CONF" ] && export SLURM_CONF=$CONF
  # As a site's openmpi-mca-params.conf would: MPI traffic on the cluster's network.
  export OMPI_MCA_btl_tcp_if_include=eth0 OMPI_MCA_oob_tcp_if_include=eth0
  cd "$cwd" 2>/dev/null || cd "$DIR/shared" || die "cannot enter $DIR/shared on $node"
  exec "$@"
}

write_rsh_agent() {
  mkdir -p "$DIR/bin"
  cat >"$DIR/bin/rsh" <<EOF
#!/bin/bash
# $DIR/bin/rsh: written by scripts/local-cluster.sh up; Open MPI's plm_rsh_agent for this cluster.
# rsh [OPTIONS] HOST CMD...: runs CMD through a shell on HOST with a clean environment, as ssh HOST CMD would.
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=\${HOME:-/root} LANG=C.UTF-8 \\
  PEL_CLUSTER_DIR=$DIR "$SELF" exec "\$host" /bin/sh -c "\$*"
EOF
  chmod 755 "$DIR/bin/rsh"
}

cmd_mpirun() {
  [ "$NODES" -gt 0 ] || die "no cluster is up in $DIR (run: $0 up)"
  command -v mpirun >/dev/null || cannot "mpirun is not installed"
  # The emulated nodes share this machine's cores, though each believes it has SLOTS of its own: ranks waiting in
  # MPI yield the core instead of spinning on it (a 200-item synthetic run on 3 nodes x 2 ranks took 8-11 s
  # without, 2 s with).
  cmd_exec node1 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --hostfile "$DIR/hostfile" --mca plm_rsh_agent "$DIR/bin/rsh" --mca btl self,vader,tcp \
    --mca mpi_yield_when_idle 1 --oversubscribe "$@"
}

# --- up -------------------------------------------------------------------------------------------------------------

make_network() {
  local br k ns
  br=$(node_ns br)
  made netns "$br"
  ip netns add "$br" || die "cannot create network namespace $br"
  ip netns exec "$br" ip link set lo up || die "cannot bring up loopback in $br"
  ip netns exec "$br" ip link add br0 type bridge || die "cannot create bridge br0 in $br"
  ip netns exec "$br" ip link set br0 up || die "cannot bring up br0 in $br"
  for k in $(seq 1 "$NODES"); do
    ns=$(node_ns "node$k")
    made netns "$ns"
    ip netns add "$ns" || die "cannot create network namespace $ns"
    # Both ends are created inside their namespaces: no link ever appears in the host's.
    ip link add eth0 netns "$ns" type veth peer name "node$k" netns "$br" ||
      die "cannot create the veth pair $ns:eth0 - $br:node$k"
    ip netns exec "$br" ip link set "node$k" master br0 up || die "cannot attach node$k to br0"
    ip netns exec "$ns" ip link set lo up || die "cannot bring up loopback on node$k"
    ip netns exec "$ns" ip addr add "$SUBNET.$k/24" dev eth0 || die "cannot give node$k address $SUBNET.$k"
    ip netns exec "$ns" ip link set eth0 up || die "cannot bring up eth0 on node$k"
    mkdir -p "$DIR/node$k/tmp" && chmod 1777 "$DIR/node$k/tmp"
  done
  {
    echo "# $DIR/hosts: written by scripts/local-cluster.sh up; bound over /etc/hosts on the nodes only"
    echo "127.0.0.1 localhost"
    for k in $(seq 1 "$NODES"); do echo "$SUBNET.$k node$k"; done
  } >"$DIR/hosts"
  for k in $(seq 1 "$NODES"); do echo "node$k slots=$SLOTS"; done >"$DIR/hostfile"
}

MUNGE_SOCKET_REL=munge/socket

munge_works() {
  munge -S "$DIR/$MUNGE_SOCKET_REL" -n 2>/dev/null | unmunge -S "$DIR/$MUNGE_SOCKET_REL" >/dev/null 2>&1
}

# start_munge: a munged of the cluster's own, with its own key and socket under $DIR (Slurm finds the socket through
# AuthInfo): no other Slurm on this machine can stop it, and it never stops theirs. --force because munged wants
# every directory above its socket open to all users, which a private state directory is not; all the cluster's
# daemons and clients run as root, so none is locked out.
start_munge() {
  local _
  mkdir -p "$DIR/munge" && chmod 755 "$DIR/munge" || die "cannot create $DIR/munge"
  if command -v mungekey >/dev/null; then mungekey --create --keyfile="$DIR/munge/key" >/dev/null 2>&1
  else dd if=/dev/urandom of="$DIR/munge/key" bs=1 count=1024 status=none; fi
  chmod 400 "$DIR/munge/key" || die "cannot create the munge key $DIR/munge/key"
  munged --force --socket="$DIR/$MUNGE_SOCKET_REL" --key-file="$DIR/munge/key" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/seed" >"$DIR/log/munged.out" 2>&1 ||
    die "munged did not start: $(tail -n 3 "$DIR/log/munged.out")"
  for _ in $(seq 1 50); do munge_works && break; sleep 0.1; done
  munge_works || die "munged started but credentials do not verify (see $DIR/munge/munged.log)"
  say "started munged (pid $(cat "$DIR/munge/munged.pid")), socket $DIR/$MUNGE_SOCKET_REL"
}

write_slurm_conf() {
  local k
  cat >"$CONF" <<EOF
# $CONF: written by scripts/local-cluster.sh up; $NODES emulated nodes (network namespaces) on one machine.
ClusterName=pelcluster
SlurmctldHost=node1($SUBNET.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# The cluster's own munged. A requeued job may start again only cred_expire seconds later (default 120): shorter
# here, for quick tests.
AuthInfo=socket=$DIR/$MUNGE_SOCKET_REL,cred_expire=${PEL_CLUSTER_CRED_EXPIRE:-20}
MailProg=/bin/true
StateSaveLocation=$DIR/slurm/state
# %n is the node's name: every slurmd has its own spool, pid and log files, as on separate machines.
SlurmdSpoolDir=$DIR/slurm/%n/spool
SlurmctldPidFile=$DIR/slurm/slurmctld.pid
SlurmdPidFile=$DIR/slurm/%n/slurmd.pid
SlurmctldLogFile=$DIR/slurm/slurmctld.log
SlurmdLogFile=$DIR/slurm/%n/slurmd.log
# Inside the cluster's namespaces: these ports do not clash with a Slurm on the host.
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
# Every node is this machine: it may have fewer CPUs than a node claims (then the nodes share them).
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobRequeue=1
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/slurm/jobcomp.log
MinJobAge=600
KillWait=15
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=120
EOF
  for k in $(seq 1 "$NODES"); do
    echo "NodeName=node$k NodeAddr=$SUBNET.$k CPUs=$SLOTS State=UNKNOWN" >>"$CONF"
  done
  echo "PartitionName=debug Nodes=node[1-$NODES] Default=YES MaxTime=7-00:00:00 State=UP" >>"$CONF"
}

on_node1() { "$SELF" exec node1 "$@"; }

start_slurm() {
  local k _ states
  for cmd in slurmctld slurmd sbatch; do
    command -v "$cmd" >/dev/null ||
      cannot "$cmd is not installed (apt-get install slurm-wlm munge, or run scripts/local-slurm.sh up once)"
  done
  command -v munged >/dev/null && command -v munge >/dev/null ||
    cannot "munge is not installed (apt-get install munge)"
  mkdir -p "$DIR/slurm/state" "$DIR/log"
  for k in $(seq 1 "$NODES"); do mkdir -p "$DIR/slurm/node$k/spool"; done
  start_munge
  write_slurm_conf
  on_node1 slurmctld -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 ||
    die "slurmctld did not start on node1: $(tail -n 3 "$DIR/log/slurmctld.out" "$DIR/slurm/slurmctld.log" 2>/dev/null)"
  for k in $(seq 1 "$NODES"); do
    "$SELF" exec "node$k" slurmd -f "$CONF" -N "node$k" >"$DIR/log/slurmd-node$k.out" 2>&1 ||
      die "slurmd did not start on node$k:" \
        "$(tail -n 3 "$DIR/log/slurmd-node$k.out" "$DIR/slurm/node$k/slurmd.log" 2>/dev/null)"
  done
  for _ in $(seq 1 60); do
    states=$(on_node1 sinfo -h -N -o '%N %T' 2>/dev/null | sort -u)
    [ "$(grep -c ' idle' <<<"$states")" = "$NODES" ] && break
    grep -q -E ' (down|drain)' <<<"$states" &&
      on_node1 scontrol update NodeName="node[1-$NODES]" State=RESUME >/dev/null 2>&1
    sleep 0.5
  done
  [ "$(grep -c ' idle' <<<"$states")" = "$NODES" ] ||
    die "not all nodes are idle after 30 s: $(tr '\n' ' ' <<<"$states")(logs in $DIR/slurm)"
  alive "$DIR/slurm/slurmctld.pid" || die "slurmctld is not running (see $DIR/slurm/slurmctld.log)"
  for k in $(seq 1 "$NODES"); do
    alive "$DIR/slurm/node$k/slurmd.pid" || die "slurmd of node$k is not running (see $DIR/slurm/node$k/slurmd.log)"
  done
  say "Slurm up: slurmctld on node1, slurmd on node1..node$NODES, all idle"
  say "MPI plugins: $(on_node1 srun --mpi=list 2>&1 | grep -v -i 'mpi plugin types' | tr -s ' \t\n' ' ')"
}

cmd_up() {
  local slurm=1 nodes=3 slots
  slots=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)  # not nproc: it follows OMP_NUM_THREADS
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 || true ;;
      --slots) slots=${2:-}; shift 2 || true ;;
      --no-slurm) slurm=0; shift ;;
      *) echo "local-cluster: error: unknown option '$1' for up" >&2; exit 2 ;;
    esac
  done
  [[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 200 ] ||
    { echo "local-cluster: error: --nodes must be 1 to 200, not '$nodes'" >&2; exit 2; }
  [[ "$slots" =~ ^[0-9]+$ ]] && [ "$slots" -ge 1 ] ||
    { echo "local-cluster: error: --slots must be a whole number of at least 1, not '$slots'" >&2; exit 2; }
  [ "$(id -u)" = 0 ] || cannot "needs root (network namespaces, mounts, Slurm daemons as root)"
  for cmd in ip nsenter unshare mount hostname; do command -v "$cmd" >/dev/null || cannot "$cmd is not installed"; done
  [ -e "$DIR/made" ] && die "$DIR holds a cluster already (status: $0 status; remove it: $0 down)"
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in "$PREFIX"-*) die "network namespace $ns exists already: another cluster uses prefix $PREFIX" ;; esac
  done
  # A first namespace, to learn whether this machine allows them at all (a container may not).
  mkdir -p "$DIR" || die "cannot create $DIR"
  : >"$DIR/made"
  NODES=$nodes SLOTS=$slots
  printf 'PREFIX=%s\nSUBNET=%s\nPORT=%s\nNODES=%s\nSLOTS=%s\n' "$PREFIX" "$SUBNET" "$PORT" "$NODES" "$SLOTS" \
    >"$DIR/cluster.env"
  mkdir -p "$DIR/shared" "$DIR/log" && chmod 1777 "$DIR/shared"
  made netns "$PREFIX-probe"
  if ! ip netns add "$PREFIX-probe" 2>"$DIR/log/probe.err"; then
    local why; why=$(cat "$DIR/log/probe.err")
    cmd_down >/dev/null 2>&1
    cannot "network namespaces cannot be created: $why"
  fi
  ip netns del "$PREFIX-probe"
  if ! unshare --uts --mount --propagation private true 2>"$DIR/log/probe.err"; then
    local why; why=$(cat "$DIR/log/probe.err")
    cmd_down >/dev/null 2>&1
    cannot "UTS and mount namespaces cannot be created: $why"
  fi
  make_network
  write_rsh_agent
  local k
  for k in $(seq 2 "$NODES"); do
    "$SELF" exec node1 bash -c "exec 3<>/dev/tcp/$SUBNET.$k/1" 2>&1 | grep -q "refused" ||
      die "node1 cannot reach node$k at $SUBNET.$k"
  done
  say "$NODES nodes up: node1..node$NODES at $SUBNET.1-$NODES, state in $DIR, shared directory $DIR/shared"
  [ "$slurm" = 1 ] && start_slurm
  say "run on a node: $0 exec node1 CMD...; MPI across the nodes: $0 mpirun -np N CMD..."
}

# --- status and down ------------------------------------------------------------------------------------------------

cmd_status() {
  [ -e "$DIR/made" ] || { say "no cluster in $DIR"; return 1; }
  local k ns rc=0
  say "state directory $DIR, $NODES nodes, prefix $PREFIX"
  for k in $(seq 1 "$NODES"); do
    ns=$(node_ns "node$k")
    if ip netns list | grep -q -w "^$ns"; then
      say "node$k: namespace $ns, $(ip netns exec "$ns" ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')," \
        "$(ip netns pids "$ns" 2>/dev/null | wc -l) processes"
    else
      say "node$k: namespace $ns missing"; rc=1
    fi
  done
  if [ -f "$CONF" ]; then
    if alive "$DIR/slurm/slurmctld.pid"; then say "slurmctld running on node1 (pid $(cat "$DIR/slurm/slurmctld.pid"))"
    else say "slurmctld not running"; rc=1; fi
    for k in $(seq 1 "$NODES"); do
      if alive "$DIR/slurm/node$k/slurmd.pid"; then
        say "slurmd running on node$k (pid $(cat "$DIR/slurm/node$k/slurmd.pid"))"
      else say "slurmd not running on node$k"; rc=1; fi
    done
    if alive "$DIR/munge/munged.pid"; then say "munged running (pid $(cat "$DIR/munge/munged.pid"))"
    else say "munged not running"; rc=1; fi
    alive "$DIR/slurm/slurmctld.pid" && on_node1 sinfo && on_node1 squeue
  else
    say "no Slurm (up --no-slurm)"
  fi
  return "$rc"
}

# leftovers: prints what of this cluster still exists (namespaces, daemons, processes, mounts, /etc/netns entries).
leftovers() {
  local ns f
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in "$PREFIX"-*) echo "network namespace $ns" ;; esac
  done
  for f in "$DIR"/slurm/slurmctld.pid "$DIR"/slurm/node*/slurmd.pid "$DIR"/munge/munged.pid; do
    alive "$f" && echo "daemon pid $(cat "$f") ($f)"
  done
  grep -l -F -e " $DIR/" -e " $DIR " /proc/[0-9]*/mountinfo 2>/dev/null |
    sed 's,/proc/\([0-9]*\)/mountinfo,mount of '"$DIR"' by pid \1,'
  ls -d /etc/netns/"$PREFIX"-* 2>/dev/null
}

cmd_down() {
  if [ ! -e "$DIR/made" ]; then
    if [ -d "$DIR" ]; then die "$DIR was not made by local-cluster.sh up (no $DIR/made); not touching it"; fi
    say "nothing to stop: $DIR does not exist"; return 0
  fi
  local rc=0 jobs kind name pid k _
  if [ -f "$CONF" ] && alive "$DIR/slurm/slurmctld.pid"; then
    jobs=$(on_node1 squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
      say "cancelling jobs: $(tr '\n' ' ' <<<"$jobs")"
      # shellcheck disable=SC2086
      on_node1 scancel $jobs 2>/dev/null
      for _ in $(seq 1 40); do
        [ -z "$(on_node1 squeue -h -t running,completing,configuring -o %i 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  for k in $(seq 1 "$NODES"); do stop_pidfile "slurmd on node$k" "$DIR/slurm/node$k/slurmd.pid" || rc=1; done
  stop_pidfile slurmctld "$DIR/slurm/slurmctld.pid" || rc=1
  stop_pidfile munged "$DIR/munge/munged.pid" || rc=1
  # Whatever else still runs on a node (ranks of a run cut short, a job's processes) is the cluster's: it goes too.
  tac "$DIR/made" | while read -r kind name; do
    [ "$kind" = netns ] || continue
    for pid in $(ip netns pids "$name" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
  done
  for _ in $(seq 1 30); do
    [ -z "$(tac "$DIR/made" | awk '$1 == "netns" {print $2}' | xargs -r -n1 ip netns pids 2>/dev/null)" ] && break
    sleep 0.1
  done
  while read -r kind name; do
    [ "$kind" = netns ] || continue
    for pid in $(ip netns pids "$name" 2>/dev/null); do
      say "killing pid $pid left on $name"
      kill -KILL "$pid" 2>/dev/null
    done
  done < <(tac "$DIR/made")
  sleep 0.2
  while read -r kind name; do
    case "$kind" in
      netns)
        # Deleting a namespace deletes the links in it (eth0, the bridge and the peers in the bridge's).
        case "$name" in "$PREFIX"-*) ;; *) continue ;; esac
        if ip netns list | awk '{print $1}' | grep -q -x -F "$name"; then ip netns del "$name" || rc=1; fi ;;
    esac
  done < <(tac "$DIR/made")
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    echo "local-cluster: error: left behind after down: $(echo "$left" | tr '\n' ';')" >&2
    echo "local-cluster: error: $DIR kept for its logs" >&2
    return 1
  fi
  if [ "$rc" != 0 ]; then
    echo "local-cluster: error: some things could not be stopped; $DIR kept for its logs" >&2
    return 1
  fi
  rm -rf "$DIR"
  say "down: namespaces, daemons and $DIR removed; nothing left"
}

load_settings
case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  exec) shift; cmd_exec "$@" ;;
  enter) shift; cmd_enter "$@" ;;
  mpirun) shift; cmd_mpirun "$@" ;;
  *) echo "usage: $0 up [--nodes N] [--slots S] [--no-slurm] | down | status | exec NODE CMD... | mpirun ARGS..." \
       "  (state: \$PEL_CLUSTER_DIR, default /tmp/pel-cluster)" >&2; exit 2 ;;
esac
