#!/usr/bin/python3
"""tests/corpus/damage_stats.py FILE HOW: damages the /stats of pel results file FILE in one way (for the corpus's
`pel report --plots` cases): short-column, missing-column, two-dimensions, strings, log-dataset, rank-out-of-range,
nan-times, end-before-begin, threads-string, dropped-string, busy-group."""
import sys

import h5py
import numpy as np


def replace(f, path, data):
    del f[path]
    f[path] = data


def main(path, how):
    with h5py.File(path, "r+") as f:
        log = "stats/chunk_log"
        n = f[log + "/rank"].shape[0]
        damage = {
            "short-column": lambda: replace(f, log + "/stop_s", np.zeros(1)),
            "missing-column": lambda: f.__delitem__(log + "/rank"),
            "two-dimensions": lambda: replace(f, log + "/end", np.zeros((n, 2), np.uint64)),
            "strings": lambda: replace(f, log + "/begin", np.array([b"a"] * n)),
            "log-dataset": lambda: (f.__delitem__(log), f.create_dataset(log, data=np.zeros(3))),
            "rank-out-of-range": lambda: replace(f, log + "/rank", np.full(n, 99, np.int32)),
            "nan-times": lambda: replace(f, log + "/start_s", np.full(n, np.nan)),
            "end-before-begin": lambda: replace(f, log + "/end", np.zeros(n, np.uint64)),
            "threads-string": lambda: f.attrs.__setitem__("threads", "many"),
            "dropped-string": lambda: f[log].attrs.__setitem__("dropped", "lots"),
            "busy-group": lambda: (f.__delitem__("stats/busy_s"), f.create_group("stats/busy_s")),
        }
        damage[how]()


if __name__ == "__main__":
    main(*sys.argv[1:])
