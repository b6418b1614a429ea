# tests/app/taskfarm_subst.sh: GNU parallel's replacement strings ({} the argument, shell-quoted; {#} the task's
# number from 1; {%} its slot) in --command TEMPLATE --args FILE and in whole command lines, and disBatch's BARRIER
# lines: the tasks after one start only once every task before it has ended.
source "$(dirname "$0")/common.sh"

printf '%s\n' plain 'with space' "it's \$HOME; \`x\`" '' 'a*b' >"$TMP/args.txt"
expect_ok 2 run taskfarm --command "printf '%s|%s|%s\\n' {} {#} {%} > $TMP/out-{#}.txt" --args "$TMP/args.txt" \
  --threads 2 --output "$TMP/cmd.h5"
expect_ok 1 run taskfarm --command "echo >> $TMP/appended.txt" --args "$TMP/args.txt" --output "$TMP/app.h5"
check_py "--command and --args" "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
args = open(f"{tmp}/args.txt").read().split("\n")[:-1]
for n, arg in enumerate(args, 1):
    got, number, slot = open(f"{tmp}/out-{n}.txt").read().rstrip("\n").split("|")
    assert (got, number) == (arg, str(n)), (got, number, arg, n)
    assert slot in ("1", "2"), slot
assert sorted(open(f"{tmp}/appended.txt").read().split("\n")[:-1]) == sorted(args)
rows = sorted([l.rstrip("\n").split("\t", 8) for l in open(f"{tmp}/cmd.joblog.tsv")][1:], key=lambda r: int(r[0]))
assert rows[1][8].startswith("printf '%s|%s|%s\\n' 'with space' 2 "), rows[1][8]
PY

# Whole command lines: {#} and {%} too.
for n in 1 2 3; do echo "echo {#} {%} > $TMP/line-$n"; done >"$TMP/lines.txt"
expect_ok 1 run taskfarm --tasks "$TMP/lines.txt" --threads 2 --output "$TMP/lines.h5"
for n in 1 2 3; do
  read -r number slot <"$TMP/line-$n"
  [ "$number" = "$n" ] && { [ "$slot" = 1 ] || [ "$slot" = 2 ]; } && pass || fail "line $n: $number $slot"
done

# --command and --tasks do not mix; --command needs --args.
expect_error 2 "--command TEMPLATE and --args FILE go together" 1 run taskfarm --command "echo {}" \
  --output "$TMP/bad.h5"
expect_error 2 "--command TEMPLATE and --args FILE go together" 1 run taskfarm --command "echo {}" \
  --args "$TMP/args.txt" --tasks "$TMP/lines.txt" --output "$TMP/bad.h5"

# BARRIER: 6 slow tasks, a barrier, 6 that count what the first group left; then a plain BARRIER line and one more.
{
  for n in $(seq 1 6); do echo "sleep 0.3; echo $n > $TMP/g1-$n"; done
  echo "#DISBATCH BARRIER"
  for n in $(seq 1 6); do echo "ls $TMP | grep -c '^g1-' > $TMP/seen-$n"; done
  echo "BARRIER"
  echo "ls $TMP | grep -c '^seen-' > $TMP/last"
} >"$TMP/groups.txt"
expect_ok 2 run taskfarm --tasks "$TMP/groups.txt" --threads 2 --output "$TMP/groups.h5"
check_py "BARRIER" "$TMP" <<'PY'
import sys, h5py
tmp = sys.argv[1]
assert [open(f"{tmp}/seen-{n}").read() for n in range(1, 7)] == ["6\n"] * 6
assert open(f"{tmp}/last").read() == "6\n"
with h5py.File(f"{tmp}/groups.h5", "r") as f:
    assert [int(x) for x in f["exit_code"][...]] == [0] * 13
    assert int(f.attrs["succeeded"]) == 13
rows = [l.split("\t") for l in open(f"{tmp}/groups.joblog.tsv")][1:]
assert sorted(int(r[0]) for r in rows) == list(range(1, 14))
PY
# Groups survive a stop and resume: stopped by SIGUSR1 in the second of three groups, resumed on another layout,
# every task runs exactly once and no task of a group starts before every task of the one before has ended.
{
  for g in 1 2 3; do
    for n in $(seq 1 8); do echo "echo start $g \$(date +%s.%N) >> $TMP/order; sleep 0.1; echo end $g \$(date +%s.%N) >> $TMP/order; echo $g-$n >> $TMP/ran"; done
    [ $g -lt 3 ] && echo BARRIER
  done
} >"$TMP/three.txt"
timeout 120 "$MPIRUN" -np 2 "$PEL" run taskfarm --tasks "$TMP/three.txt" --threads 2 --output "$TMP/three.h5" \
  >"$TMP/out" 2>"$TMP/err" &
launcher=$!
second_group() { grep -q '^2-' "$TMP/ran" 2>/dev/null; }
wait_for 60 "the second group" second_group
pkill -USR1 -P "$launcher"  # timeout's one child: mpirun, which forwards SIGUSR1 to the ranks
wait "$launcher"
rc=$?
[ "$rc" = 75 ] && pass || fail "not stopped by SIGUSR1 (exit $rc): $(head -c 300 "$TMP/err")"
expect_ok 3 run taskfarm --tasks "$TMP/three.txt" --threads 1 --output "$TMP/three.h5" --resume
check_py "groups across a resume" "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
ran = sorted(l.strip() for l in open(f"{tmp}/ran"))
assert ran == sorted(f"{g}-{n}" for g in (1, 2, 3) for n in range(1, 9)), ran
events = [l.split() for l in open(f"{tmp}/order")]
for g in (2, 3):
    first_start = min(float(t) for e, grp, t in events if e == "start" and int(grp) == g)
    last_end = max(float(t) for e, grp, t in events if e == "end" and int(grp) == g - 1)
    assert first_start >= last_end, (g, first_start, last_end)
PY

# Only BARRIER among the directives is known: another is refused, not skipped as a comment.
printf 'true\n#DISBATCH PREFIX cd /tmp ; \ntrue\n' >"$TMP/prefix.txt"
expect_error 2 "'#DISBATCH PREFIX cd /tmp ;' is not supported" 1 run taskfarm --tasks "$TMP/prefix.txt" \
  --output "$TMP/bad.h5"
finish
