"""perf/pelperf.py: helpers the benchmark drivers share (imported by perf/*/*.py)."""
import os


def cpu_seconds():
    """(CPU seconds the whole machine has been busy, CPU seconds of this process and its waited-for children)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    t = os.times()
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return busy, t.user + t.system + t.children_user + t.children_system
