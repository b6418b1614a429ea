#!/usr/bin/env bash
# scripts/killtest.sh: SIGKILL a random pel rank mid-run, recover by rerunning with --auto-resume on another random
# layout until a run finishes, and check that its results are the bits of an uninterrupted one-rank run.
#
# Usage: scripts/killtest.sh [--rounds N] [--jobs "synthetic mandelbrot kmeans uts"] [--seed S] [--build DIR]
#                            [--max-kills K] [--aim PERCENT] [--small] [--work DIR] [--timeout S] [--quiet]
#                            [--dry-run]
#   --rounds N      rounds per job (default 3); a round ends with the first run that exits 0
#   --jobs LIST     jobs to test, space- or comma-separated (default: synthetic mandelbrot kmeans)
#   --seed S        seed of every random choice (default: from the clock; printed, so a run can be replayed)
#   --build DIR     build directory holding bin/pel and bin/pel_h5same (default: REPO/build)
#   --max-kills K   most kills per round (default 3); each round draws 1..K, the run after the last is left alone
#   --aim PERCENT   share of kills aimed at a checkpoint being written (default 30): wait until this run's
#                   ckpt-*.part temporary exists while an older complete checkpoint is there too, then kill at
#                   once; the other kills come after a random delay (up to about the run's expected length)
#   --small         smaller job sizes (for the test suite)
#   --work DIR      scratch directory (default: a fresh one under /tmp, removed unless something failed)
#   --timeout S     longest any one run may take (default 300)
#   --quiet         only the summary
#   --dry-run       print each round's drawn plan (layouts, which kills are aimed) and run nothing
# Environment: MPIRUN (default mpirun). Exit status 0 when every round's result matched, 1 otherwise.
#
# A round: mpirun -np (1-4) pel run JOB --threads (1-2) --schedule (random; ss with a per-job --chunk-size)
# --checkpoint-every (0.3-1 s) --auto-resume --output OUT; a random rank process of that mpirun (a child named pel whose
# command line holds OUT; never mpirun itself) gets SIGKILL; Open MPI tears the job down; the same command on a new
# random layout resumes. After the run that exits 0 the output is compared with pel_h5same (datasets byte for byte, the
# job's result attributes; /stats ignored), synthetic's items_processed must equal --items (no item lost or doubled), a
# final run that resumed must say so in its `resumed_from` attribute, and no checkpoint, checkpoint temporary or results
# temporary may be left behind (other files left in the checkpoint directory, such as an MPI-IO lock file named after an
# interrupted temporary, are named in a NOTE and counted as leftovers, not failures).
#
# Summary per job: rounds, runs, kills (a kill counts when the victim existed and mpirun then failed), kills taken
# while a checkpoint temporary (.part) was present, writes interrupted (a .part left after the teardown), runs that
# resumed and that started afresh, seconds of work lost per kill (kill time less the newer of the run's start and
# the mtime of the newest complete checkpoint after the teardown: wall seconds of that run since its last durable
# point, start-up included when it had none), and teardown seconds (kill to mpirun's exit). The last line,
# `killtest: ...`, has the totals as key=value pairs (a `killtest-job:` line before it, per job).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3
JOBS="synthetic mandelbrot kmeans"
SEED=""
BUILD="$REPO/build"
MAX_KILLS=3
AIM=30
SMALL=no
WORK=""
RUN_TIMEOUT=300
QUIET=no
DRY_RUN=no
SCHEDULES=(awf gss ss tss fac2 static)

usage() { sed -n '5,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --jobs) JOBS=${2//,/ }; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --max-kills) MAX_KILLS=$2; shift 2 ;;
    --aim) AIM=$2; shift 2 ;;
    --small) SMALL=yes; shift ;;
    --work) WORK=$2; shift 2 ;;
    --timeout) RUN_TIMEOUT=$2; shift 2 ;;
    --quiet) QUIET=yes; shift ;;
    --dry-run) DRY_RUN=yes; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "killtest: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$ROUNDS" "$MAX_KILLS" "$AIM" "$RUN_TIMEOUT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "killtest: '$n' is not a whole number" >&2; exit 2; }
