# tests/app/progress.sh: rank 0's live progress (a bar refreshed in place in a terminal, plain time-stamped lines in a
# pipe, nothing with --progress off), the figures in status.json and `pel status`, and the log's levels and tags.
source "$(dirname "$0")/common.sh"
command -v script >/dev/null || { echo "SKIP: no script (util-linux) for a pseudo-terminal"; exit 77; }
host=$(hostname)
host=${host%%.*}
tag="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z pel\[[0-9]+@$host\]"
# About 3.8 s of sleeping items on 2 ranks (1500 x 5 ms / 2).
args=(synthetic --items 1500 --mean-us 5000 --mode sleep --seed 3)

# In a pseudo-terminal: one line redrawn in place (carriage return, cleared to its end), at most once a second, with
# items, a percent, the rate and an ETA; its last frame shows 100% and ends with a newline. Log lines that come
# while it shows (checkpoints, with --log-level info) start on a line of their own.
started=$(date +%s.%N)
timeout 120 script -qfec "$MPIRUN -np 2 $PEL run ${args[*]} --output $TMP/tty.h5 --checkpoint-every 1.5 --log-level info" \
  /dev/null </dev/null >"$TMP/tty"
RC=$?
ended=$(date +%s.%N)
[ "$RC" = 0 ] && pass || fail "the run in a pseudo-terminal exit $RC: $(head -c 600 "$TMP/tty")"
/usr/bin/python3 - "$TMP/tty" "$started" "$ended" >"$TMP/check" 2>&1 <<'PY' && pass || fail "the bar: $(cat "$TMP/check")"
import re, sys
text = open(sys.argv[1], "rb").read().decode()
wall = float(sys.argv[3]) - float(sys.argv[2])
frames = re.findall(r"\r(pel \[[#-]{20}\][^\r\n\x1b]*)\x1b\[K", text)
assert len(frames) >= 2, f"{len(frames)} frames: {text[:600]!r}"
# At most one refresh a second (the finishing frame may follow the last refresh closely).
assert len(frames) <= wall + 2, f"{len(frames)} frames in {wall:.1f} s"
elapsed = [float(re.search(r"elapsed ([0-9.]+)s", f).group(1)) for f in frames]
steps = [b - a for a, b in zip(elapsed[:-1], elapsed[1:-1])]
assert all(s >= 0.9 for s in steps), f"frames closer than a second: {elapsed}"
for f in frames:
    assert re.search(r"\d+/1500 items", f) and re.search(r"\d+\.\d%", f) and "items/s" in f and "ETA" in f, f
last = frames[-1]
assert "100.0%" in last and "1500/1500 items" in last, f"last frame: {last}"
# The last frame is finished with a newline before pel's closing lines.
assert re.search(r"1500/1500 items[^\r\n]*\x1b\[K\r?\n", text), "no newline after the last frame"
# A log line never starts inside a frame: it comes after the frame's newline.
assert not re.search(r"\x1b\[K\d{4}-\d\d-\d\dT", text), f"a log line ran into the bar: {text[:800]!r}"
assert re.search(r"(^|\n)\d{4}-\d\d-\d\dT[^\n]* info: checkpoint ", text), "no checkpoint line to check against"
print(len(frames), "frames in", round(wall, 1), "s")
PY

# In a pipe: no carriage return; a plain line every --progress-every seconds, each starting with the time stamp and
# tags, and a last one at 100%.
timeout 120 "$MPIRUN" -np 2 "$PEL" run "${args[@]}" --output "$TMP/pipe.h5" --progress-every 1 2>&1 | cat >"$TMP/pipe"
grep -q $'\r' "$TMP/pipe" && fail "carriage returns in a pipe: $(head -c 400 "$TMP/pipe")" || pass
lines=$(grep -c " progress: phase 0 'items': " "$TMP/pipe")
[ "$lines" -ge 3 ] && [ "$lines" -le 6 ] && pass || fail "$lines progress lines for a 4 s run every 1 s: $(cat "$TMP/pipe")"
[ "$(grep " progress: " "$TMP/pipe" | grep -c -v -E "^$tag progress: phase 0 'items': [0-9]+ of 1500 items \([0-9.]+%\), ([0-9.]+|\?) items/s, elapsed [0-9.]+s, ETA ")" = 0 ] &&
  pass || fail "progress lines without their time stamp and tags: $(grep " progress: " "$TMP/pipe")"
grep " progress: " "$TMP/pipe" | tail -1 | grep -q "1500 of 1500 items (100.0%)" && pass ||
  fail "the last progress line is not at 100%: $(grep " progress: " "$TMP/pipe" | tail -1)"
# The progress settings are config keys too; the command line wins over the config file.
printf 'progress = "log"\nprogress-every = 0.5\nlog-level = "error"\n' >"$TMP/p.toml"
timeout 120 "$MPIRUN" -np 2 "$PEL" run synthetic --items 300 --mean-us 5000 --mode sleep --config "$TMP/p.toml" \
  --log-level info --output "$TMP/c.h5" >/dev/null 2>"$TMP/err"
[ "$(grep -c " progress: " "$TMP/err")" -ge 1 ] && pass || fail "progress from the config file: $(cat "$TMP/err")"
expect_contains "$TMP/err" " info: phase 0 'items'"

# --progress off: nothing, even in a terminal; the default in a pipe (a line every 30 s) prints nothing in a short run.
timeout 120 script -qfec "$MPIRUN -np 2 $PEL run synthetic --items 500 --mean-us 5000 --mode sleep --output $TMP/off.h5 --progress off" \
  /dev/null </dev/null >"$TMP/off"
