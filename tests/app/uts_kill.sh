# tests/app/uts_kill.sh: dynamic items under SIGKILL: scripts/killtest.sh on the uts job (tree T1 one level deeper)
# kills random ranks mid-phase, some while a checkpoint is being written, and recovers with --auto-resume on other
# layouts; every finished run must count the nodes, leaves and depth of an uninterrupted run, which counts those of the
# serial traversal (no item lost, none run twice), and runs must really resume.
source "$(dirname "$0")/common.sh"
: "${REPO:?REPO must name the source tree}"
build=$(dirname "$(dirname "$PEL")")
bash "$REPO/scripts/killtest.sh" --build "$build" --jobs uts --small --rounds 2 --max-kills 2 --aim 60 --seed 5 \
  --timeout 100 >"$TMP/killtest.out" 2>"$TMP/killtest.err"
rc=$?
cat "$TMP/killtest.out"
[ "$rc" = 0 ] && pass || fail "killtest exit $rc: $(grep FAIL "$TMP/killtest.err" | head -5)"
count() { grep '^killtest: ' "$TMP/killtest.out" | grep -o " $1=[0-9]*" | cut -d= -f2; }
[ "$(count kills)" -ge 1 ] 2>/dev/null && pass || fail "no kill interrupted a run"
[ "$(count resumes)" -ge 1 ] 2>/dev/null && pass || fail "no run resumed from a checkpoint after a kill"
[ "$(count failures)" = 0 ] && pass || fail "killtest counted $(count failures) failures"
finish
