#!/usr/bin/python3
"""perf/metg/mpi4py_pool.py: the mpi4py.futures side of the METG benchmark (bench.py runs it).

Maps one task per item over an MPIPoolExecutor; each task calls pel_metg_work(cost_us) in pel_metg_work.so
through ctypes: the same calibrated CPU work as synthetic's --mode work, so that the run measures mpi4py's
scheduling and not Python's arithmetic. Each worker loads the library and calibrates once, in the pool's
initializer, before the clock starts. Prints one JSON line: {"seconds": time of executor.map, "items", "workers"}.

Usage: mpirun -np W+1 /usr/bin/python3 -m mpi4py.futures perf/metg/mpi4py_pool.py --lib SO --costs COSTS.npy
(rank 0 runs this script and the map; ranks 1..W are the workers.)
"""
import argparse
import ctypes
import json
import time

_work = None


def init_worker(lib):
    """Loads the work library and calibrates it, once per worker process."""
    global _work
    dll = ctypes.CDLL(lib)
    dll.pel_metg_calibrate.restype = ctypes.c_double
    dll.pel_metg_work.argtypes = [ctypes.c_double]
    dll.pel_metg_work.restype = None
    dll.pel_metg_calibrate()
    _work = dll.pel_metg_work


def item(cost_us):
    """One item: cost_us microseconds of calibrated CPU work."""
    _work(cost_us)


def main():
    import numpy as np
    from mpi4py import MPI
    from mpi4py.futures import MPIPoolExecutor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="path of pel_metg_work.so")
    ap.add_argument("--costs", required=True, help=".npy file of the items' costs in microseconds")
    ap.add_argument("--chunksize", type=int, default=1, help="executor.map's chunksize (its default: 1)")
    args = ap.parse_args()
    costs = np.load(args.costs).tolist()
    with MPIPoolExecutor(initializer=init_worker, initargs=(args.lib,)) as executor:
        executor.bootup(wait=True)  # workers connected and initialised: start-up is not timed
        t0 = time.perf_counter()
        for _ in executor.map(item, costs, chunksize=args.chunksize):
            pass
        seconds = time.perf_counter() - t0
    workers = MPI.COMM_WORLD.Get_size() - 1
    print(json.dumps({"seconds": seconds, "items": len(costs), "workers": workers}), flush=True)


if __name__ == "__main__":
    main()
