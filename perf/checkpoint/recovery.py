#!/usr/bin/python3
"""perf/checkpoint/recovery.py: what a rank's death costs a run that checkpoints every S seconds: the work lost
since the last checkpoint, the teardown, and the time the rerun with --auto-resume needs before it computes again.

The job is synthetic `--mode work` with uniform costs (default 16000 items of 1000 us: about 10 s on 2 ranks), so
that time and items convert into each other at a steady rate. Each rep, on --ranks ranks:
  1. an uninterrupted run with `--checkpoint-every S` (the baseline: process wall F_full);
  2. the same command; at a known time T after its launch (the reps walk T over one checkpoint interval, from
     --kill-at to --kill-at + S, so that the kill lands at every point of the interval) rank --victim (a pel rank
     process, a child of mpirun, never mpirun itself) gets SIGKILL; mpirun ends the job;
  3. the same command with --auto-resume, run to the end.
Every line the runs print (`--verbose`) is stamped with the time it arrived, which gives, for the killed run, when
each checkpoint's write returned on rank 0 ("checkpoint ... written in X s (phase P, N items done)") and when the
phase began, and for the rerun when it had read the checkpoint ("resuming from ...", printed just before the
phase starts again).

Figures per rep (seconds):
  lost_s      = T - (arrival of the "written" line of the checkpoint the rerun resumed from; the phase start if it
                started afresh): the wall time of work done since the last durable checkpoint, including the pause
                for a checkpoint whose write the kill interrupted. Expected: about S / 2 plus a write.
  lost_items_s = (items done at the kill - items in that checkpoint) / rate, where items done at the kill =
                rate x (T - phase start - seconds spent writing checkpoints before T), rate = items / makespan of
                the baseline: the same quantity from the items side (an estimate: it assumes a steady rate).
  teardown_s  = from the SIGKILL to mpirun's exit (Open MPI's kill sequence for the surviving ranks).
  restart_s   = from the rerun's launch to its "resuming from" line: MPI start-up, plugin loading, results file
                creation, reading and checking the checkpoint, rewriting finished rows.
  rerun_overhead_s = rerun process wall - (items left / rate): everything of the rerun that is not computing the
                items it had left (start-up, resume, its own checkpoints, the results write, exit).
  penalty_s   = T + teardown + rerun process wall - F_full: what the failure added to the time to solution;
                roughly lost_s + teardown_s + restart_s (the rest is noise and the rerun's own overheads).
The runs are interleaved (baseline, killed, rerun each rep); the machine has 2 cores shared with others, so quote
medians and compare with S / 2. lost_s, teardown_s and restart_s come from time stamps alone and stand up to
noise; lost_items_s, rerun_overhead_s and penalty_s use the baseline's rate and do not: each rep records the share
of the cores other processes used meanwhile (foreign_cpu_share, from /proc/stat, the pauses included).

Reproduce (from the repository root; about 4 minutes for 5 reps on 2 cores):
    cmake -S . -B build-kill -DCMAKE_BUILD_TYPE=Release && cmake --build build-kill -j2
    /usr/bin/python3 perf/checkpoint/recovery.py --build build-kill --reps 5
Options: [--ranks 2] [--every 2] [--kill-at 5] [--victim 1] [--items 16000] [--mean-us 1000] [--dir DIR]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

import h5py
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pelperf import cpu_seconds  # noqa: E402  (perf/pelperf.py)

WRITTEN = re.compile(r"checkpoint \S+ written in ([0-9.]+) s \(phase (\d+), (\d+) items done\)")
TIMEOUT_S = 600


class Run:
    """A pel run under mpirun whose output lines are stamped (seconds since launch) as they arrive."""

    def __init__(self, cmd, env):
        self.lines = []  # (seconds since launch, text)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter() - self.t0, line.rstrip("\n")))

    def now(self):
        return time.perf_counter() - self.t0

    def wait(self):
        rc = self.proc.wait(timeout=TIMEOUT_S)
        ended = self.now()
        self.reader.join()
        return rc, ended

    def rank_pid(self, rank):
        """The pid of pel rank `rank` (a child of this mpirun with OMPI_COMM_WORLD_RANK=rank), or None."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid != self.proc.pid:
                    continue
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
                if env.get(b"OMPI_COMM_WORLD_RANK") == str(rank).encode():
                    return int(entry)
            except (OSError, IndexError, ValueError):
                continue
        return None

    def first(self, pattern):
        """(time, match) of the first line matching `pattern`, or (None, None)."""
        for t, line in self.lines:
            m = re.search(pattern, line)
            if m:
                return t, m
        return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--kill-at", type=float, default=5.0, help="seconds after launch of the first rep's kill")
    ap.add_argument("--victim", type=int, default=1, help="the rank killed")
    ap.add_argument("--items", type=int, default=16000)
    ap.add_argument("--mean-us", type=float, default=1000.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--pause", type=float, default=2.0)
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    pel = os.path.join(args.build, "bin", "pel")
    work = args.dir or tempfile.mkdtemp(prefix="pel-ckpt-recovery-", dir=os.getcwd())
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "r.h5")
    ckpt = os.path.join(work, "r.ckpt")
    cmd = ["mpirun", "-np", str(args.ranks), pel, "run", "synthetic", "--mode", "work", "--items", str(args.items),
           "--mean-us", repr(args.mean_us), "--seed", "5", "--checkpoint-every", repr(args.every), "--auto-resume",
           "--verbose", "--output", out]
    rows = []
    try:
        for rep in range(args.reps):
            kill_at = args.kill_at + args.every * rep / args.reps
            # 1. Baseline.
            shutil.rmtree(ckpt, ignore_errors=True)
            time.sleep(args.pause)
            busy0, mine0 = cpu_seconds()
            rep_t0 = time.perf_counter()
            base = Run(cmd, env)
            rc, full_s = base.wait()
            if rc == 75:
                print(json.dumps({"rep": rep, "skipped": "the baseline was stopped by a signal from outside"}))
                continue
            if rc != 0:
                raise RuntimeError(f"baseline exit {rc}: " + "\n".join(l for _, l in base.lines[-20:]))
            with h5py.File(out, "r") as f:
                base_makespan = float(f["stats"].attrs["makespan_s"])
            rate = args.items / base_makespan  # items per second while computing
            os.remove(out)

            # 2. The killed run.
            shutil.rmtree(ckpt, ignore_errors=True)
            time.sleep(args.pause)
            killed = Run(cmd, env)
            pid = None
            while killed.now() < kill_at and killed.proc.poll() is None:
                if pid is None:
                    pid = killed.rank_pid(args.victim)
                time.sleep(0.002)
            if pid is None:
                pid = killed.rank_pid(args.victim)
            if pid is None or killed.proc.poll() is not None:
                raise RuntimeError(f"rep {rep}: the run ended before its kill at {kill_at:.2f} s; lower --kill-at")
            os.kill(pid, signal.SIGKILL)
            t_kill = killed.now()
            rc_killed, t_exit = killed.wait()
            phase_start, _ = killed.first(r"phase 0 '")
            writes = [(t, float(m.group(1)), int(m.group(3))) for t, l in killed.lines if (m := WRITTEN.search(l))]
            before = [w for w in writes if w[0] <= t_kill]
            computing_s = t_kill - phase_start - sum(w for _, w, _ in before)

            # 3. The rerun.
            time.sleep(args.pause)
            rerun = Run(cmd, env)
            rc, rerun_s = rerun.wait()
            if rc == 75:
                print(json.dumps({"rep": rep, "skipped": "the rerun was stopped by a signal from outside"}))
                continue
            if rc != 0:
                raise RuntimeError(f"rerun exit {rc}: " + "\n".join(l for _, l in rerun.lines[-20:]))
            t_resumed, m = rerun.first(r"resuming from (\S+): phase (\d+), (\d+) of its items done")
            with h5py.File(out, "r") as f:
                resumed_from = f.attrs.get("resumed_from", "")
                processed = int(f.attrs["items_processed"])
            os.remove(out)
            busy1, mine1 = cpu_seconds()
            foreign = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / ((time.perf_counter() - rep_t0) * os.cpu_count())
            done_resumed = int(m.group(3)) if m else 0
            # The checkpoint the rerun used: the last one written before the kill, or one whose "written" line
            # arrived just after it (rank 0 may log a write that completed a moment before the kill).
            used = [w for w in writes if w[2] == done_resumed]
            t_used = used[-1][0] if used else phase_start
            left = args.items - done_resumed
            row = {"rep": rep, "kill_at_s": round(t_kill, 3), "killed_exit": rc_killed,
                   "checkpoints_before_kill": len(before), "resumed_with_items": done_resumed,
                   "resumed_from": os.path.basename(str(resumed_from)), "items_processed": processed,
                   "full_s": round(full_s, 3), "lost_s": round(t_kill - t_used, 3),
                   "lost_items_s": round((rate * computing_s - done_resumed) / rate, 3),
                   "teardown_s": round(t_exit - t_kill, 3),
                   "restart_s": round(t_resumed, 3) if t_resumed is not None else None,
                   "rerun_s": round(rerun_s, 3), "rerun_overhead_s": round(rerun_s - left / rate, 3),
                   "penalty_s": round(t_exit + rerun_s - full_s, 3), "foreign_cpu_share": round(foreign, 3)}
            if processed != args.items:
                row["problem"] = f"items_processed {processed}, not {args.items}"
            elif done_resumed > 0 and not used:
                row["problem"] = f"resumed with {done_resumed} items done, a checkpoint the killed run never logged"
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nsynthetic --mode work, {args.items} items x {args.mean_us:g} us on {args.ranks} ranks, "
          f"--checkpoint-every {args.every:g}, SIGKILL of rank {args.victim} at "
          f"{args.kill_at:g}..{args.kill_at + args.every:g} s; medians of {len(rows)} reps")
    for key in ("lost_s", "lost_items_s", "teardown_s", "restart_s", "rerun_overhead_s", "penalty_s", "full_s"):
        vals = [r[key] for r in rows if r[key] is not None]
        print(f"{key:>17}: median {statistics.median(vals):7.3f}  mean {statistics.mean(vals):7.3f}  "
              f"all " + " ".join(f"{v:.2f}" for v in vals))
    print(f"expected lost_s for a kill at a uniform random time: about S / 2 = {args.every / 2:g} s plus a write")
    bad = [r for r in rows if "problem" in r]
    if bad:
        print(f"PROBLEMS in {len(bad)} reps: " + "; ".join(r["problem"] for r in bad))


if __name__ == "__main__":
    main()
