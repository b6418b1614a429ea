# tests/app/hostile_files.sh: pel in a hostile directory (shared, run as root). For every file pel writes, a link
# planted at its temporary's name and at its own name points at a victim in this test's directory: the victim never
# changes, and the run either writes a regular file or fails with one clear line. A device node and a FIFO are
# refused as outputs before any compute; names too long for the system or for Open MPI's MPI-IO get one clean error
# (not a buffer-overflow abort or a hang); `pel status` neither blocks on a FIFO nor prints a file's escape sequences.
# Everything is made inside $TMP (mknod too, never /dev).
source "$(dirname "$0")/common.sh"

plant() {  # plant LINK...: a fresh victim file, and a link to it at each LINK
  printf 'precious\n' >"$TMP/victim"
  for link in "$@"; do ln -sfn "$TMP/victim" "$link"; done
}
unchanged() {  # unchanged WHAT
  [ "$(cat "$TMP/victim")" = precious ] && pass ||
    fail "$1 followed a planted link: the victim now holds '$(head -c 60 "$TMP/victim" | tr -c '[:print:]' .)'"
}
regular() {  # regular FILE: a regular file, not a link
  [ -f "$1" ] && [ ! -L "$1" ] && pass || fail "$1 is not a regular file"
}
# ok_or_refused WHAT: the last run succeeded, or failed with exactly one error line and no crash.
ok_or_refused() {
  if [ "$RC" = 0 ]; then pass; return; fi
  if [ "$(grep -c 'error:' "$TMP/err")" = 1 ] && ! grep -q -E "Segmentation|core dumped|Abort|overflow" "$TMP/err"; then
    pass
  else
    fail "$1: exit $RC without one clear error line: $(head -c 600 "$TMP/err")"
  fi
}
no_output() {  # no_output FILE: neither FILE nor its temporary was left
  [ ! -e "$1" ] && [ ! -e "$1.part" ] && pass || fail "$1 or $1.part was left: $(ls -la "$(dirname "$1")" | head -c 400)"
}
RUN=(run synthetic --items 40 --mean-us 10)

# --- Links at the temporary's and at the final name, for each writer ---------------------------------------------
# The results file: OUTPUT.part and OUTPUT.
plant "$TMP/r.h5.part" "$TMP/r.h5"
expect_ok 2 "${RUN[@]}" --output "$TMP/r.h5"
unchanged "the results file"
regular "$TMP/r.h5"

# Checkpoints: ckpt-N.h5.part and ckpt-N.h5.
mkdir -p "$TMP/c.ckpt"
# (A name taken, even by a link, is skipped: the link at ckpt-0's name makes the checkpoints start at 1.)
plant "$TMP/c.ckpt/ckpt-00000000.h5" "$TMP/c.ckpt/ckpt-0000000"{0,1,2,3}.h5.part
expect_ok 2 run synthetic --items 300 --mean-us 2000 --mode sleep --checkpoint-every 0.05 --output "$TMP/c.h5" \
  --log-level info
unchanged "a checkpoint"
expect_contains "$TMP/err" "c.ckpt/ckpt-00000002.h5 written"

# The run directory: status.json, its temporary and config.toml.
mkdir -p "$TMP/rd"
plant "$TMP/rd/.status.json.tmp" "$TMP/rd/status.json" "$TMP/rd/config.toml"
expect_ok 2 "${RUN[@]}" --run-dir "$TMP/rd"
unchanged "--run-dir's status.json or config.toml"
regular "$TMP/rd/status.json"
regular "$TMP/rd/config.toml"

# The run directory's logs (appended to): a link at logs/rank-0.log and rank-1.log is never followed.
mkdir -p "$TMP/rl/logs"
plant "$TMP/rl/logs/rank-0.log" "$TMP/rl/logs/rank-1.log"
pel_np 2 "${RUN[@]}" --run-dir "$TMP/rl"
unchanged "logs/rank-N.log"
ok_or_refused "logs/rank-N.log a link"
[ "$RC" = 0 ] || expect_contains "$TMP/err" "symbolic link"

