# tests/app/report.sh: `pel report` prints, from the results file alone, the numbers /stats holds.
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
finish
