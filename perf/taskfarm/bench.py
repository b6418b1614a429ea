#!/usr/bin/python3
"""perf/taskfarm/bench.py: pel's task farm against GNU parallel and a static split, on one node.

The same task file goes, side by side in each repetition, to
    pel       mpirun -np SLOTS pel run taskfarm --tasks FILE (one thread per rank)
    parallel  parallel -j SLOTS < FILE (Debian's GNU parallel; a line is a command)
    static    SLOTS shells, task i to shell i mod SLOTS, each running its tasks in order with /bin/sh -c, as
              `srun --multi-prog` or a job array would
on three workloads:
    short     TASKS_SHORT tasks that do nothing (`true`): the overhead per task, in slot-milliseconds
              (wall time x slots / tasks), since the tasks themselves take no time;
    pareto    TASKS_PARETO tasks that sleep for heavy-tailed (Pareto) durations: makespan over the lower bound
              max(sum of sleeps / slots, longest sleep), where makespan is the wall time of the whole command;
    stall     issue 15's stall on 4 slots: 200 tasks, tasks 5, 90 and 110 sleep 30 s, the others 0.3675 s (lower
              bound 40.6 s): the first chunks are 25 tasks, so task 110 is in [100, 125), which the rank running
              task 90 asks for ahead; all times scaled by --stall-scale; makespan over the lower bound. Here pel
              also runs warm ("pel warm"): with --cost-profile, a copy of the profile a training run of the same
              tasks wrote before the repetitions, as a user's second run of a farm would (the long tasks go first).
Sleeping tasks use no CPU, so 16 or more slots on a 2-core machine measure scheduling, not CPU sharing; the short
tasks measure what starting a process costs each launcher on this machine. pel's wall time includes mpirun's start,
setup and writing its results file; its own /stats makespan_s (the phase alone) is printed beside it.

With several --build directories, pel runs with each (labelled by directory), side by side with the others.

Usage: /usr/bin/python3 perf/taskfarm/bench.py [--build build [OTHER ...]] [--reps 3] [--slots 16]
       [--tasks-short 10000] [--tasks-pareto 500] [--mean-s 0.2] [--alpha 1.5] [--stall-scale 1]
       [--workloads short pareto stall]
"""
import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

import h5py



def write_tasks(path, commands):
    with open(path, "w") as f:
        f.write("\n".join(commands) + "\n")


def pareto_sleeps(n, mean_s, alpha, seed):
    """n durations of a Pareto distribution with shape alpha and the given mean, rounded to milliseconds."""
    rng = random.Random(seed)
    scale = mean_s * (alpha - 1) / alpha
    return [round(scale * rng.paretovariate(alpha), 3) for _ in range(n)]


def no_task_dirs(pel, env):
    """The option that turns per-task directories off: `--task-dirs no` since issue 15, `--no-task-dirs` before."""
    help_text = subprocess.run([pel, "run", "taskfarm", "--help"], capture_output=True, text=True, env=env).stdout
    return ["--task-dirs", "no"] if "--task-dirs TEXT" in help_text else ["--no-task-dirs"]


def run_pel(pel, slots, tasks, tmp, env, profile=None):
    """One run; with `profile`, pel reads measured costs from that file (and writes them back at the end)."""
    out = os.path.join(tmp, "farm.h5")
    cmd = ["mpirun", "--oversubscribe", "-np", str(slots), pel, "run", "taskfarm", "--tasks", tasks,
           *no_task_dirs(pel, env), "--threads", "1", "--output", out]
    if profile is not None:
        cmd += ["--cost-profile", profile]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=tmp)
    wall = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        assert int(f.attrs["failed"]) == 0, "pel: a task failed"
        return wall, float(f["stats"].attrs["makespan_s"])


def run_parallel(slots, tasks, tmp, env):
    t0 = time.perf_counter()
    with open(tasks) as stdin:
        subprocess.run(["parallel", "-j", str(slots), "--joblog", os.path.join(tmp, "parallel.joblog")],
                       stdin=stdin, check=True, capture_output=True, env=env, cwd=tmp)
    return time.perf_counter() - t0


