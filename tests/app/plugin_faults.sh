# tests/app/plugin_faults.sh: a plugin author's mistakes end with one clear line, never a crash or a hang: a plugin
# built with other standard library flags (refused by its ABI fingerprint), one that crashes while loading (probed
# in a child process), next_phase that differs between ranks, and exit() called inside the kernel.
# Usage: plugin_faults.sh FAULT_PLUGIN_DIR (the test plugins of tests/support/jobs that live apart from the others).
source "$(dirname "$0")/common.sh"
FAULTS=${1:?the directory of the fault test plugins}
P="--job-path $FAULTS"
unset PEL_JOB_PATH

# expect_quick SECONDS WHAT: the last pel_np took at most SECONDS (set START before it).
expect_quick() {
  local took=$((SECONDS - START))
  if [ "$took" -le "$1" ]; then pass; else fail "$2 took $took s (more than $1 s)"; fi
}

# expect_named FILE_FRAGMENT REASON_FRAGMENT: one line of stderr names the plugin file and the reason.
expect_named() {
  local n
  n=$(grep -F -- "$1" "$TMP/err" | grep -c -F -- "$2")
  if [ "$n" = 1 ]; then pass; else fail "expected one line naming '$1' with '$2', found $n: $(head -c 1500 "$TMP/err")"; fi
}

# --- ABI fingerprint: refused by pel run before any of the plugin's code is called.
for np in 1 2; do
  expect_error 3 "pel_debugmode.so' was built differently from this pel: debug mode _GLIBCXX_DEBUG (pel: no _GLIBCXX_DEBUG)" \
    $np run debugmode $P --output "$TMP/d.h5"
  expect_error 3 "pel_oldstringabi.so' was built differently from this pel: standard library libstdc++ with _GLIBCXX_USE_CXX11_ABI=0 (pel: libstdc++ with _GLIBCXX_USE_CXX11_ABI=1)" \
    $np run oldstringabi $P --output "$TMP/d.h5"
  expect_error 3 "pel_oldpel.so' was built differently from this pel: pel version 0.0.1 (pel: " \
    $np run oldpel $P --output "$TMP/d.h5"
done
[ ! -e "$TMP/d.h5" ] && pass || fail "a refused plugin left $TMP/d.h5"

# --- A static initializer that segfaults, aborts or exits: pel run says so in one line.
expect_error 3 "pel_crashsegv.so' crashed while loading (SIGSEGV)" 2 run crashsegv $P
expect_error 3 "pel_crashabort.so' crashed while loading (SIGABRT)" 2 run crashabort $P
expect_error 3 "pel_crashexit.so' called exit(7) while loading" 2 run crashexit $P

# --- pel jobs and pel doctor with all of them on the search path: no crash, each bad file named, the good listed.
for np in 1 2; do
  START=$SECONDS
  pel_np $np jobs $P
  if [ "$RC" = 0 ]; then pass; else fail "pel jobs with the fault plugins on $np ranks: exit $RC: $(head -c 1500 "$TMP/err")"; fi
  expect_quick 60 "pel jobs with the fault plugins"
  expect_named "pel_debugmode.so" "warn: skipped job plugin"
  expect_named "pel_debugmode.so" "debug mode _GLIBCXX_DEBUG"
  expect_named "pel_oldstringabi.so" "_GLIBCXX_USE_CXX11_ABI=0"
  expect_named "pel_oldpel.so" "pel version 0.0.1"
  expect_named "pel_crashsegv.so" "crashed while loading (SIGSEGV)"
  expect_named "pel_crashabort.so" "crashed while loading (SIGABRT)"
  expect_named "pel_crashexit.so" "called exit(7) while loading"
  expect_contains "$TMP/out" "splitphase 0: "
  expect_contains "$TMP/out" "exitkernel 0: "
  if grep -q -E "Segmentation|core dumped|MPI_ABORT" "$TMP/err"; then fail "pel jobs crashed: $(head -c 600 "$TMP/err")"; else pass; fi

  START=$SECONDS
  pel_np $np doctor $P --output-dir "$TMP"
  if [ "$RC" = 1 ]; then pass; else fail "pel doctor with the fault plugins on $np ranks: exit $RC, not 1: $(head -c 1500 "$TMP/out") $(head -c 600 "$TMP/err")"; fi
  expect_quick 60 "pel doctor with the fault plugins"
  for fault in "pel_debugmode.so' was built differently" "pel_oldstringabi.so' was built differently" \
               "pel_crashsegv.so' crashed while loading" "pel_crashabort.so' crashed while loading" \
               "pel_crashexit.so' called exit(7) while loading"; do
    if grep -E "^PROBLEM" "$TMP/out" | grep -q -F -- "$fault"; then pass; else fail "pel doctor: no PROBLEM with \"$fault\": $(cat "$TMP/out")"; fi
  done
  if grep -q -E "^ok .*job plugins: .*exitkernel" "$TMP/out"; then pass; else fail "pel doctor: the good plugins not ok: $(cat "$TMP/out")"; fi
