#!/usr/bin/python3
"""Draw a pel run's figures, as PNG files, from its results file alone.

Usage:
    /usr/bin/python3 scripts/pel-plots.py OUTPUT.h5 DIR
    pel report OUTPUT.h5 --plots DIR        (runs this script after printing the report)

Writes into DIR (created if missing):
    ranks.png       per-rank busy / waiting / other idle time, stacked, from /stats
    timeline.png    the batches of items each rank (and thread) processed, over time, coloured by phase
    chunk_size.png  items per batch against the time the batch started
    item_cost.png   histogram of the per-item cost (a batch's duration over its items), weighted by items

The last three come from /stats/chunk_log; a results file without it (a run with --trace-events 0, or one
written before pel recorded it) gets a note instead. Prints the path of each figure written, one a line, and notes
on stdout; on failure prints one line on stderr and exits 1, or 4 when the results file cannot be read or its
/stats is damaged (the line names the file and what is wrong). Needs h5py, numpy and matplotlib (Debian: apt-get
install python3-h5py python3-matplotlib), which is why it is run with /usr/bin/python3.
"""

import os
import sys


# Exit codes: pel's own, so that pel report can pass them on: 1 a failure, 4 a results file it cannot read.
EXIT_FAILURE = 1
EXIT_BAD_FILE = 4


def fail(message, code=EXIT_FAILURE):
    """One line on stderr (pel report turns it into its error line), exit `code`."""
    print(message, file=sys.stderr)
    sys.exit(code)


try:
    import numpy as np
except ImportError:
    fail(f"numpy is not installed for {sys.executable} (apt-get install python3-numpy)")
try:
    import h5py
except ImportError:
    fail(f"h5py is not installed for {sys.executable} (apt-get install python3-h5py)")
# Figure sizes in inches at this resolution: 1500 x 750 pixels, readable on a laptop screen.
DPI = 125
SIZE = (12, 6)
# Up to this many ranks, the rank axis names each rank's host.
FEW_RANKS = 16
# Up to this many rank x thread lanes, the timeline names every thread's lane.
FEW_LANES = 32


class Damaged(Exception):
    """What is wrong with a results file's /stats, said in one line (the path is added by main)."""


def text_attr(obj, name, default="?"):
    value = obj.attrs.get(name)
    if value is None:
        return default
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def number_attr(obj, name, default, where, whole=False, least=None):
    """Attribute `name` of `obj` as one finite number (an integer if `whole`, at least `least`), else Damaged."""
    value = obj.attrs.get(name)
    if value is None:
        return default
    array = np.asarray(value)
    if array.size != 1 or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise Damaged(f"attribute '{name}' of {where} is not a number")
    number = float(array.reshape(-1)[0])
    if not np.isfinite(number) or (whole and number != int(number)) or (least is not None and number < least):
        kind = "whole number" if whole else "finite number"
        bound = f" of at least {least}" if least is not None else ""
        raise Damaged(f"attribute '{name}' of {where} is {number:g}, not a {kind}{bound}")
    return int(number) if whole else number


def column(group, name, length=None):
    """Dataset `name` of `group`: one dimension of finite numbers (of `length` values if given), else Damaged."""
    where = f"{group.name}/{name}"
    if name not in group:
        raise Damaged(f"{where} is missing")
    obj = group[name]
    if not isinstance(obj, h5py.Dataset):
        raise Damaged(f"{where} is a group, not a dataset")
    if not (np.issubdtype(obj.dtype, np.integer) or np.issubdtype(obj.dtype, np.floating)):
        raise Damaged(f"{where} holds {obj.dtype}, not numbers")
    if obj.ndim != 1:
        raise Damaged(f"{where} has shape {obj.shape}, not one dimension")
    if length is not None and obj.shape[0] != length:
        raise Damaged(f"{where} holds {obj.shape[0]} values where its neighbours hold {length}")
    values = obj[...]
    if np.issubdtype(values.dtype, np.floating) and not np.all(np.isfinite(values)):
        raise Damaged(f"{where} holds a value that is not a finite number")
    return values