done
[ "$MAX_KILLS" -ge 1 ] || { echo "killtest: --max-kills must be at least 1" >&2; exit 2; }
[ -n "$SEED" ] || SEED=$(( $(date +%s) % 1000000 ))
[[ "$SEED" =~ ^[0-9]+$ ]] || { echo "killtest: --seed must be a whole number" >&2; exit 2; }
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "killtest: no build directory '$BUILD'" >&2; exit 2; }
PEL="$BUILD/bin/pel"
H5SAME="$BUILD/bin/pel_h5same"
for tool in "$PEL" "$H5SAME"; do [ -x "$tool" ] || { echo "killtest: '$tool' is not built" >&2; exit 2; }; done
MPIRUN=${MPIRUN:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
unset OMP_NUM_THREADS

KEEP_WORK=no
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/pel-killtest-XXXXXX); else mkdir -p "$WORK"; KEEP_WORK=yes; fi
WORK=$(cd "$WORK" && pwd)
LAUNCHER=""
cleanup() {
  if [ -n "$LAUNCHER" ] && kill -0 "$LAUNCHER" 2>/dev/null; then kill -TERM "$LAUNCHER" 2>/dev/null; fi
  if [ "$KEEP_WORK" = no ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A FIFO held open for reading and writing: `read -t` on it is a sleep without a fork, for tight polling.
rm -f "$WORK/.tick"
mkfifo "$WORK/.tick"
exec {TICK}<>"$WORK/.tick"
nap() { read -r -t "$1" -u "$TICK" _ || true; }
STARTED="$WORK/.started"

say() { [ "$QUIET" = yes ] || echo "$@"; }
# Times are whole microseconds since the epoch, read without a fork: tick sets NOW.
tick() { NOW=${EPOCHREALTIME/[.,]/}; NOW=$((10#$NOW)); }
# secs US: microseconds as seconds with 3 decimals.
secs() { local us=$1 sign=""; [ "$us" -lt 0 ] && { sign=-; us=$((-us)); }; printf '%s%d.%03d' "$sign" $((us / 1000000)) $((us / 1000 % 1000)); }
# rand LO HI: R = a whole number in [LO, HI] from bash's seeded generator (no subshell, so the sequence advances).
rand() { R=$(($1 + RANDOM % ($2 - $1 + 1))); }

# job_case JOB: the job's arguments (each computes, so a run can use at most the machine's cores) and the result
# attributes to compare.
CORES=$(nproc)
job_case() {
  ss_chunk=1
  case "$1" in
    synthetic)
      if [ "$SMALL" = yes ]; then items=1600; else items=3000; fi
      args=(--items "$items" --mean-us 1500 --mode work --distribution pareto --seed 7)
      attrs=(items_processed checksum_sum checksum_xor total_cost_us max_cost_us) ;;
    mandelbrot)
      if [ "$SMALL" = yes ]; then args=(--width 1600 --height 1200 --max-iterations 3500)
      else args=(--width 2000 --height 1500 --max-iterations 4000); fi
      attrs=(total_iterations) ;;
    kmeans)
      if [ "$SMALL" = yes ]; then iters=100; else iters=200; fi
      args=(--input "$WORK/kmeans_points.h5" --generate 400000 --k 8 --max-iterations "$iters" --tolerance 0)
      # ss hands out --chunk-size items per grant: one point per chunk would be 80 million grants (about 300 s at
      # np 4 on two cores, which is the run timeout), a test of nothing but patience.
      ss_chunk=1000
      attrs=(iterations inertia converged) ;;
    uts)
      # Dynamic items: UTS tree T1 (geometric) one level deeper (16526523 nodes, 4 times T1), or two.
      if [ "$SMALL" = yes ]; then depth=11; else depth=12; fi
      args=(--tree-type 1 --tree-shape 3 --tree-depth "$depth" --root-branching-factor 4 --root-seed 19)
      attrs=(nodes leaves depth) ;;
    *) echo "killtest: unknown job '$1' (synthetic, mandelbrot, kmeans, uts)" >&2; exit 2 ;;
  esac
}

# attr_of FILE NAME: a scalar root attribute's value as h5dump prints it, or nothing.
attr_of() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1 | tr -d '"'; }

