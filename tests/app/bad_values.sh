# tests/app/bad_values.sh: values no option may take (NaN, infinities, fractions and overflows of whole numbers,
# intervals too short to make progress), on the command line and in a config; values quoted in messages are bounded;
# a job author's mistaken option declarations; and zero items, which is a valid run.
source "$(dirname "$0")/common.sh"
P="--job-path $PEL_TEST_PLUGIN_DIR"
O="--output $TMP/v.h5"

# expect_refused FRAGMENT ARGS...: exit 2 on 2 ranks with FRAGMENT on the one error line, and no results file.
expect_refused() {
  local fragment=$1; shift
  expect_error 2 "$fragment" 2 "$@" $O
  [ ! -e "$TMP/v.h5" ] && [ ! -e "$TMP/v.h5.part" ] && pass || fail "a refused run left a results file: ${*:1:4}"
  rm -f "$TMP/v.h5" "$TMP/v.h5.part"
}

# Non-finite numbers: a NaN passes every range check unless it is refused by name.
expect_refused "--time-limit: 'nan' is not a finite number" run mandelbrot --time-limit nan
expect_refused "--heartbeat-timeout: 'nan' is not a finite number" run mandelbrot --heartbeat-timeout nan
expect_refused "--mtbf: 'nan' is not a finite number" run mandelbrot --mtbf nan --checkpoint-every auto
expect_refused "--mtbf: 'inf' is not a finite number" run mandelbrot --mtbf inf
expect_refused "--time-margin: '-inf' is not a finite number" run mandelbrot --time-margin -inf
expect_refused "--progress-every: 'NaN' is not a finite number" run mandelbrot --progress-every NaN
expect_refused "--checkpoint-every: 'nan' is not a number of seconds" run mandelbrot --checkpoint-every nan
expect_refused "--x-min: '-inf' is not a finite number" run mandelbrot --x-min -inf
expect_refused "--y-max: 'infinity' is not a finite number" run mandelbrot --y-max infinity
expect_refused "--slow-factor: 'nan' is not a finite number" run synthetic --slow-factor nan
expect_refused "--mean-us: 'nan' is not a finite number" run synthetic --mean-us nan
expect_refused "--tolerance: 'nan' is not a finite number" run kmeans --tolerance nan
expect_refused "--ratio: 'nan' is not a finite number" run declarations $P --ratio nan
expect_refused "--ratio: value 1.5 is above the maximum 1" run declarations $P --ratio 1.5
expect_refused "--shift: 'inf' is not a finite number" run declarations $P --shift inf
expect_ok 2 run declarations $P --wild nan --output "$TMP/wild.h5"  # declared .allow_non_finite()
expect_ok 1 run declarations $P --wild -inf --output "$TMP/wild.h5"
rm -f "$TMP/wild.h5"

# Whole numbers: fractions and values beyond 64 bits are named, not saturated or passed on as the parser's text.
expect_refused "--items: '1.5' is not a whole number" run synthetic --items 1.5
expect_refused "--items: '1e3' is not a whole number" run synthetic --items 1e3
expect_refused "--width: 'abc' is not a number" run mandelbrot --width abc
expect_refused "--chunk-size: value 18446744073709551616 is above the maximum 9223372036854775807" \
  run mandelbrot --chunk-size 18446744073709551616
expect_refused "--chunk-size: '1.5' is not a whole number" run mandelbrot --chunk-size 1.5
expect_refused "--threads: '1.5' is not a whole number" run mandelbrot --threads 1.5
expect_refused "--keep: value 99999999999999999999 is above the maximum 1000" run mandelbrot --keep 99999999999999999999
expect_refused "--seed: value -99999999999999999999 is below the minimum -9223372036854775808" \
  run synthetic --seed -99999999999999999999
expect_refused "--trace-events: value -1 is below the minimum 0" run mandelbrot --trace-events -1

# The shortest checkpoint interval.
expect_refused "--checkpoint-every: 1e-6 s is shorter than the shortest interval, 0.01 s" \
  run synthetic --items 100 --checkpoint-every 1e-6