grep -q -E "pel \[|progress:|ETA" "$TMP/off" && fail "--progress off printed progress: $(head -c 400 "$TMP/off")" || pass
expect_contains "$TMP/off" "finished in"
expect_ok 2 run synthetic --items 500 --mean-us 5000 --mode sleep --output "$TMP/quiet.h5"
[ -s "$TMP/err" ] && fail "a default run in a pipe printed on stderr: $(head -c 400 "$TMP/err")" || pass
# Bad values: exit 2 and one error line, tagged like every log line.
expect_error 2 "--progress: blink" 2 run synthetic --items 5 --progress blink --output "$TMP/bad.h5"
expect_error 2 "--progress-every: 0 is not" 2 run synthetic --items 5 --progress-every 0 --output "$TMP/bad.h5"
grep -q -E "^$tag error: --progress-every" "$TMP/err" && pass || fail "an untagged error line: $(cat "$TMP/err")"
expect_error 2 "--log-level: loud" 2 run synthetic --items 5 --log-level loud --output "$TMP/bad.h5"

# Log levels: rank 1's warnings (items that fail there, run again on rank 0) show at warn and are hidden at error;
# debug shows more; every line carries time, rank and host; rank 0 alone prints what every rank logs, unless
# --log-all-ranks.
faulty=(synthetic --items 600 --mean-us 20 --fail-every 97 --fail-rank 1 --max-retries 2 --output "$TMP/f.h5")
expect_ok 2 run "${faulty[@]}"
cp "$TMP/err" "$TMP/warn"
grep -q -E "^$tag warn: items \[[0-9]+, [0-9]+\) of phase 'items' failed: .*fails \(--fail-every\)" "$TMP/warn" &&
  grep -q "pel\[1@" "$TMP/warn" && pass || fail "no tagged warning from rank 1 at warn: $(head -c 400 "$TMP/warn")"
grep -q -E " (info|debug): " "$TMP/warn" && fail "info lines at --log-level warn: $(head -c 400 "$TMP/warn")" || pass
expect_ok 2 run "${faulty[@]}" --log-level error
grep -q " warn: " "$TMP/err" && fail "warnings shown at --log-level error: $(head -c 400 "$TMP/err")" || pass
expect_ok 2 run "${faulty[@]}" --log-level debug
[ "$(wc -l <"$TMP/err")" -gt "$(wc -l <"$TMP/warn")" ] && grep -q -E "^$tag debug: " "$TMP/err" && pass ||
  fail "--log-level debug shows no more than warn: $(head -c 400 "$TMP/err")"
[ "$(grep -c -v -E "^$tag (error|warn|info|debug): " "$TMP/err")" = 0 ] && pass ||
  fail "lines without time, rank and host: $(grep -v -E "^$tag " "$TMP/err" | head -3)"
[ "$(grep -c " info: phase 0 'items': 600 items" "$TMP/err")" = 1 ] && pass ||
  fail "not rank 0 alone: $(grep "phase 0 'items'" "$TMP/err")"
expect_ok 2 run "${faulty[@]}" --verbose --log-all-ranks
[ "$(grep -c -E "pel\[[01]@$host\] info: phase 0 'items': 600 items" "$TMP/err")" = 2 ] && pass ||
  fail "--log-all-ranks: not every rank's line: $(grep "phase 0 'items'" "$TMP/err")"

# status.json while the run goes on: percent, rate and ETA, which `pel status` shows; the per-rank log files get
# debug lines whatever the terminal shows.
timeout 120 "$MPIRUN" -np 2 "$PEL" run "${args[@]/#1500/2000}" --run-dir "$TMP/rd" >"$TMP/out" 2>"$TMP/err" &
launcher=$!
for _ in $(seq 100); do
  grep -q -E '"rate_items_per_s": [1-9]' "$TMP/rd/status.json" 2>/dev/null && break
  sleep 0.2
done
cp "$TMP/rd/status.json" "$TMP/status.json" 2>/dev/null
"$PEL" status "$TMP/rd" >"$TMP/status" 2>&1
wait "$launcher" && pass || fail "the run with a run directory failed: $(head -c 400 "$TMP/err")"
/usr/bin/python3 - "$TMP/status.json" >"$TMP/check" 2>&1 <<'PY' && pass || fail "status.json: $(cat "$TMP/check")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "running", s
done, total, rate = s["items_done"], s["items_total"], s["rate_items_per_s"]
assert total == 2000 and 0 < done < total, s
assert abs(s["percent"] - 100.0 * done / total) < 0.01, s
assert 50 < rate < 2000, s  # 2 ranks x 1 thread at 5 ms an item: about 400 items/s
assert s["eta_s"] is not None and abs(s["eta_s"] - (total - done) / rate) < 0.01, s
assert s["elapsed_s"] > 0, s
PY
grep -q -E "elapsed [0-9.]+s, [0-9.]+ items/s, ETA [0-9.]+s" "$TMP/status" && pass ||
  fail "pel status shows no rate or ETA while running: $(cat "$TMP/status")"
grep -q -E "^$tag debug: " "$TMP/rd/logs/rank-1.log" && pass || fail "no debug lines in rank 1's log file"
"$PEL" status "$TMP/rd" >"$TMP/status" 2>&1
expect_contains "$TMP/status" "2000 of 2000 items (100.0%)"
finish
