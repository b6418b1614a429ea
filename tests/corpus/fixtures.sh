# tests/corpus/fixtures.sh: the files many corpus cases start from, made once per corpus run in $FIX (the current
# directory) by run.py: a results file, a checkpoint of an unfinished run, a run directory, k-means points, a task
# file and its joblog. Cases copy them into their own directory before damaging them.
set -eu
pel1() { "$PEL" "$@" >>fixtures.log 2>&1; }
pel1 run synthetic --items 40 --mean-us 10 --output good.h5
pel1 run synthetic --items 20 --mean-us 10 --run-dir rundir
pel1 run kmeans --input points.h5 --generate 300 --k 3 --max-iterations 3 --output kmeans.h5
printf 'echo one\ntrue\necho three\n' >tasks.txt
pel1 run taskfarm --tasks tasks.txt --output farm.h5
# A run stopped by its time limit leaves a checkpoint (exit 75): ckpt/run.ckpt/ckpt-00000000.h5.
mkdir ckpt
set +e
"$PEL" run synthetic --items 200 --mean-us 20000 --mode sleep --time-limit 1.5 --time-margin 1.2 \
  --output ckpt/run.h5 >>fixtures.log 2>&1
rc=$?
set -e
[ "$rc" = 75 ] || { echo "the checkpoint fixture exited $rc, not 75"; exit 1; }
ls ckpt/run.ckpt/ckpt-*.h5 >/dev/null
rm -f fixtures.log