class Run:
    """What the figures need from one results file, checked: a damaged file is a Damaged naming what is wrong."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            if "stats" not in f or not isinstance(f["stats"], h5py.Group):
                raise Damaged("there is no /stats group (not a pel results file?)")
            stats = f["stats"]
            self.busy = column(stats, "busy_s").astype(float)
            self.ranks = len(self.busy)
            if self.ranks == 0:
                raise Damaged("/stats/busy_s is empty (a run has at least one rank)")
            self.idle = column(stats, "idle_s", self.ranks).astype(float)
            self.wait = column(stats, "wait_s", self.ranks).astype(float)
            self.threads = number_attr(f, "threads", 1, "/", whole=True, least=1)
            self.job = text_attr(f, "job")
            self.schedule = text_attr(stats, "schedule")
            self.makespan = number_attr(stats, "makespan_s", 0.0, "/stats", least=0)
            hosts = text_attr(stats, "hosts", "").split("\n")
            self.hosts = [h for h in hosts if h] + ["?"] * self.ranks
            self.log = None
            self.dropped = 0
            if "chunk_log" in stats:
                self.log = self.read_chunk_log(stats["chunk_log"])

    def read_chunk_log(self, g):
        if not isinstance(g, h5py.Group):
            raise Damaged("/stats/chunk_log is a dataset, not a group")
        self.dropped = number_attr(g, "dropped", 0, "/stats/chunk_log", whole=True, least=0)
        log = {"rank": column(g, "rank")}
        for name in ("thread", "phase", "begin", "end", "start_s", "stop_s"):
            log[name] = column(g, name, len(log["rank"]))
        for name, low, high in (("rank", 0, self.ranks), ("thread", 0, self.threads), ("phase", 0, None)):
            values = log[name]
            if values.size and (values.min() < low or (high is not None and values.max() >= high)):
                bound = f"[{low}, {high})" if high is not None else f"at least {low}"
                raise Damaged(f"/stats/chunk_log/{name} holds {values.min() if values.min() < low else values.max()},"
                              f" outside {bound}")
        if np.any(log["end"].astype(np.float64) < log["begin"].astype(np.float64)):
            raise Damaged("/stats/chunk_log has a batch whose end is before its begin")
        return log

    def title(self):
        return (
            f"{os.path.basename(self.path)}: job {self.job}, schedule {self.schedule}, "
            f"{self.ranks} ranks x {self.threads} thread{'s' if self.threads > 1 else ''}, "
            f"makespan {self.makespan:.3g} s"
        )


def load_matplotlib():
    """Imported only once the file has been read and checked: it takes seconds to load on a busy node."""
    global plt, PolyCollection, Patch, EngFormatter, MaxNLocator
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Patch
        from matplotlib.ticker import EngFormatter, MaxNLocator
    except ImportError:
        fail(f"matplotlib is not installed for {sys.executable} (apt-get install python3-matplotlib)")


def new_figure(run, title):
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI, layout="constrained")
    fig.suptitle(run.title(), fontsize=11)
    ax.set_title(title, fontsize=13)
    return fig, ax


def save(fig, directory, name):
    path = os.path.join(directory, name)
    fig.savefig(path)
    plt.close(fig)
    print(path)


def rank_axis(ax, run, axis="x"):
    """Rank numbers on `axis`; with few ranks, each rank's host under (or beside) its number."""
    ticks = np.arange(run.ranks)
    if run.ranks <= FEW_RANKS:
        labels = [f"{r}\n{run.hosts[r]}" if axis == "x" else f"{r} ({run.hosts[r]})" for r in ticks]
        (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, labels, fontsize=9 if run.ranks <= 8 else 7)
    else:
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))


