#!/usr/bin/python3
"""perf/mandelbrot/bench.py: mandelbrot under pel at 1x1, 2x1 and 1x2 (ranks x threads) against the same image
computed serially with no pel at all, interleaved in one run so that machine noise hits every variant alike.

Prints one JSON line per run, then a table of medians with speedup and efficiency:
    efficiency = serial seconds / (pel seconds x ranks x threads)
pel's time is the wall_time_s it records in its results file (setup, compute and parallel HDF5 write); the serial
time likewise covers compute and writing the image. "2 serial" runs two serial programs at once, one per core: its
efficiency is what this machine allows two cores (shared caches, memory bandwidth, a virtual machine's host).

Usage: /usr/bin/python3 perf/mandelbrot/bench.py [--build build] [--reps 5] [--width 2400] [--height 1800]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import h5py
import numpy as np

LAYOUTS = [(1, 1), (2, 1), (1, 2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--max-iterations", type=int, default=1000)
    ap.add_argument("--schedule", default="gss")
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    pel = os.path.join(args.build, "bin", "pel")
    serial = os.path.join(args.build, "bin", "pel_bench_mandelbrot_serial")
    times = {"serial": []}
    times.update({f"{r}x{t}": [] for r, t in LAYOUTS})
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "serial.h5")
        for rep in range(args.reps):
            out = subprocess.run([serial, str(args.width), str(args.height), str(args.max_iterations), ref],
                                 check=True, capture_output=True, text=True, env=env).stdout
            times["serial"].append(json.loads(out)["seconds"])
            print(json.dumps({"rep": rep, "variant": "serial", "seconds": times["serial"][-1]}), flush=True)
            # The machine's own ceiling: two serial programs at once, one per core (shared caches, memory, host).
            procs = [subprocess.Popen(["taskset", "-c", str(c), serial, str(args.width), str(args.height),
                                       str(args.max_iterations), os.path.join(tmp, f"pair{c}.h5")],
                                      stdout=subprocess.PIPE, text=True, env=env) for c in (0, 1)]
            pair = max(json.loads(p.communicate()[0])["seconds"] for p in procs)
            times.setdefault("serial-pair", []).append(pair)
            print(json.dumps({"rep": rep, "variant": "serial-pair", "seconds": pair}), flush=True)
            for ranks, threads in LAYOUTS:
                path = os.path.join(tmp, f"pel-{ranks}x{threads}.h5")
                # mpirun binds each rank to one core unless told to give it one core per thread.
                subprocess.run(["mpirun", "-np", str(ranks), "--map-by", f"slot:PE={threads}", pel, "run", "mandelbrot", "--width", str(args.width),
                                "--height", str(args.height), "--max-iterations", str(args.max_iterations),
                                "--threads", str(threads), "--schedule", args.schedule, "--output", path],
                               check=True, capture_output=True, env=env)
                with h5py.File(path, "r") as f, h5py.File(ref, "r") as g:
                    seconds = float(f.attrs["wall_time_s"])
                    if not np.array_equal(f["iterations"][...], g["iterations"][...]):
                        sys.exit(f"pel {ranks}x{threads} computed a different image from the serial program")
                times[f"{ranks}x{threads}"].append(seconds)
                print(json.dumps({"rep": rep, "variant": f"{ranks}x{threads}", "seconds": seconds}), flush=True)
    base = statistics.median(times["serial"])
    print(f"\nmandelbrot {args.width}x{args.height}, max {args.max_iterations} iterations, schedule {args.schedule}, "
          f"median of {args.reps}")
    print(f"{'variant':>8} {'median s':>9} {'speedup':>8} {'efficiency':>10}")
    print(f"{'serial':>8} {base:9.3f} {1.0:8.2f} {1.0:10.2f}")
    pair = statistics.median(times["serial-pair"])
    print(f"{'2 serial':>8} {pair:9.3f} {2 * base / pair:8.2f} {base / pair:10.2f}   <- two serial programs at once: "
          "this machine's ceiling on 2 cores")
    for ranks, threads in LAYOUTS:
        med = statistics.median(times[f"{ranks}x{threads}"])
        cores = ranks * threads
        print(f"{f'{ranks}x{threads}':>8} {med:9.3f} {base / med:8.2f} {base / (med * cores):10.2f}")
        print(json.dumps({"summary": f"{ranks}x{threads}", "median_s": med, "serial_median_s": base,
                          "efficiency": base / (med * cores)}))


if __name__ == "__main__":
    main()
