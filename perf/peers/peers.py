#!/usr/bin/python3
"""perf/peers/peers.py: the peers pel is measured against, sleeping exactly the per-item costs of a pel run.

Reads /cost_us (microseconds, one per item) from a `pel run synthetic` results file and sleeps each item's cost,
scheduled one of two ways:

  pool    mpi4py.futures.MPIPoolExecutor, `executor.map(sleep_item, costs, chunksize=C)`. Run it the usual
          mpi4py.futures way, so that the pool's workers are the other ranks of the same mpirun:
              mpirun -np P /usr/bin/python3 -m mpi4py.futures perf/peers/peers.py --mode pool --costs F.h5
          Rank 0 is the pool's master and runs no items: P ranks give P - 1 workers.
  static  a plain static block split: rank r sleeps items [r*N/P, (r+1)*N/P), then a barrier. All P ranks compute.
              mpirun -np P /usr/bin/python3 perf/peers/peers.py --mode static --costs F.h5

Prints one JSON line (from rank 0) with
  makespan_s  from the start of the work (pool booted and costs loaded; for static, after a barrier) to the end of
              the last item (pool: all results back at the master; static: latest end over ranks);
  script_s    from this script's first line to the end of the work: adds reading the costs (and, for the pool,
              booting it). Under `-m mpi4py.futures` MPI_Init has already happened before this script starts; in
              static mode MPI_Init (the import of mpi4py.MPI) is included;
  plus load_s, bootup_s, workers, items done per worker rank, and the costs' total and maximum as a check.
"""
import time

SCRIPT_START = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from mpi4py import MPI  # noqa: E402  (initialises MPI when run without -m mpi4py.futures)


def sleep_item(cost_us):
    """One item: sleep its cost. Returns the worker's rank so the master can count items per worker."""
    if cost_us > 0:
        time.sleep(cost_us * 1e-6)
    return MPI.COMM_WORLD.Get_rank()


def load_costs(path):
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        costs = np.asarray(f["cost_us"][...], dtype=np.float64).reshape(-1)
    return costs


def run_pool(args):
    from mpi4py.futures import MPIPoolExecutor

    t_load = time.monotonic()
    costs = load_costs(args.costs).tolist()  # plain floats: cheaper to pickle than numpy scalars
    t_loaded = time.monotonic()
    with MPIPoolExecutor() as executor:
        executor.bootup(wait=True)
        t_booted = time.monotonic()
        workers = executor._max_workers  # noqa: SLF001 (no public accessor in mpi4py 3.1)
        chunksize = args.chunksize if args.chunksize > 0 else max(1, len(costs) // (4 * max(1, workers)))
        t0 = time.monotonic()
        ranks_of_items = list(executor.map(sleep_item, costs, chunksize=chunksize))
        t1 = time.monotonic()
    per_rank = {}
    for r in ranks_of_items:
        per_rank[r] = per_rank.get(r, 0) + 1
    return {
        "tool": "mpi4py-pool", "mode": "pool", "ranks": MPI.COMM_WORLD.Get_size(), "workers": workers,
        "chunksize": chunksize, "items": len(ranks_of_items), "makespan_s": t1 - t0, "script_s": t1 - SCRIPT_START,
        "load_s": t_loaded - t_load, "bootup_s": t_booted - t_loaded,
        "items_per_worker": [per_rank[r] for r in sorted(per_rank)],
        "total_cost_us": float(sum(costs)), "max_cost_us": float(max(costs)) if costs else 0.0,
    }


def run_static(args):
    import numpy as np

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    t_load = time.monotonic()
    if rank == 0:
        costs = load_costs(args.costs)
        n = np.array([costs.size], dtype=np.int64)
    else:
        n = np.zeros(1, dtype=np.int64)
    comm.Bcast(n, root=0)
    if rank != 0:
        costs = np.empty(int(n[0]), dtype=np.float64)
    comm.Bcast(costs, root=0)
    t_loaded = time.monotonic()
    N = costs.size
    begin, end = rank * N // size, (rank + 1) * N // size
    mine = costs[begin:end].tolist()
    comm.Barrier()
    t0 = time.monotonic()
    for c in mine:
        sleep_item(c)
    t_end = time.monotonic()
    comm.Barrier()
    # CLOCK_MONOTONIC is one clock for every process on the host, so starts and ends compare across ranks.
    starts = comm.gather(t0, root=0)
    ends = comm.gather(t_end, root=0)
    counts = comm.gather(end - begin, root=0)
    if rank != 0:
        return None
    return {
        "tool": "static-mpi", "mode": "static", "ranks": size, "workers": size, "chunksize": None, "items": int(N),
        "makespan_s": max(ends) - min(starts), "script_s": max(ends) - SCRIPT_START,
        "load_s": t_loaded - t_load, "bootup_s": 0.0, "items_per_worker": counts,
        "busy_s_per_rank": [e - s for s, e in zip(starts, ends)],
        "total_cost_us": float(costs.sum()), "max_cost_us": float(costs.max()) if N else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--costs", required=True, help="a `pel run synthetic` results file; its /cost_us is slept")
    ap.add_argument("--mode", required=True, choices=["pool", "static"])
    ap.add_argument("--chunksize", type=int, default=1,
                    help="pool: items per task of executor.map; 0 = N / (4 x workers)")
    args = ap.parse_args()
    result = run_pool(args) if args.mode == "pool" else run_static(args)
    if result is not None:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
