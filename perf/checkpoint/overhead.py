#!/usr/bin/python3
"""perf/checkpoint/overhead.py: what periodic checkpoints cost a run: the same run with `--checkpoint-every S`
against none, side by side.

Cases (each about 10-15 s on 2 ranks here; sizes can be changed with --mandelbrot, --synthetic, --kmeans):
  - mandelbrot: 1 phase; every checkpoint holds the rows finished so far (up to the whole image), so its size
    grows through the phase;
  - synthetic: `--mode work` (calibrated CPU work, fair when ranks share cores), 1 phase, small rows;
  - kmeans (only with --cases ... kmeans): one phase per iteration, each a few tens of ms; a checkpoint that falls
    due is written at the next phase boundary (before 2026-11-26 05:55 pel wrote one at every phase end, which
    this case showed to cost 5-11%).
Variants: `none` (no checkpoint options) and `every` (`--checkpoint-every S --verbose`, S = --every, default 2 s).
`--verbose` is also passed to `none`, so both print the same. Each rep runs every case's two variants back to
back, in the order none, every on even reps and every, none on odd ones, so that drift in the machine's load falls
on both alike; a run during which other processes used more than --max-foreign of the cores (from /proc/stat, less
this process's and its children's CPU time) is repeated after a pause, up to --retries times (then kept, flagged).

Per run: wall_time_s (root attribute: pel's own start to the results file's commit, all ranks), /stats makespan_s
(the sum of the phases' compute rounds: the drain before each checkpoint pause and the restart after it count,
the checkpoint writes themselves, start-up and the results write do not), the process's
wall time (mpirun's launch to its exit), and from the verbose log the checkpoints written and the seconds rank 0
spent in write_checkpoint ("written in X s"). Prints one JSON line per run, then per case the medians, the ratio
of medians every / none, and the median of the per-rep ratios (each rep's pair ran back to back).

Reproduce (from the repository root; about 5 minutes for 3 reps on 2 cores):
    cmake -S . -B build-kill -DCMAKE_BUILD_TYPE=Release && cmake --build build-kill -j2
    /usr/bin/python3 perf/checkpoint/overhead.py --build build-kill --reps 3
Options: [--ranks 2] [--threads 1] [--every 2] [--cases mandelbrot synthetic] [--dir DIR] [--max-foreign 0.15]
The checkpoint directory is beside the output, in DIR (default: a fresh directory under the current one, removed
afterwards); it must be on the disk to measure (/tmp may be a RAM disk).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

import h5py
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pelperf import cpu_seconds  # noqa: E402  (perf/pelperf.py)

CASES = {
    "mandelbrot": "mandelbrot --width 3000 --height 2250 --max-iterations 5000",
    "synthetic": "synthetic --items 16000 --mean-us 1000 --mode work --seed 3",
    "kmeans": "kmeans --generate 1000000 --k 8 --max-iterations 300 --tolerance 0",
}
WRITTEN = re.compile(r"checkpoint \S+ written in ([0-9.]+) s")
TIMEOUT_S = 600


class Interrupted(Exception):
    """A run stopped by a signal that this script did not send."""


def run_once(args, env, work, case, variant):
    """One pel run; returns its figures."""
    out = os.path.join(work, f"{case}-{variant}.h5")
    ckpt = os.path.join(work, f"{case}-{variant}.ckpt")
    shutil.rmtree(ckpt, ignore_errors=True)
    job = shlex.split(args.job_args[case])
    if case == "kmeans":
        job += ["--input", os.path.join(work, "kmeans_points.h5")]
    cmd = ["mpirun", "-np", str(args.ranks)]
    if args.ranks * args.threads > os.cpu_count():
        cmd += ["--oversubscribe", "--bind-to", "none"]
    cmd += [args.pel, "run", *job, "--threads", str(args.threads), "--output", out, "--verbose"]
    if variant == "every":
        cmd += ["--checkpoint-every", repr(args.every), "--checkpoint-dir", ckpt]
    busy0, mine0 = cpu_seconds()
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    elapsed = time.perf_counter() - t0
    busy1, mine1 = cpu_seconds()
    if res.returncode == 75:  # a stop signal from outside (another user's pkill?): not a figure
        raise Interrupted(f"{case} {variant} stopped by a signal from outside (exit 75)")
    if res.returncode != 0:
        raise RuntimeError(f"exit {res.returncode}: {shlex.join(cmd)}\n{res.stderr[-2000:]}")
    writes = [float(x) for x in WRITTEN.findall(res.stderr)]
    with h5py.File(out, "r") as f:
        row = {"case": case, "variant": variant, "wall_time_s": float(f.attrs["wall_time_s"]),
               "makespan_s": float(f["stats"].attrs["makespan_s"]), "process_s": elapsed,
               "checkpoints": len(writes), "checkpoint_s": sum(writes), "phases": int(f.attrs["phases"])}
    row["foreign_cpu_share"] = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / (elapsed * os.cpu_count())
    os.remove(out)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--every", type=float, default=2.0, help="seconds between checkpoints")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=["mandelbrot", "synthetic"], choices=sorted(CASES))
    for case, default in CASES.items():
        ap.add_argument(f"--{case}", default=default, help=f"the {case} case's job and options")
    ap.add_argument("--max-foreign", type=float, default=0.15, help="share of the cores others may use in a run")
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    args = ap.parse_args()
    args.pel = os.path.join(args.build, "bin", "pel")
    args.job_args = {case: getattr(args, case) for case in CASES}
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    work = args.dir or tempfile.mkdtemp(prefix="pel-ckpt-overhead-", dir=os.getcwd())
    os.makedirs(work, exist_ok=True)
    rows = []
    try:
        if "kmeans" in args.cases:  # the input, made once, outside any timed run
            run_once(args, env, work, "kmeans", "none")
        for rep in range(args.reps):
            for case in args.cases:
                order = ["none", "every"] if rep % 2 == 0 else ["every", "none"]
                for variant in order:
                    for attempt in range(args.retries + 1):
                        for _ in range(5):
                            time.sleep(args.pause)
                            try:
                                row = run_once(args, env, work, case, variant)
                                break
                            except Interrupted as e:
                                print(json.dumps({"interrupted": str(e), "rep": rep}), flush=True)
                        else:
                            raise RuntimeError(f"{case} {variant}: interrupted from outside 5 times in a row")
                        row.update(rep=rep, attempt=attempt)
                        if row["foreign_cpu_share"] <= args.max_foreign:
                            break
                        print(json.dumps({"noisy": row}), flush=True)
                    row["noisy"] = row["foreign_cpu_share"] > args.max_foreign
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.ranks} ranks x {args.threads} threads, --checkpoint-every {args.every:g} against none, "
          f"medians of {args.reps} interleaved reps")
    print(f"{'case':>10} {'metric':>12} {'none':>8} {'every':>8} {'ratio':>7} {'pair ratio':>10}  all every/none")
    for case in args.cases:
        by = {v: [r for r in rows if r["case"] == case and r["variant"] == v] for v in ("none", "every")}
        for metric in ("wall_time_s", "makespan_s", "process_s"):
            med = {v: statistics.median(r[metric] for r in by[v]) for v in by}
            pairs = [e[metric] / n[metric] for n, e in zip(by["none"], by["every"])]
            print(f"{case:>10} {metric:>12} {med['none']:8.3f} {med['every']:8.3f} {med['every'] / med['none']:7.4f} "
                  f"{statistics.median(pairs):10.4f}  " + " ".join(f"{p:.3f}" for p in pairs))
        ck = by["every"]
        n = statistics.median(r["checkpoints"] for r in ck)
        s = statistics.median(r["checkpoint_s"] for r in ck)
        wall = statistics.median(r["wall_time_s"] for r in by["none"])
        print(f"{case:>10} checkpoints: median {n:g} per run, {s:.3f} s writing in all ({s / max(n, 1) * 1e3:.1f} ms "
              f"each), {s / wall * 100:.2f}% of the run without checkpoints; noisy runs kept: "
              f"{sum(r['noisy'] for r in by['none'] + ck)}")


if __name__ == "__main__":
    main()
