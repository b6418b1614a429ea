# tests/app/doctor.sh: `pel doctor` says all is well where it is, and names each thing that is wrong (threads,
# their binding, Slurm, plugins, the output directory) with a fix under it, on one rank and on several.
source "$(dirname "$0")/common.sh"

# The environment this test controls: no Slurm job, no extra plugin directories, no binding asked for.
for var in $(compgen -e | grep '^SLURM_'); do unset "$var"; done
unset PEL_JOB_PATH OMP_PROC_BIND OMP_PLACES
CPUS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc alone obeys OMP_NUM_THREADS

# expect_exit CODE WHAT: the last pel_np ended with CODE.
expect_exit() {
  if [ "$RC" = "$1" ]; then pass; else fail "$2: exit $RC, not $1: $(head -c 1500 "$TMP/out") $(head -c 400 "$TMP/err")"; fi
}

# expect_line REGEX: a line of the report matches REGEX (extended).
expect_line() {
  if grep -q -E -- "$1" "$TMP/out"; then pass; else fail "no line matching '$1' in the report: $(cat "$TMP/out")"; fi
}

# expect_problem FRAGMENT FIX: a PROBLEM line holds FRAGMENT, and the line under it is a fix holding FIX.
expect_problem() {
  if awk -v want="$1" -v fix="$2" '
      found { ok = index($0, "fix: ") > 0 && index($0, fix) > 0; exit }
      /^PROBLEM/ && index($0, want) { found = 1 }
      END { exit !ok }' "$TMP/out"; then
    pass
  else
    fail "no PROBLEM line with '$1' and a fix with '$2' under it: $(cat "$TMP/out")"
  fi
}

# expect_report_shape: one report (not one per rank); every PROBLEM line has a fix line under it; the summary counts
# the PROBLEM lines.
expect_report_shape() {
  [ "$(grep -c '^pel doctor: .* on host' "$TMP/out")" = 1 ] && pass || fail "not exactly one report: $(cat "$TMP/out")"
  awk 'prev && $0 !~ /^ +fix: / { bad = 1 } { prev = /^PROBLEM/ } END { exit bad || prev }' "$TMP/out" && pass ||
    fail "a PROBLEM without a fix line under it: $(cat "$TMP/out")"
  local problems
  problems=$(grep -c '^PROBLEM' "$TMP/out")
  if [ "$problems" = 0 ]; then
    expect_line '^pel doctor: no problems found$'
  else
    expect_line "^pel doctor: $problems problems? found$"
  fi
}

# A clean set-up, on 1 rank and on 2: MPI, its thread level and parallel HDF5 reported fine, exit 0, and the test
# files gone afterwards.
mkdir "$TMP/clean"
for np in 1 2; do
  if [ "$np" -gt "$CPUS" ]; then echo "skipped: a clean set-up on $np ranks needs $np CPUs"; continue; fi
  pel_np "$np" doctor --output-dir "$TMP/clean"
  expect_exit 0 "a clean set-up on $np ranks"
  ranks="rank 0"; [ "$np" = 2 ] && ranks="ranks 0-1"
  expect_line "^ok +$ranks +MPI library: .+ \(MPI [0-9]+\.[0-9]+ standard\)$"
  expect_line "^ok +$ranks +MPI thread level: MPI_THREAD_(SERIALIZED|MULTIPLE) provided, pel needs MPI_THREAD_SERIALIZED$"
  expect_line "^ok +$ranks +HDF5: [0-9.]+, built for parallel I/O; every rank wrote to a test file in $TMP/clean through MPI-IO"
  expect_line "^ok +$ranks +OpenMP threads: 1 thread per rank"
  expect_line "^ok +$ranks +job plugins: .*mandelbrot"
  expect_line "^ok +$ranks +output directory: $TMP/clean is writable"
  expect_report_shape
  [ -z "$(ls -A "$TMP/clean")" ] && pass || fail "pel doctor left files behind: $(ls -A "$TMP/clean")"
done

# The checkpoint and run directories pel run would use, from the same options: one directory on every host. Those
# that do not exist yet are made for the check and removed after it, with the tokens every rank wrote.
for np in 1 2; do
  pel_np "$np" doctor --output "$TMP/clean/res.h5"
  expect_exit 0 "the checkpoint directory beside --output on $np ranks"
  expect_line "^ok .* checkpoint directory: $TMP/clean/res.ckpt is shared by all 1 host$"
  pel_np "$np" doctor --output-dir "$TMP/clean" --run-dir "$TMP/clean/run/1" --checkpoint-dir "$TMP/clean/ck"
  expect_exit 0 "--run-dir and --checkpoint-dir on $np ranks"
  expect_line "^ok .* checkpoint directory: $TMP/clean/ck is shared by all 1 host$"
  expect_line "^ok .* run directory: $TMP/clean/run/1 is shared by all 1 host$"
  expect_report_shape
  [ -z "$(ls -A "$TMP/clean")" ] && pass || fail "pel doctor left files behind: $(ls -AR "$TMP/clean")"
