# tests/app/taskfarm_paths.sh: a farm keeps to its run directory (--run-dir: nothing in the current directory), two
# farms at once share nothing, --task-dirs auto stops making a directory per task past 4096 tasks, tasks get a
# clean environment (no Slurm step variables unless --keep-env), and --task-threads binds each task to its own CPUs.
source "$(dirname "$0")/common.sh"

# --run-dir: the work area, logs and joblog are in the run directory; the current directory stays empty.
for n in $(seq 1 6); do echo "echo $n > mine; echo out-$n"; done >"$TMP/six.txt"
mkdir -p "$TMP/cwd"
cd "$TMP/cwd" || exit 1
expect_ok 2 run taskfarm --tasks "$TMP/six.txt" --run-dir "$TMP/rd"
[ -z "$(ls -A "$TMP/cwd")" ] && pass || fail "the farm wrote into the current directory: $(ls -A "$TMP/cwd")"
for f in taskfarm.h5 taskfarm.joblog.tsv taskfarm.logs/rank-0.out taskfarm.work/task-000005/mine; do
  [ -e "$TMP/rd/$f" ] && pass || fail "no $f in the run directory: $(ls -R "$TMP/rd" | head -30)"
done

# Two farms at once, from the same directory, each with its run directory: nothing shared.
for farm in A B; do
  for n in $(seq 1 40); do echo "sleep 0.02; echo $farm >> owner; echo $farm-$n"; done >"$TMP/$farm.txt"
done
pids=""
for farm in A B; do
  timeout 120 "$MPIRUN" -np 2 "$PEL" run taskfarm --tasks "$TMP/$farm.txt" --run-dir "$TMP/run$farm" \
    >"$TMP/out$farm" 2>&1 &
  pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent farm failed: $(head -c 300 "$TMP/outA" "$TMP/outB")"; done
