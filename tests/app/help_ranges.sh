#!/usr/bin/env bash
# tests/app/help_ranges.sh: every number option in `pel run --help` shows the values it takes, as job options do:
# an option of type INT or FLOAT, and each framework option that takes a number as text (--prefetch,
# --checkpoint-every), shows a range; options with choices show them.
source "$(dirname "$0")/common.sh"

# check_help FILE: each option's entry (its line and the continuation lines under it) in a --help text.
check_help() {
  local file=$1 entry name numbers=0
  # One entry per line: an option's line joined with the indented continuation lines that follow it.
  awk '/^  -/ { if (e != "") print e; e = $0; next } /^     / { e = e " " $0; next } { if (e != "") print e; e = "" }
       END { if (e != "") print e }' "$file" >"$TMP/entries"
  while IFS= read -r entry; do
    name=$(sed -E 's/^ *(-h,)?(--[a-z0-9-]+).*/\2/' <<<"$entry")
    case "$entry" in
      "  --"[a-z0-9-]*" INT"* | "  --"[a-z0-9-]*" FLOAT"* | "  --prefetch "* | "  --checkpoint-every "*)
        numbers=$((numbers + 1))
        if grep -q -E '[[(]-?[0-9.e+]+, -?([0-9.e+]+|inf)[])]' <<<"$entry"; then pass; else fail "$name shows no range in $file: $entry"; fi
        ;;
    esac
  done <"$TMP/entries"
  # The options this test knows to be numbers must all have been seen (the help's shape did not fool the parser).
  if [ "$numbers" -ge "$2" ]; then pass; else fail "only $numbers number options found in $file (expected at least $2)"; fi
}

"$PEL" run --help >"$TMP/help" 2>&1 || fail "pel run --help exited $?"
# threads chunk-size prefetch trace-events progress-every checkpoint-every mtbf keep time-limit time-margin
# max-retries heartbeat-timeout
check_help "$TMP/help" 12
expect_contains "$TMP/help" "[1, 4096]"
expect_contains "$TMP/help" "[0, 64] or auto"
expect_contains "$TMP/help" "{static, ss, gss, tss, fac2, awf, fsc, mfsc, wf, awf-b, awf-c, awf-d, awf-e, af, auto}"
expect_contains "$TMP/help" "{abort,skip"

# With a job: the framework's options the same (the job's own show what the job declared: cli_basics).
"$PEL" run mandelbrot --help >"$TMP/help-job" 2>&1 || fail "pel run mandelbrot --help exited $?"
sed '/^Options of job/,$d' "$TMP/help-job" >"$TMP/help-framework"
check_help "$TMP/help-framework" 12

finish
