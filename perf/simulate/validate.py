#!/usr/bin/python3
"""perf/simulate/validate.py: pel_simulate against the real pel, at a scale this machine can run.

Runs `pel run synthetic --mode sleep` under mpirun (sleeping items let many ranks share 2 cores and still measure
scheduling, not computing) for each schedule and prefetch, --reps times in rotating order, and reads from each
results file the makespan (/stats makespan_s), rank 0's serving time per message (/stats serve_s[0] /
requests[0]), the chunks, and how much longer items took than their drawn cost (sum of /stats/busy_s minus the sum
of /cost_us, per item: the sleep's overshoot). Then runs pel_simulate on the same items (same seed, so the same
costs) with those two measured constants, the given latency, and --oversubscribed (pel's waiting ranks back off
by sleeping when ranks outnumber cores), and prints real against simulated makespan.

Reproduce (from the repository root, after building pel and pel_simulate into build-sim/):
    /usr/bin/python3 perf/simulate/validate.py --pel build-sim/bin/pel --simulate build-sim/bin/pel_simulate
Options: --ranks 16 --items 3200 --mean-us 2000 --distribution pareto --schedules gss,fac2,tss,ss,static,awf
         --prefetch 0,1 --reps 3 --latency-us 0.16 --seed 1 --spreads 0,100,200,500 --real FILE
One JSON line per real run, one per comparison, then the table. The simulated makespan is given with all workers
entering the phase together and as a range over the --spreads (workers entering spread over that long; not
measured by pel): with prefetch, who asks first gets two large chunks, so the result depends on that order.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_pel(a, schedule, prefetch, out):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    cmd = ["mpirun", "--oversubscribe", "-np", str(a.ranks), a.pel, "run", "synthetic", "--items", str(a.items),
           "--mean-us", str(a.mean_us), "--mode", "sleep", "--distribution", a.distribution, "--seed", str(a.seed),
           "--schedule", schedule, "--prefetch", str(prefetch), "--output", out]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit("validate.py: pel failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    printed = re.search(r"pel: makespan ([0-9.eE+-]+) s", p.stdout)
    with h5py.File(out, "r") as f:
        stats = f["stats"]
        busy = np.asarray(stats["busy_s"])
        serve = np.asarray(stats["serve_s"])
        requests = np.asarray(stats["requests"])
        cost_s = float(np.sum(np.asarray(f["cost_us"]))) * 1e-6
        return {
            "schedule": schedule,
            "prefetch": prefetch,
            "makespan_s": float(stats.attrs["makespan_s"]),
            "printed_makespan_s": float(printed.group(1)) if printed else None,
            "lower_bound_s": float(stats.attrs["lower_bound_s"]),
            "chunks": int(np.sum(np.asarray(stats["chunks"]))),
            "messages": int(requests[0]),
            "service_us": float(serve[0]) / max(int(requests[0]), 1) * 1e6,
            "overhead_us": (float(np.sum(busy)) - cost_s) / a.items * 1e6,
        }


def simulate(a, schedule, prefetch, service_us, overhead_us, oversubscribed, spread_us=0.0):
    cmd = [a.simulate, "--json", "--ranks", str(a.ranks), "--items", str(a.items), "--mean-us", str(a.mean_us),
           "--distribution", a.distribution, "--seed", str(a.seed), "--schedule", schedule, "--prefetch",
           str(prefetch), "--latency-us", str(a.latency_us), "--service-us", "%.4f" % service_us,
           "--item-overhead-us", "%.4f" % overhead_us, "--sleep-overshoot-us", str(a.sleep_overshoot_us),
           "--root-server", a.root_server, "--server-core", "own", "--root-start-us", str(a.root_start_us),
           "--start-spread-us", str(spread_us)]
    if oversubscribed:
        cmd.append("--oversubscribed")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pel", default=os.path.join(ROOT, "build-sim", "bin", "pel"))
    ap.add_argument("--simulate", default=os.path.join(ROOT, "build-sim", "bin", "pel_simulate"))
    ap.add_argument("--ranks", type=int, default=16)
    ap.add_argument("--items", type=int, default=3200)
    ap.add_argument("--mean-us", type=float, default=2000)
    ap.add_argument("--distribution", default="pareto")
    ap.add_argument("--schedules", default="gss,fac2,tss,ss,static,awf")
    ap.add_argument("--prefetch", default="0,1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--latency-us", type=float, default=0.16, help="one way: half the measured MPI round trip")
    ap.add_argument("--sleep-overshoot-us", type=float, default=60)
    ap.add_argument("--root-server", default="thread", help="pel_simulate's --root-server (thread: pel since 3259dd1)")
    ap.add_argument("--root-start-us", type=float, default=0)
    ap.add_argument("--spreads", default="0,100,200,500",
                    help="workers' start spreads (us) for the sim range: unmeasured, and prefetch is sensitive to it")
    ap.add_argument("--real", help="take the real runs from this earlier output of validate.py instead of running pel")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    variants = [(s, int(p)) for s in a.schedules.split(",") for p in a.prefetch.split(",")]
    runs = {v: [] for v in variants}
    if a.real:
        with open(a.real) as f:
            for line in f:
                r = json.loads(line) if line.startswith("{") else None
                if r and "rep" in r and (r["schedule"], r["prefetch"]) in runs:
                    runs[(r["schedule"], r["prefetch"])].append(r)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(a.reps):
                k = rep % len(variants)
                for schedule, prefetch in variants[k:] + variants[:k]:
                    r = run_pel(a, schedule, prefetch, os.path.join(tmp, "x.h5"))
                    r["rep"] = rep
                    print(json.dumps(r), flush=True)
                    runs[(schedule, prefetch)].append(r)
    spreads = [float(x) for x in a.spreads.split(",")]

    rows = []
    for (schedule, prefetch), rs in runs.items():
        med = lambda key: statistics.median(r[key] for r in rs)
        service, overhead = med("service_us"), med("overhead_us")
        sim = simulate(a, schedule, prefetch, service, overhead, True)
        plain = simulate(a, schedule, prefetch, service, overhead, False)
        spread = [simulate(a, schedule, prefetch, service, overhead, True, x)["makespan_s"] for x in spreads]
        row = {"schedule": schedule, "prefetch": prefetch, "reps": len(rs), "real_makespan_s": med("makespan_s"),
               "real_min_s": min(r["makespan_s"] for r in rs), "real_max_s": max(r["makespan_s"] for r in rs),
               "sim_makespan_s": sim["makespan_s"], "sim_no_backoff_s": plain["makespan_s"],
               "sim_spread_min_s": min(spread), "sim_spread_max_s": max(spread), "spreads_us": spreads,
               "sim_over_real": sim["makespan_s"] / med("makespan_s"), "real_chunks": med("chunks"),
               "sim_chunks": sim["chunks"], "real_messages": med("messages"), "sim_messages": sim["messages"],
               "service_us": service, "overhead_us": overhead, "sim_lower_bound_s": sim["lower_bound_s"]}
        print(json.dumps(row), flush=True)
        rows.append(row)

    print("\n%d ranks, %d items, %s, mean %g us, sleep; latency %g us; real = median of %d (min-max); sim = workers "
          "start together, sim range = workers' start spread over %s us" %
          (a.ranks, a.items, a.distribution, a.mean_us, a.latency_us, a.reps, a.spreads.replace(",", "/")))
    print("| schedule | prefetch | real makespan s | sim s | sim/real | sim range s | sim s, no backoff "
          "| chunks real / sim | rank-0 messages real / sim | S us | overhead us/item |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %d | %.3f (%.3f-%.3f) | %.3f | %.3f | %.3f-%.3f | %.3f | %d / %d | %d / %d | %.2f | %.1f |" %
              (r["schedule"], r["prefetch"], r["real_makespan_s"], r["real_min_s"], r["real_max_s"],
               r["sim_makespan_s"], r["sim_over_real"], r["sim_spread_min_s"], r["sim_spread_max_s"],
               r["sim_no_backoff_s"], r["real_chunks"], r["sim_chunks"], r["real_messages"], r["sim_messages"],
               r["service_us"], r["overhead_us"]))
    print("lower bound max(sum cost / ranks, max cost), costs + overhead: %.3f s" % rows[0]["sim_lower_bound_s"])


if __name__ == "__main__":
    main()
