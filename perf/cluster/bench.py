#!/usr/bin/python3
"""perf/cluster/bench.py: the grant benchmark and mandelbrot's efficiency across emulated nodes, beside one node.

Brings up a cluster of its own (scripts/local-cluster.sh up --nodes 2 --no-slurm, its own state directory and
namespace prefix; taken down at the end, also after a failure) and runs, interleaved in every repetition:

- a plain MPI ping-pong of a grant's size between 2 ranks: on node1 over shared memory (btl vader), on node1 over
  TCP (btl tcp, the node's loopback), and between node1 and node2 over TCP (veth pairs and a bridge: the emulated
  network);
- the grant benchmark of perf/grant_rate (synthetic, empty items, ss chunk 1, 2 ranks, --prefetch auto): a worker's
  time per chunk and rank 0's time per answered message, in the same three placements;
- mandelbrot: the serial program on node1, and pel at 2 ranks x 1 thread on node1 (shared memory) and with one rank
  on each node (TCP); efficiency = serial seconds / (pel seconds x 2). The images are compared with the serial one.

The emulated nodes share this machine's 2 cores: across nodes, each rank has a core as on one node, and only the
transport differs. Prints JSON lines, then tables of medians.

Usage: /usr/bin/python3 perf/cluster/bench.py [--build build] [--reps 5] [--items 100000] [--width 2400 --height 1800]
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

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "..", "scripts", "local-cluster.sh")

# placement name -> (mpirun --host, btl)
PLACEMENTS = {
    "1 node, shm": ("node1:2", "self,vader"),
    "1 node, tcp": ("node1:2", "self,tcp"),
    "2 nodes, tcp": ("node1:1,node2:1", "self,tcp"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--max-iterations", type=int, default=1000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    pel = os.path.join(build, "bin", "pel")
    pingpong = os.path.join(build, "bin", "pel_bench_pingpong")
    serial = os.path.join(build, "bin", "pel_bench_mandelbrot_serial")
    for program in (pel, pingpong, serial):
        if not os.access(program, os.X_OK):
            sys.exit(f"perf/cluster/bench.py: {program} is missing: build pel first")

    with tempfile.TemporaryDirectory(prefix="pel-perf-cluster-") as tmp:
        env = dict(os.environ, PEL_CLUSTER_DIR=os.path.join(tmp, "cluster"),
                   PEL_CLUSTER_PREFIX=f"pelb{os.getpid() % 100000}", PEL_CLUSTER_SUBNET="10.215.0")
        shared = os.path.join(env["PEL_CLUSTER_DIR"], "shared")
        up = subprocess.run([CLUSTER, "up", "--nodes", "2", "--slots", "2", "--no-slurm"], env=env,
                            capture_output=True, text=True)
        if up.returncode != 0:
            sys.exit(f"perf/cluster/bench.py: local-cluster.sh up failed ({up.returncode}): {up.stderr.strip()}")
        try:
            results = run_all(args, env, shared, pel, pingpong, serial)
        finally:
            down = subprocess.run([CLUSTER, "down"], env=env, capture_output=True, text=True)
            if down.returncode != 0:
                print(f"local-cluster.sh down failed: {down.stderr.strip()}", file=sys.stderr)
    report(args, *results)


def mpirun(env, hosts, btl, command):
    """mpirun from node1 with the cluster's rsh agent; stdout."""
    cluster_dir = env["PEL_CLUSTER_DIR"]
    argv = [CLUSTER, "exec", "node1", "env", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
            "mpirun", "--host", hosts, "--mca", "plm_rsh_agent", os.path.join(cluster_dir, "bin", "rsh"),
            "--mca", "btl", btl, "--bind-to", "none", "-np", "2", *command]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"perf/cluster/bench.py: {' '.join(command[:3])} on {hosts} ({btl}) failed: {done.stderr[-800:]}")
    return done.stdout


