# tests/app/out_of_tree.sh BUILD_DIR: install pel, build a job against it with find_package(pel), and run it.
source "$(dirname "$0")/common.sh"
build=$1
cmake --install "$build" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 && pass || fail "install failed: $(tail -5 "$TMP/install.log")"
cmake -S "$REPO/tests/outoftree" -B "$TMP/squares" -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/cfg.log" 2>&1 &&
  cmake --build "$TMP/squares" >"$TMP/build.log" 2>&1 && pass || fail "out-of-tree build failed: $(tail -20 "$TMP/cfg.log" "$TMP/build.log")"
[ -f "$TMP/squares/pel_squares.so" ] && pass || fail "no pel_squares.so built"

PEL="$TMP/prefix/bin/pel"
expect_ok 1 jobs
expect_contains "$TMP/out" "mandelbrot"   # the installed pel finds its installed jobs
expect_ok 3 run squares --job-path "$TMP/squares" --n 1000 --threads 2 --output "$TMP/sq.h5"
h5dump -a /sum_of_squares "$TMP/sq.h5" | grep -q "332833500" && pass || fail "sum of squares of 0..999 is not 332833500"
PEL_JOB_PATH="$TMP/squares" expect_ok 2 run squares --n 1000 --output "$TMP/sq2.h5"
"$H5SAME" "$TMP/sq.h5" "$TMP/sq2.h5" --attr sum_of_roots --ignore /stats >/dev/null && pass || fail "squares differs between layouts"
finish
