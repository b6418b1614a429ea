#!/usr/bin/python3
"""perf/peer_dls/bench.py: pel beside a master-worker written from the DLS papers (FAC, AWF-C), on the same costs.

For each distribution and rank count, one `pel run synthetic --mode sleep` draws the item costs; its /cost_us is
written as float64 for the peer (dls_peer.cpp: plain MPI, rank 0 the master that also computes, as in DLS4LB). Then
each repetition runs, in an order rotated from one repetition to the next:
  pel          pel run synthetic with its defaults (the same costs: item i's cost depends only on seed and i)
  pel-<t>      the same with --schedule <t>, for each technique in --schedules (default fac2 awf-c af)
  dls-fac      the peer, practical factoring (FAC2)
  dls-awf-c    the peer, chunk-level adaptive weighted factoring
and prints makespan / lower bound, lower bound = max(sum of costs / P, largest cost). pel's makespan is /stats
makespan_s (the phase, from the first grant to the last item); the peer's from a barrier before its loop to the
last rank's end of work. Both exclude start-up and the results file. Every run is cold: no cost profile.

With --seeds N the costs of seeds 1..N are each run --reps times and the medians are over all of them: a cold
heavy-tailed row is set by where the largest items happen to fall in item order (perf/RESULTS.md, "--schedule
auto"), so one seed compares two schedules of one draw.

Reproduce (after building build/, which builds pel_peer_dls):
    /usr/bin/python3 perf/peer_dls/bench.py --reps 3 --ranks 16 64
    /usr/bin/python3 perf/peer_dls/bench.py --reps 1 --seeds 5 --ranks 16 64
Options: --items-per-rank 100 --mean-us 3000 --distributions pareto bimodal --seed 1 --seeds 1
         --schedules fac2 awf-c af
One JSON line per run, then the medians.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--ranks", type=int, nargs="+", default=[16])
    ap.add_argument("--distributions", nargs="+", default=["pareto", "bimodal"])
    ap.add_argument("--items-per-rank", type=int, default=100)
    ap.add_argument("--mean-us", type=float, default=3000)
    ap.add_argument("--seed", type=int, default=1, help="the first seed")
    ap.add_argument("--seeds", type=int, default=1, help="seeds --seed, --seed + 1, ...; medians over all")
    ap.add_argument("--schedules", nargs="*", default=["fac2", "awf-c", "af"], help="pel techniques run beside")
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    pel = os.path.join(args.build, "bin", "pel")
    peer = os.path.join(args.build, "bin", "pel_peer_dls")
    tools = ["pel"] + ["pel-" + s for s in args.schedules] + ["dls-fac", "dls-awf-c"]
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="pel-peer-dls-") as tmp:
        out = os.path.join(tmp, "s.h5")
        costs_file = os.path.join(tmp, "costs.bin")
        for ranks, dist, seed in ((r, d, args.seed + k) for r in args.ranks for d in args.distributions
                                  for k in range(args.seeds)):
            job = ["--items", str(args.items_per_rank * ranks), "--distribution", dist,
                   "--mean-us", str(args.mean_us), "--mode", "sleep", "--seed", str(seed)]
            mpirun = ["mpirun", "--oversubscribe", "-np", str(ranks)]
            subprocess.run(mpirun + [pel, "run", "synthetic", *job, "--output", out], check=True,
                           capture_output=True, env=env)
            with h5py.File(out, "r") as f:
                costs = np.asarray(f["cost_us"][...], dtype=np.float64).reshape(-1)
            costs.tofile(costs_file)
            lower = max(costs.sum() / ranks, costs.max()) * 1e-6
            for rep in range(args.reps):
                order = tools[rep % len(tools):] + tools[:rep % len(tools)]
                for tool in order:
                    if tool.startswith("pel"):
                        extra = [] if tool == "pel" else ["--schedule", tool[len("pel-"):]]
                        subprocess.run(mpirun + [pel, "run", "synthetic", *job, *extra, "--output", out],
                                       check=True, capture_output=True, env=env)
                        with h5py.File(out, "r") as f:
                            makespan = float(f["stats"].attrs["makespan_s"])
                            chunks = int(f["stats/chunks"][...].sum())
                            drawn = np.asarray(f["cost_us"][...], dtype=np.float64).reshape(-1)
                        if not np.array_equal(drawn, costs):
                            raise SystemExit(f"{tool} drew other costs than the first run")
                    else:
                        run = subprocess.run(mpirun + [peer, "--costs", costs_file, "--technique",
                                                       tool[len("dls-"):]],
                                             check=True, capture_output=True, text=True, env=env)
                        line = json.loads(run.stdout.strip().splitlines()[-1])
                        makespan, chunks = line["makespan_s"], line["chunks"]
                    ratios.setdefault((ranks, dist, tool), []).append(makespan / lower)
                    print(json.dumps({"rep": rep, "seed": seed, "ranks": ranks, "distribution": dist, "tool": tool,
                                      "makespan_s": makespan, "lower_bound_s": lower,
                                      "ratio": makespan / lower, "chunks": chunks}), flush=True)
    print(f"\nmakespan / lower bound, median of {args.reps} x {args.seeds} seed(s); synthetic, sleep, "
          f"{args.items_per_rank} items per rank, mean {args.mean_us:g} us, cold")
    print(f"{'ranks':>5} {'costs':>8}" + "".join(f"{t:>11}" for t in tools))
    for ranks in args.ranks:
        for dist in args.distributions:
            row = "".join(f"{statistics.median(ratios[(ranks, dist, t)]):11.3f}" for t in tools)
            print(f"{ranks:>5} {dist:>8}{row}")


if __name__ == "__main__":
    main()
