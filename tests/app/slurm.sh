# tests/app/slurm.sh: pel under a real Slurm 22.05 (one node, scripts/local-slurm.sh): a batch job from
# scripts/pel-sbatch is signalled as at its walltime, checkpoints, requeues itself, resumes and finishes with the
# same bits as an uninterrupted run; with mpirun, then with srun (its --mpi chosen from srun --mpi=list). A plain
# scancel of the README's command (pel not on PATH) leaves a checkpoint and a "stopped" status, and resubmitting
# the same command resumes it in the same --run-dir auto. A failing pel is not requeued, a walltime inside
# --time-margin fails at once, and a stopped job past PEL_MAX_REQUEUES ends with 75. Skipped (exit 77) where Slurm
# cannot be installed or started.
source "$(dirname "$0")/common.sh"
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
SCRIPTS=$REPO/scripts
# A cluster of its own, on its own ports, so that a local-slurm.sh cluster already up is left alone.
export PEL_SLURM_DIR=$TMP/slurm PEL_SLURM_PORT=${PEL_SLURM_PORT:-6927} PEL_SLURM_CRED_EXPIRE=10
export SLURM_CONF=$PEL_SLURM_DIR/slurm.conf

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to install and run slurmctld and slurmd"

DAEMONS=""
cleanup() {
  local rc=$?
  if [ -d "$PEL_SLURM_DIR" ]; then
    "$SCRIPTS/local-slurm.sh" down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; rc=1; }
  fi
  for pid in $DAEMONS; do
    if kill -0 "$pid" 2>/dev/null; then echo "FAIL: Slurm daemon $pid still runs after local-slurm.sh down"; rc=1; fi
  done
  if pgrep -f "$PEL_SLURM_DIR/slurm.conf" >/dev/null; then
    echo "FAIL: processes of the test cluster remain: $(pgrep -a -f "$PEL_SLURM_DIR/slurm.conf")"; rc=1
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

if ! "$SCRIPTS/local-slurm.sh" up >"$TMP/up.log" 2>&1; then
  skip "Slurm could not be started here: $(grep -m1 error "$TMP/up.log" || tail -n 1 "$TMP/up.log")"
fi
DAEMONS="$(cat "$PEL_SLURM_DIR/slurmctld.pid") $(cat "$PEL_SLURM_DIR/slurmd.pid")"
grep "MPI plugins" "$TMP/up.log"

# job_field JOBID NAME: a field of `scontrol show job` (JobState, Restarts, ExitCode, ...).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

args=(--items 3000 --mean-us 6000 --mode sleep --distribution pareto --seed 7)
attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
cat >"$TMP/syn.toml" <<EOF
job = "synthetic"
items = 3000
mean-us = 6000
mode = "sleep"
distribution = "pareto"
seed = 7
output = "syn.h5"
EOF
expect_ok 1 run synthetic "${args[@]}" --output "$TMP/ref.h5"

