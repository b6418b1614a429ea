#!/usr/bin/python3
"""tests/corpus/generate.py: prints the generated corpus cases, in the case file format of cases.txt.

Generated from what pel says about itself, so that a new option is covered the day it is added:
  - every number option of every shipped job (from `pel jobs`) and of `pel run` (from `pel run --help`), given each
    value of a list of bad ones on the command line: NaN, infinities, values beyond the range, empty, a megabyte,
    invalid UTF-8, fractions of whole numbers, words;
  - every number option of every shipped job in a config: NaN, a string, a duplicate, a fraction or a boolean;
  - every file argument given each kind of hostile file: a link to a victim, a dangling link, a link loop, a FIFO,
    a device node (made inside the case's directory), a directory, a read-only (immutable) directory, a missing or
    non-directory parent, names too long for the system.
Run: PEL=build/bin/pel /usr/bin/python3 tests/corpus/generate.py   (run.py does this itself)
"""

import os
import re
import subprocess
import sys

PEL = os.environ.get("PEL") or sys.exit("generate.py: set PEL to the pel binary")
SHIPPED_JOBS = ("kmeans", "mandelbrot", "synthetic", "taskfarm")
# What each job needs besides the option under test, so that only that option can be what is wrong.
JOB_ARGS = {
    "kmeans": "--input $FIX/points.h5 --max-iterations 2",
    "mandelbrot": "--width 8 --height 6",
    "synthetic": "--items 10 --mean-us 1",
    "taskfarm": "--tasks $FIX/tasks.txt",
}
# pel run's own number options that take no value below zero (the others, such as --x-min, take any finite number).
NON_NEGATIVE = {"threads", "chunk-size", "trace-events", "progress-every", "mtbf", "keep", "time-limit", "time-margin",
                "max-retries", "heartbeat-timeout", "prefetch", "checkpoint-every"}


