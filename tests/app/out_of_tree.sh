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

# The README's example job, exactly as printed there, builds with the README's CMake file and runs.
mkdir -p "$TMP/roots"
awk '/^```cpp$/{on=1; next} /^```$/{if (on) exit} on' "$REPO/README.md" > "$TMP/roots/roots.cpp"
awk '/^```cmake$/{on=1; next} /^```$/{if (on) exit} on' "$REPO/README.md" > "$TMP/roots/CMakeLists.txt"
grep -q PEL_JOB "$TMP/roots/roots.cpp" && grep -q pel_add_job "$TMP/roots/CMakeLists.txt" && pass || fail "README example not found"
cmake -S "$TMP/roots" -B "$TMP/roots/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/cfg2.log" 2>&1 &&
  cmake --build "$TMP/roots/build" >"$TMP/build2.log" 2>&1 && pass || fail "README example does not build: $(tail -20 "$TMP/build2.log")"
expect_ok 2 run roots --job-path "$TMP/roots/build" --n 100000 --output "$TMP/roots.h5"
h5dump -d /roots -s 99999 -c 1 "$TMP/roots.h5" | grep -q "(99999): 316.226" && pass || fail "README example's output is wrong"

# The README's dynamic-items example (the C++ block under its heading), built the same way, counts the 14200 placements of 12
# queens on any layout.
mkdir -p "$TMP/nqueens"
awk '/^### Dynamic items/{on=1} on && /^```cpp$/{c=1; next} c && /^```$/{exit} c' "$REPO/README.md" > "$TMP/nqueens/nqueens.cpp"
sed 's/roots/nqueens/g' "$TMP/roots/CMakeLists.txt" > "$TMP/nqueens/CMakeLists.txt"
grep -q 'PEL_JOB(NQueens' "$TMP/nqueens/nqueens.cpp" && pass || fail "README's dynamic-items example not found"
cmake -S "$TMP/nqueens" -B "$TMP/nqueens/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/cfg3.log" 2>&1 &&
  cmake --build "$TMP/nqueens/build" >"$TMP/build3.log" 2>&1 && pass ||
  fail "README's dynamic-items example does not build: $(tail -20 "$TMP/build3.log")"
for layout in 1x1 3x2; do
  expect_ok "${layout%x*}" run nqueens --job-path "$TMP/nqueens/build" --n 12 --split 4 --threads "${layout#*x}" \
    --output "$TMP/nq-$layout.h5"
  h5dump -a /solutions "$TMP/nq-$layout.h5" | grep -q "(0): 14200" && pass || fail "nqueens 12 on $layout is not 14200"
done
# The README's item-input example (its second C++ block) builds the same way and, under a memory cap far below its
# input, gives the norms numpy gives, the same bits on 1 rank and on 3 ranks x 2 threads.
mkdir -p "$TMP/norms"
awk '/^### Item inputs/{on=1} on && /^```cpp$/{c=1; next} c && /^```$/{exit} c' "$REPO/README.md" > "$TMP/norms/norms.cpp"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(norms LANGUAGES CXX)\nfind_package(pel REQUIRED)\npel_add_job(rownorms norms.cpp)\n' \
  > "$TMP/norms/CMakeLists.txt"
grep -q 'PEL_JOB(RowNorms' "$TMP/norms/norms.cpp" && pass || fail "README item-input example not found"
cmake -S "$TMP/norms" -B "$TMP/norms/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/cfg4.log" 2>&1 &&
  cmake --build "$TMP/norms/build" >"$TMP/build4.log" 2>&1 && pass || fail "README item-input example does not build: $(tail -20 "$TMP/build4.log")"
/usr/bin/python3 -c "
import sys, h5py, numpy as np
h5py.File(sys.argv[1], 'w')['rows'] = np.random.default_rng(1).normal(size=(50000, 5))" "$TMP/rows.h5"
expect_ok 1 run rownorms --job-path "$TMP/norms/build" --input "$TMP/rows.h5" --output "$TMP/norms1.h5"
expect_ok 3 run rownorms --job-path "$TMP/norms/build" --input "$TMP/rows.h5" --threads 2 --max-rank-memory 64K \
  --output "$TMP/norms3.h5"
"$H5SAME" "$TMP/norms1.h5" "$TMP/norms3.h5" --attr sum_of_norms --ignore /stats >/dev/null && pass ||
  fail "README item-input example differs between layouts"
check_py "README item-input example's norms" "$TMP/rows.h5" "$TMP/norms3.h5" <<'PY'
import sys, h5py, numpy as np
rows = h5py.File(sys.argv[1], "r")["rows"][()]
out = h5py.File(sys.argv[2], "r")
assert np.allclose(out["norms"][()], np.linalg.norm(rows, axis=1), rtol=1e-15, atol=0)
assert max(out["stats/input_peak_bytes"][()]) <= 65536
PY
finish
