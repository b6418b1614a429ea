#!/usr/bin/python3
"""perf/metg/bench.py: METG(50%), the smallest mean item cost at which a run still reaches 50% efficiency.

Task Bench's measure (Slaughter et al., SC20), for pel with its default schedule (the runs record which: awf since
fad9a56), for pel with `--schedule ss --chunk-size 1`, and for mpi4py.futures (MPIPoolExecutor.map, one task per
item), at each of --ranks.
Every item does CPU work in proportion to its drawn cost (synthetic --mode work; for mpi4py the same loop in
pel_metg_work.so, called through ctypes), uniform costs of mean m, m swept over --means.

    efficiency = work_s / (cores_used x makespan)
    work_s     = r x (sum of the items' drawn costs), r = seconds of one idle core per calibrated microsecond,
                 measured by a serial run of the same work in one process: for pel, pel at 1 rank
                 (--mean-us 1000: busy_s / total cost); for mpi4py, pel_metg_work_all timed in this process
    cores_used = min(ranks, cores)   (16 ranks on 2 cores can use at most 2 cores)
    makespan   = pel: /stats makespan_s (the phase, without start-up, setup and the HDF5 write; wall_time_s gives
                 a second efficiency); mpi4py: the time of executor.map, after the pool is up and initialised

mpi4py's "ranks" are its workers: its master rank only schedules, so mpirun starts ranks + 1 processes.
The number of items per point is sized from a pilot run at the smallest mean so that each run lasts about
--target-s. The machine is shared: a run during which other processes used more than --max-foreign of the cores
(from /proc/stat, less this script's and its children's CPU time) is repeated after a pause, up to --retries times.
METG is the log-linear interpolation of m where the median efficiency first falls below 0.5, coming down from the
largest m ("<m" when it never does on the grid). Each rep also measures, beside the serial reference, synthetic's
per-item cost without work (1 rank, --mean-us 0) and the machine's own ceiling (the serial run as `cores` processes
side by side). Prints one JSON line per run, then tables, and where pel's time goes, from its /stats.

Reproduce (from the repository root; about 8 minutes on 2 cores):
    cmake -S . -B build-metg -DCMAKE_BUILD_TYPE=Release
    cmake --build build-metg -j2 --target pel pel_job_synthetic pel_metg_work
    /usr/bin/python3 perf/metg/bench.py --build build-metg --reps 3
Options: [--ranks 2 16] [--means 0.01 0.02 ... 5000] [--tools pel pel-ss1 mpi4py pel-gss] [--target-s 0.5]
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pelperf import cpu_seconds  # noqa: E402  (perf/pelperf.py)

HERE = os.path.dirname(os.path.abspath(__file__))
PEL_TOOLS = {"pel": [], "pel-ss1": ["--schedule", "ss", "--chunk-size", "1"], "pel-gss": ["--schedule", "gss"]}
TOOLS = ["pel", "pel-ss1", "mpi4py"]
MEANS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
TIMEOUT_S = 300


def quietly(args, what, fn):
    """Runs fn(); repeats it (after a pause) while other processes took more than --max-foreign of the cores.
    Returns fn's result and the foreign share of the last attempt."""
    for attempt in range(args.retries + 1):
        busy0, mine0 = cpu_seconds()
        t0 = time.perf_counter()
        result = fn()
        busy1, mine1 = cpu_seconds()
        elapsed = time.perf_counter() - t0
        foreign = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / (elapsed * args.cores)
        if foreign <= args.max_foreign:
            break
        print(json.dumps({"noisy": what, "attempt": attempt, "foreign_cpu_share": foreign}), flush=True)
        time.sleep(args.pause_s)
    return result, foreign


def mpirun(procs):
    return ["mpirun", "-np", str(procs)] + (["--oversubscribe"] if procs > os.cpu_count() else [])


