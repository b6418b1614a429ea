# tests/app/dynamic_faults.sh PLUGIN_DIR: dynamic items that go wrong end the run with one clear line on every layout,
# never a hang: a kernel that throws, a payload over spawn_bytes, a dynamic phase with fixed items; and the same job
# without a fault counts every node of its tree exactly once on 1, 2 and 4 ranks x 1-3 threads.
source "$(dirname "$0")/common.sh"
dir=$1
for layout in 1x1 2x2 4x1 1x3; do
  expect_ok "${layout%x*}" run dynfault --job-path "$dir" --depth 14 --threads "${layout#*x}" --output "$TMP/ok.h5"
  got=$(h5dump -a /nodes "$TMP/ok.h5" | sed -n 's/^ *(0): *//p')
  [ "$got" = 32767 ] && pass || fail "dynfault on $layout counted $got nodes, not 32767"
  rm -f "$TMP/ok.h5"
done
for np in 1 3; do
  expect_error 1 "node 1000 is bad" "$np" run dynfault --job-path "$dir" --fault throw --threads 2 --output "$TMP/x.h5"
  expect_error 3 "payload of 16 bytes, more than the phase's spawn_bytes (8)" "$np" run dynfault --job-path "$dir" \
    --fault oversize --output "$TMP/x.h5"
  expect_error 3 "must have 0 items" "$np" run dynfault --job-path "$dir" --fault items --output "$TMP/x.h5"
  [ -e "$TMP/x.h5" ] && fail "a failed run left a results file" || pass
done
finish