def plot_ranks(run, directory):
    """Per-rank stacked bars, in seconds per thread so that a bar's height is the rank's time in phases."""
    busy = run.busy / run.threads
    wait = np.minimum(run.wait, run.idle) / run.threads
    other = np.maximum(run.idle - run.wait, 0) / run.threads
    fig, ax = new_figure(run, "Where each rank's time went")
    x = np.arange(run.ranks)
    width = 0.8
    ax.bar(x, busy, width, label="busy (in the job's kernel)", color="#4c72b0", linewidth=0)
    ax.bar(x, wait, width, bottom=busy, label="waiting for work", color="#dd8452", linewidth=0)
    ax.bar(x, other, width, bottom=busy + wait, label="other idle", color="#c8c8c8", linewidth=0)
    if run.makespan > 0:
        ax.axhline(run.makespan, color="black", linestyle="--", linewidth=1, label=f"makespan {run.makespan:.3g} s")
    ax.set_xlim(-0.6, run.ranks - 0.4)
    rank_axis(ax, run)
    ax.set_xlabel("rank" + (" and host" if run.ranks <= FEW_RANKS else ""))
    ax.set_ylabel("time per thread (s)" if run.threads > 1 else "time (s)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    save(fig, directory, "ranks.png")


def phase_colors(phases):
    """A colour per phase index: tab10, cycling when there are more phases."""
    cmap = plt.get_cmap("tab10")
    return np.array([cmap(int(p) % 10) for p in phases])


def dropped_note(ax, run):
    """Says, beside the plot, that the chunk log is missing batches (it has a cap)."""
    if run.dropped > 0:
        ax.text(1.01, 0, f"{run.dropped} batches\nnot recorded\n(the chunk log\nhas a cap)", transform=ax.transAxes,
                ha="left", va="bottom", fontsize=9, color="#b00000")


def plot_timeline(run, directory):
    """A Gantt chart: a row per rank, split into a lane per thread; one rectangle per batch."""
    log = run.log
    rank = log["rank"].astype(np.int64)
    thread = np.clip(log["thread"].astype(np.int64), 0, run.threads - 1)
    start, stop = log["start_s"].astype(float), log["stop_s"].astype(float)
    lane = 0.8 / run.threads
    lanes_named = run.threads > 1 and run.ranks * run.threads <= FEW_LANES
    # Rank 0 at the top, as in a trace viewer; thread 0 at the top of its rank's row.
    top = rank - 0.4 + thread * lane
    bottom = top + lane * (0.9 if run.threads > 1 else 1.0)
    verts = np.empty((len(rank), 4, 2))
    verts[:, 0, 0] = verts[:, 1, 0] = start
    verts[:, 2, 0] = verts[:, 3, 0] = stop
    verts[:, 0, 1] = verts[:, 3, 1] = top
    verts[:, 1, 1] = verts[:, 2, 1] = bottom
    fig, ax = new_figure(run, "Timeline: the batches of items each rank" +
                         (" and thread" if run.threads > 1 else "") + " processed")
    phases = log["phase"].astype(np.int64)
    # Darker edges show where one batch ends and the next starts (and keep a batch too short for a pixel visible).
    colors = phase_colors(phases)
    edges = colors * [0.65, 0.65, 0.65, 1]
    bars = PolyCollection(verts, facecolors=colors, edgecolors=edges, linewidths=0.3, antialiased=len(rank) < 20000)
    ax.add_collection(bars)
    end = max(float(stop.max()), run.makespan)
    ax.set_xlim(0, end * 1.01 if end > 0 else 1)
    ax.set_ylim(run.ranks - 0.5, -0.5)
    if lanes_named:
        ticks = [r - 0.4 + (t + 0.45) * lane for r in range(run.ranks) for t in range(run.threads)]
        labels = [f"rank {r} ({run.hosts[r]}) t{t}" if t == 0 else f"t{t}" for r in range(run.ranks)
                  for t in range(run.threads)]
        ax.set_yticks(ticks, labels, fontsize=8)
        ax.set_ylabel("rank and thread")
    else:
        rank_axis(ax, run, axis="y")
        ax.set_ylabel("rank" + (f" ({run.threads} thread lanes each)" if run.threads > 1 else ""))
    ax.set_xlabel("time since the run started (s)")
    unique = np.unique(phases)
    if len(unique) <= 10:
        handles = [Patch(color=plt.get_cmap("tab10")(int(p) % 10), label=f"phase {p}") for p in unique]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize=9)
    else:
        ax.set_title(f"{len(unique)} phases, colours repeat every 10", loc="right", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    dropped_note(ax, run)
    save(fig, directory, "timeline.png")


def spans_decades(values, decades=2):
    positive = values[values > 0]
    return len(positive) > 0 and positive.max() / positive.min() >= 10**decades


def plot_chunk_sizes(run, directory):
    log = run.log
    size = (log["end"].astype(np.int64) - log["begin"].astype(np.int64)).astype(float)
    start = log["start_s"].astype(float)
    rank = log["rank"].astype(np.int64)
    fig, ax = new_figure(run, "Chunk size over time")
    marker = 12 if len(size) < 2000 else 4 if len(size) < 50000 else 1
    if run.ranks <= 10:
        cmap = plt.get_cmap("tab10")
        for r in range(run.ranks):
            mine = rank == r
            if mine.any():
                ax.scatter(start[mine], size[mine], s=marker, color=cmap(r), label=f"rank {r}", linewidths=0,
                           alpha=0.8)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize=9,
                  markerscale=max(1.0, 12 / marker) ** 0.5)
    else:
        points = ax.scatter(start, size, s=marker, c=rank, cmap="viridis", linewidths=0, alpha=0.7)
        fig.colorbar(points, ax=ax, label="rank")
    if spans_decades(size):
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, size.max() * 1.08 if size.max() > 0 else 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(float(log["stop_s"].max()), run.makespan) * 1.01 or 1)
    ax.set_xlabel("time the batch started, since the run started (s)")
    ax.set_ylabel("items per batch")
    ax.grid(alpha=0.3)
    ax.set_axisbelow(True)
    dropped_note(ax, run)
    save(fig, directory, "chunk_size.png")