def run_all(args, env, shared, pel, pingpong, serial):
    rtt = {p: [] for p in PLACEMENTS}
    grant = {p: [] for p in PLACEMENTS}
    serve = {p: [] for p in PLACEMENTS}
    mandel = {"serial": [], "1 node, shm": [], "2 nodes, tcp": []}
    ref = os.path.join(shared, "serial.h5")
    for rep in range(args.reps):
        order = list(PLACEMENTS)
        order = order[rep % len(order):] + order[:rep % len(order)]  # rotated per repetition
        for place in order:
            hosts, btl = PLACEMENTS[place]
            rtt[place].append(json.loads(mpirun(env, hosts, btl, [pingpong]))["round_trip_us"])
            out = os.path.join(shared, "grant.h5")
            mpirun(env, hosts, btl, [pel, "run", "synthetic", "--items", str(args.items), "--mean-us", "0",
                                     "--schedule", "ss", "--chunk-size", "1", "--prefetch", "auto",
                                     "--output", out])
            with h5py.File(out, "r") as f:
                makespan = float(f["stats"].attrs["makespan_s"])
                worker_chunks = int(f["stats/chunks"][1])
                served = int(f["stats/requests"][0])
                serve_s = float(f["stats/serve_s"][0])
            grant[place].append(makespan / worker_chunks * 1e6)
            serve[place].append(serve_s / served * 1e6)
            print(json.dumps({"rep": rep, "placement": place, "round_trip_us": rtt[place][-1],
                              "us_per_grant": grant[place][-1], "rank0_us_per_answer": serve[place][-1]}),
                  flush=True)
        done = subprocess.run([CLUSTER, "exec", "node1", serial, str(args.width), str(args.height),
                               str(args.max_iterations), ref], env=env, capture_output=True, text=True, check=True)
        mandel["serial"].append(json.loads(done.stdout)["seconds"])
        print(json.dumps({"rep": rep, "mandelbrot": "serial", "seconds": mandel["serial"][-1]}), flush=True)
        for place in ("1 node, shm", "2 nodes, tcp"):
            hosts, btl = PLACEMENTS[place]
            path = os.path.join(shared, "mandel.h5")
            mpirun(env, hosts, btl, [pel, "run", "mandelbrot", "--width", str(args.width), "--height",
                                     str(args.height), "--max-iterations", str(args.max_iterations),
                                     "--threads", "1", "--schedule", "gss", "--output", path])
            with h5py.File(path, "r") as f, h5py.File(ref, "r") as g:
                seconds = float(f.attrs["wall_time_s"])
                if not np.array_equal(f["iterations"][...], g["iterations"][...]):
                    sys.exit(f"pel on {place} computed a different image from the serial program")
            mandel[place].append(seconds)
            print(json.dumps({"rep": rep, "mandelbrot": place, "seconds": seconds}), flush=True)
    return rtt, grant, serve, mandel


def report(args, rtt, grant, serve, mandel):
    med = statistics.median
    print(f"\ngrants: empty items, ss chunk 1, prefetch auto, 2 ranks, {args.items} items; medians of {args.reps}")
    print(f"{'placement':>13} {'round trip us':>14} {'worker us':>10} {'/ rtt':>6} {'rank 0 us':>10} {'/ rtt':>6}")
    for place in PLACEMENTS:
        r, g, a = med(rtt[place]), med(grant[place]), med(serve[place])
        print(f"{place:>13} {r:14.2f} {g:10.2f} {g / r:6.2f} {a:10.2f} {a / r:6.2f}")
    base = med(mandel["serial"])
    print(f"\nmandelbrot {args.width}x{args.height}, max {args.max_iterations} iterations, gss, 2 ranks x 1 thread; "
          f"medians of {args.reps}")
    print(f"{'variant':>13} {'median s':>9} {'efficiency':>10}")
    print(f"{'serial':>13} {base:9.3f} {1.0:10.2f}")
    for place in ("1 node, shm", "2 nodes, tcp"):
        m = med(mandel[place])
        print(f"{place:>13} {m:9.3f} {base / (2 * m):10.2f}")
    print(json.dumps({"summary": {p: {"round_trip_us": med(rtt[p]), "us_per_grant": med(grant[p]),
                                      "rank0_us_per_answer": med(serve[p])} for p in PLACEMENTS},
                      "mandelbrot_efficiency": {p: base / (2 * med(mandel[p])) for p in ("1 node, shm",
                                                                                          "2 nodes, tcp")}}))


if __name__ == "__main__":
    main()
