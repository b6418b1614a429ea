#!/usr/bin/env bash
# scripts/local-slurm.sh: a single-node Slurm 22.05 on this machine, for trying and testing pel's batch scripts.
#
#   scripts/local-slurm.sh up       install slurm-wlm and munge if missing, start munged, slurmctld and slurmd
#   scripts/local-slurm.sh status   the daemons, the node and the queue
#   scripts/local-slurm.sh down     cancel jobs, stop the daemons it started (by pid), remove its directory
#
# Everything lives in $PEL_SLURM_DIR (default /tmp/pel-slurm): slurm.conf, state, spool, logs and pid files.
# Clients find the configuration through SLURM_CONF=$PEL_SLURM_DIR/slurm.conf; when /etc/slurm/slurm.conf does not
# exist, `up` also links it there (and `down` removes the link), so plain `sinfo` and `sbatch` work too.
# Needs root (to install packages and to run the daemons as SlurmUser=root). Exit codes: 0 done, 1 could not.
set -u

DIR=${PEL_SLURM_DIR:-/tmp/pel-slurm}
CONF=$DIR/slurm.conf
ETC_CONF=/etc/slurm/slurm.conf

say() { echo "local-slurm: $*"; }
die() { echo "local-slurm: error: $*" >&2; exit 1; }

# alive PIDFILE: true when the file names a running process.
alive() {
  local pid
  [ -r "$1" ] && pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile NAME PIDFILE: SIGTERM to the process the file names, SIGKILL after 15 s; waits until it is gone.
stop_pidfile() {
  local name=$1 file=$2 pid _
  if ! alive "$file"; then rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  kill -0 "$pid" 2>/dev/null && { echo "local-slurm: error: $name (pid $pid) is still running" >&2; return 1; }
  rm -f "$file"
}

munge_works() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

install_packages() {
  local missing=()
  for cmd in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${cmd%%:*}" >/dev/null || missing+=("${cmd#*:}")
  done
  [ ${#missing[@]} = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "Slurm is not installed (missing: ${missing[*]}) and installing it needs root"
  command -v apt-get >/dev/null || die "Slurm is not installed (missing: ${missing[*]}) and there is no apt-get"
  say "installing slurm-wlm and munge (missing: ${missing[*]})"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge)
  if ! "${apt[@]}" >"$DIR/apt.log" 2>&1; then
    say "install failed; running apt-get update and trying again"
    env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/apt.log" 2>&1
    "${apt[@]}" >>"$DIR/apt.log" 2>&1 || die "apt-get could not install slurm-wlm munge: $(tail -n 3 "$DIR/apt.log")"
  fi
  for cmd in slurmctld slurmd sbatch munged; do
    command -v "$cmd" >/dev/null || die "$cmd is still missing after installing slurm-wlm and munge"
  done
}

# start_munge: uses a running munged, else starts one as the munge user and remembers its pid so that `down` stops it.
start_munge() {
  if munge_works; then say "munged is already running"; return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key || die "cannot create the munge key"
  fi
  install -d -o munge -g munge -m 0755 /run/munge || die "cannot create /run/munge"
  local pidfile=/run/munge/munged.pid
  if command -v runuser >/dev/null; then
    runuser -u munge -- munged --pid-file="$pidfile" >"$DIR/log/munged.out" 2>&1
  else
    su -s /bin/sh munge -c "munged --pid-file=$pidfile" >"$DIR/log/munged.out" 2>&1
  fi || die "munged did not start: $(tail -n 3 "$DIR/log/munged.out")"
  local _
  for _ in $(seq 1 50); do munge_works && break; sleep 0.1; done
  munge_works || die "munged started but credentials do not verify (see $DIR/log/munged.out)"
  cp "$pidfile" "$DIR/munged.pid"
  say "started munged (pid $(cat "$DIR/munged.pid"))"
}

write_conf() {
  local node host
  host=$(hostname -s)
  # slurmd -C reports this machine as Slurm sees it (CPUs, sockets, cores, threads, RealMemory): the node line must
  # not claim more, or slurmd drains the node.
  node=$(slurmd -C 2>/dev/null | head -n 1)
  case "$node" in NodeName=*) ;; *) die "slurmd -C did not describe this machine: $node" ;; esac
  node=${node/NodeName=* CPUs=/NodeName=$host CPUs=}
  cat >"$CONF" <<EOF
# $CONF: written by scripts/local-slurm.sh up; a one-node cluster for testing pel's batch scripts.
ClusterName=pel
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job may start again only cred_expire seconds later (default 120): shorter here, for quick tests.
AuthInfo=cred_expire=${PEL_SLURM_CRED_EXPIRE:-20}
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${PEL_SLURM_PORT:-6817}
SlurmdPort=$(( ${PEL_SLURM_PORT:-6817} + 1 ))
# No cgroups: plain process tracking, no CPU binding by Slurm (mpirun or srun --cpu-bind binds).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobRequeue=1
ReturnToService=2
SchedulerType=sched/backfill
# No slurmdbd, so no sacct: finished jobs are kept in memory for MinJobAge seconds (scontrol show job) and each
# end of a job (every requeue included) is a line in the job completion log.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MinJobAge=600
KillWait=15
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=120
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=7-00:00:00 State=UP
EOF
}

node_state() { SLURM_CONF=$CONF sinfo -h -N -o %T 2>/dev/null | head -n 1; }

cmd_status() {
  local up=0
  if alive "$DIR/slurmctld.pid"; then say "slurmctld running (pid $(cat "$DIR/slurmctld.pid"))"; up=$((up + 1))
  else say "slurmctld not running"; fi
  if alive "$DIR/slurmd.pid"; then say "slurmd running (pid $(cat "$DIR/slurmd.pid"))"; up=$((up + 1))
  else say "slurmd not running"; fi
  if munge_works; then say "munged running$(alive "$DIR/munged.pid" && echo " (started here, pid $(cat "$DIR/munged.pid"))")"
  else say "munged not running"; fi
  if [ "$up" = 2 ]; then
    say "configuration: export SLURM_CONF=$CONF"
    SLURM_CONF=$CONF sinfo
    SLURM_CONF=$CONF squeue
    return 0
  fi
  return 1
}

cmd_up() {
  if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then
    say "already up in $DIR (node $(node_state))"
    say "export SLURM_CONF=$CONF"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as SlurmUser=root)"
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" || die "cannot create $DIR"
  install_packages
  start_munge
  # A half-started earlier attempt: stop what is left of it before starting afresh.
  stop_pidfile slurmd "$DIR/slurmd.pid"
  stop_pidfile slurmctld "$DIR/slurmctld.pid"
  write_conf
  if [ ! -e "$ETC_CONF" ] || [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then
    mkdir -p /etc/slurm && ln -sfn "$CONF" "$ETC_CONF" && echo "$ETC_CONF" >"$DIR/etc-link"
  else
    say "$ETC_CONF exists and is not ours: clients need SLURM_CONF=$CONF"
  fi
  export SLURM_CONF=$CONF
  # Refuse to start a second cluster on the same ports (another local-slurm directory, or a real slurmctld).
  if scontrol ping 2>/dev/null | grep -q "is UP"; then
    die "a slurmctld already answers on port ${PEL_SLURM_PORT:-6817}; stop it or set PEL_SLURM_PORT"
  fi
  slurmctld -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 ||
    die "slurmctld did not start: $(tail -n 3 "$DIR/log/slurmctld.out" "$DIR/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 ||
    die "slurmd did not start: $(tail -n 3 "$DIR/log/slurmd.out" "$DIR/log/slurmd.log" 2>/dev/null)"
  local state=""
  for _ in $(seq 1 60); do
    state=$(node_state)
    case "$state" in
      idle*) break ;;
      down*|drain*) scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 ;;
    esac
    sleep 0.5
  done
  case "$state" in
    idle*) ;;
    *) die "the node is '${state:-unknown}' after 30 s, not idle (logs in $DIR/log): $(tail -n 3 "$DIR/log/slurmd.log" 2>/dev/null)" ;;
  esac
  alive "$DIR/slurmctld.pid" || die "slurmctld is not running (see $DIR/log/slurmctld.log)"
  alive "$DIR/slurmd.pid" || die "slurmd is not running (see $DIR/log/slurmd.log)"
  say "up: slurmctld pid $(cat "$DIR/slurmctld.pid"), slurmd pid $(cat "$DIR/slurmd.pid"), node $(hostname -s) idle"
  say "MPI plugins: $(srun --mpi=list 2>&1 | grep -v -i 'mpi plugin types' | tr -s ' \t\n' ' ')"
  say "export SLURM_CONF=$CONF"
}

