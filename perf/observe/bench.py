#!/usr/bin/python3
"""perf/observe/bench.py: what watching a run costs. mandelbrot on 2 ranks with the trace written (--trace) and
progress printed every second (--progress log --progress-every 1), against the same run with nothing recorded
(--trace-events 0 --progress off). Interleaved pairs, so machine noise hits both alike; medians of each and of the
per-pair ratios, for pel's makespan (/stats makespan_s: the phases) and its wall time (wall_time_s: everything,
the trace file's writing included).

Goal (issue 7): at most 2% slower with everything on.

Usage: /usr/bin/python3 perf/observe/bench.py [--build build] [--reps 7] [--ranks 2] [--threads 1]
           [--schedule awf] [--chunk-size 1] [--width 2400] [--height 1800]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import h5py

VARIANTS = {
    "off": ["--trace-events", "0", "--progress", "off"],
    "on": ["--progress", "log", "--progress-every", "1"],  # plus --trace FILE, added below
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--max-iterations", type=int, default=1000)
    ap.add_argument("--schedule", default="awf")
    ap.add_argument("--chunk-size", default="1")
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    pel = os.path.join(args.build, "bin", "pel")
    got = {v: {"makespan_s": [], "wall_time_s": []} for v in VARIANTS}
    events = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.h5")
        trace = os.path.join(tmp, "m.json")
        for rep in range(args.reps):
            order = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
            for variant in order:
                extra = VARIANTS[variant] + (["--trace", trace] if variant == "on" else [])
                subprocess.run(["mpirun", "-np", str(args.ranks), pel, "run", "mandelbrot", "--width",
                                str(args.width), "--height", str(args.height), "--max-iterations",
                                str(args.max_iterations), "--threads", str(args.threads), "--schedule",
                                args.schedule, "--chunk-size", args.chunk_size, *extra, "--output", out], check=True, capture_output=True, env=env)
                with h5py.File(out, "r") as f:
                    makespan = float(f["stats"].attrs["makespan_s"])
                    wall = float(f.attrs["wall_time_s"])
                got[variant]["makespan_s"].append(makespan)
                got[variant]["wall_time_s"].append(wall)
                line = {"rep": rep, "variant": variant, "makespan_s": makespan, "wall_time_s": wall}
                if variant == "on":
                    with open(trace) as f:
                        doc = json.load(f)
                    line["trace_events"] = sum(1 for e in doc["traceEvents"] if e["ph"] == "X")
                    line["trace_bytes"] = os.path.getsize(trace)
                    events.append(line["trace_events"])
                print(json.dumps(line), flush=True)
    print(f"\nmandelbrot {args.width}x{args.height}, {args.ranks} ranks x {args.threads} threads, schedule "
          f"{args.schedule} (chunk size {args.chunk_size}); medians of {args.reps} interleaved pairs; trace of {statistics.median(events):.0f} "
          f"batch events")
    print(f"{'measure':>12} {'off s':>8} {'on s':>8} {'on/off':>7} {'median pair ratio':>18}")
    for measure in ("makespan_s", "wall_time_s"):
        off, on = got["off"][measure], got["on"][measure]
        pairs = [b / a for a, b in zip(off, on)]
        print(f"{measure:>12} {statistics.median(off):8.3f} {statistics.median(on):8.3f} "
              f"{statistics.median(on) / statistics.median(off):7.3f} {statistics.median(pairs):18.3f}")


if __name__ == "__main__":
    main()
