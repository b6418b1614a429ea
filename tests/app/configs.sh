# tests/app/configs.sh: every config in configs/ runs as it is (from a copy of the repository root's layout); a config
# is TOML 1.0 read exactly (escapes, duplicate keys, invalid UTF-8, each key's type, unknown keys), and a bad one
# ends the run with one error line naming the line and the key, before any file is written.
source "$(dirname "$0")/common.sh"
cp -r "$REPO/configs" "$TMP/configs"
cd "$TMP" || exit 1
for config in configs/*.toml; do
  expect_ok 2 run --config "$config"
  expect_contains "$TMP/out" "results in"
done

# bad NAME FRAGMENT LINES...: a config of LINES (printf formats) is refused with exit 2 and FRAGMENT on one error
# line, leaving nothing beside it in its directory.
bad() {
  local name=$1 fragment=$2; shift 2
  mkdir -p "$TMP/bad/$name"
  printf 'job = "mandelbrot"\nwidth = 8\nheight = 6\noutput = "out.h5"\n' >"$TMP/bad/$name/c.toml"
  printf "$@" >>"$TMP/bad/$name/c.toml"
  expect_error 2 "$fragment" 2 run --config "$TMP/bad/$name/c.toml"
  [ "$(ls -A "$TMP/bad/$name")" = c.toml ] && pass || fail "$name: a refused config left $(ls -A "$TMP/bad/$name")"
}
bad duplicate "c.toml, line 6: not valid TOML" 'max-iterations = 10\nmax-iterations = 20\n'
bad duplicate-framework "c.toml, line 5: not valid TOML" 'output = "other.h5"\n'
bad string-for-integer "c.toml, line 5: 'max-iterations' must be an integer, not a string" 'max-iterations = "800"\n'
bad float-for-integer "c.toml, line 5: 'threads' must be an integer, not a float" 'threads = 1.5\n'
bad integer-for-string "c.toml, line 5: 'schedule' must be a string, not an integer" 'schedule = 3\n'
bad integer-for-flag "c.toml, line 5: 'no-steal' must be a boolean (true or false), not an integer" 'no-steal = 1\n'
bad string-for-number "c.toml, line 5: 'x-min' must be a number, not a string" 'x-min = "-2"\n'
bad table "unknown option 'mandelbrot' in the config file" '[mandelbrot]\nwidth = 8\n'
bad invalid-utf8 "c.toml, line 5: not valid TOML" 'schedule = "gss\377"\n'
bad invalid-utf8-comment "c.toml, line 5: not valid TOML" '# caf\303\n'
bad bad-escape "c.toml, line 5: not valid TOML" 'output = "a\\qb.h5"\n'
bad unknown-key "unknown option 'flavour' in the config file $TMP/bad/unknown-key/c.toml, line 5" 'flavour = 1\n'
bad option-check "below the minimum" 'max-iterations = 0\n'

# Escapes are read as TOML says: \u00e9, \t, \" and \\ in a file name, and a literal string keeps backslashes.
mkdir -p "$TMP/esc"
printf 'job = "mandelbrot"\nwidth = 8\nheight = 6\noutput = "caf\\u00e9\\t\\"q\\" \\\\ #1.h5"\n' >"$TMP/esc/c.toml"
expect_ok 2 run --config "$TMP/esc/c.toml"
[ -f "$TMP/esc/café"$'\t''"q" \ #1.h5' ] && pass || fail "escapes in a config read wrongly: $(ls "$TMP/esc")"
printf "job = 'mandelbrot'\nwidth = 8\nheight = 6\noutput = 'lit\\\\n.h5'\n" >"$TMP/esc/l.toml"
expect_ok 2 run --config "$TMP/esc/l.toml"
[ -f "$TMP/esc/lit\\n.h5" ] && pass || fail "a literal string in a config read wrongly: $(ls "$TMP/esc")"
finish
