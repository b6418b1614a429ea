#!/usr/bin/python3
"""perf/inputs/bench.py: kmeans memory per rank against input size and partial size, this pel (item inputs read batch
by batch, partials reduced up a tree) against an older one (the whole input read onto every rank) side by side.

For each input size (--points, 4 coordinates of 8 bytes each: 32 bytes a point) the points are written once with h5py.
Each rep runs, for each build, `mpirun -np R pel run kmeans --input F --k K --max-iterations I --tolerance 0` with
every rank under /usr/bin/time (builds interleaved, order rotated each rep); this build also with --max-rank-memory
CAP when --cap is given. The results of all runs must be bit-identical (checked with pel_h5same).

Figures per run:
  rss_max_mb     the largest peak resident memory of any rank (/usr/bin/time %M), MB (10^6 bytes)
  input_mb       the input's size, MB
  held_max_mb    this pel only: the largest /stats/input_peak_bytes of any rank (bytes of the input held at once)
  wall_s         the run's wall time (mpirun launch to exit)
Prints one JSON line per run, then per build and input size the medians of rss_max_mb and wall_s.

Reproduce (from the repository root; a few minutes on 2 cores):
    /usr/bin/python3 perf/inputs/bench.py --build build --old /work/baseline-build/bin/pel --reps 3
Options: [--points 250000 1000000 4000000] [--ranks 2] [--threads 1] [--k 16] [--iterations 5] [--cap 1M]
         [--dir DIR] (default: a fresh directory under /tmp, removed afterwards)
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np

TIMEOUT_S = 900


def write_points(path, n):
    rng = np.random.default_rng(3)
    centres = rng.uniform(-50, 50, size=(16, 4))
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("points", shape=(n, 4), dtype="f8")
        step = 1 << 20
        for at in range(0, n, step):
            m = min(step, n - at)
            ds[at:at + m] = centres[rng.integers(0, 16, size=m)] + rng.normal(size=(m, 4))


def run(pel, np_, args, tag, work, env):
    """pel on np_ ranks, each under /usr/bin/time: (exit code of rank 0, wall seconds, per-rank peak RSS bytes)."""
    wrapper = ('/usr/bin/time -f %M -o "$0.rss.$OMPI_COMM_WORLD_RANK" "$@"; '
               'echo $? >"$0.rc.$OMPI_COMM_WORLD_RANK"')
    cmd = ["mpirun", "-np", str(np_), "sh", "-c", wrapper, os.path.join(work, tag), pel] + args
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          timeout=TIMEOUT_S)
    wall = time.perf_counter() - t0
    rss = []
    for r in range(np_):
        with open(os.path.join(work, f"{tag}.rss.{r}")) as f:
            rss.append(int([x for x in f.read().split() if x.isdigit()][-1]) * 1024)
    with open(os.path.join(work, f"{tag}.rc.0")) as f:
        rc = int(f.read())
    if rc != 0:
        raise SystemExit(f"{tag}: exit {rc}: {proc.stdout[-800:]}")
    return wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--old", default="/work/baseline-build/bin/pel")
    ap.add_argument("--points", type=int, nargs="+", default=[250000, 1000000, 4000000])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--cap", default="1M", help="--max-rank-memory of a third run of this build ('' : none)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    pel = os.path.abspath(os.path.join(args.build, "bin", "pel"))
    same = os.path.abspath(os.path.join(args.build, "bin", "pel_h5same"))
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    work = args.dir or tempfile.mkdtemp(prefix="pel-inputs-")
    builds = [("new", pel, []), ("old", args.old, [])]
    if args.cap:
        builds.append(("new-cap", pel, ["--max-rank-memory", args.cap]))
    results = []
    try:
        for n in args.points:
            points = os.path.join(work, f"points-{n}.h5")
            write_points(points, n)
            input_mb = n * 32 / 1e6
            ref = None
            for rep in range(args.reps):
                order = builds[rep % len(builds):] + builds[:rep % len(builds)]
                for name, binary, extra in order:
                    out = os.path.join(work, f"{name}-{n}-{rep}.h5")
                    job = ["run", "kmeans", "--input", points, "--k", str(args.k), "--max-iterations",
                           str(args.iterations), "--tolerance", "0", "--threads", str(args.threads),
                           "--output", out] + extra
                    wall, rss = run(binary, args.ranks, job, f"{name}-{n}-{rep}", work, env)
                    held = None
                    if name != "old":
                        with h5py.File(out, "r") as f:
                            held = max(int(x) for x in f["stats/input_peak_bytes"][()]) / 1e6
                    if ref is None:
                        ref = out
                    else:
                        subprocess.run([same, ref, out, "--attr", "inertia", "--attr", "iterations", "--ignore",
                                        "/stats"], check=True, stdout=subprocess.DEVNULL)
                        if out != ref:
                            os.remove(out)
                    row = {"build": name, "points": n, "input_mb": round(input_mb, 2), "ranks": args.ranks,
                           "threads": args.threads, "rep": rep, "rss_max_mb": round(max(rss) / 1e6, 1),
                           "held_max_mb": None if held is None else round(held, 3), "wall_s": round(wall, 3)}
                    print(json.dumps(row), flush=True)
                    results.append(row)
            os.remove(points)
        print("medians:")
        for n in args.points:
            for name, _, _ in builds:
                rows = [r for r in results if r["points"] == n and r["build"] == name]
                print(f"  {name:8s} points {n:>9d} ({rows[0]['input_mb']:.1f} MB): rss_max "
                      f"{statistics.median(r['rss_max_mb'] for r in rows):.1f} MB, wall "
                      f"{statistics.median(r['wall_s'] for r in rows):.2f} s"
                      + ("" if rows[0]["held_max_mb"] is None else
                         f", input held {statistics.median(r['held_max_mb'] for r in rows):.3f} MB"))
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
