# tests/app/stress.sh: many ranks, tiny items, uneven delays, every technique and prefetch depth: every item is
# processed exactly once (synthetic checks its count and checksums against a one-rank run).
source "$(dirname "$0")/common.sh"
args=(--items 6000 --mean-us 30 --distribution pareto --mode sleep --seed 5)
expect_ok 1 run synthetic "${args[@]}" --output "$TMP/ref.h5"
attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
for layout in "16 1 ss 1 2" "16 2 gss 1 1" "12 2 fac2 1 0" "16 1 awf 1 3" "9 3 tss 2 1" "16 1 static 1 1" \
  "16 1 af 1 2" "12 1 awf-c 1 1" "16 1 awf-e 1 3" "10 2 fsc 1 1"; do
  read -r np threads schedule chunk prefetch <<<"$layout"
  expect_ok "$np" run synthetic "${args[@]}" --threads "$threads" --schedule "$schedule" --chunk-size "$chunk" \
    --prefetch "$prefetch" --output "$TMP/s.h5"
  "$H5SAME" "$TMP/ref.h5" "$TMP/s.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "synthetic on $layout differs from one rank: $(cat "$TMP/same")"
done

# Measured costs carried from run to run size the chunks differently, and hold back requests sent ahead by ranks
# with long items in hand, never changing the results.
for schedule in static ss gss awf fsc mfsc wf awf-b awf-d af; do
  rm -f "$TMP/profile.h5"
  for round in 1 2; do
    expect_ok 6 run synthetic "${args[@]}" --schedule "$schedule" --prefetch 2 --cost-profile "$TMP/profile.h5" \
      --output "$TMP/p.h5"
    "$H5SAME" "$TMP/ref.h5" "$TMP/p.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
      fail "synthetic with a cost profile ($schedule, round $round) differs: $(cat "$TMP/same")"
  done
  h5dump -H "$TMP/profile.h5" | grep -q "bin_seconds" && pass || fail "no cost profile written"
done
finish
