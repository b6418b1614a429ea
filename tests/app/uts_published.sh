# tests/app/uts_published.sh: the uts job reproduces the published sizes of the UTS sample trees T1 (geometric, fixed
# shape) and T3 (binomial, depth 1572) exactly, on 2 ranks and on 1 rank x 2 threads.
source "$(dirname "$0")/common.sh"
counts() {
  /usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(*(int(f.attrs[k]) for k in ("nodes", "leaves", "depth")))' "$1"
}
T1=(--tree-type 1 --tree-shape 3 --tree-depth 10 --root-branching-factor 4 --root-seed 19)
T3=(--tree-type 0 --root-branching-factor 2000 --non-leaf-probability 0.124875 --num-children 8 --root-seed 42)
for layout in 2x1 1x2; do
  expect_ok "${layout%x*}" run uts "${T1[@]}" --threads "${layout#*x}" --output "$TMP/t1.h5"
  got=$(counts "$TMP/t1.h5" 2>&1)
  [ "$got" = "4130071 3305118 10" ] && pass || fail "T1 on $layout: nodes leaves depth $got, published 4130071 3305118 10"
  expect_ok "${layout%x*}" run uts "${T3[@]}" --threads "${layout#*x}" --output "$TMP/t3.h5"
  got=$(counts "$TMP/t3.h5" 2>&1)
  [ "$got" = "4112897 3599034 1572" ] && pass || fail "T3 on $layout: nodes leaves depth $got, published 4112897 3599034 1572"
  rm -f "$TMP/t1.h5" "$TMP/t3.h5"
done
finish