# requeue_case LAUNCHER: submit, stop with SIGUSR1 to the batch shell as --signal=B:USR1 would, watch it requeue
# and finish; the results must equal the uninterrupted run's.
requeue_case() {
  local launcher=$1 dir=$TMP/$1 job out
  "$SCRIPTS/pel-sbatch" "$TMP/syn.toml" --nodes 1 --ranks-per-node 2 --cpus-per-task 1 --time 5:00 \
    --job-name "pel-$launcher" --launcher "$launcher" --output-dir "$dir" --pel "$PEL" >"$TMP/gen" 2>&1 ||
    { fail "pel-sbatch failed: $(cat "$TMP/gen")"; return; }
  job=$(sbatch --parsable "$dir/pel-$launcher.sbatch" 2>"$TMP/sbatch.err") ||
    { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$dir/pel-$launcher-$job.out
  echo "$launcher: job $job"
  wait_for 60 "job $job running" eval '[ "$(job_field "$job" JobState)" = RUNNING ]' || return
  # Past pel's start-up (a signal before pel installs its handlers ends it at once), well before the end (~9 s).
  wait_for 30 "job $job starting pel" grep -q "starting on" "$out" || return
  sleep 3
  scancel --signal=USR1 --batch "$job" || { fail "scancel --signal=USR1 --batch $job failed"; return; }
  wait_for 60 "job $job requeued" eval '[ "$(job_field "$job" Restarts)" = 1 ]' || { cat "$out"; return; }
  pass
  echo "$launcher: requeued, $(job_field "$job" JobState) ($(job_field "$job" Reason))"
  wait_for 120 "job $job completed" eval '[ "$(job_field "$job" JobState)" = COMPLETED ]' ||
    { cat "$out"; scontrol show job "$job"; return; }
  pass
  [ "$(job_field "$job" ExitCode)" = 0:0 ] && pass || fail "job $job exit code $(job_field "$job" ExitCode)"
  expect_contains "$out" "SIGUSR1 received"
  [ "$launcher" = srun ] && expect_contains "$out" "srun --mpi=$SRUN_MPI (srun --mpi=list:"
  expect_contains "$out" "stopped by signal 10 after writing a checkpoint"
  expect_contains "$out" "requeuing (restart 1 of at most 5)"
  expect_contains "$out" "attempt 1: pel finished"
  [ "$(grep -c "starting on" "$out")" = 2 ] && pass || fail "$launcher: expected 2 attempts in $out: $(cat "$out")"
  "$H5SAME" "$TMP/ref.h5" "$dir/syn.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "$launcher: the requeued job's results differ from the uninterrupted run: $(cat "$TMP/same")"
  h5dump -a resumed_from "$dir/syn.h5" >/dev/null 2>&1 && pass ||
    fail "$launcher: the results have no resumed_from attribute: the job did not resume"
  [ -d "$dir/syn.ckpt" ] && fail "$launcher: checkpoints left after the job finished" || pass
  echo "$launcher: stopped, requeued, resumed and finished; results identical"
}

# The plugin the template should choose: pmix, else the newest pmix_vN, else pmi2.
plugins=$(srun --mpi=list 2>&1)
if grep -qw pmix <<<"$plugins"; then SRUN_MPI=pmix
else SRUN_MPI=$(grep -o 'pmix_v[0-9]*' <<<"$plugins" | sort -V | tail -n 1); fi
SRUN_MPI=${SRUN_MPI:-pmi2}

# cancel_case LAUNCHER: the README's command, submitted from a directory holding build/bin/pel, with no pel on PATH,
# cancelled by a plain scancel (SIGTERM to every process of the job, SIGKILL KillWait=15 s later): the log says it
# was cancelled with a checkpoint, status.json says stopped, and the same command submitted again resumes in the same
# run directory (--run-dir auto) and ends with the uninterrupted run's bits.
cancel_case() {
  local launcher=$1 sub=$TMP/cancel-$1 job out dirs
  mkdir -p "$sub/build/bin" && ln -sf "$PEL" "$sub/build/bin/pel"
  submit() {
    (cd "$sub" && env -u PEL PATH=/usr/bin:/bin LAUNCHER="$launcher" sbatch --parsable --output="$sub/%j.out" \
      "$SCRIPTS/pel.sbatch" run synthetic "${args[@]}" --run-dir auto 2>"$TMP/sbatch.err")
  }
  job=$(submit) || { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$sub/$job.out
  wait_for 60 "job $job starting pel" eval 'grep -q "starting on" "$out" 2>/dev/null' || return
  sleep 4
  scancel "$job" || { fail "scancel $job failed"; return; }
  wait_for 60 "job $job cancelled" eval '[ "$(job_field "$job" JobState)" = CANCELLED ]' || { cat "$out"; return; }
  sleep 2  # the batch shell's last lines
  echo "$launcher: cancelled: $(grep -E "SIGTERM|cancelled|failed|killed" "$out" | tr '\n' ' ')"
  expect_contains "$out" "SIGTERM received: asking pel to write a checkpoint"
  expect_contains "$out" "cancelled (SIGTERM: scancel, preemption or the time limit): pel stopped with a checkpoint"
  dirs=("$sub"/pel-synthetic-*)
  ls "${dirs[0]}"/checkpoints/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "$launcher: scancel left no checkpoint: $(cat "$out")"
  grep -q '"state": "stopped"' "${dirs[0]}/status.json" 2>/dev/null && pass ||
    fail "$launcher: status.json after scancel: $(cat "${dirs[0]}/status.json" 2>&1 | head -c 300)"
  job=$(submit) || { fail "sbatch failed: $(cat "$TMP/sbatch.err")"; return; }
  out=$sub/$job.out
  wait_for 120 "resubmitted job $job completed" eval '[ "$(job_field "$job" JobState)" = COMPLETED ]' ||
    { cat "$out"; return; }
  grep -q -E "warn: resuming run in pel-synthetic-[0-9a-f]{8} from checkpoint" "$out" && pass ||
    fail "$launcher: the resubmission does not say it resumes: $(cat "$out")"
  [ "$(ls -d "$sub"/pel-synthetic-* | wc -l)" = 1 ] && pass || fail "$launcher: the resubmission made another directory"
  "$H5SAME" "$TMP/ref.h5" "${dirs[0]}/synthetic.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "$launcher: cancelled and resubmitted, the results differ: $(cat "$TMP/same")"
  echo "$launcher: cancelled with a checkpoint; the resubmission resumed it; results identical"
}

requeue_case mpirun
cancel_case mpirun
if ! srun --mpi=list 2>&1 | grep -qw pmix; then
  echo "SKIPPED for srun: this Slurm has no pmix MPI plugin (srun --mpi=list: $(srun --mpi=list 2>&1 | tr '\n' ' '))"
elif ! timeout 60 srun --mpi=pmix -n 2 "$PEL" run synthetic --items 10 --output "$TMP/probe.h5" >"$TMP/probe" 2>&1
then
  echo "SKIPPED for srun: srun --mpi=pmix cannot start pel here: $(tail -n 2 "$TMP/probe")"
else
  requeue_case srun
  cancel_case srun
fi

# A walltime inside pel's --time-margin (60 s): pel says so and fails at once; not requeued to do nothing again.
job=$(PEL=$PEL sbatch --parsable --time=1 --output="$TMP/short-%j.out" "$SCRIPTS/pel.sbatch" run synthetic --items 5 \
  --output "$TMP/short.h5")
wait_for 60 "short job $job ended" eval '[ "$(job_field "$job" JobState)" = FAILED ]' && pass
[ "$(job_field "$job" ExitCode)" = 2:0 ] && pass || fail "short job: exit code $(job_field "$job" ExitCode), not 2:0"
[ "$(job_field "$job" Restarts)" = 0 ] && pass || fail "a job with no time to run was requeued"
expect_contains "$TMP/short-$job.out" "of the Slurm job (SLURM_JOB_END_TIME) is not more than --time-margin 60 s"

# A pel that fails (here: a bad option value, exit 2) ends the job with its code and is never requeued.
job=$(PEL=$PEL sbatch --parsable --output="$TMP/bad-%j.out" "$SCRIPTS/pel.sbatch" run synthetic --schedule bogus --output "$TMP/bad.h5")
wait_for 60 "bad job $job ended" eval '[ "$(job_field "$job" JobState)" = FAILED ]' && pass
[ "$(job_field "$job" ExitCode)" = 2:0 ] && pass || fail "bad job: exit code $(job_field "$job" ExitCode), not 2:0"
[ "$(job_field "$job" Restarts)" = 0 ] && pass || fail "a failed pel was requeued"
expect_contains "$TMP/bad-$job.out" "pel failed with exit code 2; not requeued"

# Stopped with no requeues left (PEL_MAX_REQUEUES=0): the job ends with 75, resumable by hand.
job=$(PEL=$PEL PEL_MAX_REQUEUES=0 sbatch --parsable --ntasks-per-node=2 --output="$TMP/max-%j.out" \
  "$SCRIPTS/pel.sbatch" run synthetic "${args[@]}" --output "$TMP/max.h5")
wait_for 60 "job $job starting pel" eval 'grep -q "starting on" "$TMP/max-$job.out" 2>/dev/null' && sleep 3
scancel --signal=USR1 --batch "$job"
wait_for 60 "job $job ended" eval '[ "$(job_field "$job" JobState)" = FAILED ]' && pass
[ "$(job_field "$job" ExitCode)" = 75:0 ] && pass || fail "no requeues left: exit code $(job_field "$job" ExitCode)"
[ "$(job_field "$job" Restarts)" = 0 ] && pass || fail "requeued although PEL_MAX_REQUEUES=0"
expect_contains "$TMP/max-$job.out" "not requeued: 0 of PEL_MAX_REQUEUES=0 requeues used"
ls "$TMP"/max.ckpt/ckpt-*.h5 >/dev/null 2>&1 && pass || fail "no checkpoint left to resume from by hand"
finish
