# tests/app/report.sh: `pel report` prints, from the results file alone, the numbers /stats holds; `--plots` draws
# the run's figures, and without python or matplotlib the report still prints.
source "$(dirname "$0")/common.sh"
expect_ok 3 run synthetic --items 3000 --mean-us 200 --mode sleep --threads 2 --output "$TMP/r.h5"
"$PEL" report "$TMP/r.h5" >"$TMP/report" 2>&1 && pass || fail "pel report failed: $(cat "$TMP/report")"
/usr/bin/python3 - "$TMP/r.h5" "$TMP/report" >"$TMP/check" 2>&1 <<'PY' && pass || fail "report differs: $(cat "$TMP/check")"
import re, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    s = f["stats"]
    items, busy = s["items"][...], s["busy_s"][...]
    eff, hosts = float(s.attrs["efficiency"]), s.attrs["hosts"].split()
    threads = int(f.attrs["threads"])
text = open(sys.argv[2]).read()
rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+([0-9.]+)", text, re.M)
assert len(rows) == 3, rows
for r, (rank, host, n, _, b) in enumerate(rows):
    assert int(rank) == r and host == hosts[r] and int(n) == int(items[r]), (rank, host, n)
    assert abs(float(b) - busy[r]) < 1e-3, (b, busy[r])
m = re.search(r"efficiency against the lower bound ([0-9.]+)", text)
assert m and abs(float(m.group(1)) - eff) < 1e-3, (m, eff)
useful = busy / threads
lb = useful.mean() / useful.max()
m = re.search(r"load balance ([0-9.]+)", text)
assert m and abs(float(m.group(1)) - lb) < 1e-3, (m.group(1), lb)
PY
"$PEL" report "$TMP/missing.h5" >"$TMP/report" 2>&1
[ "$?" = 4 ] && pass || fail "pel report of a missing file did not exit 4"

# --plots: a 2-rank run with one thread and one item per chunk, so that its chunk log has a row per chunk.
/usr/bin/python3 -c "import matplotlib" 2>/dev/null && pass ||
  fail "matplotlib is missing for /usr/bin/python3 (apt-get install python3-matplotlib; scripts/setup.sh should)"
expect_ok 2 run synthetic --items 2000 --mean-us 150 --distribution pareto --mode sleep --threads 1 --schedule ss \
  --output "$TMP/p.h5"
h5dump -H -g /stats/chunk_log "$TMP/p.h5" >/dev/null 2>&1 && pass || fail "no /stats/chunk_log in a fresh results file"
FIGURES="ranks timeline chunk_size item_cost"
"$PEL" report "$TMP/p.h5" --plots "$TMP/figs" >"$TMP/out" 2>"$TMP/err" && pass ||
  fail "pel report --plots failed: $(cat "$TMP/out" "$TMP/err")"
expect_contains "$TMP/out" "POP: load balance"
for f in $FIGURES; do
  png="$TMP/figs/$f.png"
  if [ ! -f "$png" ]; then fail "--plots wrote no $f.png: $(cat "$TMP/out" "$TMP/err")"; continue; fi
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && pass || fail "$f.png is not a PNG"
  [ "$(stat -c %s "$png")" -gt 10240 ] && pass || fail "$f.png is tiny ($(stat -c %s "$png") bytes)"
  grep -q -x -F "$png" "$TMP/out" && pass || fail "pel report did not print the path $png: $(cat "$TMP/out")"
done
[ "$(cd "$TMP/figs" && md5sum ./*.png | cut -d' ' -f1 | sort -u | wc -l)" = 4 ] && pass || fail "figures repeat"

# A results file without a chunk log (--trace-events 0, or an older pel): the per-rank figure, and a note for the rest.
expect_ok 2 run synthetic --items 300 --mean-us 100 --mode sleep --trace-events 0 --output "$TMP/n.h5"
"$PEL" report "$TMP/n.h5" --plots "$TMP/nfigs" >"$TMP/out" 2>"$TMP/err" && pass ||
  fail "pel report --plots of a file without chunk log failed: $(cat "$TMP/out" "$TMP/err")"
[ -f "$TMP/nfigs/ranks.png" ] && [ ! -e "$TMP/nfigs/timeline.png" ] && pass || fail "wrong figures: $(ls "$TMP/nfigs")"
expect_contains "$TMP/out" "has no /stats/chunk_log"

# expect_plots_error CODE FRAGMENT ARGS...: pel report ARGS still prints the report, then exits CODE with one error
# line naming FRAGMENT.
expect_plots_error() {
  local code=$1 fragment=$2; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" != "$code" ]; then
    fail "expected exit $code, got $rc from $*: $(cat "$TMP/err")"
  elif ! grep -q "POP: load balance" "$TMP/out"; then
    fail "no report before the --plots error from $*: $(cat "$TMP/out")"
  elif [ "$(grep -c 'error: --plots: ' "$TMP/err")" != 1 ] || ! grep -q -F -- "$fragment" "$TMP/err"; then
    fail "expected one 'error: --plots:' line naming '$fragment' from $*: $(cat "$TMP/err")"
  else
    pass
  fi
}
# matplotlib missing (a stand-in module that fails to import), python missing, the script missing or failing.
mkdir -p "$TMP/nompl/matplotlib" "$TMP/afile"
echo 'raise ImportError("not here")' >"$TMP/nompl/matplotlib/__init__.py"
expect_plots_error 1 "matplotlib is not installed for /usr/bin/python3 (apt-get install python3-matplotlib)" \
  env PYTHONPATH="$TMP/nompl" "$PEL" report "$TMP/p.h5" --plots "$TMP/figs2"
expect_plots_error 1 "cannot run /nonexistent/python3: No such file or directory (apt-get install python3-matplotlib" \
  env PEL_PYTHON=/nonexistent/python3 "$PEL" report "$TMP/p.h5" --plots "$TMP/figs2"
expect_plots_error 1 "pel-plots.py is missing (looked for $TMP/none.py" \
  env PEL_PLOTS_SCRIPT="$TMP/none.py" "$PEL" report "$TMP/p.h5" --plots "$TMP/figs2"
echo 'import sys; sys.exit("the figures failed on purpose")' >"$TMP/fails.py"
expect_plots_error 1 "error: --plots: the figures failed on purpose" \
  env PEL_PLOTS_SCRIPT="$TMP/fails.py" "$PEL" report "$TMP/p.h5" --plots "$TMP/figs2"
# A directory that cannot be made: a clear error, exit 4 (an output that cannot be written).
touch "$TMP/afile/file"
expect_plots_error 4 "cannot create directory '$TMP/afile/file/figs': Not a directory" \
  "$PEL" report "$TMP/p.h5" --plots "$TMP/afile/file/figs"
finish
