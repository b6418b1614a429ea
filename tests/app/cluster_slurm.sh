# tests/app/cluster_slurm.sh: pel under Slurm on an emulated 2-node cluster (scripts/local-cluster.sh: slurmctld on
# node1, a slurmd per node, each in its node's namespaces): a 2-node batch job from scripts/pel-sbatch runs ranks on
# both nodes, is signalled as at its walltime, checkpoints, requeues itself, resumes and finishes with the bits of an
# uninterrupted run; a plain scancel of a 2-node job leaves a checkpoint that the same job submitted again resumes;
# with mpirun, then with srun --mpi=pmix where that works across the nodes. Skipped (exit 77)
# where namespaces cannot be made or Slurm cannot run.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/cluster_common.sh"
SCRIPTS=$REPO/scripts
export PEL_CLUSTER_CRED_EXPIRE=10

cluster_up --nodes 2 --slots 2
step "2 nodes and Slurm up"
cd "$SHARED" || exit 1

# job_field JOBID NAME: a field of `scontrol show job` (JobState, Restarts, ExitCode, ...), asked on node1.
job_field() { on node1 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

args=(--items 3000 --mean-us 6000 --mode sleep --distribution pareto --seed 7)
attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
cat >"$SHARED/syn.toml" <<EOF
job = "synthetic"
items = 3000
mean-us = 6000
mode = "sleep"
distribution = "pareto"
seed = 7
output = "syn.h5"
EOF
timeout 120 "$CLUSTER" mpirun -np 1 --host node1 "$PEL" run synthetic "${args[@]}" --threads 4 \
  --output "$SHARED/ref.h5" >"$TMP/out" 2>"$TMP/err" && pass || fail "reference run: $(head -c 600 "$TMP/err")"

# requeue_case LAUNCHER: a 2-node job, stopped with SIGUSR1 to its batch shell, requeued and finished; the results
# are the uninterrupted run's, and ranks ran on both nodes.
requeue_case() {
  local launcher=$1 dir=$SHARED/$1 job out
  "$SCRIPTS/pel-sbatch" "$SHARED/syn.toml" --nodes 2 --ranks-per-node 2 --cpus-per-task 1 --time 5:00 \
    --job-name "pel-$launcher" --launcher "$launcher" --output-dir "$dir" --pel "$PEL" >"$TMP/gen" 2>&1 ||
    { fail "pel-sbatch failed: $(cat "$TMP/gen")"; return; }
  job=$(on node1 sbatch --parsable "$dir/pel-$launcher.sbatch" 2>"$TMP/sbatch.err") ||
    { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$dir/pel-$launcher-$job.out
  echo "$launcher: job $job"
  wait_for 60 "job $job running" eval '[ "$(job_field "$job" JobState)" = RUNNING ]' ||
    { on node1 scontrol show job "$job"; on node1 sinfo -N -l; tail -n 20 "$PEL_CLUSTER_DIR/slurm/slurmctld.log"; return; }
  [ "$(job_field "$job" NodeList)" = "node[1-2]" ] && pass ||
    fail "$launcher: job $job runs on $(job_field "$job" NodeList), not node[1-2]"
  wait_for 60 "job $job starting pel" grep -q "starting on 2 node(s)" "$out" || { cat "$out"; return; }
  # Past pel's start-up on both nodes (a signal before pel installs its handlers ends it at once).
  wait_for 60 "pel running on node2" eval '[ -n "$(node_pids node2 pel)" ]' || { cat "$out"; return; }
  sleep 3
  on node1 scancel --signal=USR1 --batch "$job" || { fail "scancel --signal=USR1 --batch $job failed"; return; }
  wait_for 60 "job $job requeued" eval '[ "$(job_field "$job" Restarts)" = 1 ]' || { cat "$out"; return; }
  pass
  echo "$launcher: requeued, $(job_field "$job" JobState) ($(job_field "$job" Reason))"
  wait_for 150 "job $job completed" eval '[ "$(job_field "$job" JobState)" = COMPLETED ]' ||
    { cat "$out"; on node1 scontrol show job "$job"; return; }
  pass
  [ "$(job_field "$job" ExitCode)" = 0:0 ] && pass || fail "job $job exit code $(job_field "$job" ExitCode)"
  expect_contains "$out" "SIGUSR1 received"
  expect_contains "$out" "stopped by signal 10 after writing a checkpoint"
  expect_contains "$out" "requeuing (restart 1 of at most 5)"
  expect_contains "$out" "attempt 1: pel finished"
  [ "$(grep -c "starting on 2 node(s)" "$out")" = 2 ] && pass ||
    fail "$launcher: expected 2 attempts in $out: $(cat "$out")"
  "$H5SAME" "$SHARED/ref.h5" "$dir/syn.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "$launcher: the requeued job's results differ from the uninterrupted run: $(cat "$TMP/same")"
  h5dump -a resumed_from "$dir/syn.h5" >/dev/null 2>&1 && pass ||
    fail "$launcher: the results have no resumed_from attribute: the job did not resume"
  /usr/bin/python3 - "$dir/syn.h5" >"$TMP/check" 2>&1 <<'PY' && pass || fail "$launcher: /stats hosts: $(cat "$TMP/check")"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    hosts = f["stats"].attrs["hosts"]
    hosts = (hosts.decode() if isinstance(hosts, bytes) else str(hosts)).split()
    assert sorted(hosts) == ["node1", "node1", "node2", "node2"], hosts
PY
  [ -d "$dir/syn.ckpt" ] && fail "$launcher: checkpoints left after the job finished" || pass
  echo "$launcher: ran on node1 and node2, stopped, requeued, resumed and finished; results identical"
}

# cancel_case LAUNCHER: a 2-node job cancelled by a plain scancel (SIGTERM to every process of the job on both
# nodes, the launcher's daemons on node2 included; SIGKILL KillWait seconds later): the log says it was cancelled
# with a checkpoint, the checkpoint is in the shared directory, and the same script submitted again resumes it and
# ends with the uninterrupted run's bits.
cancel_case() {
  local launcher=$1 dir=$SHARED/cancel-$1 job out
  "$SCRIPTS/pel-sbatch" "$SHARED/syn.toml" --nodes 2 --ranks-per-node 2 --cpus-per-task 1 --time 5:00 \
    --job-name "cancel-$launcher" --launcher "$launcher" --output-dir "$dir" --pel "$PEL" >"$TMP/gen" 2>&1 ||
    { fail "pel-sbatch failed: $(cat "$TMP/gen")"; return; }
  job=$(on node1 sbatch --parsable "$dir/cancel-$launcher.sbatch" 2>"$TMP/sbatch.err") ||
    { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$dir/cancel-$launcher-$job.out
  echo "$launcher: job $job, to be cancelled"
  wait_for 60 "job $job starting pel" eval 'grep -q "starting on 2 node(s)" "$out" 2>/dev/null' || return
  wait_for 60 "pel running on node2" eval '[ -n "$(node_pids node2 pel)" ]' || { cat "$out"; return; }
  sleep 3
  on node1 scancel "$job" || { fail "scancel $job failed"; return; }
  wait_for 60 "job $job cancelled" eval '[ "$(job_field "$job" JobState)" = CANCELLED ]' || { cat "$out"; return; }
  sleep 2  # the batch shell's last lines
  echo "$launcher: cancelled: $(grep -E "SIGTERM|cancelled|failed|killed" "$out" | tr '\n' ' ')"
  expect_contains "$out" "cancelled (SIGTERM: scancel, preemption or the time limit): pel stopped with a checkpoint"
  ls "$dir"/syn.ckpt/ckpt-*.h5 >/dev/null 2>&1 && pass ||
    fail "$launcher: scancel of a 2-node job left no checkpoint: $(cat "$out")"
  job=$(on node1 sbatch --parsable "$dir/cancel-$launcher.sbatch" 2>"$TMP/sbatch.err") ||
    { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$dir/cancel-$launcher-$job.out
  wait_for 150 "resubmitted job $job completed" eval '[ "$(job_field "$job" JobState)" = COMPLETED ]' ||
    { cat "$out"; return; }
  "$H5SAME" "$SHARED/ref.h5" "$dir/syn.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "$launcher: cancelled and resubmitted, the results differ: $(cat "$TMP/same")"
  h5dump -a resumed_from "$dir/syn.h5" >/dev/null 2>&1 && pass ||
    fail "$launcher: the resubmitted job did not resume"
  echo "$launcher: a 2-node job cancelled with a checkpoint; the resubmission resumed it; results identical"
}

step "sbatch, mpirun"
requeue_case mpirun
step "scancel, mpirun"
cancel_case mpirun
if ! on node1 srun --mpi=list 2>&1 | grep -qw pmix; then
  echo "SKIPPED for srun: this Slurm has no pmix MPI plugin (srun --mpi=list: $(on node1 srun --mpi=list 2>&1 | tr '\n' ' '))"
elif ! timeout 60 "$CLUSTER" exec node1 srun --mpi=pmix -N 2 -n 2 "$PEL" run synthetic --items 10 \
       --output "$SHARED/probe.h5" >"$TMP/probe" 2>&1; then
  echo "SKIPPED for srun: srun --mpi=pmix cannot start pel across the nodes here: $(tail -n 2 "$TMP/probe")"
else
  step "sbatch, srun"
  requeue_case srun
  step "scancel, srun"
  cancel_case srun
fi

step down
cd "$TMP" || exit 1
cluster_down
finish
