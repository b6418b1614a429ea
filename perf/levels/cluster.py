#!/usr/bin/python3
"""perf/levels/cluster.py: one scheduling level against two on an emulated cluster, side by side.

Brings up a cluster of its own (scripts/local-cluster.sh up --nodes N --slots S --no-slurm, its own state directory,
namespace prefix and subnet; taken down at the end, also after a failure) and runs pel's synthetic job (sleeping
items, so that the emulated nodes sharing this machine's cores do not slow each other's items) on every slot, with
--levels 1 and --levels 2 (groups by node) interleaved in every repetition. Prints JSON lines, then medians of the
makespan and of the efficiency (lower bound / makespan, from /stats).

Usage: /usr/bin/python3 perf/levels/cluster.py [--build build] [--reps 5] [--nodes 3] [--slots 3] [--items 3000]
       [--mean-us 300] [--distribution pareto]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "..", "scripts", "local-cluster.sh")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--slots", type=int, default=3)
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--mean-us", type=float, default=300)
    ap.add_argument("--distribution", default="pareto")
    args = ap.parse_args()
    pel = os.path.join(os.path.abspath(args.build), "bin", "pel")
    if not os.access(pel, os.X_OK):
        sys.exit(f"perf/levels/cluster.py: {pel} is missing: build pel first")
    with tempfile.TemporaryDirectory(prefix="pel-perf-levels-") as tmp:
        env = dict(os.environ, PEL_CLUSTER_DIR=os.path.join(tmp, "cluster"),
                   PEL_CLUSTER_PREFIX=f"pell{os.getpid() % 100000}", PEL_CLUSTER_SUBNET="10.218.0")
        up = subprocess.run([CLUSTER, "up", "--nodes", str(args.nodes), "--slots", str(args.slots), "--no-slurm"],
                            env=env, capture_output=True, text=True)
        if up.returncode != 0:
            sys.exit(f"perf/levels/cluster.py: local-cluster.sh up failed ({up.returncode}): {up.stderr.strip()}")
        try:
            results = run_all(args, env, pel)
        finally:
            down = subprocess.run([CLUSTER, "down"], env=env, capture_output=True, text=True)
            if down.returncode != 0:
                print(f"local-cluster.sh down failed: {down.stderr.strip()}", file=sys.stderr)
    report(args, results)


def run_all(args, env, pel):
    shared = os.path.join(env["PEL_CLUSTER_DIR"], "shared")
    ranks = args.nodes * args.slots
    results = {1: [], 2: []}
    for rep in range(args.reps):
        for levels in ((1, 2) if rep % 2 == 0 else (2, 1)):  # alternated: neither always runs first
            out = os.path.join(shared, f"levels{levels}.h5")
            argv = [CLUSTER, "mpirun", "-np", str(ranks), "--map-by", f"ppr:{args.slots}:node", pel, "run",
                    "synthetic", "--items", str(args.items), "--mean-us", str(args.mean_us), "--mode", "sleep",
                    "--distribution", args.distribution, "--seed", str(rep + 1), "--levels", str(levels),
                    "--output", out]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                sys.exit(f"perf/levels/cluster.py: --levels {levels} failed: {done.stderr[-800:]}")
            with h5py.File(out, "r") as f:
                stats = f["stats"]
                row = {"rep": rep, "levels": levels, "ranks": ranks, "makespan_s": float(stats.attrs["makespan_s"]),
                       "efficiency": float(stats.attrs["efficiency"]),
                       "rank0_requests": int(stats["requests"][0])}
            results[levels].append(row)
            print(json.dumps(row), flush=True)
    return results


def report(args, results):
    med = statistics.median
    print(f"\n{args.nodes} nodes x {args.slots} ranks, synthetic sleep {args.distribution}, {args.items} items, mean "
          f"{args.mean_us} us; medians of {args.reps}")
    print(f"{'levels':>6} {'makespan s':>11} {'efficiency':>10} {'rank 0 msgs':>11}")
    for levels in (1, 2):
        rows = results[levels]
        print(f"{levels:>6} {med(r['makespan_s'] for r in rows):11.3f} {med(r['efficiency'] for r in rows):10.3f} "
              f"{med(r['rank0_requests'] for r in rows):11.0f}")
    one = med(r["makespan_s"] for r in results[1])
    two = med(r["makespan_s"] for r in results[2])
    print(json.dumps({"summary": {"makespan_1": one, "makespan_2": two, "ratio_2_over_1": two / one}}))


if __name__ == "__main__":
    main()
