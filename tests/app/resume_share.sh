# tests/app/resume_share.sh: a resumed rank reads only its share of a checkpoint. A run of mandelbrot with wide rows
# (80 KB per item) stops at its time limit on 3 ranks with ~150 MB of rows in its checkpoint; resumed on 4 ranks,
# each rank reads about a quarter of them (its log says how much) and its peak memory stays well below the
# checkpoint's size (pel before this read the whole checkpoint on every rank: 1.5 times its size); finished on
# 2 ranks x 2 threads, the results are those of an uninterrupted run, bit for bit.
source "$(dirname "$0")/common.sh"

job=(mandelbrot --width 20000 --height 2500 --max-iterations 200)
MiB=$((1024 * 1024))

# rss_run NP TAG ARGS...: pel on NP ranks, each under /usr/bin/time, its peak memory (KiB) in $TMP/TAG.rss.RANK;
# RC is rank 0's exit code. Each rank's wrapper exits 0, so that mpirun never kills a rank that is still writing
# down its memory because another one ended with 75.
rss_run() {
  local np=$1 tag=$2; shift 2
  rm -f "$TMP/$tag".rss.* "$TMP/$tag".rc.*
  timeout 300 "$MPIRUN" -np "$np" sh -c '/usr/bin/time -f %M -o "$0.rss.$OMPI_COMM_WORLD_RANK" "$@"
    echo $? >"$0.rc.$OMPI_COMM_WORLD_RANK"' "$TMP/$tag" "$PEL" "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$(cat "$TMP/$tag.rc.0" 2>/dev/null || echo none)
  [ "$(ls "$TMP/$tag".rss.* 2>/dev/null | wc -l)" = "$np" ] && pass || fail "$tag: not every rank's peak memory"
}
# max_rss TAG: the largest peak memory of TAG's ranks, in bytes.
max_rss() { echo $(( $(grep -h '^[0-9]*$' "$TMP/$1".rss.* | sort -n | tail -1) * 1024 )); }

if [ ! -x /usr/bin/time ]; then echo "skipped: /usr/bin/time (Debian package time) is not installed"; exit 77; fi

expect_ok 1 run "${job[@]}" --output "$TMP/ref.h5"

# Stopped on 3 ranks by its time limit, part way through its only phase.
pel_np 3 run "${job[@]}" --output "$TMP/run.h5" --checkpoint-dir "$TMP/ckpt" --time-limit 3 --time-margin 0.5
[ "$RC" = 75 ] && pass || fail "the time limit did not stop the run with 75 (exit $RC): $(head -c 400 "$TMP/err")"
checkpoint=$(ls "$TMP/ckpt"/ckpt-*.h5 2>/dev/null | tail -1)
[ -n "$checkpoint" ] || { fail "no checkpoint after the time limit"; finish; exit; }
size=$(stat -c %s "$checkpoint")
if [ "$size" -lt $((60 * MiB)) ]; then
  fail "the checkpoint holds only $size bytes: too little done before the time limit to measure anything"
fi

# The memory of a 4-rank run that stops as soon as it starts, without resuming: MPI, HDF5 and pel themselves.
rss_run 4 base run "${job[@]}" --output "$TMP/base.h5" --checkpoint-dir "$TMP/base.ckpt" --time-limit 0.1 \
  --time-margin 0.05
[ "$RC" = 75 ] && pass || fail "the baseline run did not stop with 75 (exit $RC): $(head -c 400 "$TMP/err")"
base=$(max_rss base)

# Resumed on 4 ranks, stopping again right after the resume (with a checkpoint of its own).
rss_run 4 resumed run "${job[@]}" --output "$TMP/run.h5" --checkpoint-dir "$TMP/ckpt" --resume \
  --time-limit 0.1 --time-margin 0.05 --log-level debug --log-all-ranks
[ "$RC" = 75 ] && pass || fail "the resumed run did not stop with 75 (exit $RC): $(head -c 400 "$TMP/err")"
peak=$(max_rss resumed)
echo "checkpoint $size bytes; peak memory per rank: $base bytes without a resume, $peak bytes resumed on 4 ranks"
if [ $((peak - base)) -lt $((size * 6 / 10)) ]; then
  pass
else
  fail "a rank resumed on 4 ranks grew by $((peak - base)) bytes, not well below the checkpoint's $size"
fi

# Each rank's log: the bytes of rows and partials it read. About a quarter of them: the segments (1 MiB) at the ends
# of its share are read whole, in the bulk of each of the (at most 2) writing ranks it reads from, and the first
# segment of the bulk that holds the partial it takes over: at most 5 MiB more. Together, all of them: every
# segment is checked by some rank.
reads=$(grep -o 'resume read [0-9]* of the checkpoint.s [0-9]* bytes' "$TMP/err" | awk '{ print $3, $7 }')
if [ "$(echo "$reads" | grep -c .)" = 4 ]; then
  pass
  total=0
  stored=$(echo "$reads" | awk 'NR == 1 { print $2 }')
  while read -r got _; do
    total=$((total + got))
    if [ "$got" -gt $((stored / 4 + 5 * MiB)) ]; then
      fail "a rank read $got bytes of $stored: more than its quarter and 5 MiB"
    else
      pass
    fi
  done <<<"$reads"
  [ "$total" -ge "$stored" ] && pass || fail "the ranks read $total bytes together, fewer than the $stored stored"
else
  fail "not one 'resume read' line per rank: $(grep -c 'resume read' "$TMP/err") lines"
fi

# Finished on yet another layout: the same bits as the uninterrupted run.
expect_ok 2 run "${job[@]}" --output "$TMP/run.h5" --checkpoint-dir "$TMP/ckpt" --resume --threads 2
"$H5SAME" "$TMP/ref.h5" "$TMP/run.h5" --attr total_iterations --ignore /stats >"$TMP/same" 2>&1 && pass ||
  fail "the resumed run differs from the uninterrupted one: $(cat "$TMP/same")"
finish
