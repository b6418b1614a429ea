# tests/app/replay.sh: the config.toml a run directory keeps holds every framework option in force (all but the
# resume flags, which say how one invocation starts), and `pel run --config` replays it with the same options; paths
# holding `#`, `"`, `\`, `'`, a newline and non-ASCII replay exactly from config.toml and from the results' `options`.
source "$(dirname "$0")/common.sh"

# A value other than the default for every option that is replayed; the line config.toml must then hold.
declare -A given=(
  [output]="$TMP/rd/out.h5" [run-dir]="$TMP/rd" [threads]=2 [chunk-size]=3 [schedule]=wf [weights]="1,3" [prefetch]=2 [levels]=1 [group-size]=2
  [cost-profile]="$TMP/cost.h5" [no-steal]=true [trace]="$TMP/t.json" [trace-events]=5000
  [job-path]="$PEL_TEST_PLUGIN_DIR" [progress]=log [progress-every]=7 [log-level]=info [verbose]=true
  [log-all-ranks]=true [checkpoint-dir]="$TMP/ck" [checkpoint-every]=auto [mtbf]=1234.5 [keep]=3 [max-retries]=2
  [on-error]=skip [fail-on-skip]=true [check-merge]=true [heartbeat-timeout]=99 [time-limit]=3600 [time-margin]=12
  [max-rank-memory]=1048576
)
per_invocation=(resume auto-resume force-resume fresh)

# Every option `pel run --help` lists is either given above or per invocation: a new option needs a decision here.
expect_ok 1 run --help
for option in $(grep -o -E '^  --[a-z-]+' "$TMP/out" | sed 's/^  --//'); do
  case " help config ${per_invocation[*]} " in *" $option "*) continue ;; esac
  [ -n "${given[$option]+set}" ] && pass || fail "--$option is neither replayed by this test nor per invocation"
done

args=(synthetic --items 300 --mean-us 20 --seed 5 --auto-resume --force-resume)
for option in "${!given[@]}"; do
  case ${given[$option]} in
    true) args+=("--$option") ;;
    *) args+=("--$option" "${given[$option]}") ;;
  esac
done
expect_ok 2 run "${args[@]}"
config=$TMP/rd/config.toml
[ -f "$config" ] && pass || fail "no config.toml in the run directory"
for option in "${!given[@]}"; do
  value=${given[$option]}
  grep -q -x -F -e "$option = $value" -e "$option = \"$value\"" "$config" && pass ||
    fail "config.toml does not keep --$option $value: $(grep "^$option = " "$config")"
done
grep -q -x -F 'job = "synthetic"' "$config" && pass || fail "config.toml does not name the job"
grep -q -x -F 'seed = 5' "$config" && pass || fail "config.toml does not keep the job's options"
for option in "${per_invocation[@]}"; do
  grep -q "^$option = " "$config" && fail "config.toml keeps the per-invocation --$option" || pass
done

# The replay: the same options in force (its own config.toml and the results' options attribute are the same), and
# the same results.
cp "$config" "$TMP/first.toml"
h5dump -a /options "$TMP/rd/out.h5" >"$TMP/options.first" 2>&1 && pass || fail "no options attribute in the results"
cp "$TMP/rd/out.h5" "$TMP/first.h5"
expect_ok 2 run --config "$TMP/first.toml"
diff "$TMP/first.toml" "$config" >"$TMP/diff" && pass || fail "the replay runs with other options: $(cat "$TMP/diff")"
h5dump -a /options "$TMP/rd/out.h5" >"$TMP/options.replay" 2>&1
diff "$TMP/options.first" "$TMP/options.replay" >/dev/null && pass || fail "the replay records other options"
"$H5SAME" "$TMP/first.h5" "$TMP/rd/out.h5" --attr checksum_sum --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the replay computes something else: $(cat "$TMP/same")"

# The command line still wins over a replayed config (--weights too: one rank now, one weight).
expect_ok 1 run --config "$TMP/first.toml" --mtbf 99 --threads 1 --weights 2 --run-dir "$TMP/rd2" \
  --output "$TMP/rd2/out.h5"
grep -q -x -F "mtbf = 99" "$TMP/rd2/config.toml" && grep -q -x -F "threads = 1" "$TMP/rd2/config.toml" &&
  grep -q -x -F 'weights = "2"' "$TMP/rd2/config.toml" && pass ||
  fail "options given with --config do not win: $(cat "$TMP/rd2/config.toml")"

# Hostile paths: the run directory and the output named with every character a TOML writer must escape. The config
# it keeps and the results' `options` attribute are TOML that Python's tomllib (another reader) takes back to the
# same paths, and both replay the run bit for bit, leaving no file named from a mangled string.
odd="$TMP/odd #1 \"q\" \\ it's"$'\n'"é€"
mkdir -p "$odd"
expect_ok 2 run synthetic --items 200 --mean-us 5 --seed 3 --run-dir "$odd/rd" --output "$odd/o #\"\\.h5"
[ -f "$odd/o #\"\\.h5" ] && [ -f "$odd/rd/config.toml" ] && pass || fail "odd paths: $(ls -R "$odd")"
cp "$odd/o #\"\\.h5" "$TMP/odd-first.h5"
cp "$odd/rd/config.toml" "$TMP/odd-first.toml"
/usr/bin/python3 - "$odd" "$TMP/odd-first.h5" "$TMP/odd-options.toml" >"$TMP/py" 2>&1 <<'PY' && pass || fail "odd paths do not read back: $(cat "$TMP/py")"
import sys, tomllib, h5py
odd, results, options_out = sys.argv[1:]
config = tomllib.load(open(odd + "/rd/config.toml", "rb"))
options = h5py.File(results, "r").attrs["options"]
options = options.decode() if isinstance(options, bytes) else options
assert tomllib.loads(options) == config, "the options attribute and config.toml differ"
assert config["output"] == odd + '/o #"\\.h5', config["output"]
assert config["run-dir"] == odd + "/rd", config["run-dir"]
open(options_out, "w").write(options)
PY
ls -A "$odd/rd" >"$TMP/odd-rd.first"
# The replays run from an empty directory, where a file named from a piece of a path would land.
mkdir "$TMP/cwd"
cd "$TMP/cwd" || exit 1
rm "$odd/o #\"\\.h5"
expect_ok 2 run --config "$TMP/odd-first.toml"
"$H5SAME" "$TMP/odd-first.h5" "$odd/o #\"\\.h5" --attr checksum_sum --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the odd paths' config.toml replays something else: $(cat "$TMP/same")"
diff "$TMP/odd-first.toml" "$odd/rd/config.toml" >"$TMP/diff" && pass || fail "odd replay differs: $(cat "$TMP/diff")"
rm "$odd/o #\"\\.h5"
expect_ok 2 run --config "$TMP/odd-options.toml"
"$H5SAME" "$TMP/odd-first.h5" "$odd/o #\"\\.h5" --attr checksum_sum --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the odd paths' options attribute replays something else: $(cat "$TMP/same")"
# Nothing else was made: no file named from a piece of a path (the old reader's `"x` and the like).
[ "$(ls -A "$odd" | sort | tr '\n' '|')" = "o #\"\\.h5|rd|" ] && pass || fail "stray files beside odd: $(ls -A "$odd")"
[ -z "$(ls -A "$TMP/cwd")" ] && pass || fail "the replays left files in the working directory: $(ls -A "$TMP/cwd")"
ls -A "$odd/rd" | diff "$TMP/odd-rd.first" - >"$TMP/diff" && pass || fail "the replays left files: $(cat "$TMP/diff")"
finish
