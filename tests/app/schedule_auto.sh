# tests/app/schedule_auto.sh: --schedule auto runs the cold technique while no costs are known, then for each phase
# with measured costs (a --cost-profile of an earlier run, or the job's earlier phases) the technique its simulation
# of the phase found shortest; /stats schedule_choice and `pel report` say which and why, and outputs do not change.
source "$(dirname "$0")/common.sh"
# 1000 items of 4 ms on 4 ranks: a phase of about 1 s, so auto may simulate for about 10 ms (1%).
job=(synthetic --items 1000 --mean-us 4000 --distribution pareto --seed 5 --mode sleep)

# Cold: no profile yet (the run writes one).
expect_ok 4 run "${job[@]}" --schedule auto --cost-profile "$TMP/profile.h5" --output "$TMP/cold.h5"
check_py "cold choice" "$TMP/cold.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    s = f["stats"].attrs
    assert s["schedule"] == "auto", s["schedule"]
    assert s["schedule_choice"].startswith("phase 0: awf-c (cold"), s["schedule_choice"]
PY
# Warm: the profile of the cold run; every technique is simulated and the shortest is chosen.
expect_ok 4 run "${job[@]}" --schedule auto --cost-profile "$TMP/profile.h5" --output "$TMP/warm.h5"
check_py "warm choice" "$TMP/warm.h5" <<'PY'
import re, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    choice = f["stats"].attrs["schedule_choice"]
m = re.match(r"phase 0: (\S+) \(simulated on the measured costs: ([0-9.e+-]+) s;(.*), chosen in ([0-9.]+) ms\n$", choice)
assert m, choice
chosen, best = m.group(1), float(m.group(2))
entries = m.group(3).rstrip(")").split(";")
assert len(entries) == 13, entries  # every other technique: simulated, or not within the budget (a loaded machine)
others = [e.split() for e in entries if not e.endswith("not simulated within the budget")]
others = [(n, t) for n, t, _ in others]
if chosen == "awf-c":  # the cold technique stays unless another is more than 1% shorter in the simulation
    assert all(float(t) >= 0.99 * best for _, t in others), (best, others)
else:
    assert all(float(t) >= best for _, t in others), (best, others)
assert chosen not in [n for n, _ in others]
PY
"$PEL" report "$TMP/warm.h5" >"$TMP/report" 2>&1 && pass || fail "pel report failed: $(cat "$TMP/report")"
expect_contains "$TMP/report" "schedule auto, phase 0: "
"$H5SAME" "$TMP/cold.h5" "$TMP/warm.h5" --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "auto cold and warm results differ: $(cat "$TMP/same")"
# Without auto, /stats has no choice to record.
expect_ok 2 run synthetic --items 100 --schedule gss --output "$TMP/gss.h5"
check_py "no choice without auto" "$TMP/gss.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert "schedule_choice" not in f["stats"].attrs
PY

# A job of several phases over the same items: the first phase is cold, the later ones learn from the ones before
# (phases of a few ms leave no time to simulate: the cold technique stays, and the line says why).
expect_ok 3 run kmeans --input "$TMP/points.h5" --generate 4000 --k 4 --max-iterations 4 --schedule auto \
  --output "$TMP/kmeans.h5"
check_py "phases learn" "$TMP/kmeans.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    lines = f["stats"].attrs["schedule_choice"].splitlines()
assert len(lines) >= 2, lines
assert lines[0].startswith("phase 0: awf-c (cold"), lines[0]
assert all("(simulated on the measured costs" in l or "within the budget" in l or "too short to simulate" in l
           for l in lines[1:]), lines
PY
finish
