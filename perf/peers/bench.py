#!/usr/bin/python3
"""perf/peers/bench.py: pel against mpi4py's MPIPoolExecutor and a plain static MPI block split, on the same items.

For each workload (a `pel run synthetic --mode sleep` distribution) and each rank count, runs interleaved
repetitions of:
  pel        pel run synthetic, its defaults (awf, --prefetch auto)
  pel-gss    pel run synthetic --schedule gss
  pel-ss1    pel run synthetic --schedule ss --chunk-size 1
  pool-c1    mpi4py.futures.MPIPoolExecutor, executor.map(..., chunksize=1)   (P ranks = 1 master + P-1 workers)
  pool-cK    the same with chunksize K (--pool-chunksize, default 8)
  static     a static MPI block split (rank r sleeps items [r*N/P, (r+1)*N/P)), then a barrier
and, only when named in --tools, pel-gss-pf0 and pel-ss1-pf0: the two pel variants with --prefetch 0 (pel's
default is auto: a worker keeps one chunk request or more in flight while it computes).
The peers (perf/peers/peers.py) sleep exactly the costs pel drew: /cost_us of the workload's first pel run. The
order of the variants rotates from one repetition to the next, so drift on the shared machine hits them alike.

Times reported per run (one JSON line each, then medians):
  makespan_s  start of the work to end of the work. pel: the /stats attribute makespan_s (the longest rank's
              time from the start of the phase's scheduling to its last item, summed over phases); pels without it:
              the `compute` time rank 0 prints with --verbose; both exclude start-up, setup and the HDF5 write.
              Peers: see peers.py. This is the figure the pel/peer ratios use.
  wall_s      pel: the `wall_time_s` attribute of its results file (after MPI_Init: options, plugin load, file
              creation, setup, compute, combine, HDF5 write). Peers: `script_s` (script start to end of work,
              including loading the costs and booting the pool).
  launch_s    mpirun start to exit, measured by this driver: the same yardstick for every tool, start-up included.
  lower bound max(total cost / ranks that compute, largest cost); ranks that compute = P for pel and static,
              P - 1 for the pool (its master only schedules).

Reproduce (from the repository root, after building pel into build-peers/):
    cmake -S . -B build-peers -DCMAKE_BUILD_TYPE=Release && cmake --build build-peers -j2
    /usr/bin/python3 perf/peers/bench.py --build build-peers
Options: --reps 3 --items 4000 --mean-us 2000 --distributions pareto,bimodal --ranks 4,16 --seed 1
         --tools pel,pel-gss,pel-ss1,pel-gss-pf0,pel-ss1-pf0,pool-c1,pool-cK,static (all eight: about 5 minutes)
One JSON line per run, a JSON line per (workload, ranks, tool) with medians and ratios, then the table.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers.py")
# pel variants: name -> extra `pel run` options. The -pf0 ones turn off chunk-request prefetching (pel's --prefetch,
# default auto), to tell its effect apart; they are not in the default --tools.
PEL_TOOLS = {"pel": [], "pel-gss": ["--schedule", "gss"], "pel-ss1": ["--schedule", "ss", "--chunk-size", "1"],
             "pel-gss-pf0": ["--schedule", "gss", "--prefetch", "0"],
             "pel-ss1-pf0": ["--schedule", "ss", "--chunk-size", "1", "--prefetch", "0"]}
PHASE_LINE = re.compile(r"phase \d+ done: compute ([0-9.]+) s")


def run(cmd, env, timeout):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    launch = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p, launch


def run_pel(args, env, mpirun, tool, dist, ranks, path):
    cmd = mpirun(ranks) + [args.pel, "run", "synthetic", "--items", str(args.items), "--distribution", dist,
                           "--mean-us", str(args.mean_us), "--mode", "sleep", "--seed", str(args.seed),
                           "--output", path, "--verbose"]
    cmd += PEL_TOOLS[tool]
    p, launch = run(cmd, env, args.timeout)
    computes = [float(m.group(1)) for m in PHASE_LINE.finditer(p.stderr)]
    with h5py.File(path, "r") as f:
        wall = float(f.attrs["wall_time_s"])
        if int(f.attrs["items_processed"]) != args.items:
            sys.exit(f"{tool}: {f.attrs['items_processed']} items processed, expected {args.items}")
        stats = f["stats"]
        if "makespan_s" in stats.attrs:  # newer pel: max over ranks of the phases' compute time, summed over phases
            makespan, source = float(stats.attrs["makespan_s"]), "/stats makespan_s"
        elif computes:  # older pel: rank 0's compute time, printed with --verbose
            makespan, source = sum(computes), "verbose compute"
        else:
            makespan, source = wall, "wall_time_s"
        rec = {"makespan_s": makespan, "makespan_source": source, "wall_s": wall, "launch_s": launch,
               "workers": ranks, "total_cost_us": float(f.attrs["total_cost_us"]),
               "max_cost_us": float(f.attrs["max_cost_us"]),
               "options": f.attrs["options"].replace("\n", "; ").strip("; ")}
        for name in ("busy_s", "wait_s", "idle_s", "serve_s", "chunks", "items", "requests"):
            if name in stats:
                rec[name] = [round(float(v), 4) for v in stats[name][...]]
        costs = f["cost_us"][...]
    return rec, costs


def run_peer(args, env, mpirun, tool, ranks, costs_file):
    if tool == "static":
        cmd = mpirun(ranks) + [sys.executable, PEERS, "--mode", "static", "--costs", costs_file]
    else:
        chunksize = 1 if tool == "pool-c1" else args.pool_chunksize
        cmd = mpirun(ranks) + [sys.executable, "-m", "mpi4py.futures", PEERS, "--mode", "pool", "--costs",
                               costs_file, "--chunksize", str(chunksize)]
    p, launch = run(cmd, env, args.timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if len(lines) != 1:
        sys.exit(f"{tool}: expected one JSON line, got:\n{p.stdout}\n{p.stderr}")
    out = json.loads(lines[0])
    if out["items"] != args.items:
        sys.exit(f"{tool}: {out['items']} items done, expected {args.items}")
    out.update({"wall_s": out["script_s"], "launch_s": launch})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default="build", help="pel's build directory (pel is BUILD/bin/pel)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--items", type=int, default=4000)
    ap.add_argument("--mean-us", type=float, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--distributions", default="pareto,bimodal")
    ap.add_argument("--ranks", default="4,16")
    ap.add_argument("--pool-chunksize", type=int, default=8, help="the larger chunksize of pool-cK")
    ap.add_argument("--tools", default="pel,pel-gss,pel-ss1,pool-c1,pool-cK,static",
                    help="any of " + ", ".join(list(PEL_TOOLS) + ["pool-c1", "pool-cK", "static"]))
    ap.add_argument("--mpirun", default="mpirun --oversubscribe", help="launcher and its flags, same for every tool")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    args.pel = os.path.abspath(os.path.join(args.build, "bin", "pel"))
    if not os.access(args.pel, os.X_OK):
        sys.exit(f"no pel at {args.pel}; build it or pass --build")
    tools = args.tools.split(",")
    unknown = [t for t in tools if t not in PEL_TOOLS and t not in ("pool-c1", "pool-cK", "static")]
    if unknown:
        sys.exit(f"unknown tools: {', '.join(unknown)}")
    pel_tools = [t for t in tools if t in PEL_TOOLS]
    dists = args.distributions.split(",")
    rank_counts = [int(r) for r in args.ranks.split(",")]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

    def mpirun(ranks):
        return args.mpirun.split() + ["-np", str(ranks)]

    results = {}  # (dist, ranks, tool) -> list of records
    info = {}  # dist -> (total_cost_us, max_cost_us)
    started = time.monotonic()
    version = subprocess.run([args.pel, "--version"], capture_output=True, text=True, env=env).stdout.strip()
    built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(args.pel)))
    print(json.dumps({"pel": args.pel, "pel_version": version, "pel_built": built, "items": args.items,
                      "mean_us": args.mean_us, "seed": args.seed, "reps": args.reps, "mpirun": args.mpirun}),
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for dist in dists:
            costs_file = None
            reference = None
            for ranks in rank_counts:
                for rep in range(args.reps):
                    # pel first in the very first repetition of a workload: its output is the peers' cost file.
                    order = tools if costs_file is None else tools[rep % len(tools):] + tools[:rep % len(tools)]
                    if costs_file is None and order[0] not in PEL_TOOLS:
                        order = [t for t in tools if t in PEL_TOOLS] + [t for t in tools if t not in PEL_TOOLS]
                    for tool in order:
                        if tool in PEL_TOOLS:
                            path = os.path.join(tmp, f"{dist}-{ranks}-{tool}-{rep}.h5")
                            rec, costs = run_pel(args, env, mpirun, tool, dist, ranks, path)
                            if reference is None:
                                reference, costs_file = costs, path
                                info[dist] = (rec["total_cost_us"], rec["max_cost_us"])
                            elif not np.array_equal(costs, reference):
                                sys.exit(f"{tool} drew different costs from the reference run")
                        else:
                            if costs_file is None:
                                sys.exit("the peers need a pel tool in --tools to draw the costs")
                            rec = run_peer(args, env, mpirun, tool, ranks, costs_file)
                            if abs(rec["total_cost_us"] - info[dist][0]) > 1e-6 * info[dist][0]:
                                sys.exit(f"{tool} slept a different total cost")
                        rec.update({"distribution": dist, "ranks": ranks, "tool": tool, "rep": rep})
                        results.setdefault((dist, ranks, tool), []).append(rec)
                        print(json.dumps(rec), flush=True)

    # Summary: medians, lower bounds, pel/peer ratios; JSON lines first, then the table.
    rows = []
    for dist in dists:
        total_us, max_us = info[dist]
        for ranks in rank_counts:
            med = {t: {k: statistics.median(r[k] for r in results[(dist, ranks, t)])
                       for k in ("makespan_s", "wall_s", "launch_s")} for t in tools}
            for t in tools:
                workers = results[(dist, ranks, t)][0]["workers"]
                lb = max(total_us / workers, max_us) * 1e-6
                m = med[t]

                def ratio(pel_tool, key):
                    return med[pel_tool][key] / m[key]

                row = {"summary": t, "distribution": dist, "ranks": ranks, "computing_ranks": workers,
                       "median_makespan_s": m["makespan_s"], "median_wall_s": m["wall_s"],
                       "median_launch_s": m["launch_s"], "lower_bound_s": lb, "makespan_over_lb": m["makespan_s"] / lb}
                for pt in pel_tools:
                    row[f"{pt}_over_tool_makespan"] = ratio(pt, "makespan_s")
                    row[f"{pt}_over_tool_launch"] = ratio(pt, "launch_s")
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\n{args.items} items, mean {args.mean_us:g} us, mode sleep, seed {args.seed}, median of {args.reps}; "
          f"pool-cK = chunksize {args.pool_chunksize}; {time.monotonic() - started:.0f} s in all; "
          f"{version} built {built}")
    width = 9 * len(pel_tools)
    print(f"{'':66} {'pel/tool makespan':^{width}} {'pel/tool launch':^{width}}")
    names = "".join(f"{pt.removeprefix('pel-'):>9}" for pt in pel_tools)
    print(f"{'workload':>8} {'P':>3} {'tool':>11} {'comp':>4} {'makespan':>8} {'LB':>6} {'/LB':>5} {'wall':>6} "
          f"{'launch':>6} {names} {names}")
    for r in rows:
        make = "".join(f"{r[f'{pt}_over_tool_makespan']:9.2f}" for pt in pel_tools)
        launch = "".join(f"{r[f'{pt}_over_tool_launch']:9.2f}" for pt in pel_tools)
        print(f"{r['distribution']:>8} {r['ranks']:>3} {r['summary']:>11} {r['computing_ranks']:>4} "
              f"{r['median_makespan_s']:8.3f} {r['lower_bound_s']:6.3f} {r['makespan_over_lb']:5.2f} "
              f"{r['median_wall_s']:6.3f} {r['median_launch_s']:6.3f} {make} {launch}")
    print("seconds; comp = ranks that compute; LB = max(total cost / comp, largest cost); wall = pel wall_time_s or "
          "peer script_s; launch = mpirun start to exit")


if __name__ == "__main__":
    main()