done
mkdir "$TMP/kept"
pel_np 2 doctor --output-dir "$TMP/clean" --run-dir "$TMP/kept"
expect_line "^ok .* checkpoint directory: $TMP/kept/checkpoints is shared by all 1 host$"
[ -d "$TMP/kept" ] && [ -z "$(ls -A "$TMP/kept")" ] && pass || fail "the run directory was removed or not emptied"
# Ranks that see different directories at one path (each with a private mount there, as nodes with a private /tmp),
# or none: a problem naming who does not see whom, not a crash.
mkdir "$TMP/private"
if timeout 20 unshare -m sh -c "mount -t tmpfs pel-doctor-test '$TMP/private'" 2>/dev/null; then
  timeout 60 "$MPIRUN" -np 3 unshare -m sh -c 'if [ "$OMPI_COMM_WORLD_RANK" != 0 ]; then
        mount -t tmpfs pel-doctor-test "$1" || exit 9; fi
      if [ "$OMPI_COMM_WORLD_RANK" = 2 ]; then mkdir "$1/ck"; fi
      shift; exec "$@"' sh "$TMP/private" "$PEL" doctor --output-dir "$TMP/clean" --checkpoint-dir "$TMP/private/ck" \
    >"$TMP/out" 2>"$TMP/err"
  RC=$?
  expect_exit 1 "ranks with private checkpoint directories"
  expect_problem "ranks 0-2  checkpoint directory: $TMP/private/ck is NOT shared by all 1 host: cannot create a file there on host $(hostname) (rank 1): it does not exist; host $(hostname) (rank 2) does not see files of host $(hostname) (rank 0); host $(hostname) (rank 0) does not see files of host $(hostname) (rank 2): checkpoints written there cannot be resumed on other nodes" \
    "--checkpoint-dir DIR on a shared file system"
  expect_report_shape
  [ -z "$(ls -A "$TMP/private")" ] && pass || fail "tokens left in the checkpoint directory: $(ls -AR "$TMP/private")"
else
  echo "skipped: private mounts (unshare -m) are not allowed here"
fi
echo "a file" > "$TMP/plain"
pel_np 2 doctor --output-dir "$TMP/clean" --checkpoint-dir "$TMP/plain/ck"
expect_exit 1 "a checkpoint directory under a file"
expect_problem "checkpoint directory: cannot create a file in $TMP/plain/ck: a part of its path is not a directory" \
  "pel run --checkpoint-dir DIR"

# Threads that disagree with Slurm's allocation.
SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=4 pel_np 1 doctor --threads 2 --output-dir "$TMP"
expect_exit 1 "--threads 2 with SLURM_CPUS_PER_TASK=4"
expect_problem "Slurm: 2 threads per rank (from --threads), but Slurm gave each task SLURM_CPUS_PER_TASK=4 CPUs" \
  "run --threads 4"
expect_report_shape
SLURM_JOB_ID=1 SLURM_NTASKS=3 pel_np 2 doctor --output-dir "$TMP"
expect_exit 1 "2 ranks with SLURM_NTASKS=3"
expect_problem "ranks 0-1  Slurm: 2 ranks, but Slurm allocated SLURM_NTASKS=3 tasks" "mpirun -np \$SLURM_NTASKS"

# More threads than the CPUs a rank may run on; as OMP_NUM_THREADS, the default.
first_cpu=$(awk '/^Cpus_allowed_list/ { split($2, c, /[-,]/); print c[1] }' /proc/self/status)
OMP_NUM_THREADS=2 timeout 60 taskset -c "$first_cpu" "$MPIRUN" -np 1 "$PEL" doctor --output-dir "$TMP" >"$TMP/out" 2>"$TMP/err"
RC=$?
expect_exit 1 "OMP_NUM_THREADS=2 on one CPU"
expect_problem "OpenMP threads: 2 threads per rank (from OMP_NUM_THREADS), but this rank may run on only 1 CPU" \
  "mpirun --map-by slot:PE=2"