# The cost profile (its name is read as an input if it exists) and --trace, written after the run through a
# temporary beside them.
plant "$TMP/cp.h5.tmp" "$TMP/t.json" "$TMP/t.json.part"
expect_ok 2 "${RUN[@]}" --output "$TMP/p.h5" --cost-profile "$TMP/cp.h5" --trace "$TMP/t.json"
unchanged "--cost-profile or --trace"
regular "$TMP/cp.h5"
regular "$TMP/t.json"

# taskfarm: the joblog and its temporary, and the per-rank logs (truncated in a new run).
printf 'echo hello\ntrue\n' >"$TMP/tasks.txt"
plant "$TMP/f.joblog.tsv" "$TMP/f.joblog.tsv.tmp"
expect_ok 2 run taskfarm --tasks "$TMP/tasks.txt" --output "$TMP/f.h5"
unchanged "taskfarm's joblog"
regular "$TMP/f.joblog.tsv"
mkdir -p "$TMP/g.logs"
plant "$TMP/g.logs/rank-0.out" "$TMP/g.logs/rank-0.err"
pel_np 2 run taskfarm --tasks "$TMP/tasks.txt" --output "$TMP/g.h5"
unchanged "taskfarm's logs/rank-0.out"
ok_or_refused "taskfarm's rank-0.out a link"
mkdir -p "$TMP/h.logs"
plant "$TMP/h.logs/task-000000.out" "$TMP/h.logs/task-000000.err"
pel_np 2 run taskfarm --tasks "$TMP/tasks.txt" --output "$TMP/h.h5" --task-logs
unchanged "taskfarm's task-000000.out"
ok_or_refused "taskfarm's task-000000.out a link"

# --- Outputs that are not regular files: refused before any compute, left as they were ----------------------------
mknod "$TMP/mynull" c 1 3
expect_error 4 "it is a character device, not a regular file" 2 "${RUN[@]}" --output "$TMP/mynull"
[ -c "$TMP/mynull" ] && pass || fail "the device node $TMP/mynull was replaced"
[ ! -e "$TMP/mynull.part" ] && pass || fail "a temporary was left beside the device node"
mkfifo "$TMP/cp-fifo.h5"
start=$(date +%s)
expect_error 4 "--cost-profile: cannot write '$TMP/cp-fifo.h5': it is a FIFO" 2 run synthetic --items 20 \
  --mean-us 1000000 --mode sleep --output "$TMP/q.h5" --cost-profile "$TMP/cp-fifo.h5"
[ $(($(date +%s) - start)) -lt 8 ] && pass || fail "--cost-profile a FIFO was refused only after the compute"
[ -p "$TMP/cp-fifo.h5" ] && pass || fail "the FIFO given as --cost-profile was replaced"
no_output "$TMP/q.h5"
mkdir -p "$TMP/jl.joblog.tsv"
expect_error 4 "it is a directory, not a regular file" 2 run taskfarm --tasks "$TMP/tasks.txt" --output "$TMP/jl.h5"
no_output "$TMP/jl.h5"
# --trace naming a directory: said at the start, and no results file is committed.
mkdir -p "$TMP/tdir"
expect_error 4 "--trace: cannot write '$TMP/tdir': it is a directory" 2 "${RUN[@]}" --output "$TMP/td.h5" \
  --trace "$TMP/tdir"
no_output "$TMP/td.h5"

