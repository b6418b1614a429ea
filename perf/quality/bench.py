#!/usr/bin/python3
"""perf/quality/bench.py: scheduling quality at 16, 64 and 128 ranks on a small machine.

pel's synthetic job with sleeping items (so that 16 or 64 ranks on 2 cores measure scheduling, not CPU sharing),
heavy-tailed (pareto) and bimodal costs, every technique, interleaved repetitions. For each run it reports
    makespan / lower bound,  lower bound = max(sum of item costs / ranks, largest item cost)
where the costs are the drawn ones the job records (total_cost_us, max_cost_us) and makespan is the time the
phase took on the slowest rank (/stats makespan_s; excludes start-up and writing). Sleeps overshoot by about 60
microseconds each (0.6% of a 10 ms item), so even a perfect schedule sits slightly above 1; pel's own efficiency,
which counts the overshoot as work, is printed too.

With --profile, every configuration runs twice with the same --cost-profile file: "cold" (no profile yet; the run
saves what it measured) and "warm" (the next run starts from it, so the costliest items go first). This is what a
user gets from rerunning a job with the same inputs, or from a multi-phase job whose costs repeat.

With --peer, the DLS peer (perf/peer_dls: a plain MPI master-worker with FAC and AWF-C written from the papers, its
master computing too) runs on the same drawn costs in the same repetition, cold, as columns dls-fac and dls-awf-c
(its makespan from a barrier to the last rank's end of work, as pel's excludes start-up).

With several --build directories, every configuration runs with each build in turn (interleaved, so that they share
the machine's noise), and a last table gives each build's median over the first build's.

Usage: /usr/bin/python3 perf/quality/bench.py [--build build [OTHER ...]] [--reps 3] [--ranks 16 64 128]
       [--schedules ...] [--profile] [--peer]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import h5py
import numpy as np

SCHEDULES = ["static", "ss", "gss", "tss", "fac2", "awf",
             "fsc", "mfsc", "wf", "awf-b", "awf-c", "awf-d", "awf-e", "af", "auto"]  # all `--schedule` takes
PEERS = ["dls-fac", "dls-awf-c"]


def run_pel(pel, ranks, args, out, env):
    cmd = ["mpirun", "--oversubscribe", "-np", str(ranks), pel, "run", "synthetic", *args, "--output", out]
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    with h5py.File(out, "r") as f:
        lower = max(f.attrs["total_cost_us"] / ranks, f.attrs["max_cost_us"]) * 1e-6
        stats = f["stats"].attrs
        return float(stats["makespan_s"]), lower, int(f["stats/chunks"][...].sum()), float(stats["efficiency"])


def run_peer(peer, ranks, technique, out, tmp, env):
    """The DLS peer on the costs pel drew into `out`: makespan and lower bound (from the same costs)."""
    with h5py.File(out, "r") as f:
        costs = np.asarray(f["cost_us"][...], dtype=np.float64).reshape(-1)
    costs_file = os.path.join(tmp, "costs.bin")
    costs.tofile(costs_file)
    cmd = ["mpirun", "--oversubscribe", "-np", str(ranks), peer, "--costs", costs_file, "--technique", technique]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    line = json.loads(run.stdout.strip().splitlines()[-1])
    return line["makespan_s"], max(costs.sum() / ranks, costs.max()) * 1e-6, line["chunks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", nargs="+", default=["build"], help="build directories, compared side by side")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ranks", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--schedules", nargs="+", default=SCHEDULES)
    ap.add_argument("--distributions", nargs="+", default=["pareto", "bimodal"])
    ap.add_argument("--items-per-rank", type=int, default=100)
    ap.add_argument("--mean-us", type=float, default=10000)
    ap.add_argument("--prefetch", nargs="+", default=["auto"], help="prefetch depths to compare (pel's default: auto)")
    ap.add_argument("--chunk-size", default="1")
    ap.add_argument("--profile", action="store_true", help="run each configuration cold, then warm from its profile")
    ap.add_argument("--peer", action="store_true", help="run the DLS peer (FAC, AWF-C) beside, cold, on the same costs")
    args = ap.parse_args()
    passes = ["cold", "warm"] if args.profile else ["cold"]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    builds = args.build
    ratios = {}
    own = {}  # pel's own efficiency: kernel time (sleep overshoot included) spread over all ranks / makespan
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "s.h5")
        for rep in range(args.reps):
            for ranks in args.ranks:
                for dist in args.distributions:
                    for schedule in args.schedules:
                        for prefetch in args.prefetch:
                            job = ["--items", str(args.items_per_rank * ranks), "--distribution", dist,
                                   "--mean-us", str(args.mean_us), "--mode", "sleep", "--seed", str(rep + 1),
                                   "--schedule", schedule, "--chunk-size", args.chunk_size, "--prefetch", prefetch]
                            order = list(enumerate(builds))
                            for b, build in order[rep % len(order):] + order[:rep % len(order)]:  # rotated per rep
                                pel = os.path.join(build, "bin", "pel")
                                profile = os.path.join(tmp, "profile%d.h5" % b)
                                if os.path.exists(profile):
                                    os.remove(profile)
                                for when in passes:
                                    extra = ["--cost-profile", profile] if args.profile else []
                                    makespan, lower, chunks, efficiency = run_pel(pel, ranks, job + extra, out, env)
                                    key = (build, ranks, dist, schedule, prefetch, when)
                                    ratios.setdefault(key, []).append(makespan / lower)
                                    own.setdefault(key, []).append(efficiency)
                                    print(json.dumps({"build": build, "rep": rep, "ranks": ranks,
                                                      "distribution": dist, "schedule": schedule,
                                                      "prefetch": prefetch, "pass": when, "makespan_s": makespan,
                                                      "lower_bound_s": lower, "ratio": makespan / lower,
                                                      "chunks": chunks}), flush=True)
                    if args.peer:  # `out` holds the costs of this seed, distribution and rank count
                        peer = os.path.join(builds[0], "bin", "pel_peer_dls")
                        for tool in PEERS:
                            makespan, lower, chunks = run_peer(peer, ranks, tool[len("dls-"):], out, tmp, env)
                            for when in passes:  # the peer knows no profile: the same figure in both passes
                                ratios.setdefault((builds[0], ranks, dist, tool, args.prefetch[0], when),
                                                  []).append(makespan / lower)
                                own.setdefault((builds[0], ranks, dist, tool, args.prefetch[0], when), []).append(
                                    float("nan"))
                            print(json.dumps({"build": builds[0], "rep": rep, "ranks": ranks, "distribution": dist,
                                              "schedule": tool, "pass": "cold", "makespan_s": makespan,
                                              "lower_bound_s": lower, "ratio": makespan / lower, "chunks": chunks}),
                                  flush=True)
    print(f"\nsynthetic, sleep, {args.items_per_rank} items per rank, mean {args.mean_us:g} us, "
          f"chunk size {args.chunk_size}")
    cols = [(s, p) for s in args.schedules for p in args.prefetch]
    if args.peer:
        cols += [(t, args.prefetch[0]) for t in PEERS]
    header = "".join(f"{s + ('' if len(args.prefetch) == 1 else '/k' + p):>10}" for s, p in cols)
    med = lambda table, b, r, d, s, p, w: statistics.median(table[(b, r, d, s, p, w)])
    for build in builds:
        for table, title in ((ratios, "makespan / lower bound" + (" (dls-*: the peer, cold, in both passes)"
                                                                  if args.peer else "")),
                             (own, "pel's own efficiency (/stats efficiency: measured kernel time / ranks / makespan)")):
            print(f"\n{title}, median of {args.reps}" + (f", build {build}" if len(builds) > 1 else ""))
            print(f"{'ranks':>5} {'costs':>8} {'pass':>5}{header}")
            for ranks in args.ranks:
                for dist in args.distributions:
                    for when in passes:
                        row = "".join(f"{med(table, build, ranks, dist, s, p, when):10.3f}" for s, p in cols)
                        print(f"{ranks:>5} {dist:>8} {when:>5}{row}")
    cols = [c for c in cols if c[0] not in PEERS]  # the peer ran once, with the first build
    for build in builds[1:]:
        print(f"\nmakespan / lower bound of {build} over that of {builds[0]} (medians; below 1: {build} is better)")
        print(f"{'ranks':>5} {'costs':>8} {'pass':>5}{header}")
        for ranks in args.ranks:
            for dist in args.distributions:
                for when in passes:
                    row = "".join(f"{med(ratios, build, ranks, dist, s, p, when) / med(ratios, builds[0], ranks, dist, s, p, when):10.3f}"
                                  for s, p in cols)
                    print(f"{ranks:>5} {dist:>8} {when:>5}{row}")


if __name__ == "__main__":
    main()