# In a config: the same checks as on the command line.
printf 'job = "synthetic"\nitems = 20\nmean-us = nan\n' > "$TMP/nan.toml"
expect_refused "--mean-us: 'nan' is not a finite number" run --config "$TMP/nan.toml"
printf 'job = "mandelbrot"\ntime-limit = nan\n' > "$TMP/limit.toml"
expect_refused "--time-limit: 'nan' is not a finite number" run --config "$TMP/limit.toml"
printf 'job = "synthetic"\nitems = 1.5\n' > "$TMP/items.toml"
expect_refused "line 2: 'items' must be an integer, not a float" run --config "$TMP/items.toml"
printf 'job = "mandelbrot"\nchunk-size = 18446744073709551616\n' > "$TMP/chunk.toml"
expect_refused "'18446744073709551616' is not representable in 64 bits" run --config "$TMP/chunk.toml"

# Values are quoted bounded: a huge job name or value gives a short error line.
long=$(head -c 100000 /dev/zero | tr '\0' a)
expect_error 3 "unknown job 'aaaa" 2 run "$long"
[ "$(wc -c < "$TMP/err")" -lt 1000 ] && pass || fail "a long job name gave $(wc -c < "$TMP/err") bytes of error"
expect_contains "$TMP/err" "... (100000 characters)"
{ printf 'job = "'; head -c 1000000 /dev/zero | tr '\0' b; printf '"\n'; } > "$TMP/name.toml"
expect_error 3 "unknown job 'bbbb" 2 run --config "$TMP/name.toml"
[ "$(wc -c < "$TMP/err")" -lt 1000 ] && pass || fail "a 1 MB job name in a config gave $(wc -c < "$TMP/err") bytes"
digits=$(head -c 100000 /dev/zero | tr '\0' 7)
expect_refused "--width: value 7777" run mandelbrot --width "$digits"
[ "$(wc -c < "$TMP/err")" -lt 1000 ] && pass || fail "a long value gave $(wc -c < "$TMP/err") bytes of error"

# A job author's mistakes are errors naming the job and the option (exit 3), whatever the command line.
PEL_TEST_DECLARATION=twice expect_error 3 "job 'declarations' declares option --ratio twice" 2 run declarations $P $O
PEL_TEST_DECLARATION=choice expect_error 3 \
  "job 'declarations' declares option --colour with the default 'green', which is not one of its choices {red, blue}" \
  2 run declarations $P $O
PEL_TEST_DECLARATION=range expect_error 3 \
  "declares option --width with a default its own declaration refuses: value 0 is below the minimum 1" \
  2 run declarations $P $O
PEL_TEST_DECLARATION=nan expect_error 3 "declares option --level with a default its own declaration refuses" \
  2 run declarations $P $O
PEL_TEST_DECLARATION=pel-name expect_error 3 "declares option --output, which pel already has" \
  2 run declarations $P $O
[ ! -e "$TMP/v.h5" ] && pass || fail "a job with mistaken declarations left a results file"

# Zero items is a valid run: exit 0 and a results file, on one rank or several, with a trace or not.
for np in 1 3; do
  expect_ok $np run synthetic --items 0 --output "$TMP/zero-$np.h5"
  [ -s "$TMP/zero-$np.h5" ] && pass || fail "no results file from --items 0 on $np ranks"
done
expect_ok 2 run declarations $P --items 0 --trace "$TMP/zero.json" --output "$TMP/zero-d.h5"
[ -s "$TMP/zero-d.h5" ] && [ -s "$TMP/zero.json" ] && pass || fail "no results or trace from a run of zero items"
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  /usr/bin/python3 - "$TMP/zero-3.h5" > "$TMP/py" 2>&1 <<'PY' && pass || fail "results of zero items: $(cat "$TMP/py")"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["items/value"].shape[0] == 0 if "items/value" in f else True
    assert len(f["stats/chunk_log/rank"]) == 0
PY
fi
expect_ok 1 report "$TMP/zero-3.h5"

finish