expect_report_shape
OMP_NUM_THREADS=lots pel_np 1 doctor --output-dir "$TMP"
expect_exit 1 "OMP_NUM_THREADS=lots"
expect_problem "OMP_NUM_THREADS='lots' is not a thread count" "export OMP_NUM_THREADS="

if [ "$CPUS" -ge 2 ]; then
  # Two threads pinned to one CPU, and ranks of a host whose threads outnumber its CPUs.
  OMP_PROC_BIND=master OMP_PLACES=threads timeout 60 "$MPIRUN" -np 1 --bind-to none "$PEL" doctor --threads 2 \
    --output-dir "$TMP" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  expect_exit 1 "two threads bound to one CPU"
  expect_problem "OpenMP binding: threads 0 and 1 are bound to the same CPU" "OMP_PROC_BIND=close OMP_PLACES=cores"
  timeout 60 "$MPIRUN" -np 2 --bind-to none "$PEL" doctor --threads "$CPUS" --output-dir "$TMP" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  expect_exit 1 "2 ranks x $CPUS threads on $CPUS CPUs"
  expect_problem "ranks 0-1  CPUs per host: 2 ranks on this host run $((2 * CPUS)) threads on $CPUS CPUs" \
    "mpirun --map-by "
  expect_report_shape
fi

# Broken plugins on the search path: each named with its reason and a fix; the good one still loads.
mkdir "$TMP/plugins" "$TMP/renamed"
ln -s "$PEL_TEST_PLUGIN_DIR/pel_unresolved.so" "$TMP/plugins/pel_unresolved.so"
pel_np 1 doctor --job-path "$TMP/plugins" --output-dir "$TMP"
expect_exit 1 "a plugin with an unresolved symbol"
expect_problem "job plugins: cannot load job plugin '$TMP/plugins/pel_unresolved.so': " \
  "rebuild '$TMP/plugins/pel_unresolved.so' against this pel"
expect_line "^PROBLEM .*pel_unresolved.so.*undefined symbol: pel_test_symbol_that_does_not_exist"
expect_report_shape
PEL_JOB_PATH="$PEL_TEST_PLUGIN_DIR" pel_np 2 doctor --output-dir "$TMP"
expect_exit 1 "the test plugins on PEL_JOB_PATH"
expect_problem "ranks 0-1  job plugins: cannot load job plugin '$PEL_TEST_PLUGIN_DIR/pel_garbage.so'" "rebuild"
expect_problem "ranks 0-1  job plugins: job plugin '$PEL_TEST_PLUGIN_DIR/pel_wrongabi.so' was built for pel ABI version 999" "rebuild"
expect_problem "ranks 0-1  job plugins: '$PEL_TEST_PLUGIN_DIR/pel_noquery.so' is not a pel job plugin" "rebuild"
expect_problem "ranks 0-1  job plugins: cannot load job plugin '$PEL_TEST_PLUGIN_DIR/pel_unresolved.so'" "rebuild"
expect_line "^ok +ranks 0-1 +job plugins: .*faulty"
expect_report_shape
cp "$PEL_TEST_PLUGIN_DIR/pel_faulty.so" "$TMP/renamed/pel_other.so"
pel_np 1 doctor --job-path "$TMP/renamed" --output-dir "$TMP"
expect_exit 1 "a plugin under another job's name"
expect_problem "'$TMP/renamed/pel_other.so' calls itself 'faulty'" "rename it pel_faulty.so"

# An output directory that cannot be written: under a regular file (root may write anywhere else), or missing.
echo "a file" > "$TMP/file"
pel_np 2 doctor --output-dir "$TMP/file/results"
expect_exit 1 "an output directory under a file"
expect_problem "ranks 0-1  output directory: cannot create a file in $TMP/file/results: a part of its path is not a directory" \
  "choose a writable directory"
expect_line "^note +ranks 0-1 +HDF5: .* not tried"
expect_report_shape
pel_np 1 doctor --output-dir "$TMP/missing"
expect_exit 1 "a missing output directory"
expect_problem "output directory: cannot create a file in $TMP/missing: it does not exist" "mkdir -p $TMP/missing"

# Bad options: exit 2 and one error line; --help is not an error.
expect_error 2 "--bogus" 2 doctor --bogus
expect_error 2 "--threads" 1 doctor --threads 0
expect_ok 2 doctor --help
expect_contains "$TMP/out" "--output-dir"
[ "$(grep -c -- '--output-dir' "$TMP/out")" = 1 ] && pass || fail "help printed more than once on 2 ranks"

finish