def run_static(slots, commands, tmp, env):
    scripts = []
    for s in range(slots):
        path = os.path.join(tmp, f"static-{s}.sh")
        write_tasks(path, ["/bin/sh -c " + shlex.quote(c) + " || true" for c in commands[s::slots]])
        scripts.append(path)
    t0 = time.perf_counter()
    shells = [subprocess.Popen(["/bin/sh", p], stdout=subprocess.DEVNULL, cwd=tmp, env=env) for p in scripts]
    codes = [p.wait() for p in shells]
    wall = time.perf_counter() - t0
    assert codes == [0] * slots, codes
    return wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", nargs="+", default=["build"], help="build directories of pel, side by side")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--slots", type=int, default=16)
    ap.add_argument("--tasks-short", type=int, default=10000)
    ap.add_argument("--tasks-pareto", type=int, default=500)
    ap.add_argument("--mean-s", type=float, default=0.2, help="mean sleep of the pareto tasks")
    ap.add_argument("--alpha", type=float, default=1.5, help="Pareto shape of the sleeps (smaller: heavier tail)")
    ap.add_argument("--stall-scale", type=float, default=1.0, help="scales the stall case's sleeps")
    ap.add_argument("--workloads", nargs="+", default=["short", "pareto", "stall"])
    args = ap.parse_args()
    pels = {("pel" if len(args.build) == 1 else f"pel {b}"): os.path.abspath(os.path.join(b, "bin", "pel"))
            for b in args.build}
    warm = {f"{name} warm": path for name, path in pels.items()}  # stall only: with a profile from a training run
    launchers = [*pels, "parallel", "static"]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    results = {}  # (workload, launcher) -> [figure per rep]
    pel_own = {}  # (workload, pel launcher) -> [pel's /stats makespan_s, over the lower bound]
    with tempfile.TemporaryDirectory(prefix="pel-bench-taskfarm-") as tmp:
        for rep in range(args.reps):
            for workload in args.workloads:
                slots = args.slots
                if workload == "short":
                    commands = ["true"] * args.tasks_short
                    bound = 0.0
                elif workload == "stall":
                    slots = 4
                    sleeps = [(30.0 if t in (5, 90, 110) else 0.3675) * args.stall_scale for t in range(200)]
                    commands = [f"sleep {s:.3f}" for s in sleeps]
                    bound = max(sum(sleeps) / slots, max(sleeps))
                else:
                    sleeps = pareto_sleeps(args.tasks_pareto, args.mean_s, args.alpha, seed=rep + 1)
                    commands = [f"sleep {s:.3f}" for s in sleeps]
                    bound = max(sum(sleeps) / slots, max(sleeps))
                tasks = os.path.join(tmp, f"{workload}.txt")
                write_tasks(tasks, commands)
                these = launchers
                if workload == "stall":
                    these = [*pels, *warm, "parallel", "static"]
                    for name, pel in warm.items():  # the profile a first run of these tasks leaves (not timed)
                        trained = os.path.join(tmp, f"trained-{list(warm).index(name)}.h5")
                        if not os.path.exists(trained):
                            run_pel(pel, slots, tasks, tmp, env, profile=trained)
                turn = rep % len(these)
                for launcher in these[turn:] + these[:turn]:  # rotated: none always goes first
                    if launcher in pels or launcher in warm:
                        profile = None
                        if launcher in warm:
                            profile = os.path.join(tmp, "profile.h5")
                            shutil.copyfile(os.path.join(tmp, f"trained-{list(warm).index(launcher)}.h5"), profile)
                        path = pels[launcher] if launcher in pels else warm[launcher]
                        wall, own = run_pel(path, slots, tasks, tmp, env, profile)
                        pel_own.setdefault((workload, launcher), []).append(own / bound if bound else own)
                    elif launcher == "parallel":
                        wall = run_parallel(slots, tasks, tmp, env)
                    else:
                        wall = run_static(slots, commands, tmp, env)
                    figure = wall / bound if bound else wall * slots / len(commands) * 1e3
                    results.setdefault((workload, launcher), []).append(figure)
                    line = {"rep": rep, "workload": workload, "launcher": launcher, "wall_s": wall,
                            "lower_bound_s": bound, "figure": figure}
                    if launcher in pels or launcher in warm:
                        line["phase_s"] = own
                    print(json.dumps(line), flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\nmedian of {args.reps}")
    for workload in args.workloads:
        if workload == "short":
            print(f"\nshort: {args.tasks_short} x `true` on {args.slots} slots, overhead per task "
                  "(slot-ms = wall x slots / tasks)")
        elif workload == "stall":
            print(f"\nstall: issue 15's case scaled by {args.stall_scale:g} on 4 slots; makespan (wall) / lower bound")
        else:
            print(f"\npareto: {args.tasks_pareto} sleeps on {args.slots} slots, mean {args.mean_s:g} s, alpha "
                  f"{args.alpha:g}; makespan (wall) / lower bound")
        shown = [*pels, *warm, "parallel", "static"] if workload == "stall" else launchers
        width = max(len(name) for name in shown) + 8
        print(f"{'launcher':>{width}} {'median':>10} {'/ parallel':>11}")
        for launcher in shown:
            value = med[(workload, launcher)]
            print(f"{launcher:>{width}} {value:10.3f} {value / med[(workload, 'parallel')]:11.3f}")
        unit = "/ lower bound" if workload != "short" else "s"
        for launcher in [name for name in shown if name in pels or name in warm]:
            own = statistics.median(pel_own[(workload, launcher)])
            print(f"{'(' + launcher + ' phase)':>{width}} {own:10.3f}  /stats makespan_s {unit}: no start-up, "
                  "no results file")


if __name__ == "__main__":
    main()