def time_unit(seconds):
    """A unit in which `seconds` reads as a number between 1 and 1000."""
    for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "\u00b5s")):
        if seconds >= scale:
            return scale, name
    return 1e-9, "ns"


def weighted_median(values, weights):
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def plot_item_costs(run, directory):
    """Each batch stands for its items at its mean cost: exact with one item per batch, smoothed otherwise."""
    log = run.log
    items = (log["end"].astype(np.int64) - log["begin"].astype(np.int64)).astype(float)
    duration = np.maximum(log["stop_s"].astype(float) - log["start_s"].astype(float), 0)
    keep = items > 0
    if not keep.any():
        print("note: item_cost.png skipped: every batch in the chunk log is empty")
        return
    cost, weight = duration[keep] / items[keep], items[keep]
    median = weighted_median(cost, weight)
    mean = float(np.sum(cost * weight) / np.sum(weight))
    scale, unit = time_unit(median if median > 0 else max(float(cost.max()), 1e-9))
    values = cost / scale
    fig, ax = new_figure(run, "Item cost: each batch's duration over its items, counted once per item")
    # A tail of more than about a decade and a half squeezes the bulk into a bar or two: log x then.
    log_x = spans_decades(values, 1.5)
    if log_x:
        positive = values[values > 0]
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 60)
        values = np.maximum(values, positive.min())  # a batch too short for the clock counts in the first bin
        ax.set_xscale("log")
    else:
        bins = 60
    ax.hist(values, bins=bins, weights=weight, color="#4c72b0", edgecolor="white", linewidth=0.3)
    ax.axvline(median / scale, color="black", linestyle="--", linewidth=1, label=f"median {median / scale:.3g} {unit}")
    ax.axvline(mean / scale, color="#c44e52", linestyle=":", linewidth=1.5, label=f"mean {mean / scale:.3g} {unit}")
    ax.set_xlabel(f"cost per item ({unit}{', log scale' if log_x else ''}): wall time of a batch / its items")
    ax.set_ylabel("items")
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))  # 1.2M rather than an offset of 1e6
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    dropped_note(ax, run)
    save(fig, directory, "item_cost.png")


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0)
    if len(argv) != 3:
        print("usage: pel-plots.py OUTPUT.h5 DIR (pel-plots.py --help says more)", file=sys.stderr)
        sys.exit(2)
    path, directory = argv[1], argv[2]
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        fail(f"cannot create directory '{directory}': {e.strerror}")
    if not os.access(directory, os.W_OK | os.X_OK):
        fail(f"cannot write into directory '{directory}': permission denied")
    try:
        run = Run(path)
    except OSError as e:
        fail(f"cannot read '{path}': {e}", EXIT_BAD_FILE)
    except Damaged as e:
        fail(f"'{path}': {e}", EXIT_BAD_FILE)
    load_matplotlib()
    plot_ranks(run, directory)
    figures = "timeline.png, chunk_size.png and item_cost.png"
    if run.log is None:
        why = "run with --trace-events 0, or by an older pel"
        print(f"note: {figures} skipped: '{path}' has no /stats/chunk_log ({why})")
    elif len(run.log["rank"]) == 0:
        print(f"note: {figures} skipped: the chunk log of '{path}' is empty (no items processed)")
    else:
        plot_timeline(run, directory)
        plot_chunk_sizes(run, directory)
        plot_item_costs(run, directory)
    if run.dropped > 0:
        print(f"note: {run.dropped} batches were not recorded in the chunk log (a cap keeps it small)")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except OSError as e:
        fail(f"cannot write a figure: {e}")
    except Exception as e:  # a shape of /stats the checks above do not know: one line, never a traceback
        where = f"'{sys.argv[1]}'" if len(sys.argv) > 1 else "the results file"
        fail(f"{where}: cannot draw its figures ({type(e).__name__}: {e})")
