#!/usr/bin/python3
"""perf/grant_rate/bench.py: how much a chunk grant costs, next to an MPI round trip measured in the same run.

A job of empty items (synthetic, --mean-us 0) with one item per chunk (--schedule ss --chunk-size 1) on 2 ranks:
rank 1 does nothing but ask rank 0 for chunks, so its time per chunk is the cost of one grant as a worker sees it.
Beside it, a plain MPI ping-pong of a message of a grant's size between the same two ranks. Over shared memory
and over TCP (--mca btl self,tcp, a stand-in for a network). Interleaved repetitions; medians.

With several --build directories, each build's pel runs in turn within every repetition (interleaved, in an order rotated
at each repetition, so that they share the machine's noise); the ping-pong is the first build's.

Usage: /usr/bin/python3 perf/grant_rate/bench.py [--build build [OTHER ...]] [--reps 5] [--items 200000]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import h5py

TRANSPORTS = {"shm": [], "tcp": ["--mca", "btl", "self,tcp"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", nargs="+", default=["build"], help="build directories, compared side by side")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--items", type=int, default=200000)
    ap.add_argument("--prefetch", nargs="+", default=["0", "1", "4", "auto"])
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    builds = args.build
    pingpong = os.path.join(builds[0], "bin", "pel_bench_pingpong")
    rtt = {t: [] for t in TRANSPORTS}
    grant = {(b, t, k): [] for b in builds for t in TRANSPORTS for k in args.prefetch}
    serve = {(b, t, k): [] for b in builds for t in TRANSPORTS for k in args.prefetch}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "g.h5")
        for rep in range(args.reps):
            for transport, mca in TRANSPORTS.items():
                res = subprocess.run(["mpirun", *mca, "-np", "2", pingpong], check=True, capture_output=True,
                                     text=True, env=env)
                rtt[transport].append(json.loads(res.stdout)["round_trip_us"])
                print(json.dumps({"rep": rep, "transport": transport, "round_trip_us": rtt[transport][-1]}),
                      flush=True)
                for k in args.prefetch:
                    for build in builds[rep % len(builds):] + builds[:rep % len(builds)]:  # rotated per rep
                        pel = os.path.join(build, "bin", "pel")
                        subprocess.run(["mpirun", *mca, "-np", "2", pel, "run", "synthetic", "--items",
                                        str(args.items), "--mean-us", "0", "--schedule", "ss", "--chunk-size", "1",
                                        "--prefetch", k, "--output", out], check=True, capture_output=True, env=env)
                        with h5py.File(out, "r") as f:
                            makespan = float(f["stats"].attrs["makespan_s"])
                            worker_chunks = int(f["stats/chunks"][1])
                            served = int(f["stats/requests"][0])
                            serve_s = float(f["stats/serve_s"][0])
                        us = makespan / worker_chunks * 1e6
                        grant[(build, transport, k)].append(us)
                        serve[(build, transport, k)].append(serve_s / served * 1e6)
                        print(json.dumps({"build": build, "rep": rep, "transport": transport, "prefetch": k,
                                          "makespan_s": makespan, "worker_chunks": worker_chunks,
                                          "rank0_requests": served, "us_per_grant": us,
                                          "rank0_us_per_answer": serve_s / served * 1e6}), flush=True)
    print(f"\nempty items, ss chunk 1, 2 ranks, {args.items} items; medians of {args.reps}")
    print("worker: a worker's time per chunk; rank 0: rank 0's time per answered message (receive, decide, send)")
    for build in builds:
        if len(builds) > 1:
            print(f"\nbuild {build}")
        print(f"{'transport':>9} {'round trip us':>14} " +
              " ".join(f"{'worker k=' + k:>11} {'ratio':>5} {'rank 0':>7} {'ratio':>5}" for k in args.prefetch))
        for t in TRANSPORTS:
            r = statistics.median(rtt[t])
            cells = []
            for k in args.prefetch:
                g = statistics.median(grant[(build, t, k)])
                a = statistics.median(serve[(build, t, k)])
                cells.append(f"{g:11.2f} {g / r:5.2f} {a:7.2f} {a / r:5.2f}")
            print(f"{t:>9} {r:14.2f} " + " ".join(cells))
    for build in builds[1:]:
        print(f"\n{build} over {builds[0]} (medians; below 1: {build} is faster)")
        print(f"{'transport':>9} " + " ".join(f"{'worker k=' + k:>11} {'rank 0':>7}" for k in args.prefetch))
        for t in TRANSPORTS:
            cells = []
            for k in args.prefetch:
                g = statistics.median(grant[(build, t, k)]) / statistics.median(grant[(builds[0], t, k)])
                a = statistics.median(serve[(build, t, k)]) / statistics.median(serve[(builds[0], t, k)])
                cells.append(f"{g:11.3f} {a:7.3f}")
            print(f"{t:>9} " + " ".join(cells))


if __name__ == "__main__":
    main()
