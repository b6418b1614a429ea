#!/usr/bin/env bash
# tests/app/plugin_authors.sh: what pel checks for a plugin author. Name clashes (a result named like an item output,
# inside one, declared or stored twice, a name pel writes itself) end the run with one line naming both uses, exit 3
# on every rank, found in setup before any item runs when the job declares its results; pel jobs and pel doctor run
# the option declaration checks on every plugin they list.
# Usage: plugin_authors.sh AUTHOR_PLUGIN_DIR (tests/support/jobs' authors plugin, in a directory of its own).
source "$(dirname "$0")/common.sh"
AUTHORS=${1:?the directory of the authors test plugin}
A="--job-path $AUTHORS"
unset PEL_JOB_PATH PEL_TEST_AUTHOR PEL_TEST_DECLARATION

# expect_before_items: the last run stopped before its first phase began (pel logs each phase's start at info).
expect_before_items() {
  if grep -q "phase 0 'sum'" "$TMP/err"; then fail "a phase ran before the clash was found: $(head -c 600 "$TMP/err")"; else pass; fi
}

# --- The job as it should be: runs, and stores what it declared.
expect_ok 2 run authors $A --items 50 --output "$TMP/ok.h5"
/usr/bin/python3 -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
assert f['sums'].shape == (2,) and 'total' in f.attrs and f['value'].shape == (50,), list(f)
" "$TMP/ok.h5" && pass || fail "the authors job's results are not as declared"

# --- Clashes declared in setup: found before any item runs, on every rank, exit 3, naming both uses.
for np in 1 2; do
  PEL_TEST_AUTHOR=item-result expect_error 3 \
    "job 'authors': its result dataset 'value' is also its item output 'value'" $np run authors $A --log-level info --output "$TMP/c.h5"
  expect_before_items
  PEL_TEST_AUTHOR=group expect_error 3 \
    "job 'authors': its result dataset 'count/extra' needs a group 'count', which is its item output" $np run authors $A --log-level info --output "$TMP/c.h5"
  expect_before_items
  PEL_TEST_AUTHOR=reserved-attribute expect_error 3 \
    "job 'authors': its result attribute 'ranks' is one pel writes on the root (the number of ranks" $np run authors $A --log-level info --output "$TMP/c.h5"
  expect_before_items
  PEL_TEST_AUTHOR=reserved-group expect_error 3 \
    "job 'authors': its item output 'stats' is pel's group /stats" $np run authors $A --log-level info --output "$TMP/c.h5"
  expect_before_items
  PEL_TEST_AUTHOR=declared-twice expect_error 3 \
    "job 'authors': its result dataset 'sums' is declared twice" $np run authors $A --log-level info --output "$TMP/c.h5"
  expect_before_items
done
[ ! -e "$TMP/c.h5" ] && pass || fail "a run refused for a name clash left $TMP/c.h5"

# --- Stored but not declared, or by a job that declares nothing: found as write_results stores it, one line, exit 3
# (before: HDF5's own words and exit 4 for a root attribute named like pel's).
PEL_TEST_AUTHOR=undeclared expect_error 3 \
  "job 'authors' stores result attribute 'extra', which its setup did not declare (ctx.result_attribute)" 2 run authors $A --output "$TMP/c.h5"
PEL_TEST_AUTHOR=late-reserved expect_error 3 \
  "job 'authors': its result attribute 'job' is one pel writes on the root (the job's name" 2 run authors $A --output "$TMP/c.h5"
PEL_TEST_AUTHOR=late-twice expect_error 3 "job 'authors' stores result dataset 'sums' twice" 2 run authors $A --output "$TMP/c.h5"
PEL_TEST_AUTHOR=late-item expect_error 3 \
  "job 'authors': its result dataset 'value' is also its item output 'value'" 2 run authors $A --output "$TMP/c.h5"
[ ! -e "$TMP/c.h5" ] && pass || fail "a run refused for a name clash left $TMP/c.h5"

