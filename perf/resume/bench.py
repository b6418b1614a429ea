#!/usr/bin/python3
"""perf/resume/bench.py: what a resume costs each rank (time, peak memory), with this pel and an older one side by side.

A checkpoint with large outputs is made once per build (their file formats differ): mandelbrot with wide rows
(--width 20000: 80 KB per item, 200 MB of rows in all) on --writers ranks, stopped part way by --time-limit (exit 75,
one checkpoint). Then each rep resumes it, for every rank count (--ranks, default 1 4 16; past 2 the ranks share the
machine's 2 cores) and every build, interleaved (build order rotated each rep): `mpirun -np N pel run ... --resume
--time-limit 0.1`, which reads the checkpoint, starts the phase, finds its time limit passed and stops at once
(writing a checkpoint of its own: the same state again). Each rank runs under /usr/bin/time, and a copy of the
original checkpoint directory is used each time.

Figures per run:
  resumed_s    from the launch of mpirun to the "resuming from" line (rank 0, --verbose): MPI start-up, opening
               the results file, reading and checking the checkpoint, writing the rows of finished phases (none here).
  rss_max_mb   the largest peak resident memory of any rank (/usr/bin/time %M), MB (10^6 bytes).
  rss_med_mb   the median over ranks of the same.
  of_checkpoint rss_max_mb / the checkpoint's size: how much of the checkpoint one rank holds at its worst, beside
               pel's own ~50 MB (MPI, HDF5, the results file).
Prints one JSON line per run, then per build and rank count the medians, and per rank count the ratios of this
build's to the older build's medians.

Reproduce (from the repository root, a few minutes on 2 cores):
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2
    /usr/bin/python3 perf/resume/bench.py --build build --old /work/baseline-build/bin/pel --reps 3
Options: [--ranks 1 4 16] [--writers 4] [--width 20000] [--height 2500] [--max-iterations 200] [--stop-at 3]
         [--dir DIR] (default: a fresh directory under /tmp, removed afterwards)
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

TIMEOUT_S = 600
RESUMED = re.compile(r"resuming from (\S+): phase (\d+), (\d+) of its items done")


def run_ranks(pel, np, args, tag, work, env):
    """pel on `np` ranks, each under /usr/bin/time; returns (rank 0's exit code, seconds from launch to the
    "resuming from" line or None, per-rank peak memory in bytes, the output)."""
    for f in glob.glob(os.path.join(work, tag + ".*")):
        os.remove(f)
    wrapper = ('/usr/bin/time -f %M -o "$0.rss.$OMPI_COMM_WORLD_RANK" "$@"; '
               'echo $? >"$0.rc.$OMPI_COMM_WORLD_RANK"')  # exits 0: mpirun kills no rank that is still measuring
    cmd = ["mpirun", "-np", str(np), "sh", "-c", wrapper, os.path.join(work, tag), pel] + args
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    resumed_s, lines = None, []
    for line in proc.stdout:
        lines.append(line)
        if resumed_s is None and RESUMED.search(line):
            resumed_s = time.perf_counter() - t0
    proc.wait(timeout=TIMEOUT_S)
    rss = []
    for r in range(np):
        with open(os.path.join(work, f"{tag}.rss.{r}")) as f:
            rss.append(int([x for x in f.read().split() if x.isdigit()][-1]) * 1024)
    with open(os.path.join(work, f"{tag}.rc.0")) as f:
        rc = int(f.read())
    return rc, resumed_s, rss, "".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="this pel's build directory")
    ap.add_argument("--old", default="/work/baseline-build/bin/pel", help="the older pel binary")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--writers", type=int, default=4, help="ranks of the run that writes the checkpoint")
    ap.add_argument("--width", type=int, default=20000)
    ap.add_argument("--height", type=int, default=2500)
    ap.add_argument("--max-iterations", type=int, default=200)
    ap.add_argument("--stop-at", type=float, default=3.0, help="--time-limit of the run that writes the checkpoint")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    builds = {"new": os.path.abspath(os.path.join(args.build, "bin", "pel")), "old": os.path.abspath(args.old)}
    job = ["run", "mandelbrot", "--width", str(args.width), "--height", str(args.height),
           "--max-iterations", str(args.max_iterations)]
    work = args.dir or tempfile.mkdtemp(prefix="pel-resume-bench-", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    runs = []
    try:
        checkpoint_bytes = {}
        for name, pel in builds.items():
            pristine = os.path.join(work, name + ".pristine")
            rc, _, _, out = run_ranks(pel, args.writers, job + [
                "--output", os.path.join(work, name + ".h5"), "--checkpoint-dir", pristine,
                "--time-limit", str(args.stop_at), "--time-margin", "0.5"], name + ".write", work, env)
            files = glob.glob(os.path.join(pristine, "ckpt-*.h5"))
            if rc != 75 or len(files) != 1:
                raise SystemExit(f"{name}: the run did not stop with one checkpoint (exit {rc}): {out[-600:]}")
            checkpoint_bytes[name] = os.path.getsize(files[0])
            print(json.dumps({"build": name, "pel": pel, "checkpoint_bytes": checkpoint_bytes[name]}), flush=True)

        for rep in range(args.reps):
            order = list(builds) if rep % 2 == 0 else list(reversed(builds))
            for np in args.ranks:
                for name in order:
                    pel = builds[name]
                    ckpt = os.path.join(work, name + ".ckpt")
                    shutil.rmtree(ckpt, ignore_errors=True)
                    shutil.copytree(os.path.join(work, name + ".pristine"), ckpt)
                    common = job + ["--output", os.path.join(work, f"{name}.{np}.h5"), "--time-limit", "0.1",
                                    "--time-margin", "0.05", "--verbose"]
                    rc, resumed_s, rss, out = run_ranks(pel, np, common + ["--checkpoint-dir", ckpt, "--resume"],
                                                        name + ".resume", work, env)
                    if rc != 75 or resumed_s is None:
                        raise SystemExit(f"{name} on {np} ranks: exit {rc} (not 75) or no resume: {out[-800:]}")
                    row = {"rep": rep, "build": name, "ranks": np, "resumed_s": round(resumed_s, 3),
                           "rss_max_mb": round(max(rss) / 1e6, 1), "rss_med_mb": round(statistics.median(rss) / 1e6, 1),
                           "of_checkpoint": round(max(rss) / checkpoint_bytes[name], 3),
                           "checkpoint_mb": round(checkpoint_bytes[name] / 1e6, 1)}
                    runs.append(row)
                    print(json.dumps(row), flush=True)

        medians = {}
        for name in builds:
            for np in args.ranks:
                mine = [r for r in runs if r["build"] == name and r["ranks"] == np]
                m = {k: statistics.median(r[k] for r in mine) for k in
                     ("resumed_s", "rss_max_mb", "rss_med_mb", "of_checkpoint")}
                medians[(name, np)] = m
                print(json.dumps({"median": True, "build": name, "ranks": np, **m}), flush=True)
        for np in args.ranks:
            new, old = medians[("new", np)], medians[("old", np)]
            print(json.dumps({"ratio_new_over_old": True, "ranks": np,
                              "resumed_s": round(new["resumed_s"] / old["resumed_s"], 3),
                              "rss_max": round(new["rss_max_mb"] / old["rss_max_mb"], 3),
                              "of_checkpoint": round(new["of_checkpoint"] / old["of_checkpoint"], 3)}),
                  flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
