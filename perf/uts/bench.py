#!/usr/bin/python3
"""perf/uts/bench.py: the uts job (dynamic items) under pel at 1x1, 2x1, 1x2 and 16x1 (ranks x threads; 16 ranks
oversubscribe a 2-core machine) against the same tree traversed serially with no pel at all, interleaved in one run
so that machine noise hits every variant alike.

Prints one JSON line per run, then a table of medians: nodes per second, per core, and efficiency
    efficiency = serial seconds / (pel seconds x cores used),   cores used = min(ranks x threads, cores)
pel's time is the wall_time_s it records in its results file (set-up, the phase and writing the results); "phase" is
the traversal alone (stats/makespan_s), for the nodes per second of the dynamic items themselves. "2 serial"
runs two serial programs at once, one per core: what this machine allows two cores.

Usage: /usr/bin/python3 perf/uts/bench.py [--build build] [--reps 3] [--tree T1|T3] [--layouts 1x1,2x1,1x2,16x1]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import h5py

# The UTS sample trees: pel's options, the serial program's arguments (-t -a -d -b -r -q -m), published node count.
TREES = {
    "T1": (["--tree-type", "1", "--tree-shape", "3", "--tree-depth", "10", "--root-branching-factor", "4",
            "--root-seed", "19"], ["1", "3", "10", "4", "19", "0.234375", "4"], 4130071),
    "T3": (["--tree-type", "0", "--root-branching-factor", "2000", "--non-leaf-probability", "0.124875",
            "--num-children", "8", "--root-seed", "42"], ["0", "0", "6", "2000", "42", "0.124875", "8"], 4112897),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tree", default="T1", choices=sorted(TREES))
    ap.add_argument("--layouts", default="1x1,2x1,1x2,16x1")
    args = ap.parse_args()
    layouts = [tuple(int(x) for x in l.split("x")) for l in args.layouts.split(",")]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    pel = os.path.join(args.build, "bin", "pel")
    serial = os.path.join(args.build, "bin", "pel_bench_uts_serial")
    pel_args, serial_args, nodes = TREES[args.tree]
    cores = os.cpu_count()
    times = {"serial": [], "serial-pair": []}
    times.update({f"{r}x{t}": [] for r, t in layouts})
    phases = {f"{r}x{t}": [] for r, t in layouts}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            out = json.loads(subprocess.run([serial] + serial_args, check=True, capture_output=True, text=True).stdout)
            if out["nodes"] != nodes:
                sys.exit(f"the serial program counted {out['nodes']} nodes of {args.tree}, not {nodes}")
            times["serial"].append(out["seconds"])
            print(json.dumps({"rep": rep, "variant": "serial", "seconds": out["seconds"]}), flush=True)
            procs = [subprocess.Popen(["taskset", "-c", str(c), serial] + serial_args, stdout=subprocess.PIPE,
                                      text=True) for c in (0, 1)]
            pair = max(json.loads(p.communicate()[0])["seconds"] for p in procs)
            times["serial-pair"].append(pair)
            print(json.dumps({"rep": rep, "variant": "serial-pair", "seconds": pair}), flush=True)
            for ranks, threads in layouts:
                path = os.path.join(tmp, f"pel-{ranks}x{threads}.h5")
                launch = ["mpirun", "-np", str(ranks)]
                # mpirun binds each rank to one core unless told to give it one core per thread, or to oversubscribe.
                launch += ["--oversubscribe", "--bind-to", "none"] if ranks * threads > cores else \
                    ["--map-by", f"slot:PE={threads}"]
                subprocess.run(launch + [pel, "run", "uts"] + pel_args + ["--threads", str(threads), "--output", path],
                               check=True, capture_output=True, env=env)
                with h5py.File(path, "r") as f:
                    seconds = float(f.attrs["wall_time_s"])
                    phase = float(f["stats"].attrs["makespan_s"])
                    if int(f.attrs["nodes"]) != nodes:
                        sys.exit(f"pel {ranks}x{threads} counted {int(f.attrs['nodes'])} nodes, not {nodes}")
                times[f"{ranks}x{threads}"].append(seconds)
                phases[f"{ranks}x{threads}"].append(phase)
                print(json.dumps({"rep": rep, "variant": f"{ranks}x{threads}", "seconds": seconds,
                                  "phase_s": phase}), flush=True)
    base = statistics.median(times["serial"])
    print(f"\nuts {args.tree} ({nodes} nodes), median of {args.reps}, {cores} cores")
    print(f"{'variant':>8} {'median s':>9} {'Mnodes/s':>9} {'per core':>9} {'efficiency':>10} {'phase s':>8} "
          f"{'phase eff':>9}")
    print(f"{'serial':>8} {base:9.3f} {nodes / base / 1e6:9.2f} {nodes / base / 1e6:9.2f} {1.0:10.2f}")
    pair = statistics.median(times["serial-pair"])
    print(f"{'2 serial':>8} {pair:9.3f} {2 * nodes / pair / 1e6:9.2f} {nodes / pair / 1e6:9.2f} {base / pair:10.2f}"
          "   <- two serial programs at once: this machine's ceiling on 2 cores")
    for ranks, threads in layouts:
        med = statistics.median(times[f"{ranks}x{threads}"])
        phase = statistics.median(phases[f"{ranks}x{threads}"])
        used = min(ranks * threads, cores)
        print(f"{f'{ranks}x{threads}':>8} {med:9.3f} {nodes / med / 1e6:9.2f} {nodes / med / used / 1e6:9.2f} "
              f"{base / (med * used):10.2f} {phase:8.3f} {base / (phase * used):9.2f}")
        print(json.dumps({"summary": f"{ranks}x{threads}", "tree": args.tree, "median_s": med, "serial_median_s": base,
                          "nodes_per_s_per_core": nodes / med / used, "efficiency": base / (med * used),
                          "phase_median_s": phase, "phase_efficiency": base / (phase * used)}))


if __name__ == "__main__":
    main()
