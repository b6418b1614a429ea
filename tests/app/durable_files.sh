# tests/app/durable_files.sh: every file pel writes through a temporary renamed into place (results, checkpoints,
# the cost profile, --trace, the run directory's status.json and config.toml, taskfarm's joblog) goes through one
# durable helper: a link planted at the temporary's old name or at the final name is never followed (the victim,
# in this test's own directory, stays as it was), and an --output that is a FIFO is refused, never replaced.
source "$(dirname "$0")/common.sh"

plant() {  # plant LINK...: a fresh victim file, and a link to it at each LINK
  printf 'precious\n' >"$TMP/victim"
  for link in "$@"; do ln -sfn "$TMP/victim" "$link"; done
}
unchanged() {  # unchanged WHAT
  [ "$(cat "$TMP/victim")" = precious ] && pass || fail "$1 followed a planted link: the victim now holds '$(head -c 40 "$TMP/victim" | tr -c '[:print:]' .)'"
}
regular() {  # regular FILE: a regular file, not a link
  [ -f "$1" ] && [ ! -L "$1" ] && pass || fail "$1 is not a regular file"
}

# The results file's temporary, OUTPUT.part.
plant "$TMP/r.h5.part"
expect_ok 2 run synthetic --items 50 --mean-us 10 --output "$TMP/r.h5"
unchanged "the results file"
regular "$TMP/r.h5"

# A checkpoint's temporary, ckpt-N.h5.part; the results file's final name a link (replaced, not followed).
mkdir -p "$TMP/c.ckpt"
plant "$TMP/c.ckpt/ckpt-00000000.h5.part" "$TMP/c.ckpt/ckpt-00000001.h5.part" "$TMP/c.h5"
expect_ok 2 run synthetic --items 400 --mean-us 2000 --mode sleep --checkpoint-every 0.05 --output "$TMP/c.h5"
unchanged "a checkpoint"
regular "$TMP/c.h5"

# The cost profile (serial HDF5, written by rank 0 at the end): its old temporary, FILE.tmp.
plant "$TMP/cp.h5.tmp"
expect_ok 2 run synthetic --items 50 --mean-us 10 --output "$TMP/p.h5" --cost-profile "$TMP/cp.h5"
unchanged "--cost-profile"
regular "$TMP/cp.h5"

# --trace: its temporary (the old FILE.part), probed before the run and written after it.
plant "$TMP/t.json.part"
expect_ok 2 run synthetic --items 50 --mean-us 10 --output "$TMP/t.h5" --trace "$TMP/t.json"
unchanged "--trace"
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/t.json" && pass || fail "t.json is not JSON"

# The run directory: status.json's old temporary, and config.toml itself a link.
mkdir -p "$TMP/rd"
plant "$TMP/rd/.status.json.tmp" "$TMP/rd/config.toml"
expect_ok 2 run synthetic --items 50 --mean-us 10 --run-dir "$TMP/rd"
unchanged "--run-dir"
regular "$TMP/rd/config.toml"
grep -q '^job = "synthetic"' "$TMP/rd/config.toml" && pass || fail "config.toml: $(head -c 200 "$TMP/rd/config.toml")"
grep -q '"state": "finished"' "$TMP/rd/status.json" && pass || fail "status.json: $(head -c 200 "$TMP/rd/status.json")"

# taskfarm's joblog: its old temporary, JOBLOG.tmp.
printf 'true\ntrue\ntrue\n' >"$TMP/tasks.txt"
plant "$TMP/f.joblog.tsv.tmp"
expect_ok 2 run taskfarm --tasks "$TMP/tasks.txt" --output "$TMP/f.h5"
unchanged "taskfarm's joblog"
[ "$(wc -l <"$TMP/f.joblog.tsv")" = 4 ] && pass || fail "joblog: $(cat "$TMP/f.joblog.tsv")"

# Nothing of these writes is left behind under a temporary name.
left=$(find "$TMP" -name '*.tmp' -newer "$TMP/tasks.txt" ! -type l)
[ -z "$left" ] && pass || fail "temporaries left: $left"

# An --output that is a FIFO (made here, in the test's directory): refused before the run, and still a FIFO.
mkfifo "$TMP/fifo.h5"
expect_error 4 "it is a FIFO, not a regular file" 2 run synthetic --items 10 --output "$TMP/fifo.h5"
[ -p "$TMP/fifo.h5" ] && pass || fail "the FIFO was replaced"
[ ! -e "$TMP/fifo.h5.part" ] && pass || fail "a temporary was left beside the FIFO"
finish
