# tests/app/kill_resume.sh: SIGKILL a rank of running jobs (scripts/killtest.sh, a short version), recover with
# --auto-resume on other layouts, and get the bits of an uninterrupted run; the kills must really interrupt runs, some
# of them while a checkpoint is being written, and later runs must really resume from checkpoints.
source "$(dirname "$0")/common.sh"
: "${REPO:?REPO must name the source tree}"
build=$(dirname "$(dirname "$PEL")")
[ "$(dirname "$H5SAME")" = "$build/bin" ] || { echo "pel and pel_h5same must be in the same build ($PEL, $H5SAME)"; exit 1; }

# Two rounds per job of 1-2 kills each, about half of them aimed at a checkpoint being written. The seed fixes the
# layouts and which kills are aimed (`scripts/killtest.sh --dry-run ...` prints them): with 238, each job's first
# run is on 2-3 ranks with a schedule that pauses for periodic checkpoints, and is killed during a checkpoint
# write once an older checkpoint exists, so the run after it must resume. Timing still varies, so the counts asked
# for below are minimums.
bash "$REPO/scripts/killtest.sh" --build "$build" --small --rounds 2 --max-kills 2 --aim 50 --seed 238 \
  --timeout 100 >"$TMP/killtest.out" 2>"$TMP/killtest.err"
rc=$?
cat "$TMP/killtest.out"
[ "$rc" = 0 ] && pass || fail "killtest exit $rc: $(grep FAIL "$TMP/killtest.err" | head -5)"

# count KEY [JOB]: KEY's value on the job's `killtest-job:` line, or on the `killtest:` totals line.
count() {
  local line
  if [ $# = 2 ]; then line=$(grep "^killtest-job: job=$2 " "$TMP/killtest.out"); else line=$(grep '^killtest: ' "$TMP/killtest.out"); fi
  echo "$line" | grep -o " $1=[0-9]*" | cut -d= -f2
}
for job in synthetic mandelbrot kmeans; do
  [ "$(count kills "$job")" -ge 1 ] 2>/dev/null && pass || fail "$job: no kill interrupted a run"
done
[ "$(count resumes)" -ge 2 ] 2>/dev/null && pass || fail "fewer than 2 runs resumed from a checkpoint after a kill"
[ "$(count resumed_outputs)" -ge 1 ] 2>/dev/null && pass || fail "no finished run carried a resumed_from attribute"
[ "$(count interrupted)" -ge 1 ] 2>/dev/null && pass || fail "no kill landed while a checkpoint was being written"
[ "$(count failures)" = 0 ] && pass || fail "killtest counted $(count failures) failures"
finish