cmd_down() {
  if [ ! -d "$DIR" ]; then say "nothing to stop: $DIR does not exist"; return 0; fi
  local rc=0 jobs
  if alive "$DIR/slurmctld.pid"; then
    jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
      say "cancelling jobs: $(echo $jobs)"
      # shellcheck disable=SC2086
      SLURM_CONF=$CONF scancel $jobs 2>/dev/null

      for _ in $(seq 1 40); do
        [ -z "$(SLURM_CONF=$CONF squeue -h -t running,completing,configuring -o %i 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  stop_pidfile slurmd "$DIR/slurmd.pid" || rc=1
  stop_pidfile slurmctld "$DIR/slurmctld.pid" || rc=1
  if [ -f "$DIR/munged.pid" ]; then
    # Ours are stopped: a slurmctld or slurmd still running belongs to another cluster (another local-slurm.sh
    # directory, say), which may have found this munged running and used it.
    if pgrep -x 'slurmctld|slurmd' >/dev/null; then
      say "leaving munged (pid $(cat "$DIR/munged.pid")) running: other Slurm daemons use it"
      rm -f "$DIR/munged.pid"
    else
      stop_pidfile munged "$DIR/munged.pid" || rc=1
    fi
  fi
  if [ -f "$DIR/etc-link" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then rm -f "$ETC_CONF"; fi
  if [ "$rc" = 0 ]; then
    rm -rf "$DIR"
    say "down: daemons stopped, $DIR removed"
  else
    echo "local-slurm: error: some daemons could not be stopped; $DIR kept for their logs" >&2
  fi
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status   (directory: \$PEL_SLURM_DIR, default /tmp/pel-slurm)" >&2; exit 2 ;;
esac
