# tests/app/uts.sh: the uts job on dynamic items gives the nodes, leaves and depth of a serial traversal (perf/uts's
# program, no pel) for a geometric, a binomial and a hybrid tree on 1, 2, 3 and 4 ranks x 1-4 threads; a run stopped
# mid-phase by SIGUSR1 resumes on another layout with the same counts; bad options are one-line errors.
source "$(dirname "$0")/common.sh"
SERIAL=$(dirname "$PEL")/pel_bench_uts_serial
[ -x "$SERIAL" ] || { echo "no $SERIAL"; exit 1; }

# counts FILE: "nodes leaves depth" of a results file.
counts() {
  /usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(*(int(f.attrs[k]) for k in ("nodes", "leaves", "depth")))' "$1"
}
# serial_counts TYPE SHAPE DEPTH B SEED Q M: "nodes leaves depth" of the serial traversal.
serial_counts() {
  "$SERIAL" "$@" | /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["nodes"], d["leaves"], d["depth"])'
}

# check_tree NAME "SERIAL ARGS" "PEL ARGS" LAYOUT...: every layout (RANKSxTHREADS) counts what the serial program does.
check_tree() {
  local name=$1 serial_args=$2 pel_args=$3; shift 3
  local want got layout
  want=$(serial_counts $serial_args)
  [ "${want%% *}" -gt 1000 ] 2>/dev/null && pass || fail "$name: the serial tree is too small to test with ($want)"
  for layout in "$@"; do
    rm -f "$TMP/uts.h5"
    expect_ok "${layout%x*}" run uts $pel_args --threads "${layout#*x}" --output "$TMP/uts.h5"
    got=$(counts "$TMP/uts.h5" 2>&1)
    [ "$got" = "$want" ] && pass || fail "$name on $layout: nodes leaves depth $got, serially $want"
  done
}

check_tree geometric "1 3 8 4 19 0.234375 4" \
  "--tree-type 1 --tree-shape 3 --tree-depth 8 --root-branching-factor 4 --root-seed 19" 1x1 2x2 4x1 1x4
check_tree binomial "0 0 6 200 42 0.124875 8" \
  "--tree-type 0 --root-branching-factor 200 --non-leaf-probability 0.124875 --num-children 8 --root-seed 42" \
  1x2 2x1 4x2 3x1
check_tree hybrid "2 0 16 4 7 0.234375 4" "--tree-type 2 --tree-depth 16 --root-seed 7" 2x3 1x1

# Stop mid-phase with SIGUSR1 on 3 ranks (periodic checkpoints too), resume on 2 ranks x 2 threads: T1's counts.
T1=(--tree-type 1 --tree-shape 3 --tree-depth 10 --root-branching-factor 4 --root-seed 19)
stopped=no
for delay in 0.3 0.1 0; do
  rm -rf "$TMP/run.h5" "$TMP/run.ckpt"
  timeout 120 "$MPIRUN" -np 3 "$PEL" run uts "${T1[@]}" --output "$TMP/run.h5" --checkpoint-every 0.2 \
    >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  usr1_after_checkpoint "$pid" "$TMP/run.ckpt" "$delay"
  wait "$pid"
  RC=$?
  if [ "$RC" = 75 ]; then stopped=yes; break; fi
  [ "$RC" = 0 ] || { fail "exit $RC after SIGUSR1: $(head -c 400 "$TMP/err")"; break; }
done
[ "$stopped" = yes ] && pass || fail "never stopped by SIGUSR1 (exit $RC)"
expect_ok 2 run uts "${T1[@]}" --output "$TMP/run.h5" --checkpoint-every 0.2 --threads 2 --resume
expect_contains "$TMP/err" "(dynamic)"
got=$(counts "$TMP/run.h5" 2>&1)
[ "$got" = "4130071 3305118 10" ] && pass || fail "T1 stopped and resumed: nodes leaves depth $got"

# Bad options: one line naming the option, on every layout.
expect_error 2 "tree-type" 2 run uts --tree-type 7 --output "$TMP/bad.h5"
expect_error 2 "non-leaf-probability" 2 run uts --non-leaf-probability 1.5 --output "$TMP/bad.h5"
finish
