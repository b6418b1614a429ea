#!/usr/bin/python3
"""perf/simulate/validate.py: pel_simulate's predictions against real pel runs, side by side.

Runs the quality benchmark's configurations (perf/quality/bench.py: `pel run synthetic --mode sleep`, 100 items per
rank, mean 10 ms, pareto and bimodal costs, every technique, pel's default --prefetch auto) under
`mpirun --oversubscribe` at 16 and 64 ranks: cold, and with --profile also warm (the next run starts from the cold
run's --cost-profile), --reps times with seeds 1, 2, ... as bench.py does, configurations interleaved.

From each results file it takes the measured constants of that run:
  - the sleep's overshoot per item: (sum of /stats/busy_s - sum of /cost_us) / items;
  - rank 0's service time per message: /stats/serve_s[0] / requests[0];
  - the workers' start spread: each worker's first batch in /stats/chunk_log after rank 0's first, taken as uniform
    over [0, 2 x their mean].
and one constant per rank count, from all its runs: the end spread. A phase's makespan ends 8 to 20 ms after its last
batch here, of which the protocol (the last goodbye, its acknowledgement, rank 0's server thread seeing it) takes
about 2 ms in the model; the rest is ranks waking late on the oversubscribed cores while those already done spin in
the collective after the phase. It is measured as the median over the rank count's runs of makespan - (last batch
end - rank 0's first batch start) in the chunk log, less the model's own median of the same gap without it, and
given to the model as --end-spread-us (scaled by ranks / (ranks - 1), the expected maximum of the workers' uniform
delays).
Then it runs pel_simulate on the same items (same seed; the warm pass with the profile the real warm run read) with
those constants, --start-seeds times (the order in which workers enter is random, so is the simulator's), and
prints measured against predicted makespan (medians over the repetitions; each repetition's prediction is the
median over its start seeds), their ratio, the same for the compute span (first to last batch), and chunks and
rank-0 messages.

Reproduce (after building pel and pel_simulate into build/):
    /usr/bin/python3 perf/simulate/validate.py --reps 3 --profile --out validate.jsonl
    /usr/bin/python3 perf/simulate/validate.py --real validate.jsonl    # the table again, from the real runs kept
Options: --ranks 16 64 --distributions pareto bimodal --schedules static ss gss tss fac2 awf --items-per-rank 100
         --mean-us 10000 --prefetch auto --reps 3 --start-seeds 5 --latency-us 0.16 --profile
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEDULES = ["static", "ss", "gss", "tss", "fac2", "awf"]


def run_pel(a, ranks, dist, schedule, seed, out, profile=None):
    """One real run; its makespan and the constants measured in it."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    items = a.items_per_rank * ranks
    cmd = ["mpirun", "--oversubscribe", "-np", str(ranks), a.pel, "run", "synthetic", "--items", str(items),
           "--distribution", dist, "--mean-us", str(a.mean_us), "--mode", "sleep", "--seed", str(seed),
           "--schedule", schedule, "--chunk-size", "1", "--prefetch", a.prefetch, "--output", out]
    if profile:
        cmd += ["--cost-profile", profile]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit("validate.py: pel failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    with h5py.File(out, "r") as f:
        stats = f["stats"]
        busy = np.asarray(stats["busy_s"])
        serve = np.asarray(stats["serve_s"])
        requests = np.asarray(stats["requests"])
        cost_s = np.asarray(f["cost_us"], dtype=np.float64) * 1e-6
        log = stats["chunk_log"]
        rank = np.asarray(log["rank"])
        start = np.asarray(log["start_s"])
        stop = np.asarray(log["stop_s"])
        first = np.array([start[rank == r].min() if np.any(rank == r) else np.nan for r in range(ranks)])
        offsets = first[1:] - first[0]
        offsets = offsets[~np.isnan(offsets)]
        return {
            "makespan_s": float(stats.attrs["makespan_s"]),
            "span_s": float(np.max(stop) - first[0]),
            "lower_bound_s": max(float(f.attrs["total_cost_us"]) / ranks, float(f.attrs["max_cost_us"])) * 1e-6,
            "chunks": int(np.sum(np.asarray(stats["chunks"]))),
            "messages": int(requests[0]),
            "service_us": float(serve[0]) / max(int(requests[0]), 1) * 1e6,
            "overshoot_us": (float(np.sum(busy)) - float(np.sum(cost_s[cost_s > 0]))) / np.count_nonzero(cost_s) * 1e6,
            "start_mean_us": float(np.mean(np.maximum(offsets, 0))) * 1e6 if len(offsets) else 0.0,
            "start_max_us": float(np.max(offsets)) * 1e6 if len(offsets) else 0.0,
        }


def read_bins(profile_h5, path):
    """Writes the bin seconds of a --cost-profile file as the text pel_simulate --profile reads."""
    with h5py.File(profile_h5, "r") as f:
        np.savetxt(path, np.asarray(f["bin_seconds"], dtype=np.float64), fmt="%.17g")


def simulate(a, r, start_seed, end_spread_us, profile_txt=None):
    cmd = [a.simulate, "--json", "--ranks", str(r["ranks"]), "--items", str(a.items_per_rank * r["ranks"]),
           "--mean-us", str(a.mean_us), "--distribution", r["distribution"], "--seed", str(r["seed"]),
           "--schedule", r["schedule"], "--prefetch", a.prefetch, "--oversubscribed", "--server-core", "own",
           "--latency-us", str(a.latency_us), "--service-us", "%.4f" % r["service_us"],
           "--item-overhead-us", "%.4f" % r["overshoot_us"], "--sleep-overshoot-us", "%.4f" % r["overshoot_us"],
           "--start-spread-us", "%.1f" % (2 * r["start_mean_us"]), "--start-seed", str(start_seed),
           "--end-spread-us", "%.1f" % end_spread_us]
    if profile_txt:
        cmd += ["--profile", profile_txt]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit("validate.py: pel_simulate failed (%d): %s\n%s" % (out.returncode, " ".join(cmd), out.stderr))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pel", default=os.path.join(ROOT, "build", "bin", "pel"))
    ap.add_argument("--simulate", default=os.path.join(ROOT, "build", "bin", "pel_simulate"))
    ap.add_argument("--ranks", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--distributions", nargs="+", default=["pareto", "bimodal"])
    ap.add_argument("--schedules", nargs="+", default=SCHEDULES)
    ap.add_argument("--items-per-rank", type=int, default=100)
    ap.add_argument("--mean-us", type=float, default=10000)
    ap.add_argument("--prefetch", default="auto")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also the warm pass, from the cold run's cost profile")
    ap.add_argument("--start-seeds", type=int, default=5, help="simulations per real run, with other start orders")
    ap.add_argument("--latency-us", type=float, default=0.1, help="one way: half the MPI round trip measured here")
    ap.add_argument("--out", help="also write every line (real runs and predictions) to this file")
    ap.add_argument("--real", help="take the real runs from this earlier --out file instead of running pel")
    ap.add_argument("--keep", help="keep the cost profiles (text) of the warm runs in this directory (default: next "
                    "to --out, so that --real can use them)")
    a = ap.parse_args()

    out = open(a.out, "w") if a.out else None
    if a.out and not a.keep:
        a.keep = a.out + ".profiles"

    def emit(line):
        print(json.dumps(line), flush=True)
        if out:
            out.write(json.dumps(line) + "\n")
            out.flush()

    passes = ["cold", "warm"] if a.profile else ["cold"]
    profiles = a.keep or tempfile.mkdtemp(prefix="pel-validate-")
    os.makedirs(profiles, exist_ok=True)
    runs = []
    if a.real:
        with open(a.real) as f:
            runs = [r for r in map(json.loads, f) if r.get("kind") == "real"]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            h5 = os.path.join(tmp, "s.h5")
            for rep in range(a.reps):
                for ranks in a.ranks:
                    for dist in a.distributions:
                        k = rep % len(a.schedules)  # the techniques rotate from one repetition to the next
                        for schedule in a.schedules[k:] + a.schedules[:k]:
                            profile = os.path.join(tmp, "profile.h5")
                            if os.path.exists(profile):
                                os.remove(profile)
                            for when in passes:
                                r = run_pel(a, ranks, dist, schedule, rep + 1, h5, profile if a.profile else None)
                                r.update(kind="real", rep=rep, seed=rep + 1, ranks=ranks, distribution=dist,
                                         schedule=schedule, **{"pass": when})
                                if when == "cold" and a.profile:
                                    name = "%d-%s-%s-%d.txt" % (ranks, dist, schedule, rep + 1)
                                    read_bins(profile, os.path.join(profiles, name))
                                    r["profile"] = os.path.join(profiles, name)
                                elif when == "warm":
                                    r["profile"] = runs[-1]["profile"]
                                emit(r)
                                runs.append(r)

    def predict(r, end_spread_us):
        profile = r.get("profile") if r["pass"] == "warm" else None
        sims = [simulate(a, r, seed + 1, end_spread_us, profile) for seed in range(a.start_seeds)]
        return sims, statistics.median(s["makespan_s"] for s in sims), statistics.median(
            s["makespan_s"] - s["last_batch_s"] for s in sims)

    # The end spread, once per rank count: what the measured gap between the last batch and the end of the phase
    # has beyond the model's own.
    end_spread = {}
    for ranks in sorted({r["ranks"] for r in runs}):
        mine = [r for r in runs if r["ranks"] == ranks]
        real_gap = statistics.median(r["makespan_s"] - r["span_s"] for r in mine)
        model_gap = statistics.median(predict(r, 0)[2] for r in mine)
        end_spread[ranks] = max(real_gap - model_gap, 0) * ranks / (ranks - 1) * 1e6
        emit(dict(kind="end_spread", ranks=ranks, real_gap_s=real_gap, model_gap_s=model_gap,
                  end_spread_us=end_spread[ranks]))

    rows = {}
    for r in runs:
        sims, r["sim_makespan_s"], _ = predict(r, end_spread[r["ranks"]])
        r["sim_span_s"] = statistics.median(s["last_batch_s"] for s in sims)
        r["sim_chunks"] = statistics.median(s["chunks"] for s in sims)
        r["sim_messages"] = statistics.median(s["messages"] for s in sims)
        r["sim_steals"] = statistics.median(s["steals"] for s in sims)
        emit(dict(kind="prediction", rep=r["rep"], ranks=r["ranks"], distribution=r["distribution"],
                  schedule=r["schedule"], **{"pass": r["pass"]}, makespan_s=r["makespan_s"],
                  sim_makespan_s=r["sim_makespan_s"], sim_spread_s=[s["makespan_s"] for s in sims],
                  span_s=r["span_s"], sim_span_s=r["sim_span_s"], chunks=r["chunks"], sim_chunks=r["sim_chunks"],
                  messages=r["messages"], sim_messages=r["sim_messages"], sim_steals=r["sim_steals"]))
        rows.setdefault((r["ranks"], r["distribution"], r["pass"], r["schedule"]), []).append(r)

    print("\nsynthetic --mode sleep, %d items per rank, mean %g us, prefetch %s; latency %g us; per run: overshoot, "
          "service time and start spread measured in it; end spread %s; prediction = median over %d start seeds" %
          (a.items_per_rank, a.mean_us, a.prefetch, a.latency_us,
           ", ".join("%.1f ms at %d ranks" % (v / 1e3, k) for k, v in sorted(end_spread.items())), a.start_seeds))
    print("| ranks | costs | pass | schedule | reps | measured makespan s (min-max) | predicted s | predicted / "
          "measured | span predicted / measured | chunks measured / predicted | rank-0 messages measured / predicted "
          "| overshoot us | service us | start spread ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    worst = 0.0
    for key in sorted(rows, key=lambda k: (k[0], k[1] != "pareto", k[2], SCHEDULES.index(k[3]))):
        rs = rows[key]
        med = lambda f: statistics.median(r[f] for r in rs)
        ratio = med("sim_makespan_s") / med("makespan_s")
        worst = max(worst, abs(ratio - 1))
        print("| %d | %s | %s | %s | %d | %.3f (%.3f-%.3f) | %.3f | **%.3f** | %.3f | %d / %d | %d / %d | %.0f | %.1f | "
              "%.1f |" %
              (*key, len(rs), med("makespan_s"), min(r["makespan_s"] for r in rs), max(r["makespan_s"] for r in rs),
               med("sim_makespan_s"), ratio, med("sim_span_s") / med("span_s"), med("chunks"), med("sim_chunks"),
               med("messages"), med("sim_messages"), med("overshoot_us"), med("service_us"),
               2 * med("start_mean_us") / 1e3))
    print("largest |predicted / measured - 1|: %.3f" % worst)
    if not a.keep:
        shutil.rmtree(profiles, ignore_errors=True)


if __name__ == "__main__":
    main()
