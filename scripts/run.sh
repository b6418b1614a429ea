#!/usr/bin/env bash
# scripts/run.sh [pel run arguments]: install what is missing, build, and run a job on 2 ranks.
# With no arguments it runs the default job, mandelbrot, from configs/mandelbrot.toml.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PEL_ROOT"
if [ $# -eq 0 ]; then set -- --config configs/mandelbrot.toml; fi
exec mpirun -np "${PEL_RANKS:-2}" "$PEL_BUILD/bin/pel" run "$@"