# rank_pids: "rank pid" for each pel rank process launched by $LAUNCHER for output $OUT (children of its mpirun).
rank_pids() {
  local m p cmd rank
  for m in $(pgrep -P "$LAUNCHER"); do
    for p in $(pgrep -P "$m"); do
      cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
      [[ "$cmd" == "$PEL "*"--output $OUT "* ]] || continue
      rank=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
      [ -n "$rank" ] && echo "$rank $p"
    done
  done
}

# newest_ckpt_mtime DIR: mtime (microseconds since the epoch) of the newest complete checkpoint in DIR, or 0.
newest_ckpt_mtime() {
  local t
  t=$(find "$1" -maxdepth 1 -name 'ckpt-*.h5' -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
  awk -v t="${t:-0}" 'BEGIN { printf "%.0f", t * 1e6 }'
}
has() { compgen -G "$1" >/dev/null; }
# fresh_part: a checkpoint temporary in $CKPT written by this run (newer than $STARTED, a file touched at its
# launch); a killed run's leftover temporary stays until the next checkpoint is written, and does not count.
fresh_part() {
  local f
  for f in "$CKPT"/*.part; do [ "$f" -nt "$STARTED" ] && return 0; done
  return 1
}

for job in $JOBS; do job_case "$job"; done  # unknown names end the script here, before any run
TOTAL_FAIL=0
T_ROUNDS=0 T_RUNS=0 T_KILLS=0 T_PART=0 T_INTERRUPTED=0 T_RESUMES=0 T_RESUMED_OUT=0 T_AIMED=0 T_LEFT=0
LOST_ALL=()
say "killtest: seed $SEED, jobs: $JOBS, rounds $ROUNDS, max kills $MAX_KILLS, aim $AIM%, build $BUILD, work $WORK"

for job in $JOBS; do
  job_case "$job"
  attr_flags=()
  for a in "${attrs[@]}"; do attr_flags+=(--attr "$a"); done
  REF="$WORK/$job-ref.h5"
  if [ "$DRY_RUN" = yes ]; then
    :
  elif ! timeout "$RUN_TIMEOUT" "$MPIRUN" -np 1 "$PEL" run "$job" "${args[@]}" --output "$REF" \
      >"$WORK/$job-ref.out" 2>"$WORK/$job-ref.err"; then
    echo "FAIL: $job: the reference run failed: $(head -c 600 "$WORK/$job-ref.err")" >&2
    TOTAL_FAIL=$((TOTAL_FAIL + 1)); KEEP_WORK=yes; continue
  fi
  ref_wall=$(attr_of "$REF" wall_time_s)
  if [ "$DRY_RUN" = yes ]; then
    ref_wall=0
  elif [ "$job" = uts ] && [ "$SMALL" = yes ] && [ "$(attr_of "$REF" nodes)" != 16526523 ]; then
    echo "FAIL: uts: the reference counted $(attr_of "$REF" nodes) nodes, not the serial traversal's 16526523" >&2
    TOTAL_FAIL=$((TOTAL_FAIL + 1)); KEEP_WORK=yes
  elif [ "$job" = synthetic ]; then
    ref_items=$(attr_of "$REF" items_processed)
    if [ "$ref_items" != "$items" ]; then
      echo "FAIL: synthetic: the reference processed $ref_items items of $items" >&2
      TOTAL_FAIL=$((TOTAL_FAIL + 1)); KEEP_WORK=yes
    fi
  fi
  [ "$DRY_RUN" = yes ] || say "== $job: reference on 1 rank in ${ref_wall} s"

  j_runs=0 j_kills=0 j_part=0 j_interrupted=0 j_resumes=0 j_fresh=0 j_resumed_out=0 j_early=0 j_aimed=0 j_fail=0
  j_leftover=0
  j_lost=() j_teardown=()
  ref_us=$(awk -v w="$ref_wall" 'BEGIN { printf "%.0f", w * 1e6 }')
  for ((round = 1; round <= ROUNDS; round++)); do
    # Every random choice of the round is drawn here, before timing can change how many draws are made.
    RANDOM=$((SEED * 7919 + round * 104729 + ${#job} * 31))
    rand 1 "$MAX_KILLS"; kills_planned=$R
    plan=()
    for ((a = 0; a <= kills_planned; a++)); do
      rand 1 4; np=$R
      rand 1 2; th=$R
      rand 0 $((${#SCHEDULES[@]} - 1)); sch=${SCHEDULES[$R]}
      rand 30 100; every=$(printf '%d.%02d' $((R / 100)) $((R % 100)))
      rand 0 99; aimed=no; [ "$R" -lt "$AIM" ] && aimed=yes
      rand 0 999; victim_draw=$R
      rand 0 1000; delay_draw=$R
      plan+=("$np $th $sch $every $aimed $victim_draw $delay_draw")
    done
    if [ "$DRY_RUN" = yes ]; then
      for ((a = 0; a < ${#plan[@]}; a++)); do
        read -r np th sch every aimed victim_draw delay_draw <<<"${plan[$a]}"
        what="run to the end"
        if [ "$a" -lt "$kills_planned" ]; then
          what="kill the rank at index $victim_draw mod ranks, "
          if [ "$aimed" = yes ]; then what+="aimed at a checkpoint write"; else what+="after 0.1 s + $delay_draw/1000 x 0.9 x expected"; fi
        fi
        echo "[$job r$round a$a] np=$np threads=$th schedule=$sch every=$every: $what"
      done
      continue
    fi
    OUT="$WORK/$job-r$round.h5"
    CKPT="$WORK/$job-r$round.ckpt"
    rm -rf "$OUT" "$CKPT"
    round_ok=no
    a=0
    while [ "$a" -lt "${#plan[@]}" ]; do
      read -r np th sch every aimed victim_draw delay_draw <<<"${plan[$a]}"
      kill_this=no; [ "$a" -lt "$kills_planned" ] && kill_this=yes
      tag="[$job r$round a$a]"
      err="$WORK/$job-r$round-a$a.err"
      j_runs=$((j_runs + 1))
      : >"$STARTED"
      tick; started=$NOW
      chunk_args=(); [ "$sch" = ss ] && chunk_args=(--chunk-size "$ss_chunk")
      timeout "$RUN_TIMEOUT" "$MPIRUN" -np "$np" --bind-to none "$PEL" run "$job" "${args[@]}" --threads "$th" \
        --schedule "$sch" "${chunk_args[@]}" --checkpoint-every "$every" --auto-resume --verbose --output "$OUT" \
        >"$WORK/$job-r$round-a$a.out" 2>"$err" &
      LAUNCHER=$!
      killed=no
      if [ "$kill_this" = yes ]; then
        # The run's expected length on this layout, from the reference, plus start-up.
        workers=$((np * th)); [ "$workers" -gt "$CORES" ] && workers=$CORES
        expect=$((400000 + ref_us / workers))
        # Find the ranks first (all of them, for up to 10 s while mpirun lives), so that the kill itself is at once.
        ranks=()
        for ((look = 0; look < 500; look++)); do
          mapfile -t ranks < <(rank_pids)
          [ "${#ranks[@]}" -ge "$np" ] || ! kill -0 "$LAUNCHER" 2>/dev/null && break
          nap 0.02
        done
        victim_pid=""
        if [ "${#ranks[@]}" -gt 0 ]; then
          read -r victim_rank victim_pid <<<"${ranks[$((victim_draw % ${#ranks[@]}))]}"
        fi
        if [ -n "$victim_pid" ] && [ "$aimed" = yes ]; then
          # Until a checkpoint is being written while an older complete one exists (or the run ends).
          deadline=$((started + 3 * expect + 5000000))
          while kill -0 "$victim_pid" 2>/dev/null; do
            fresh_part && has "$CKPT/ckpt-*.h5" && break
            tick; [ "$NOW" -lt "$deadline" ] || break
            nap 0.001
          done
        elif [ -n "$victim_pid" ]; then
          deadline=$((started + 100000 + expect * 9 / 10 * delay_draw / 1000))
          while kill -0 "$victim_pid" 2>/dev/null; do
            tick; [ "$NOW" -lt "$deadline" ] || break
            nap 0.01
          done
        fi
        if [ -n "$victim_pid" ]; then
          part_at_kill=no; fresh_part && part_at_kill=yes
          if kill -KILL "$victim_pid" 2>/dev/null; then
            tick; kill_at=$NOW
            killed=yes
          fi
        fi
      fi
      wait "$LAUNCHER"
      rc=$?
      tick; ended=$NOW
      LAUNCHER=""
      if grep -q "resuming from" "$err"; then resumed=yes; j_resumes=$((j_resumes + 1)); else resumed=no; fi
      [ "$resumed" = no ] && grep -q "starting afresh" "$err" && j_fresh=$((j_fresh + 1))
      if grep -q "trying an older checkpoint" "$err"; then
        echo "FAIL: $tag a complete checkpoint was damaged: $(grep 'trying an older' "$err" | head -2)" >&2
        j_fail=$((j_fail + 1))
      fi
      layout="np=$np threads=$th schedule=$sch every=$every"
      from=""; [ "$resumed" = yes ] && from=" ($(grep -o 'resuming from .*' "$err" | head -1 | sed 's|.*/||'))"
      if [ "$rc" = 124 ]; then
        echo "FAIL: $tag hung (timeout ${RUN_TIMEOUT}s): $layout" >&2
        j_fail=$((j_fail + 1)); break
      fi
      if [ "$killed" = yes ] && [ "$rc" != 0 ]; then
        j_kills=$((j_kills + 1))
        [ "$aimed" = yes ] && j_aimed=$((j_aimed + 1))
        [ "$part_at_kill" = yes ] && j_part=$((j_part + 1))
        left=no; fresh_part && { left=yes; j_interrupted=$((j_interrupted + 1)); }
        # The newest complete checkpoint after the teardown (rank 0 may still rename one whose data was all written
        # when another rank died): what the next run resumes from.
        last_ckpt=$(newest_ckpt_mtime "$CKPT")
        since=$started; [ "$last_ckpt" -gt "$since" ] && since=$last_ckpt
        lost=$(secs $((kill_at - since)))
        teardown=$(secs $((ended - kill_at)))
        j_lost+=("$lost"); j_teardown+=("$teardown"); LOST_ALL+=("$lost")
        say "$tag $layout resumed=$resumed$from: SIGKILL rank $victim_rank at $(secs $((kill_at - started))) s" \
          "(aimed=$aimed, .part at kill=$part_at_kill, .part left=$left), lost $lost s, exit $rc after $teardown s"
        a=$((a + 1))
        continue
      fi
      if [ "$rc" != 0 ]; then
        echo "FAIL: $tag exit $rc without a kill ($layout): $(grep -v 'pel\[[0-9]*@[^]]*\] \(info\|debug\):' "$err" | head -c 600)" >&2
        j_fail=$((j_fail + 1)); break
      fi
      # Success: the kill (if any was planned) came too late. Check everything.
      [ "$kill_this" = yes ] && j_early=$((j_early + 1))
      say "$tag $layout resumed=$resumed$from: finished in $(secs $((ended - started))) s" \
        "$([ "$kill_this" = yes ] && echo "(before its kill)")"
      problems=()
      if [ ! -f "$OUT" ]; then problems+=("no results file")
      else
        "$H5SAME" "$REF" "$OUT" "${attr_flags[@]}" --ignore /stats >"$WORK/same" 2>&1 ||
          problems+=("differs from the reference: $(head -c 400 "$WORK/same")")
        if [ "$job" = synthetic ]; then
          got=$(attr_of "$OUT" items_processed)
          [ "$got" = "$items" ] || problems+=("items_processed is $got, not $items")
        fi
        from_attr=$(attr_of "$OUT" resumed_from)
        if [ "$resumed" = yes ]; then
          if [ -n "$from_attr" ]; then j_resumed_out=$((j_resumed_out + 1)); else problems+=("resumed, yet no resumed_from attribute"); fi
        elif [ -n "$from_attr" ]; then problems+=("resumed_from '$from_attr' on a run that did not resume")
        fi
      fi
      if [ -d "$CKPT" ]; then
        # Checkpoints or pel's temporaries left are a failure; anything else (an MPI-IO lock file named after a
        # temporary whose write a kill interrupted) is counted and named.
        if has "$CKPT/ckpt-*.h5" || has "$CKPT/ckpt-*.h5.part"; then
          problems+=("checkpoints left after success: $(ls "$CKPT" | tr '\n' ' ')")
        else
          j_leftover=$((j_leftover + 1))
          echo "NOTE: $tag checkpoint directory left holding other files: $(ls "$CKPT" | tr '\n' ' ')" >&2
          rm -rf "$CKPT"
        fi
      fi
      if [ -e "$OUT.part" ]; then problems+=("results temporary $OUT.part left"); fi
      if [ "${#problems[@]}" -gt 0 ]; then
        for p in "${problems[@]}"; do echo "FAIL: $tag $p" >&2; done
        j_fail=$((j_fail + 1))
      else
        round_ok=yes
      fi
      break
    done
    if [ "$round_ok" = yes ]; then
      rm -rf "$OUT" "$CKPT" "$WORK/$job-r$round-a"*
    else
      [ "$a" -ge "${#plan[@]}" ] && { echo "FAIL: [$job r$round] no run finished" >&2; j_fail=$((j_fail + 1)); }
      KEEP_WORK=yes
    fi
  done

  [ "$DRY_RUN" = yes ] && continue
  stat_line() {  # stat_line VALUES...: "mean M, median D, max X" of seconds, or "-"
    [ $# -gt 0 ] || { echo "-"; return; }
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1; s += $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "mean %.2f s, median %.2f s, max %.2f s", s / NR, m, v[NR] }'
  }
  echo "$job: $ROUNDS rounds, $j_runs runs, $j_kills kills ($j_aimed aimed at a write, $j_part with a .part" \
    "present, $j_interrupted writes interrupted), $j_early runs finished before their kill, $j_resumes resumed" \
    "($j_resumed_out final outputs with resumed_from), $j_fresh started afresh, $j_leftover checkpoint" \
    "directories left holding other files, $j_fail failed"
  echo "$job: work lost per kill: $(stat_line "${j_lost[@]+"${j_lost[@]}"}"); teardown after a kill: $(stat_line "${j_teardown[@]+"${j_teardown[@]}"}")"
  echo "killtest-job: job=$job rounds=$ROUNDS runs=$j_runs kills=$j_kills aimed=$j_aimed part=$j_part" \
    "interrupted=$j_interrupted resumes=$j_resumes resumed_outputs=$j_resumed_out fresh=$j_fresh" \
    "leftovers=$j_leftover failures=$j_fail"
  T_ROUNDS=$((T_ROUNDS + ROUNDS)); T_RUNS=$((T_RUNS + j_runs)); T_KILLS=$((T_KILLS + j_kills))
  T_PART=$((T_PART + j_part)); T_INTERRUPTED=$((T_INTERRUPTED + j_interrupted)); T_RESUMES=$((T_RESUMES + j_resumes))
  T_RESUMED_OUT=$((T_RESUMED_OUT + j_resumed_out)); T_AIMED=$((T_AIMED + j_aimed)); T_LEFT=$((T_LEFT + j_leftover))
  TOTAL_FAIL=$((TOTAL_FAIL + j_fail))
done

[ "$DRY_RUN" = yes ] && exit 0
mean_lost=$(printf '%s\n' "${LOST_ALL[@]+"${LOST_ALL[@]}"}" | awk 'NF { s += $1; n++ } END { printf "%.2f", n ? s / n : 0 }')
echo "killtest: seed=$SEED rounds=$T_ROUNDS runs=$T_RUNS kills=$T_KILLS aimed=$T_AIMED part=$T_PART" \
  "interrupted=$T_INTERRUPTED resumes=$T_RESUMES resumed_outputs=$T_RESUMED_OUT leftovers=$T_LEFT" \
  "mean_lost_s=$mean_lost" \
  "failures=$TOTAL_FAIL"
if [ "$TOTAL_FAIL" -gt 0 ]; then
  KEEP_WORK=yes
  echo "killtest: FAILED; logs kept in $WORK (replay with --seed $SEED)" >&2
  exit 1
fi
exit 0
