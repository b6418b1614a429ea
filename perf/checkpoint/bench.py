#!/usr/bin/python3
"""perf/checkpoint/bench.py: how fast write_checkpoint writes, next to dd writing as many bytes to the same directory.

Each repetition runs three writers in turn, interleaved so that the disk's moods hit all alike, each after the same
pause (--pause) so that none starts in the wake of another's writeback:
  - pel: `mpirun -np RANKS pel_bench_checkpoint DIR BYTES SEQ`: one checkpoint of BYTES in total, split evenly over
    the ranks, keep 1 (so each write also deletes the previous checkpoint). Its time is the slowest rank's, from a
    barrier to the return of write_checkpoint: checksums, the parallel HDF5 write, fsyncs, rename and pruning.
  - dd: `dd if=/dev/zero of=DIR/dd.bin bs=4M count=BYTES/4M conv=fsync`, overwriting the previous dd.bin, timed
    from start to exit (truncating the old file is part of it, as pruning is part of pel's time).
  - dd-new: the same dd into a new file, then the previous one deleted, timed together: the order of a
    checkpoint (the new file is complete before the old one goes), so the page cache cannot recycle the old
    file's pages for the new one, as it can for dd overwriting its own file.
Also the checksum's speed on one core (pel_bench_checkpoint --checksum). Prints one JSON line per run, then medians
and the ratios of pel's MB/s to each dd's.

Usage: /usr/bin/python3 perf/checkpoint/bench.py [--build build] [--dir DIR] [--bytes 1073741824] [--ranks 2]
                                                 [--reps 7] [--pause 3]
DIR (default: a fresh directory under the current directory, removed afterwards) must be on the disk to measure;
/tmp may be a RAM disk.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

BLOCK = 4 << 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--bytes", type=int, default=1 << 30)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--pause", type=float, default=3.0, help="seconds of quiet before each timed run")
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    driver = os.path.join(args.build, "bin", "pel_bench_checkpoint")
    count = args.bytes // BLOCK
    nbytes = count * BLOCK  # dd writes whole blocks; pel writes the same amount
    work = args.dir or tempfile.mkdtemp(prefix="pel-ckpt-bench-", dir=os.getcwd())
    os.makedirs(work, exist_ok=True)
    ckpt_dir = os.path.join(work, "ckpt")
    dd_file = os.path.join(work, "dd.bin")
    seconds = {"pel": [], "dd": [], "dd-new": []}
    try:
        cs = json.loads(subprocess.run([driver, "--checksum", str(nbytes)], check=True, capture_output=True,
                                       text=True, env=env).stdout)
        print(json.dumps({"checksum_gb_s": cs["gb_s"]}), flush=True)
        previous_new = None
        for rep in range(args.reps):
            time.sleep(args.pause)
            res = subprocess.run(["mpirun", "-np", str(args.ranks), driver, ckpt_dir, str(nbytes), str(rep + 1)],
                                 check=True, capture_output=True, text=True, env=env)
            seconds["pel"].append(json.loads(res.stdout)["seconds"])

            time.sleep(args.pause)
            t0 = time.perf_counter()
            subprocess.run(["dd", "if=/dev/zero", f"of={dd_file}", f"bs={BLOCK}", f"count={count}", "conv=fsync"],
                           check=True, capture_output=True, env=env)
            seconds["dd"].append(time.perf_counter() - t0)

            time.sleep(args.pause)
            new_file = os.path.join(work, f"dd-new-{rep}.bin")
            t0 = time.perf_counter()
            subprocess.run(["dd", "if=/dev/zero", f"of={new_file}", f"bs={BLOCK}", f"count={count}", "conv=fsync"],
                           check=True, capture_output=True, env=env)
            if previous_new:
                os.remove(previous_new)
            seconds["dd-new"].append(time.perf_counter() - t0)
            previous_new = new_file
            for variant in seconds:
                print(json.dumps({"rep": rep, "variant": variant, "bytes": nbytes, "seconds": seconds[variant][-1]}),
                      flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            for name in os.listdir(work):
                if name == "dd.bin" or name.startswith("dd-new-"):
                    os.remove(os.path.join(work, name))
    rate = {k: nbytes / statistics.median(v) / 1e6 for k, v in seconds.items()}
    print(f"\n{nbytes} bytes, {args.ranks} ranks, medians of {args.reps}; checksum {cs['gb_s']:.1f} GB/s on one core")
    print(f"{'variant':>8} {'median s':>9} {'MB/s':>8}  all s")
    for k, v in seconds.items():
        print(f"{k:>8} {statistics.median(v):9.3f} {rate[k]:8.0f}  " + " ".join(f"{x:.2f}" for x in v))
    print(f"pel / dd = {rate['pel'] / rate['dd']:.2f}, pel / dd-new = {rate['pel'] / rate['dd-new']:.2f}")


if __name__ == "__main__":
    main()