class Runner:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.pel = os.path.join(args.build, "bin", "pel")
        self.lib = os.path.join(args.build, "perf", "metg", "pel_metg_work.so")
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMP_NUM_THREADS="1")
        self.unit_costs = np.zeros(0)

    def pel_run(self, ranks, items, mean_us, extra=()):
        """Runs synthetic --mode work; returns the results file's attributes and /stats."""
        out = os.path.join(self.tmp, "pel.h5")
        subprocess.run([*mpirun(ranks), self.pel, "run", "synthetic", "--threads", "1", "--mode", "work",
                        "--distribution", "uniform", "--items", str(items), "--mean-us", repr(mean_us),
                        "--output", out, *extra], check=True, capture_output=True, env=self.env, timeout=TIMEOUT_S)
        with h5py.File(out, "r") as f:
            stats = f["stats"]
            return {"makespan_s": float(stats.attrs["makespan_s"]), "wall_time_s": float(f.attrs["wall_time_s"]),
                    "total_cost_us": float(f.attrs["total_cost_us"]), "busy_s": stats["busy_s"][...].tolist(),
                    "wait_s": stats["wait_s"][...].tolist(), "serve_s": float(stats["serve_s"][0]),
                    "requests": int(stats["requests"][0]), "chunks": stats["chunks"][...].tolist(),
                    "rank_items": stats["items"][...].tolist(), "schedule": f.attrs["schedule"]}

    def costs(self, items, mean_us):
        """The first `items` items' costs at mean `mean_us`, as synthetic draws them (2 m u_i, uniform)."""
        if len(self.unit_costs) < items:
            # At --mean-us 0.5 synthetic's cost is 2 x 0.5 x u_i = u_i exactly, so 2 m u_i below is bit for bit
            # the cost it draws at mean m: the peer gets the same items.
            out = os.path.join(self.tmp, "unit.h5")
            subprocess.run([*mpirun(1), self.pel, "run", "synthetic", "--mode", "work", "--items", str(items),
                            "--mean-us", "0.5", "--output", out], check=True, capture_output=True, env=self.env,
                           timeout=TIMEOUT_S)
            with h5py.File(out, "r") as f:
                self.unit_costs = f["cost_us"][...]
        return 2.0 * mean_us * self.unit_costs[:items]

    def mpi4py_run(self, workers, items, mean_us):
        costs = self.costs(items, mean_us)
        path = os.path.join(self.tmp, "costs.npy")
        np.save(path, costs)
        res = subprocess.run([*mpirun(workers + 1), sys.executable, "-m", "mpi4py.futures",
                              os.path.join(HERE, "mpi4py_pool.py"), "--lib", self.lib, "--costs", path], check=True,
                             capture_output=True, text=True, env=self.env, timeout=TIMEOUT_S)
        out = json.loads(res.stdout.strip().splitlines()[-1])
        return {"makespan_s": out["seconds"], "total_cost_us": float(costs.sum())}

    def run(self, tool, ranks, items, mean_us):
        if tool == "mpi4py":
            return self.mpi4py_run(ranks, items, mean_us)
        return self.pel_run(ranks, items, mean_us, PEL_TOOLS[tool])

    def reference(self):
        """Seconds of one idle core per calibrated microsecond, for each tool's work (pel's and the library's)."""
        pel = self.pel_run(1, self.args.ref_items, 1000.0)
        r_pel = pel["busy_s"][0] / (pel["total_cost_us"] * 1e-6)
        dll = ctypes.CDLL(self.lib)
        dll.pel_metg_calibrate.restype = ctypes.c_double
        dll.pel_metg_work_all.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_uint64]
        dll.pel_metg_calibrate()
        costs = np.ascontiguousarray(self.costs(self.args.ref_items, 1000.0))
        t0 = time.perf_counter()
        dll.pel_metg_work_all(costs.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(costs))
        r_lib = (time.perf_counter() - t0) / (costs.sum() * 1e-6)
        # What synthetic's kernel costs per item besides the work (two Philox draws, two rows, the totals): pel at
        # 1 rank with --mean-us 0. Not work, so it counts against pel; reported to show how much of pel's figure
        # is the job's bookkeeping rather than scheduling.
        empty = self.pel_run(1, 1_000_000, 0.0)
        return {**{tool: r_pel for tool in PEL_TOOLS}, "mpi4py": r_lib, "pel_item_overhead_us": empty["makespan_s"],
                "ceiling": self.ceiling(r_pel)}

    def ceiling(self, r_pel):
        """The efficiency of no scheduler at all: the serial reference run as `cores` independent 1-rank processes
        at once, work / (cores x the slowest one's makespan). What is lost here is the machine's (cores slowing
        each other down), not any tool's."""
        procs, outs = [], []
        for k in range(self.args.cores):
            outs.append(os.path.join(self.tmp, f"side{k}.h5"))
            # --bind-to none: each mpirun would otherwise bind its single rank to the same first core.
            command = [*mpirun(1), "--bind-to", "none", self.pel, "run", "synthetic", "--mode", "work", "--items",
                       str(self.args.ref_items), "--mean-us", "1000", "--output", outs[-1]]
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env))
        for p in procs:
            if p.wait(timeout=TIMEOUT_S) != 0:
                raise RuntimeError("a side-by-side serial run failed")
        work_s, slowest = 0.0, 0.0
        for out in outs:
            with h5py.File(out, "r") as f:
                work_s += r_pel * float(f.attrs["total_cost_us"]) * 1e-6
                slowest = max(slowest, float(f["stats"].attrs["makespan_s"]))
        return work_s / (len(outs) * slowest)


