# tests/app/batch_scripts.sh: what the Slurm scripts decide, without Slurm: scripts/pel.sbatch finds pel without
# PATH (or says clearly that it cannot) and maps ranks to cores, not hardware threads (PEL_SBATCH_DRY_RUN prints the
# launch); scripts/pel-sbatch refuses a walltime inside the signal lead plus the margin; a config's paths are
# relative to the config, from any directory; status.json, pel status and pel report name every host with its ranks.
source "$(dirname "$0")/common.sh"
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
TEMPLATE=$REPO/scripts/pel.sbatch
NOPEL_PATH=/usr/bin:/bin  # mpirun and coreutils, no pel

# dry NAME=VALUE... : the template's launch line under that environment (no Slurm, no pel on PATH).
dry() {
  (cd "$TMP/submit" && env -u PEL PATH=$NOPEL_PATH PEL_SBATCH_DRY_RUN=1 SLURM_SUBMIT_DIR="$TMP/submit" "$@" \
    bash "$TEMPLATE" run synthetic --items 5) >"$TMP/dry" 2>&1
}

# pel found in the submission directory's build/ (the README's build), not on PATH.
mkdir -p "$TMP/submit/build/bin" "$TMP/nobuild"
ln -s "$PEL" "$TMP/submit/build/bin/pel"
dry SLURM_CPUS_PER_TASK=4 SLURM_NTASKS_PER_NODE=2 PEL_THREADS_PER_CORE=1 && pass || fail "dry run failed: $(cat "$TMP/dry")"
expect_contains "$TMP/dry" "$TMP/submit/build/bin/pel run synthetic --items 5 --auto-resume"
expect_contains "$TMP/dry" "--map-by ppr:2:node:PE=4"
# SMT: 4 CPUs (hardware threads) of 2-way cores are 2 cores; mpirun's PE counts cores.
dry SLURM_CPUS_PER_TASK=4 SLURM_NTASKS_PER_NODE=2 PEL_THREADS_PER_CORE=2
expect_contains "$TMP/dry" "--map-by ppr:2:node:PE=2"
dry SLURM_CPUS_PER_TASK=3 SLURM_NTASKS_PER_NODE=1 PEL_THREADS_PER_CORE=2
expect_contains "$TMP/dry" "--map-by ppr:1:node:PE=2"
# mpirun starts with SIGTERM blocked, so that a scancel does not make it kill the ranks before they checkpoint.
expect_contains "$TMP/dry" "env --block-signal=TERM mpirun"

# Nowhere to find pel: one clear line and exit 2, not mpirun's "unable to find executable" and 134.
(cd "$TMP/nobuild" && env -u PEL PATH=$NOPEL_PATH SLURM_SUBMIT_DIR="$TMP/nobuild" bash "$TEMPLATE" run synthetic) \
  >"$TMP/nopel" 2>&1
rc=$?
[ "$rc" = 2 ] && pass || fail "no pel anywhere: exit $rc, not 2: $(cat "$TMP/nopel")"
expect_contains "$TMP/nopel" "error: cannot find pel: not on PATH, not $TMP/nobuild/build/bin/pel"
[ "$(wc -l <"$TMP/nopel")" = 1 ] && pass || fail "more than one line when pel is missing: $(cat "$TMP/nopel")"
# The build's configured copy knows its pel from anywhere.
BUILT=$(dirname "$PEL")/pel.sbatch
if [ -f "$BUILT" ]; then
  (cd "$TMP/nobuild" && env -u PEL PATH=$NOPEL_PATH PEL_SBATCH_DRY_RUN=1 SLURM_SUBMIT_DIR="$TMP/nobuild" \
    bash "$BUILT" run synthetic) >"$TMP/built" 2>&1 && pass || fail "build/bin/pel.sbatch: $(cat "$TMP/built")"
  expect_contains "$TMP/built" "$(dirname "$PEL")/pel run synthetic"
else
  fail "the build wrote no $BUILT"
fi

# pel-sbatch: a walltime not longer than the signal lead (120 s) plus the margin (60 s) is refused.
"$REPO/scripts/pel-sbatch" "$REPO/configs/synthetic.toml" --time 1 --dry-run >"$TMP/short" 2>&1
[ "$?" = 2 ] && pass || fail "pel-sbatch took --time 1: $(head -c 300 "$TMP/short")"
expect_contains "$TMP/short" "--time 1 (60 s) is not longer than the signal lead (120 s"
"$REPO/scripts/pel-sbatch" "$REPO/configs/synthetic.toml" --time 1 --dry-run -- --time-margin 600 >"$TMP/short" 2>&1
[ "$?" = 2 ] && pass || fail "pel-sbatch ignored --time-margin after --"
"$REPO/scripts/pel-sbatch" "$REPO/configs/synthetic.toml" --time 4 --dry-run >"$TMP/ok" 2>&1 && pass ||
  fail "pel-sbatch refused --time 4: $(cat "$TMP/ok")"
# pel itself: a time limit inside the margin is an error at the start (exit 2), not six silent requeues.
expect_error 2 "60 s left by --time-limit is not more than --time-margin 60 s" 2 run synthetic --items 5 --time-limit 60

# A config's relative paths are relative to the config: the shipped task farm runs from another directory, as a
# batch job submitted from there does.
cp -r "$REPO/configs" "$TMP/repo-configs"
mkdir -p "$TMP/elsewhere"
(cd "$TMP/elsewhere" && timeout 120 "$MPIRUN" -np 2 "$PEL" run --config "$TMP/repo-configs/taskfarm.toml") \
  >"$TMP/out" 2>"$TMP/err" && pass || fail "configs/taskfarm.toml from another directory: $(head -c 400 "$TMP/err")"
[ -f "$TMP/elsewhere/taskfarm.h5" ] && pass || fail "the task farm's results are not in the working directory"
# ... the command line's stay relative to the working directory.
cp "$TMP/repo-configs/taskfarm-tasks.txt" "$TMP/elsewhere/mine.txt"
(cd "$TMP/elsewhere" && timeout 120 "$MPIRUN" -np 1 "$PEL" run --config "$TMP/repo-configs/taskfarm.toml" \
  --tasks mine.txt --output cli.h5) >"$TMP/out" 2>"$TMP/err" && pass ||
  fail "--tasks on the command line is not relative to the working directory: $(head -c 400 "$TMP/err")"

# Every host with its ranks: status.json, pel status, pel report (one host here; the list is what is checked).
host=$(hostname)
expect_ok 3 run synthetic --items 30 --run-dir "$TMP/rd"
/usr/bin/python3 - "$TMP/rd/status.json" "$host" >"$TMP/hosts" 2>&1 <<'PY' && pass || fail "status.json hosts: $(cat "$TMP/hosts")"
import json, sys
hosts = json.load(open(sys.argv[1]))["hosts"]
assert hosts == [{"host": sys.argv[2], "ranks": 3}], hosts
PY
"$PEL" status "$TMP/rd" >"$TMP/status" 2>&1
expect_contains "$TMP/status" "3 ranks x 1 threads on 1 host: $host (3 ranks)"
"$PEL" report "$TMP/rd/synthetic.h5" >"$TMP/report" 2>&1
expect_contains "$TMP/report" "1 host: $host (3 ranks)"
finish
