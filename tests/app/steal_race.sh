# tests/app/steal_race.sh: every item exactly once while idle workers are asked to give up work the moment their
# grants arrive (issue 15's give-back, reverted in f36afc2 and fixed in WorkerLink::fetch). In the tail of a phase
# rank 0 sends a rank a stolen chunk and, for the next thief, a steal request right behind it; a worker answering
# the steal while it waits takes the grant in itself and keeps half. The old fetch() then lost that half when a
# PhaseOver had come too ('processed 19999 items of 20000') or waited on a request it no longer had and took the same
# grant in twice ('20009 of 20000', or a crash). That needs the thread preempted between two MPI calls, so this runs
# kmeans (one phase per iteration: a tail each) on oversubscribed layouts, four runs at once, and checks pel's own
# count of items per phase (exit 0) and the results (bit-identical to one rank). Timing-dependent: on the loaded
# machine it failed on the old code in 4 of 5 runs of this script (1 to 3 of its 12 runs each), never on the new.
source "$(dirname "$0")/common.sh"
args=(--input "$TMP/points.h5" --generate 20000 --k 6 --max-iterations 30 --tolerance 0)
attrs=(--attr iterations --attr inertia --attr converged)
expect_ok 1 run kmeans "${args[@]}" --output "$TMP/ref.h5"

# ranks threads schedule chunk-size prefetch: the layouts that lost or doubled items, all at once
layouts=("4 2 awf 1 1" "6 1 awf-e 3 2" "5 1 fac2 2 2" "3 4 gss 2 1")
run_one() {  # run_one INDEX LAYOUT: one run, its exit code in $TMP/rc.INDEX
  local i=$1 np threads schedule chunk prefetch
  read -r np threads schedule chunk prefetch <<<"$2"
  timeout 120 "$MPIRUN" -np "$np" "$PEL" run kmeans "${args[@]}" --threads "$threads" --schedule "$schedule" \
    --chunk-size "$chunk" --prefetch "$prefetch" --output "$TMP/out.$i.h5" >"$TMP/out.$i" 2>"$TMP/err.$i"
  echo $? >"$TMP/rc.$i"
}
for round in 1 2 3; do  # a few rounds: the race is caught in some runs, not in every one
  for i in "${!layouts[@]}"; do run_one "$i" "${layouts[$i]}" & done
  wait
  for i in "${!layouts[@]}"; do
    if [ "$(cat "$TMP/rc.$i")" != 0 ]; then
      fail "kmeans on ${layouts[$i]} exited $(cat "$TMP/rc.$i"): $(grep -m1 -E 'error|Segmentation' "$TMP/err.$i")"
    elif "$H5SAME" "$TMP/ref.h5" "$TMP/out.$i.h5" "${attrs[@]}" --ignore /stats >"$TMP/same" 2>&1; then
      pass
    else
      fail "kmeans on ${layouts[$i]} differs from one rank: $(cat "$TMP/same")"
    fi
  done
done
finish
