#!/usr/bin/python3
"""Write gaussian-blob points for the kmeans job: dataset /points, [N, D] float64, in a new HDF5 file.

Usage:
    /usr/bin/python3 scripts/make_kmeans_points.py OUTPUT [--points N] [--dims D] [--clusters C] [--seed S]

    /usr/bin/python3 scripts/make_kmeans_points.py data/kmeans_points.h5 --points 200000 --dims 2 --clusters 8
    pel run kmeans --input data/kmeans_points.h5 --k 8

Blob centres are uniform in [-50, 50]^D and points are normal around them with standard deviation 1, the same
shape as `pel run kmeans --generate N` writes (but drawn with numpy, so not the same numbers). This script is the
alternative to --generate for making inputs outside a run; it needs h5py and numpy.
"""

import argparse
import os
import sys

import h5py
import numpy as np


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="HDF5 file to write (replaced if it exists)")
    parser.add_argument("--points", type=positive, default=200000, help="number of points N (default 200000)")
    parser.add_argument("--dims", type=positive, default=2, help="dimensions D (default 2)")
    parser.add_argument("--clusters", type=positive, default=8, help="number of blobs C (default 8)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    centres = rng.uniform(-50.0, 50.0, size=(args.clusters, args.dims))
    blob = rng.integers(0, args.clusters, size=args.points)
    points = centres[blob] + rng.standard_normal(size=(args.points, args.dims))

    parent = os.path.dirname(args.output)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = args.output + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.create_dataset("points", data=points.astype(np.float64))
    os.replace(tmp, args.output)
    print(f"wrote {args.points} points in {args.dims} dims around {args.clusters} blobs to {args.output}:/points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
