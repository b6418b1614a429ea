# tests/app/cluster_levels.sh: two scheduling levels across an emulated cluster of 3 nodes x 3 ranks
# (scripts/local-cluster.sh): groups follow the nodes (MPI_Comm_split_type SHARED), so each node's lowest rank but
# rank 0's leads the others of its node and is the only one serving requests besides rank 0; the results are the
# bits of 1 rank on 1 node; one level on the same layout, beside it, for the makespans. Skipped (exit 77) where
# namespaces cannot be made.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/cluster_common.sh"
export PEL_CLUSTER_SUBNET=10.217.0  # apart from the other cluster tests', which may run beside this one

cluster_up --nodes 3 --slots 3 --no-slurm
step "3 nodes x 3 slots up"
cd "$SHARED" || exit 1
args=(--items 2000 --mean-us 300 --mode sleep --distribution pareto --seed 5)
attrs=(--attr items_processed --attr checksum_sum --attr checksum_xor --attr total_cost_us)
expect_cluster_ok -np 1 --host node1 "$PEL" run synthetic "${args[@]}" --output "$SHARED/ref.h5"
for levels in 2 1; do
  step "--levels $levels"
  expect_cluster_ok -np 9 --map-by ppr:3:node "$PEL" run synthetic "${args[@]}" --levels "$levels" \
    --output "$SHARED/l$levels.h5"
  "$H5SAME" "$SHARED/ref.h5" "$SHARED/l$levels.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1 && pass ||
    fail "--levels $levels on 3 nodes x 3 ranks differs from 1 rank: $(cat "$TMP/same")"
done
/usr/bin/python3 - "$SHARED" >"$TMP/check" 2>&1 <<'PY' && pass || fail "groups by node: $(cat "$TMP/check")"
import sys, h5py
d = sys.argv[1]
with h5py.File(f"{d}/l2.h5", "r") as f:
    stats = f["stats"]
    levels = stats.attrs["levels"]
    levels = levels.decode() if isinstance(levels, bytes) else str(levels)
    assert levels == "2 (asked for)", levels
    hosts = stats.attrs["hosts"]
    hosts = (hosts.decode() if isinstance(hosts, bytes) else str(hosts)).split()
    assert hosts == ["node1"] * 3 + ["node2"] * 3 + ["node3"] * 3, hosts
    serving = [r for r, n in enumerate(stats["requests"][...]) if n > 0]
    # Rank 0 serves the leaders; node1's group is ranks 1-2 (rank 0 is in none), node2's 3-5, node3's 6-8.
    assert serving == [0, 1, 3, 6], f"ranks answering requests: {serving}"
    two = float(stats.attrs["makespan_s"])
with h5py.File(f"{d}/l1.h5", "r") as f:
    one = float(f["stats"].attrs["makespan_s"])
    serving = [r for r, n in enumerate(f["stats/requests"][...]) if n > 0]
    assert serving == [0], f"one level, ranks answering requests: {serving}"
print(f"makespan: one level {one:.3f} s, two levels {two:.3f} s (loaded machine, one run)")
PY
cat "$TMP/check"
cluster_down
finish