def pel_text(*args):
    env = dict(os.environ, OMPI_MCA_ess_singleton_isolated="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("PEL_JOB_PATH", None)
    done = subprocess.run([PEL, *args], capture_output=True, text=True, env=env, timeout=60)
    if done.returncode != 0:
        sys.exit(f"generate.py: pel {' '.join(args)} failed: {done.stderr[-500:]}")
    return done.stdout


def job_options():
    """(job, option, INT or FLOAT, minimum or None, maximum or None) for each number option of each shipped job."""
    options, job = [], None
    for line in pel_text("jobs").splitlines():
        head = re.match(r"^(\S+) \S+: ", line)
        if head:
            job = head.group(1)
            continue
        m = re.match(r"^\s+--(\S+) (INT|FLOAT)\s.*?(?:\[(\S+), (\S+)\])?$", line)
        if m and job in SHIPPED_JOBS:
            low, high = (None if v in (None, "-inf", "inf") else float(v) for v in (m.group(3), m.group(4)))
            options.append((job, m.group(1), m.group(2), low, high))
    return options


def run_options():
    """(option, INT or FLOAT or TEXT) for each number option of pel run."""
    options = []
    for line in pel_text("run", "--help").splitlines():
        m = re.match(r"^\s+--([a-z-]+) (INT|FLOAT)\b", line)
        if m:
            options.append((m.group(1), m.group(2)))
    return options + [("prefetch", "TEXT"), ("checkpoint-every", "TEXT")]


def number(value):
    return str(int(value)) if value == int(value) else repr(value)


def bad_values(kind, low, high):
    """(label, bash word) pairs: values option of `kind` with range [low, high] must refuse."""
    values = [("nan", "nan"), ("minus-inf", "-inf"), ("empty", "''"), ("100-kb", "$(long 100000 7)"),
              ("invalid-utf8", "$'\\xff\\xfe'"), ("trailing-junk", "5x")]
    if kind == "INT":
        values += [("fraction", "1.5"), ("beyond-64-bits", "18446744073709551616")]
    else:
        values += [("e999", "1e999")]
    if low is not None:
        values.append(("below-minimum", number(low - 1 if kind == "INT" else low - 0.5)))
    if high is not None and high < 1e15:
        values.append(("above-maximum", number(high + 1 if kind == "INT" else high * 2 + 1)))
    return values


def case(name, run, exit_code, errors=(), setup=(), creates=(), changes=(), timeout=None, np=1, when=()):
    lines = [f"case: {name}"]
    lines += [f"setup: {s}" for s in setup]
    lines.append(f"run: {run}")
    if np != 1:
        lines.append(f"np: {np}")
    lines.append(f"exit: {exit_code}")
    lines += [f"error: {e}" for e in errors]
    lines += [f"creates: {c}" for c in creates]
    lines += [f"changes: {c}" for c in changes]
    lines += [f"when: {w}" for w in when]
    if timeout:
        lines.append(f"timeout: {timeout}")
    print("\n".join(lines) + "\n")


def option_values():
    for job, option, kind, low, high in job_options():
        for label, value in bad_values(kind, low, high):
            run = f"pel run {job} {JOB_ARGS[job]} --{option} {value} --output out.h5"
            case(f"gen/value/{job}/{option}/{label}", run, 2, [f"--{option}"])
    for option, kind in run_options():
        low = 0 if option in NON_NEGATIVE else None
        values = bad_values("INT" if kind == "INT" else "FLOAT", low, None)
        for label, value in values:
            if option in ("threads", "chunk-size", "keep") and label == "below-minimum":
                value = "0" if option != "keep" else "-1"
            case(f"gen/value/run/{option}/{label}",
                 f"pel run synthetic {JOB_ARGS['synthetic']} --{option} {value} --output out.h5", 2, [f"--{option}"])


def config_values():
    """Each job option in a config: TOML's own types are checked, as strictly as the command line."""
    for job, option, kind, low, high in job_options():
        head = f"printf 'job = \"{job}\"\\noutput = \"out.h5\"\\n' >c.toml"
        extra = {"kmeans": ("input", "$FIX/points.h5"), "taskfarm": ("tasks", "$FIX/tasks.txt")}.get(job)
        setup = [head] + ([f"printf '{extra[0]} = \"%s\"\\n' \"{extra[1]}\" >>c.toml"] if extra else [])
        values = [("nan", f"{option} = nan", option), ("string", f"{option} = \"5\"", f"'{option}' must be"),
                  ("duplicate", f"{option} = 1\\n{option} = 2", "not valid TOML")]
        if kind == "INT":
            values.append(("fraction", f"{option} = 1.5", f"'{option}' must be an integer"))
        else:
            values.append(("boolean", f"{option} = true", f"'{option}' must be"))
        for label, line, fragment in values:
            case(f"gen/config/{job}/{option}/{label}", "pel run --config c.toml", 2, [fragment],
                 setup + [f"printf '{line}\\n' >>c.toml"])


# ---- hostile files -----------------------------------------------------------------------------------------------

VICTIM = "printf 'precious\\n' >victim"
VICTIM_DIR = "mkdir victimdir && printf 'precious\\n' >victimdir/keep"
LONG_NAME = "$(long 300)"
HOSTILE_FILE_KINDS = {
    # kind: (setup making NAME, the argument to give, exit codes accepted)
    "link-to-victim": ([VICTIM, "ln -s victim NAME"], "NAME", "0|4"),
    "dangling-link": (["ln -s nowhere/file NAME"], "NAME", "0|4"),
    "link-loop": (["ln -s NAME NAME"], "NAME", "0|4"),
    "fifo": (["mkfifo NAME"], "NAME", "4"),
    "char-device": (["need mknod NAME c 1 3"], "NAME", "4"),
    "directory": (["mkdir NAME"], "NAME", "4"),
    "immutable-dir": (["mkdir ro", "need chattr +i ro"], "ro/NAME", "4"),
    "missing-parent": ([], "nodir/NAME", "4"),
    "parent-is-file": (["printf 'x\\n' >afile"], "afile/NAME", "4"),
    "long-name": ([], LONG_NAME + ".h5", "4"),
    "long-path": (["mkdir -p d"], "d/" + "/".join(["$(long 200 b)"] * 25) + "/NAME", "4"),
}
# Written files: (label, how pel is run with FILE, the name, what a successful run leaves)
WRITTEN = [
    ("output", "pel run synthetic --items 10 --mean-us 1 --output FILE", "out.h5", ["out.h5"]),
    ("trace", "pel run synthetic --items 10 --mean-us 1 --output o.h5 --trace FILE", "t.json", ["o.h5", "t.json"]),
    ("cost-profile", "pel run synthetic --items 10 --mean-us 1 --output o.h5 --cost-profile FILE", "cp.h5",
     ["o.h5", "cp.h5"]),
    ("joblog", "pel run taskfarm --tasks $FIX/tasks.txt --output o.h5 --joblog FILE", "jl.tsv",
     ["o.h5", "o.work", "o.logs", "jl.tsv"]),
]
# Directories pel makes or writes into.
WRITTEN_DIRS = [
    ("checkpoint-dir", "pel run synthetic --items 10 --mean-us 1 --output o.h5 --checkpoint-dir FILE", "ck",
     ["o.h5", "ck"]),
    ("run-dir", "pel run synthetic --items 10 --mean-us 1 --run-dir FILE", "rd", ["rd"]),
    ("logdir", "pel run taskfarm --tasks $FIX/tasks.txt --output o.h5 --logdir FILE", "lg",
     ["o.h5", "o.work", "o.joblog.tsv", "lg"]),
    ("workdir", "pel run taskfarm --tasks $FIX/tasks.txt --output o.h5 --workdir FILE", "wk",
     ["o.h5", "o.logs", "o.joblog.tsv", "wk"]),
]
# Files pel reads: a missing, hostile or damaged one is refused (exit 2 for a config, 4 for the others).
READ = [
    ("config", "pel run --config FILE", "c.toml", "2"),
    ("kmeans-input", "pel run kmeans --input FILE --output o.h5", "pts.h5", "4"),
    ("tasks", "pel run taskfarm --tasks FILE --output o.h5", "t.txt", "4"),
    ("failed-from", "pel run taskfarm --tasks $FIX/tasks.txt --failed-from FILE --output o.h5", "prev.tsv", "4"),
    ("report", "pel report FILE", "r.h5", "4"),
    ("cost-profile", "pel run synthetic --items 10 --mean-us 1 --output o.h5 --cost-profile FILE", "cp.h5", "4"),
    ("status", "pel status FILE", "rd", "4"),
]
READ_KINDS = {
    "missing": ([], "NAME"),
    "directory": (["mkdir NAME"], "NAME"),
    "fifo": (["mkfifo NAME"], "NAME"),
    "null-device": (["need mknod NAME c 1 3"], "NAME"),
    "zero-device": (["need mknod NAME c 1 5"], "NAME"),  # endless zeros: must be refused, not read
    "link-loop": (["ln -s NAME NAME"], "NAME"),
    "dangling-link": (["ln -s nowhere NAME"], "NAME"),
    "empty": ([": >NAME"], "NAME"),
    "garbage": (["head -c 4096 /dev/urandom >NAME"], "NAME"),
    "nul-bytes": (["head -c 100 /dev/zero >NAME"], "NAME"),
    "long-name": ([], LONG_NAME),
    "truncated-results": (["head -c 3000 $FIX/good.h5 >NAME"], "NAME"),
}


def fill(text, name):
    return text.replace("NAME", name)


def hostile_files():
    for label, command, name, leaves in WRITTEN:
        for kind, (setup, arg, code) in HOSTILE_FILE_KINDS.items():
            run = command.replace("FILE", fill(arg, name))
            creates = leaves if "0" in code else []
            changes = [name] if kind in ("link-to-victim", "dangling-link", "link-loop") else []
            case(f"gen/file/{label}/{kind}", run, code, [], [fill(s, name) for s in setup], creates, changes)
    for label, command, name, leaves in WRITTEN_DIRS:
        kinds = {"regular-file": (["printf 'x\\n' >NAME"], "NAME", "4"),
                 "link-to-victim-dir": ([VICTIM_DIR, "ln -s victimdir NAME"], "NAME", "0|4")}
        kinds.update({k: v for k, v in HOSTILE_FILE_KINDS.items()
                      if k in ("fifo", "char-device", "link-loop", "immutable-dir", "parent-is-file", "long-path")})
        for kind, (setup, arg, code) in kinds.items():
            run = command.replace("FILE", fill(arg, name))
            if label == "checkpoint-dir" and kind in ("immutable-dir", "parent-is-file"):
                code = "0|4"  # a run that never checkpoints may never need it
            creates = leaves + (["victimdir/*"] if kind == "link-to-victim-dir" else []) if "0" in code else []
            # A checkpoint directory given as a link is removed at the end of a finished run: the link, not its files.
            changes = [name] if kind in ("link-to-victim-dir", "link-loop") else []
            case(f"gen/dir/{label}/{kind}", run, code, [], [fill(s, name) for s in setup], creates, changes)
    for label, command, name, code in READ:
        for kind, (setup, arg) in READ_KINDS.items():
            if label == "status" and kind in ("truncated-results", "nul-bytes", "garbage", "empty"):
                continue  # status takes a directory; those are the status file's own cases (cases.txt)
            run = command.replace("FILE", fill(arg, name))
            expected = "2|4" if label in ("config", "failed-from", "tasks") else code
            creates = []
            if label == "tasks" and kind in ("garbage", "nul-bytes", "truncated-results"):
                # Any bytes are a task file: its lines run as commands, and the farm exits 100 + the ones that fail.
                expected, creates = "|".join(["0", "2", "4"] + [str(c) for c in range(101, 121)]), ["o.*"]
            changes = []
            if label == "cost-profile" and kind in ("missing", "dangling-link", "link-loop", "long-name"):
                # Read when it exists, written at the end: a missing one is made (a long name is refused at once).
                expected, creates = ("4", []) if kind == "long-name" else ("0|4", ["o.h5", "cp.h5"])
                changes = [name] if kind in ("dangling-link", "link-loop") else []
            case(f"gen/read/{label}/{kind}", run, expected, [], [fill(s, name) for s in setup], creates, changes)


def main():
    option_values()
    config_values()
    hostile_files()


if __name__ == "__main__":
    main()
