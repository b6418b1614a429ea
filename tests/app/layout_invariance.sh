# tests/app/layout_invariance.sh JOB: JOB's datasets and result attributes are bit-identical for any ranks (1-8),
# threads (1-4), chunk size, schedule, prefetch depth and scheduling levels (groups by count and by node).
source "$(dirname "$0")/common.sh"
job=$1
case "$job" in
  mandelbrot) args=(--width 240 --height 160 --max-iterations 400); attrs=(total_iterations) ;;
  kmeans) args=(--input "$TMP/points.h5" --generate 20000 --k 6 --max-iterations 30); attrs=(iterations inertia converged) ;;
  synthetic) args=(--items 4000 --mean-us 2 --distribution pareto --seed 11); attrs=(items_processed checksum_sum checksum_xor total_cost_us max_cost_us) ;;
  *) echo "unknown job $job"; exit 2 ;;
esac
attr_flags=()
for a in "${attrs[@]}"; do attr_flags+=(--attr "$a"); done

# ranks threads schedule chunk-size prefetch [more options]: every technique --schedule knows, and two levels
layouts=("1 1 ss 1 0" "2 1 gss 1 1" "2 2 ss 7 0" "4 1 ss 3 3" "3 4 gss 2 1" "8 1 ss 1 2" "1 4 static 1 1"
         "4 3 static 1 1" "2 2 ss 1000 1" "3 2 tss 1 1" "5 1 fac2 2 2" "4 2 awf 1 1" "3 1 fsc 1 1" "2 2 mfsc 1 2"
         "4 1 wf 1 1" "3 2 wf 2 1 --weights 1,2.5,0.5" "5 1 awf-b 1 2" "4 1 awf-c 1 0" "2 3 awf-d 1 1"
         "6 1 awf-e 3 2" "4 2 af 1 1" "7 1 af 1 0"
         "5 1 fac2 1 1 --levels 2 --group-size 2" "6 2 awf 2 1 --levels 2 --group-size 3" "4 1 gss 1 0 --levels 2"
         "3 2 auto 1 1 --cost-profile $TMP/auto-profile.h5"
         "5 1 auto 2 0 --cost-profile $TMP/auto-profile.h5")  # auto: cold, then chosen on the first one's costs
ref=""
for layout in "${layouts[@]}"; do
  read -r np threads schedule chunk prefetch more <<<"$layout"
  read -r -a more_args <<<"$more"
  out="$TMP/$job-$np-$threads-$schedule-$chunk-$prefetch.h5"
  expect_ok "$np" run "$job" "${args[@]}" --threads "$threads" --schedule "$schedule" --chunk-size "$chunk" \
    --prefetch "$prefetch" "${more_args[@]}" --output "$out"
  if [ -z "$ref" ]; then ref=$out; continue; fi
  if "$H5SAME" "$ref" "$out" "${attr_flags[@]}" --ignore /stats >"$TMP/same" 2>&1; then pass; else
    fail "$job on $layout differs from 1x1: $(cat "$TMP/same")"
  fi
done
finish