cd - >/dev/null || exit 1
check_py "two farms at once" "$TMP" <<'PY'
import glob, sys
tmp = sys.argv[1]
for farm in "AB":
    rows = [l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/run{farm}/taskfarm.joblog.tsv")][1:]
    assert sorted(int(r[0]) for r in rows) == list(range(1, 41)), rows
    assert all(f"echo {farm} >> owner" in r[8] for r in rows), rows
    owners = glob.glob(f"{tmp}/run{farm}/taskfarm.work/task-*/owner")
    assert len(owners) == 40 and all(open(o).read() == f"{farm}\n" for o in owners), owners
PY

# --task-dirs auto: no directory per task past 4096 tasks (they run in the current directory, as GNU parallel's).
mkdir -p "$TMP/many"
for n in $(seq 1 4100); do echo ":"; done >"$TMP/many.txt"
echo 'pwd > where' >>"$TMP/many.txt"
cd "$TMP/many" || exit 1
expect_ok 1 run taskfarm --tasks "$TMP/many.txt" --threads 2 --output "$TMP/many/many.h5" --progress off
cd - >/dev/null || exit 1
[ ! -e "$TMP/many/many.work" ] && pass || fail "--task-dirs auto made $(ls "$TMP/many/many.work" | wc -l) task dirs"
[ "$(cat "$TMP/many/where" 2>/dev/null)" = "$TMP/many" ] && pass || fail "4101 tasks did not run in the cwd"
expect_ok 1 run taskfarm --tasks "$TMP/six.txt" --task-dirs no --output "$TMP/nodirs.h5"
[ ! -e "$TMP/nodirs.work" ] && pass || fail "--task-dirs no made a work directory"

# A clean environment: Slurm's step variables are not passed (unless --keep-env); the job's are.
echo 'env > "$OUT"' >"$TMP/env.txt"
export SLURM_PROCID=7 SLURM_LOCALID=1 SLURM_STEP_ID=3 SLURM_CLUSTER_NAME=farmtest
OUT=$TMP/env-clean expect_ok 1 run taskfarm --tasks "$TMP/env.txt" --output "$TMP/env1.h5"
OUT=$TMP/env-kept expect_ok 1 run taskfarm --tasks "$TMP/env.txt" --keep-env --output "$TMP/env2.h5"
unset SLURM_PROCID SLURM_LOCALID SLURM_STEP_ID SLURM_CLUSTER_NAME
grep -q '^SLURM_PROCID=' "$TMP/env-clean" && fail "SLURM_PROCID reached a task" || pass
grep -q '^SLURM_STEP_ID=' "$TMP/env-clean" && fail "SLURM_STEP_ID reached a task" || pass
grep -q '^SLURM_CLUSTER_NAME=farmtest' "$TMP/env-clean" && pass || fail "the job's variables did not reach a task"
grep -q '^SLURM_PROCID=7' "$TMP/env-kept" && pass || fail "--keep-env did not pass SLURM_PROCID"
grep -q '^OMPI_COMM_WORLD_RANK=' "$TMP/env-clean" && fail "Open MPI's rank variables reached a task" || pass

# CPUs: Open MPI binds a rank to a core unless told not to; here each rank may use both of the machine's CPUs.
export OMPI_MCA_hwloc_base_binding_policy=none
cpus=$(/usr/bin/python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
task='grep Cpus_allowed_list /proc/self/status | cut -f2 > cpus-{#}; echo "$OMP_NUM_THREADS" > omp-{#}; sleep 0.3'
for n in $(seq 1 6); do echo "$task"; done >"$TMP/cpus.txt"
# Without --task-threads, a task is not squeezed onto the core pel's thread is bound to.
OMP_PROC_BIND=true OMP_PLACES=cores expect_ok 1 run taskfarm --tasks "$TMP/cpus.txt" --threads 2 \
  --output "$TMP/bound.h5"
want=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
[ "$(cat "$TMP"/bound.work/task-*/cpus-* | sort -u)" = "$want" ] && pass ||
  fail "tasks saw CPUs $(cat "$TMP"/bound.work/task-*/cpus-* | sort -u | tr '\n' ' '), not $want"
if [ "$cpus" -ge 2 ]; then
  # --task-threads 1: each task on one CPU of its own, OMP_NUM_THREADS=1.
  expect_ok 1 run taskfarm --tasks "$TMP/cpus.txt" --threads 2 --task-threads 1 --output "$TMP/t1.h5"
  check_py "--task-threads 1" "$TMP" <<'PY'
import glob, sys
tmp = sys.argv[1]
cpus = [open(p).read().strip() for p in glob.glob(f"{tmp}/t1.work/task-*/cpus-*")]
assert len(cpus) == 6 and all(c.isdigit() for c in cpus), cpus
assert len(set(cpus)) == 2, cpus   # two slots, two CPUs
assert all(open(p).read() == "1\n" for p in glob.glob(f"{tmp}/t1.work/task-*/omp-*"))
PY
  # --task-threads 2 on 2 CPUs: one task at a time, on both CPUs, OMP_NUM_THREADS=2, whatever --threads says.
  expect_ok 1 run taskfarm --tasks "$TMP/cpus.txt" --threads 2 --task-threads 2 --output "$TMP/t2.h5"
  check_py "--task-threads 2" "$TMP" "$cpus" <<'PY'
import glob, sys
tmp, ncpu = sys.argv[1], int(sys.argv[2])
cpus = {open(p).read().strip() for p in glob.glob(f"{tmp}/t2.work/task-*/cpus-*")}
assert len(cpus) == ncpu // 2 and all(len(c.replace(",", "-").split("-")) == 2 for c in cpus), cpus
assert all(open(p).read() == "2\n" for p in glob.glob(f"{tmp}/t2.work/task-*/omp-*"))
rows = [l.split("\t") for l in open(f"{tmp}/t2.joblog.tsv")][1:]
spans = sorted((float(r[2]), float(r[2]) + float(r[3])) for r in rows)
if ncpu == 2:
    assert all(a[1] <= b[0] + 0.01 for a, b in zip(spans, spans[1:])), spans   # never two at once
PY
  expect_error 2 "--task-threads $((cpus + 1)) is more than the $cpus CPUs rank 0 may use" 1 run taskfarm \
    --tasks "$TMP/cpus.txt" --task-threads $((cpus + 1)) --output "$TMP/bad.h5"
else
  echo "one CPU here: --task-threads binding not tested"
fi
finish