# --- --check-merge: a plain double sum is refused, naming the job and the phase; pel's own jobs pass.
for np in 1 2; do
  expect_error 3 "--check-merge: job 'authors', phase 0 'sum': merged in item order and in reverse order, its partials differ" \
    $np run authors $A --items 200 --check-merge --output "$TMP/m.h5"
done
[ ! -e "$TMP/m.h5" ] && pass || fail "a run refused by --check-merge left $TMP/m.h5"
expect_ok 2 run mandelbrot --width 64 --height 48 --max-iterations 200 --check-merge --output "$TMP/m1.h5"
expect_ok 2 run kmeans --input "$TMP/points.h5" --generate 3000 --k 4 --max-iterations 10 --check-merge --output "$TMP/m2.h5"
expect_ok 3 run synthetic --items 500 --mean-us 2 --check-merge --output "$TMP/m3.h5"
# (Not taskfarm: the check runs kernels again, and its kernel runs commands; its merge orders records at phase end.)
# The same results as without the check: it runs the kernel again only into scratch partials and rows.
expect_ok 2 run mandelbrot --width 64 --height 48 --max-iterations 200 --output "$TMP/m1-plain.h5"
"$H5SAME" "$TMP/m1.h5" "$TMP/m1-plain.h5" --attr total_iterations --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "--check-merge changed mandelbrot's results: $(cat "$TMP/same")"

# --- The reserved names: README's table lists exactly the names pel writes at the root of a results file.
/usr/bin/python3 - "$REPO/README.md" "$TMP/ok.h5" <<'PY' && pass || fail "README's reserved names differ from a results file's"
import re, sys, h5py
readme = open(sys.argv[1]).read()
table = readme.split("<!-- reserved names -->")[1].split("<!-- end reserved names -->")[0]
listed = set(re.findall(r"^\| `([a-z_]+)` \|", table, re.M))
f = h5py.File(sys.argv[2], "r")
job = {"sums", "value", "count", "total"}
written = (set(f.attrs) | set(f)) - job - {"resumed_from", "skipped"}
missing = written - listed
assert not missing, f"pel writes {sorted(missing)}, not in README"
assert {"resumed_from", "skipped"} <= listed, "README lacks resumed_from or skipped"
PY

# --- Option declarations: pel jobs and pel doctor name a plugin whose declarations pel run refuses.
for mistake in twice choice range nan; do
  PEL_TEST_DECLARATION=$mistake pel_np 1 jobs --job-path "$PEL_TEST_PLUGIN_DIR"
  [ "$RC" = 0 ] && pass || fail "pel jobs exited $RC with a wrong declaration ($mistake)"
  n=$(grep -c "skipped '.*pel_declarations.so': job 'declarations' declares option" "$TMP/err")
  [ "$n" = 1 ] && pass || fail "pel jobs did not name the declarations plugin once ($mistake): $(cat "$TMP/err")"
  grep -q "^declarations " "$TMP/out" && fail "pel jobs listed a job with wrong declarations ($mistake)" || pass
  grep -q "^faulty " "$TMP/out" && pass || fail "pel jobs no longer lists the good jobs ($mistake)"
  PEL_TEST_DECLARATION=$mistake pel_np 1 doctor --job-path "$PEL_TEST_PLUGIN_DIR" --output-dir "$TMP"
  [ "$RC" = 1 ] && pass || fail "pel doctor exited $RC with a wrong declaration ($mistake)"
  grep -q "PROBLEM.*pel_declarations.so': job 'declarations' declares option" "$TMP/out" && pass ||
    fail "pel doctor did not name the declarations plugin ($mistake): $(cat "$TMP/out")"
done
PEL_TEST_DECLARATION= pel_np 1 jobs --job-path "$PEL_TEST_PLUGIN_DIR"
grep -q "^declarations " "$TMP/out" && pass || fail "pel jobs does not list the declarations job when it is right"

finish