def metg(points):
    """(mean, bound): the log-linear interpolation of the mean where efficiency first falls below 0.5, coming down
    from the largest mean, with bound "". When no point falls below 0.5, (smallest mean, "<"): METG is smaller;
    when the largest mean is already below, (largest mean, ">")."""
    points = sorted(points, reverse=True)
    if points[0][1] < 0.5:
        return points[0][0], ">"
    for (m1, e1), (m2, e2) in zip(points, points[1:]):
        if e2 < 0.5:
            return math.exp(math.log(m2) + (0.5 - e2) / (e1 - e2) * (math.log(m1) - math.log(m2))), ""
    return points[-1][0], "<"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build-metg")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ranks", type=int, nargs="+", default=[2, 16])
    ap.add_argument("--means", type=float, nargs="+", default=MEANS, help="mean item costs in microseconds")
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=[*PEL_TOOLS, "mpi4py"])
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--target-s", type=float, default=0.5, help="about how long each run should last")
    ap.add_argument("--min-items", type=int, default=500)
    ap.add_argument("--max-items", type=int, default=4_000_000)
    ap.add_argument("--ref-items", type=int, default=500, help="items of the serial reference (mean 1000 us)")
    ap.add_argument("--max-foreign", type=float, default=0.05, help="share of the cores others may take in a run")
    ap.add_argument("--retries", type=int, default=6)
    ap.add_argument("--pause-s", type=float, default=20)
    args = ap.parse_args()
    means = sorted(args.means)
    combos = [(tool, ranks) for ranks in args.ranks for tool in args.tools]
    effs = {(t, r, m): [] for t, r in combos for m in means}
    wall_effs = {(t, r, m): [] for t, r in combos for m in means}
    diag = {(t, r, m): [] for t, r in combos for m in means}

    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(args, tmp)
        ref, _ = quietly(args, "reference", runner.reference)
        refs = [ref]
        print(json.dumps({"reference_s_per_us": ref}), flush=True)
        # Pilot: the time per item at the smallest mean, where overhead dominates, sizes every point's run.
        per_item = {}
        for tool, ranks in combos:
            pilot_items = 2000 if tool == "mpi4py" else 100_000
            res, _ = quietly(args, "pilot", lambda: runner.run(tool, ranks, pilot_items, means[0]))
            per_item[(tool, ranks)] = res["makespan_s"] / pilot_items
            print(json.dumps({"pilot": tool, "ranks": ranks, "mean_us": means[0], "items": pilot_items,
                              "makespan_s": res["makespan_s"]}), flush=True)
        items = {}
        for tool, ranks in combos:
            cores = min(ranks, args.cores)
            for m in means:
                t = max(per_item[(tool, ranks)], m * 1e-6 * ref[tool] / cores)
                items[(tool, ranks, m)] = int(min(max(args.target_s / t, args.min_items), args.max_items))

        for rep in range(args.reps):
            if rep > 0:
                ref, _ = quietly(args, "reference", runner.reference)
                refs.append(ref)
                print(json.dumps({"rep": rep, "reference_s_per_us": ref}), flush=True)
            for m in means:
                for tool, ranks in combos:
                    n = items[(tool, ranks, m)]
                    res, foreign = quietly(args, f"{tool}@{ranks} {m}", lambda: runner.run(tool, ranks, n, m))
                    cores = min(ranks, args.cores)
                    work_s = ref[tool] * res["total_cost_us"] * 1e-6
                    eff = work_s / (cores * res["makespan_s"])
                    effs[(tool, ranks, m)].append(eff)
                    line = {"rep": rep, "tool": tool, "ranks": ranks, "mean_us": m, "items": n, "work_s": work_s,
                            "cores_used": cores, "efficiency": eff, "foreign_cpu_share": foreign, **res}
                    if "wall_time_s" in res:
                        line["efficiency_wall"] = work_s / (cores * res["wall_time_s"])
                        wall_effs[(tool, ranks, m)].append(line["efficiency_wall"])
                        diag[(tool, ranks, m)].append(res)
                    print(json.dumps(line), flush=True)

    med = {k: statistics.median(v) for k, v in effs.items()}
    ref_med = {k: statistics.median(r[k] for r in refs) for k in refs[0]}
    print(f"\nserial reference (median of {len(refs)}): s per calibrated us: pel {ref_med['pel']:.3f}, "
          f"pel_metg_work.so {ref_med['mpi4py']:.3f}; synthetic's kernel without work (1 rank, --mean-us 0): "
          f"{ref_med['pel_item_overhead_us'] * 1e3:.0f} ns per item; {args.cores} serial runs side by side: "
          f"efficiency {ref_med['ceiling']:.3f}")

    print(f"\nefficiency (median of {args.reps}; work / (min(ranks, {args.cores}) x makespan)), uniform costs")
    header = "".join(f"{f'{t}@{r}':>14}" for t, r in combos)
    print(f"{'mean us':>8}{header}")
    for m in means:
        print(f"{m:8g}" + "".join(f"{med[(t, r, m)]:14.3f}" for t, r in combos))

    print("\nMETG(50%): the mean item cost (us) where efficiency crosses 0.5. Task Bench quotes the granularity there,"
          "\ncores x makespan / items = mean / efficiency = 2 x the mean (its plain MPI: 0.39 us)")
    schedules = sorted({r["schedule"] for runs in diag.values() for r in runs})
    print(f"(pel's schedules: {', '.join(schedules)}; 'pel' is the default)")
    print(f"{'tool':>8} {'ranks':>5} {'METG us':>9} {'granularity':>12} {'METG us (wall)':>15}")
    for tool, ranks in combos:
        value, bound = metg([(m, med[(tool, ranks, m)]) for m in means])
        wall, wall_bound = None, ""
        if tool in PEL_TOOLS:
            wall, wall_bound = metg([(m, statistics.median(wall_effs[(tool, ranks, m)])) for m in means])
        wall_text = "n/a" if wall is None else f"{wall_bound}{wall:.3g}"
        print(f"{tool:>8} {ranks:5d} {f'{bound}{value:.3g}':>9} {f'{bound}{2 * value:.3g}':>12} {wall_text:>15}")
        print(json.dumps({"summary": tool, "ranks": ranks, "metg_us": value, "bound": bound, "metg_wall_us": wall,
                          "wall_bound": wall_bound, "efficiency": {str(m): med[(tool, ranks, m)] for m in means}}))

    print("\nwhere pel's time goes (medians): rank 0's share of the items; rank 0's kernel time per item over the"
          "\nworkers'; a worker's wait per chunk it got; messages rank 0 answered per worker chunk; rank 0's time per"
          " answer")
    for tool, ranks in combos:
        if tool not in PEL_TOOLS:
            continue
        for m in [m for m in means if m in (1, 10, 100, 1000)]:
            runs = diag[(tool, ranks, m)]

            def median(f):
                return statistics.median(f(r) for r in runs)

            share0 = median(lambda r: r["rank_items"][0] / sum(r["rank_items"]))
            slow0 = median(lambda r: (r["busy_s"][0] / max(r["rank_items"][0], 1)) /
                           (sum(r["busy_s"][1:]) / max(sum(r["rank_items"][1:]), 1)))
            wait = median(lambda r: 1e6 * sum(r["wait_s"][1:]) / max(sum(r["chunks"][1:]), 1))
            per_chunk = median(lambda r: r["requests"] / max(sum(r["chunks"][1:]), 1))
            serve = median(lambda r: 1e6 * r["serve_s"] / max(r["requests"], 1))
            print(f"{tool:>8}@{ranks:<3} mean {m:>5g} us: rank 0 {100 * share0:4.1f}% of items, its kernel "
                  f"x{slow0:.2f}; worker wait {wait:8.1f} us/chunk; {per_chunk:.2f} messages/chunk; "
                  f"{serve:.2f} us/answer")


if __name__ == "__main__":
    main()
