# tests/app/cli_basics.sh: the pel command as a user meets it: --version, --help, jobs, run, defaults, configs.
source "$(dirname "$0")/common.sh"

expect_ok 1 --version
expect_contains "$TMP/out" "pel 0."
expect_ok 2 --help
expect_contains "$TMP/out" "pel run JOB"
[ "$(grep -c 'pel run JOB' "$TMP/out")" = 1 ] && pass || fail "help printed more than once on 2 ranks"
expect_ok 2 jobs
for want in "mandelbrot" "kmeans" "synthetic" "--width INT" "--distribution TEXT" "--k INT" "{uniform, normal, bimodal, pareto}"; do
  expect_contains "$TMP/out" "$want"
done
expect_ok 1 run mandelbrot --help
for want in "--width" "--threads" "--output" "--config" "--chunk-size" "--schedule" "--job-path" "--verbose"; do
  expect_contains "$TMP/out" "$want"
done
expect_ok 1 run --help
expect_contains "$TMP/out" "--threads"

# A run prints where its results went, and the file holds the job's data and provenance.
expect_ok 2 run mandelbrot --width 64 --height 48 --output "$TMP/m.h5"
expect_contains "$TMP/out" "results in $TMP/m.h5"
h5dump -H "$TMP/m.h5" > "$TMP/dump" 2>&1 && pass || fail "h5dump cannot read the results"
for want in 'DATASET "iterations"' "( 48, 64 )" 'ATTRIBUTE "pel_version"' 'ATTRIBUTE "wall_time_s"' 'ATTRIBUTE "start_time"' 'ATTRIBUTE "options"' 'ATTRIBUTE "ranks"' 'ATTRIBUTE "threads"' 'ATTRIBUTE "job"'; do
  expect_contains "$TMP/dump" "$want"
done
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  /usr/bin/python3 - "$TMP/m.h5" > "$TMP/py" <<'PY' && pass || fail "h5py cannot read the results: $(cat "$TMP/py")"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f["iterations"].shape == (48, 64), f["iterations"].shape
assert f.attrs["ranks"] == 2 and f.attrs["job"] == "mandelbrot"
assert f["iterations"][24].max() == 1000  # the middle row crosses the set
print("ok")
PY
fi

# Threads default to OMP_NUM_THREADS, then SLURM_CPUS_PER_TASK; --threads wins.
threads_of() { h5dump -a /threads "$1" | grep -o '(0): [0-9]*' | cut -d' ' -f2; }
OMP_NUM_THREADS=3 expect_ok 1 run mandelbrot --width 16 --height 16 --output "$TMP/t.h5"
[ "$(threads_of "$TMP/t.h5")" = 3 ] && pass || fail "OMP_NUM_THREADS=3 did not give 3 threads"
env -u OMP_NUM_THREADS SLURM_CPUS_PER_TASK=2 bash -c "\"$MPIRUN\" -x SLURM_CPUS_PER_TASK -np 1 \"$PEL\" run mandelbrot --width 16 --height 16 --output \"$TMP/t.h5\"" >/dev/null 2>&1
[ "$(threads_of "$TMP/t.h5")" = 2 ] && pass || fail "SLURM_CPUS_PER_TASK=2 did not give 2 threads"
OMP_NUM_THREADS=3 expect_ok 1 run mandelbrot --width 16 --height 16 --threads 2 --output "$TMP/t.h5"
[ "$(threads_of "$TMP/t.h5")" = 2 ] && pass || fail "--threads did not win over OMP_NUM_THREADS"

# Threads bound to fewer cores than they number draw one warning naming the fix; a run with room draws none.
timeout 60 "$MPIRUN" -np 2 --bind-to core "$PEL" run mandelbrot --threads 2 --width 16 --height 16 --output "$TMP/b.h5" 2>"$TMP/err" >/dev/null
[ "$(grep -c 'threads share cores' "$TMP/err")" = 1 ] && grep -q "slot:PE=2" "$TMP/err" && pass || fail "no single warning for threads sharing a core: $(cat "$TMP/err")"
timeout 60 "$MPIRUN" -np 1 --bind-to none "$PEL" run mandelbrot --threads 2 --width 16 --height 16 --output "$TMP/b.h5" 2>"$TMP/err" >/dev/null
grep -q "threads share cores" "$TMP/err" && fail "warned although the rank may use every CPU" || pass

# The command line wins over the config file; the job can come from the config.
printf 'job = "mandelbrot"\nwidth = 30\nheight = 20\nthreads = 2\n' > "$TMP/c.toml"
expect_ok 2 run --config "$TMP/c.toml" --width 40 --output "$TMP/c.h5"
h5dump -H "$TMP/c.h5" | grep -q "( 20, 40 )" && pass || fail "--width on the command line did not win over the config"
[ "$(threads_of "$TMP/c.h5")" = 2 ] && pass || fail "threads from the config were not used"
h5dump -a /options "$TMP/c.h5" | grep -q "width = 40" && pass || fail "the options attribute does not record width=40"

# The Slurm allocation is read and checked: a layout that differs from it is warned about, once; --verbose names
# each rank's host and each thread's CPUs.
SLURM_JOB_ID=7 SLURM_RESTART_COUNT=1 SLURM_CPUS_PER_TASK=1 SLURM_NTASKS=3 OMP_NUM_THREADS=2 \
  expect_ok 2 run synthetic --items 10 --output "$TMP/s.h5" --verbose
[ "$(grep -c "SLURM_CPUS_PER_TASK=1 CPUs per task: threads will share cores" "$TMP/err")" = 1 ] && pass ||
  fail "no single warning for --threads above SLURM_CPUS_PER_TASK: $(head -c 500 "$TMP/err")"
expect_contains "$TMP/err" "SLURM_NTASKS=3 tasks"
expect_contains "$TMP/err" "Slurm job 7, restart 1"
[ "$(grep -c "host $(hostname): thread 0 on CPUs .*, thread 1 on CPUs" "$TMP/err")" = 2 ] && pass ||
  fail "--verbose does not show both ranks' thread CPUs: $(head -c 500 "$TMP/err")"

finish