# --- Long names ---------------------------------------------------------------------------------------------------
# Open MPI aborts every rank ("buffer overflow detected") when the name given to MPI-IO, plus ".locktest.R", does not
# fit 256 bytes, and fails or hangs when the last component, plus "_cid-C-PID.sm", exceeds 255.
mkdir -p "$TMP/L"
long() { head -c "$1" /dev/zero | tr '\0' a; }
name=$(long 240).h5
expect_error 4 "that Open MPI's MPI-IO takes" 2 "${RUN[@]}" --output "$TMP/L/$name"
no_output "$TMP/L/$name"
name=$(long 232).h5  # relative: its path is short, its component too long for Open MPI's shared file pointer
pushd "$TMP/L" >/dev/null; pel_np 2 "${RUN[@]}" --output "$name"; popd >/dev/null
[ "$RC" = 4 ] && grep -q "that Open MPI's MPI-IO takes" "$TMP/err" && pass || fail "a 235-character relative name: exit $RC: $(head -c 300 "$TMP/err")"
no_output "$TMP/L/$name"
name=$(long 300).h5
expect_error 4 "more than the 255 a file name may have" 2 "${RUN[@]}" --output "$TMP/L/$name"
# A name that fits: the longest relative one pel takes is written (its checkpoints, OUTPUT without .h5 + .ckpt/...,
# would be too long: they go elsewhere).
name=$(long 221).h5
pushd "$TMP/L" >/dev/null; pel_np 2 "${RUN[@]}" --output "$name" --checkpoint-dir ck; popd >/dev/null
[ "$RC" = 0 ] && [ -f "$TMP/L/$name" ] && pass || fail "a 224-character name was not written: exit $RC: $(head -c 300 "$TMP/err")"
# A checkpoint directory too long for MPI-IO is said at the start, not at the first checkpoint.
expect_error 4 "--checkpoint-dir: cannot write" 2 "${RUN[@]}" --output "$TMP/L/k.h5" \
  --checkpoint-dir "$TMP/L/$(long 220)"
no_output "$TMP/L/k.h5"
# A megabyte output name in a config: one short error line, no crash inside HDF5.
{ printf 'job = "synthetic"\nitems = 10\noutput = "'; long 1000000; printf '.h5"\n'; } >"$TMP/huge.toml"
expect_error 4 "characters, more than the" 2 run --config "$TMP/huge.toml"
[ "$(wc -c <"$TMP/err")" -lt 2000 ] && pass || fail "the error for a 1 MB name is $(wc -c <"$TMP/err") bytes long"

# --- pel status and pel report ------------------------------------------------------------------------------------
mkdir -p "$TMP/sf"
mkfifo "$TMP/sf/status.json"
start=$(date +%s%N)
timeout 10 "$PEL" status "$TMP/sf" >"$TMP/out" 2>"$TMP/err"
RC=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$RC" != 124 ] && [ "$elapsed_ms" -lt 2000 ] && pass || fail "pel status on a FIFO took $elapsed_ms ms (exit $RC)"
[ "$RC" = 4 ] && grep -q "is not a regular file" "$TMP/err" && pass || fail "pel status on a FIFO: exit $RC: $(cat "$TMP/err")"

# Escape sequences in a status file (a crafted job name, host and message) are shown, not sent to the terminal.
mkdir -p "$TMP/se"
cat >"$TMP/se/status.json" <<'EOF'
{"job": "x\u001b]0;pwned\u0007\u001b[2J", "state": "finished", "host": "h\u009b31m", "ranks": 1, "threads": 1,
 "message": "m\u001b[1A\r", "output": "o.h5"}
EOF
"$PEL" status "$TMP/se" >"$TMP/out" 2>"$TMP/err"
[ "$?" = 0 ] && pass || fail "pel status on a crafted status file: $(cat "$TMP/err")"
if LC_ALL=C grep -q -P '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$TMP/out"; then
  fail "pel status printed control characters raw: $(od -c "$TMP/out" | head -5)"
else
  pass
fi
expect_contains "$TMP/out" '\x1b[2J'

# The same in a results file's attributes, for pel report.
cp "$TMP/r.h5" "$TMP/esc.h5"
/usr/bin/python3 - "$TMP/esc.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["job_version"] = "1\x1b]0;pwned\x07\x1b[2J"
EOF
"$PEL" report "$TMP/esc.h5" >"$TMP/out" 2>"$TMP/err"
RC=$?
if LC_ALL=C grep -q -P '[\x00-\x09\x0b-\x1f\x7f]' "$TMP/out" "$TMP/err"; then
  fail "pel report printed control characters raw: $(od -c "$TMP/out" | head -5)"
else
  pass
fi
finish