done

# --- next_phase that differs between ranks: one line naming the ranks, at once, on every rank.
START=$SECONDS
expect_error 1 "next_phase differs between ranks at phase 1: rank 0 got phase 'phase 1' of 100 items; rank 1 got phase 'phase 1' of 101 items" \
  2 run splitphase $P --differ items --output "$TMP/s.h5"
expect_quick 60 "a phase of other sizes"
expect_error 1 "ranks 0, 2 got phase 'phase 2' of 10 items; rank 1 got phase 'phase 2 of rank 1' of 10 items" \
  3 run splitphase $P --differ name --items 10 --split-at 2 --output "$TMP/s.h5"
expect_error 1 "at phase 0: rank 0 got phase 'phase 0' of 100 items; rank 1 got no phase (the end of the run)" \
  2 run splitphase $P --differ end --split-at 0 --output "$TMP/s.h5"
expect_ok 2 run splitphase $P --split-at 5 --output "$TMP/s.h5"  # the same phases everywhere: no complaint

# --- exit() inside the kernel: every rank ends, with a line naming the rank and the items of the batch that called
# it (pel cannot see which item of a batch the kernel was on), a non-zero code. MPI_Abort is how every rank is
# ended, so mpirun's own lines about it are expected here.
# expect_exit_line CODE ITEM: one line names a rank, exit(CODE) and a batch [B, E) holding ITEM (or ITEM alone).
expect_exit_line() {
  local lines
  lines=$(grep -E "rank [0-9]+ called exit\($1\) inside the job's kernel \(item" "$TMP/err" |
    awk -v item="$2" '{ if (match($0, /items \[[0-9]+, [0-9]+\)/)) { split(substr($0, RSTART + 7, RLENGTH - 8), r, ", ");
                         if (r[1] <= item && item < r[2]) n++ } else if (index($0, "(item " item ")")) n++ } END { print n + 0 }')
  if [ "$lines" = 1 ]; then pass; else fail "exit($1): expected one line naming the rank and a batch holding item $2, found $lines: $(head -c 1500 "$TMP/err")"; fi
}
for np in 1 2; do
  for code in 0 3; do
    START=$SECONDS
    pel_np $np run exitkernel $P --items 200 --exit-at 77 --exit-code $code --output "$TMP/e.h5"
    expect_quick 60 "exit($code) in the kernel on $np ranks"
    if [ "$RC" != 0 ] && [ "$RC" != 124 ]; then pass; else fail "exit($code) in the kernel on $np ranks: exit $RC"; fi
    expect_exit_line $code 77
    [ ! -e "$TMP/e.h5" ] && pass || fail "exit() in the kernel left a results file"
  done
done
# With threads: any thread of a rank may be the one that calls exit.
pel_np 2 run exitkernel $P --items 100000 --exit-at 4321 --threads 2 --output "$TMP/e.h5"
expect_exit_line 0 4321

finish
