#!/usr/bin/python3
"""perf/quality/simulate.py: the quality table of bench.py, predicted by pel_simulate over many seeds.

pel_simulate (perf/simulate: the real Scheduler in simulated time, deterministic, not disturbed by load) runs every
technique and auto on the costs `pel run synthetic --mode sleep` would draw, cold (no profile) and warm (--profile
drawn: the costs a cost profile of the cold run holds), for each seed, with the settings that match the real bench
on this machine (--server-core own: sleeping items leave rank 0's server thread a core; --oversubscribed). Prints
the mean of makespan / lower bound over the seeds, the best technique of each row and auto's place.

Usage: /usr/bin/python3 perf/quality/simulate.py [--build build] [--seeds 10] [--ranks 16 64 128]
       [--mean-us 10000] [--items-per-rank 100] [--distributions pareto bimodal]
"""
import argparse
import json
import os
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--ranks", type=int, nargs="+", default=[16, 64, 128])
    ap.add_argument("--distributions", nargs="+", default=["pareto", "bimodal"])
    ap.add_argument("--items-per-rank", type=int, default=100)
    ap.add_argument("--mean-us", type=float, default=10000)
    args = ap.parse_args()
    sim = os.path.join(args.build, "bin", "pel_simulate")
    rows = []
    schedules = None
    for ranks in args.ranks:
        for dist in args.distributions:
            for when, profile in (("cold", "none"), ("warm", "drawn")):
                ratios = {}
                for seed in range(1, args.seeds + 1):
                    cmd = [sim, "--ranks", str(ranks), "--items-per-rank", str(args.items_per_rank), "--mean-us",
                           str(args.mean_us), "--distribution", dist, "--seed", str(seed), "--schedule", "all",
                           "--profile", profile, "--server-core", "own", "--oversubscribed", "--json"]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    for line in out.splitlines():
                        j = json.loads(line)
                        ratios.setdefault(j["schedule"], []).append(j["ratio"])
                schedules = schedules or list(ratios)
                rows.append((ranks, dist, when, {s: statistics.mean(v) for s, v in ratios.items()}))
    print(f"makespan / lower bound, mean of {args.seeds} seeds; pel_simulate, synthetic sleep costs, "
          f"{args.items_per_rank} items per rank, mean {args.mean_us:g} us")
    print(f"{'ranks':>5} {'costs':>8} {'pass':>5}" + "".join(f"{s:>7}" for s in schedules) + "   best   auto/best")
    for ranks, dist, when, mean in rows:
        best = min((m, s) for s, m in mean.items() if s != "auto")
        print(f"{ranks:>5} {dist:>8} {when:>5}" + "".join(f"{mean[s]:7.3f}" for s in schedules) +
              f" {best[1]:>6} {mean['auto'] / best[0]:9.3f}")


if __name__ == "__main__":
    main()
