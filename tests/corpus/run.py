#!/usr/bin/python3
"""tests/corpus/run.py: runs the bad-input corpus (cases.txt and what generate.py prints) against a pel binary.

Each case runs in a directory of its own: its setup lines make the files it needs (links, FIFOs and device nodes
are made there, never elsewhere), then its one `run:` line. What every case asserts:
  - the exit code (one code, a set such as 0|4, or `nonzero`); under mpirun, no rank exits 0 when the run fails;
  - stderr holds exactly one pel error line (with np N: between 1 and N, one per failing rank at most), that line
    is short and printable, and nothing else but mpirun's note on a non-zero exit: no MPI abort, core dump,
    "terminate called", sanitizer or Python traceback;
  - the case ends within its time bound (20 s unless it says otherwise); a hang is killed with its whole process
    tree and reported;
  - every file and directory the setup made is unchanged afterwards (type, inode, size, hash, link target, device
    number) unless the case names it in `changes:`, and nothing new is left unless the case names it in `creates:`.
Usage: run.py [--pel PEL] [-j 2] [--only GLOB] [--list] [--keep] [--verbose]; PEL, MPIRUN, PEL_TEST_PLUGIN_DIR and
PEL_FAULT_PLUGIN_DIR come from the environment (CTest sets them). The case file format is in README.md beside this.
Exits 0 when every case passed (a case in known_failures.txt may fail; a case whose setup this machine cannot do,
such as mknod without root or chattr +i on tmpfs, is skipped and named), 1 otherwise.
"""

import argparse
import concurrent.futures
import fnmatch
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT = 20.0
# The longest error line a case accepts: values quoted in messages are bounded.
LONGEST_LINE = 2000
PEL_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pel\[-?\d+@[^\]]*\] (error|warn|info): ")
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pel\[-?\d+@[^\]]*\] error: ")
# What mpirun prints when a rank exits non-zero by itself: expected, not noise.
MPIRUN_NOTE = re.compile(
    r"^(-{20,}|Primary job +terminated normally, but \d+ process(es)? returned|"
    r"a non-zero exit code\. Per user-direction, the job has been aborted\.|"
    r"(mpirun|mpiexec|orterun) detected that one or more processes exited with non-zero status, thus causing|"
    r"the job to be terminated\. The first process to do so was:|\s*Process name: .*|\s*Exit code: +\d+|\s*)$")
CRASH = re.compile(r"MPI_ABORT|Segmentation|core dumped|terminate called|Traceback \(most recent|"
                   r"buffer overflow|Aborted|AddressSanitizer|\*\*\* Process received signal|double free|"
                   r"munmap_chunk|HDF5-DIAG|stack smashing")
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


class Case:
    """One case, as read from a case file."""

    KEYS = {"case", "setup", "run", "np", "exit", "error", "creates", "changes", "signal", "timeout", "allow", "out",
            "when", "expect"}

    def __init__(self, name, where):
        self.name, self.where = name, where
        self.setup, self.error, self.creates, self.changes, self.allow, self.out = [], [], [], [], [], []
        self.run, self.np, self.exit, self.signal, self.timeout, self.when = None, 1, None, None, DEFAULT_TIMEOUT, []
        self.expect = None  # only in run.py's self-test: the problem the checks must find

    def check(self):
        if self.run is None or self.exit is None:
            raise SyntaxError(f"{self.where}: case '{self.name}' needs a run: and an exit: line")


def parse_exit(text, where):
    """`0`, `4`, `0|4` or `nonzero`: the set of codes accepted (None for any non-zero)."""
    if text == "nonzero":
        return "nonzero"
    try:
        return {int(c) for c in text.split("|")}
    except ValueError:
        raise SyntaxError(f"{where}: exit: must be a code, codes joined by |, or nonzero, not '{text}'") from None


def parse_cases(text, source):
    """Cases from the text of a case file: blocks of `key: value` lines, one block per case, # for comments."""
    cases, case = [], None
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in Case.KEYS:
            raise SyntaxError(f"{where}: expected 'key: value' with a key of {sorted(Case.KEYS)}: {line[:80]}")
        if key == "case":
            if case:
                case.check()
            case = Case(value, where)
            cases.append(case)
            continue
        if case is None:
            raise SyntaxError(f"{where}: '{key}:' before the first 'case:'")
        if key in ("setup", "error", "creates", "changes", "allow", "out", "when"):
            getattr(case, key).append(value)
        elif key == "run":
            case.run = value
        elif key == "np":
            case.np = int(value)
        elif key == "exit":
            case.exit = parse_exit(value, where)
        elif key == "expect":
            case.expect = value
        elif key == "timeout":
            case.timeout = float(value)
        elif key == "signal":  # NAME SECONDS [ranks]: sent to pel (mpirun, or every rank) that long after it started
            name, seconds, *ranks = value.split()
            case.signal = (getattr(signal, "SIG" + name), float(seconds), ranks == ["ranks"])
    if case:
        case.check()
    return cases


# ---- the file system of a case -----------------------------------------------------------------------------------

def snapshot(root):
    """Everything under `root`: relative path -> what identifies it (type, inode, size, hash, target, device)."""
    seen = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                digest = hashlib.sha256()
                try:
                    with open(path, "rb") as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            digest.update(block)
                except OSError as e:
                    digest.update(str(e).encode())
                seen[rel] = ("file", st.st_ino, st.st_size, stat.S_IMODE(mode), digest.hexdigest()[:16])
            elif stat.S_ISDIR(mode):
                seen[rel] = ("dir", st.st_ino, stat.S_IMODE(mode))
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                seen[rel] = ("char" if stat.S_ISCHR(mode) else "block", st.st_ino, st.st_rdev)
            elif stat.S_ISFIFO(mode):
                seen[rel] = ("fifo", st.st_ino)
            else:
                seen[rel] = ("other", st.st_ino, mode)
        # Never walk into a directory through a link: a link is compared by its target's name.
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(directory, d))]
    return seen


def matches(rel, patterns):
    """True if `rel` or one of the directories above it matches one of the glob patterns."""
    parts = rel.split(os.sep)
    return any(fnmatch.fnmatchcase(os.sep.join(parts[:i]), p) for p in patterns for i in range(1, len(parts) + 1))


def compare(before, after, case):
    problems = []
    for rel, what in before.items():
        if matches(rel, case.changes):
            continue
        if rel not in after:
            problems.append(f"'{rel}' ({what[0]}) was removed")
        elif after[rel] != what:
            problems.append(f"'{rel}' was changed: {what} became {after[rel]}")
    for rel, what in after.items():
        if rel not in before and not matches(rel, case.creates):
            problems.append(f"'{rel}' ({what[0]}) was left behind")
    return problems


# ---- processes ---------------------------------------------------------------------------------------------------

def descendants(pid):
    """The processes below `pid`, found from /proc (children before their parents are gone)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def is_pel(pid, pel):
    try:
        return os.readlink(f"/proc/{pid}/exe") == pel
    except OSError:
        return False


def kill_tree(process):
    """Kills the process group this runner made for the case, and every process below it (mpirun's ranks)."""
    pids = descendants(process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---- one case ----------------------------------------------------------------------------------------------------

PRELUDE = r"""
set -u
long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }  # long N [CHAR]: N copies of CHAR
# need COMMAND...: a setup step this machine may not allow (mknod without root, chattr on tmpfs): skips the case.
need() { "$@" 2>/dev/null || { echo "this machine cannot: $*" >&2; exit 77; }; }
"""


class Runner:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.env = dict(os.environ)
        self.env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1", OMP_NUM_THREADS="1",
                        PEL=args.pel,
                        MPIRUN=args.mpirun, FIX=os.path.join(work, "fixtures"), PY="/usr/bin/python3",
                        CORPUS=HERE, LC_ALL="C.UTF-8", JOBS=os.environ.get("PEL_TEST_PLUGIN_DIR", "/nonexistent"),
                        FAULTS=os.environ.get("PEL_FAULT_PLUGIN_DIR", "/nonexistent"))
        # A rank started without mpirun skips launching Open MPI's daemon: most cases fail before any MPI work.
        self.env["OMPI_MCA_ess_singleton_isolated"] = "1"
        self.local, self.lock, self.slots = threading.local(), threading.Lock(), 0
        for name in ("PEL_JOB_PATH", "SLURM_JOB_ID", "SLURM_JOB_END_TIME", "PEL_PYTHON", "PEL_PLOTS_SCRIPT"):
            self.env.pop(name, None)

    def launcher(self, case, meta):
        if case.np == 1:
            return 'pel() { exec "$PEL" "$@"; }\n'
        if case.signal:  # signals go to mpirun, which passes them on to the ranks
            return f'pel() {{ exec "$MPIRUN" -np {case.np} "$PEL" "$@"; }}\n'
        # Each rank's own exit code, written by a wrapper into the case's meta directory (not the case's own).
        return (f'pel() {{ PEL_CORPUS_RC_DIR="{meta}" exec "$MPIRUN" -np {case.np} '
                f'/bin/bash "$CORPUS/rank_exit.sh" "$PEL" "$@"; }}\n')

    def slot_env(self):
        """The environment of this worker thread's cases. Each worker has its own Open MPI session directory: pel
        started without mpirun in isolated mode names its job alike every time, and two such runs at once would
        share the shared-file-pointer files there."""
        local = self.local
        if not hasattr(local, "env"):
            with self.lock:
                self.slots += 1
                slot = self.slots
            session = os.path.join(self.work, f"s{slot}")
            os.makedirs(session)
            local.env = dict(self.env, OMPI_MCA_orte_tmpdir_base=session)
        return local.env

    def run_case(self, case):
        slug = re.sub(r"[^A-Za-z0-9._-]", "_", case.name)
        root = os.path.join(self.work, "cases", slug)
        meta = os.path.join(self.work, "meta", slug)
        os.makedirs(root)
        os.makedirs(meta)
        result = {"case": case, "problems": [], "elapsed": 0.0, "skipped": None}
        try:
            self.execute(case, root, meta, result)
        finally:
            if any("chattr" in line for line in case.setup):  # an immutable directory: even root cannot remove it
                subprocess.run(["chattr", "-R", "-i", root], capture_output=True)
            if not self.args.keep:
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(meta, ignore_errors=True)
        return result

    def execute(self, case, root, meta, result):
        problems = result["problems"]
        env = self.slot_env()
        if case.setup:
            setup = subprocess.run(["/bin/bash", "-c", PRELUDE + "set -e\n" + "\n".join(case.setup)], cwd=root,
                                   env=env, capture_output=True, timeout=60)
            if setup.returncode == 77:
                result["skipped"] = setup.stderr.decode(errors="replace").strip()[-200:]
                return
            if setup.returncode != 0:
                why = setup.stderr.decode(errors="replace")[-600:]
                problems.append(f"setup failed (exit {setup.returncode}): {why}")
                return
        before = snapshot(root)
        script = PRELUDE + self.launcher(case, meta) + case.run + "\n"
        start = time.monotonic()
        process = subprocess.Popen(["/bin/bash", "-c", script], cwd=root, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if case.signal:
            number, delay, to_ranks = case.signal
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                targets = [p for p in descendants(process.pid) if is_pel(p, self.args.pel)] if to_ranks else []
                for pid in targets or [process.pid]:
                    try:
                        os.kill(pid, number)
                    except ProcessLookupError:
                        pass
        try:
            out, err = process.communicate(timeout=max(case.timeout - (time.monotonic() - start), 0.1))
        except subprocess.TimeoutExpired:
            kill_tree(process)
            out, err = process.communicate()
            problems.append(f"hung: killed after {case.timeout:g} s")
        result["elapsed"] = time.monotonic() - start
        kill_tree(process)  # nothing of a case may outlive it
        rc = process.returncode
        result.update(rc=rc, out=out, err=err)
        self.check_exit(case, rc, meta, problems)
        self.check_stderr(case, rc, err, problems)
        if CONTROL.search(out):
            problems.append(f"stdout holds control characters: {out[:300]!r}")
        for fragment in case.out:
            if fragment.encode() not in out:
                problems.append(f"stdout lacks '{fragment}': {out.decode(errors='replace')[:300]}")
        problems.extend(compare(before, snapshot(root), case))
        for check in case.when:  # bash lines that must succeed afterwards, in the case's directory
            done = subprocess.run(["/bin/bash", "-c", PRELUDE + check], cwd=root, env=env, capture_output=True,
                                  timeout=60)
            if done.returncode != 0:
                problems.append(f"after the run, '{check}' failed: {done.stdout.decode(errors='replace')[-300:]}"
                                f"{done.stderr.decode(errors='replace')[-300:]}")

    def check_exit(self, case, rc, meta, problems):
        if rc is None or rc < 0:
            problems.append(f"killed by signal {-rc if rc else '?'}")
        elif case.exit == "nonzero":
            if rc == 0:
                problems.append("exit 0, expected a non-zero exit")
        elif rc not in case.exit:
            problems.append(f"exit {rc}, expected {'|'.join(map(str, sorted(case.exit)))}")
        if case.np > 1 and not case.signal and rc != 0:
            for r in range(case.np):
                path = os.path.join(meta, f"rank-{r}")
                if os.path.exists(path) and open(path).read().strip() == "0":
                    problems.append(f"rank {r} exited 0 from a failed run")

    def check_stderr(self, case, rc, err, problems):
        if CONTROL.search(err):
            problems.append(f"stderr holds control characters: {err[:300]!r}")
        text = err.decode(errors="replace")
        lines = text.splitlines()
        errors = [line for line in lines if ERROR_LINE.match(line)]
        allowed = [line for line in lines if any(re.search(a, line) for a in case.allow)]
        crash = [line for line in lines if CRASH.search(line) and line not in allowed]
        if crash:
            problems.append(f"crash or abort on stderr: {crash[0][:300]}")
        other = [line for line in lines if not PEL_LINE.match(line) and not (case.np > 1 and MPIRUN_NOTE.match(line))
                 and line not in allowed and line.strip() and not (allowed and re.fullmatch(r"-{20,}", line))]
        warnings = [line for line in lines if PEL_LINE.match(line) and not ERROR_LINE.match(line)
                    and not any(re.search(a, line) for a in case.allow)]
        if other:
            problems.append(f"{len(other)} line(s) on stderr that are not pel's: {other[0][:300]}")
        if warnings:
            problems.append(f"unexpected pel line: {warnings[0][:300]}")
        # Done, stopped to resume, or finished with a job's own verdict (101-120: a task farm's failed tasks, said on
        # stdout's last line): no error line.
        if (rc in (0, 75) or 101 <= rc <= 120) and case.exit != "nonzero" and rc in case.exit:
            if errors:
                problems.append(f"an error line from a run that succeeded: {errors[0][:300]}")
        elif not errors:
            problems.append(f"no error line on stderr: {text[:300]}")
        elif len(errors) > case.np or (case.np == 1 and len(errors) != 1):
            problems.append(f"{len(errors)} error lines (at most one per failing rank): {errors[1][:300]}")
        for line in errors:
            if len(line) > LONGEST_LINE:
                problems.append(f"an error line of {len(line)} characters: {line[:200]}...")
        for fragment in case.error:
            if errors and not any(fragment in line for line in errors):
                problems.append(f"no error line holds '{fragment}': {errors[0][:400]}")


# ---- fixtures, shared by many cases and made once ----------------------------------------------------------------

def make_fixtures(runner):
    """Runs tests/corpus/fixtures.sh, which writes a results file, checkpoints, points and tasks into $FIX."""
    fix = runner.env["FIX"]
    os.makedirs(fix)
    done = subprocess.run(["/bin/bash", os.path.join(HERE, "fixtures.sh")], cwd=fix, env=runner.env,
                          capture_output=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"corpus: making the fixtures failed (exit {done.returncode}): "
                 f"{done.stdout.decode(errors='replace')[-800:]}{done.stderr.decode(errors='replace')[-1500:]}")


def known_failures():
    """Case names (globs) in known_failures.txt: cases that reveal a bug not fixed yet, each with its reason."""
    names = {}
    with open(os.path.join(HERE, "known_failures.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                names[name] = reason.strip()
    return names


def load_cases(args, env):
    with open(os.path.join(HERE, "cases.txt")) as f:
        cases = parse_cases(f.read(), "cases.txt")
    generated = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "generate.py")], env=env,
                               capture_output=True, timeout=120)
    if generated.returncode != 0:
        sys.exit(f"corpus: generate.py failed: {generated.stderr.decode(errors='replace')[-1500:]}")
    cases += parse_cases(generated.stdout.decode(), "generate.py")
    names = [c.name for c in cases]
    twice = {n for n in names if names.count(n) > 1}
    if twice:
        sys.exit(f"corpus: case names used twice: {sorted(twice)[:10]}")
    if args.only:
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in args.only)]
    return cases


# Cases the checks must fail, run first: a runner that no longer sees a changed victim, a replaced device node, a
# file left behind, a hang or a traceback would pass every case of the corpus.
SELF_TEST = r"""
case: self-test/victim-changed
setup: printf 'precious\n' >victim
run: echo changed >>victim; pel --version
exit: 0
expect: 'victim' was changed

case: self-test/device-replaced
setup: need mknod dev c 1 3
run: rm dev; touch dev; pel --version
exit: 0
expect: 'dev' was changed

case: self-test/left-behind
run: touch left; pel --version
exit: 0
expect: 'left' (file) was left behind

case: self-test/hang
run: pel run synthetic --items 100000 --mean-us 1000000 --mode sleep --output o.h5
exit: 0
timeout: 2
expect: hung

case: self-test/traceback
run: echo 'Traceback (most recent call last):' >&2; pel frobnicate
exit: 2
expect: crash or abort on stderr

case: self-test/two-error-lines
run: "$PEL" frobnicate; pel frobnicate
exit: 2
expect: error lines

case: self-test/wrong-exit
run: pel frobnicate
exit: 4
expect: exit 2, expected 4
"""


def self_test(runner):
    """Runs SELF_TEST: each case must be failed, with the problem its `expect:` names."""
    wrong = []
    for case in parse_cases(SELF_TEST, "run.py"):
        result = runner.run_case(case)
        if result["skipped"]:
            continue
        if not any(case.expect in p for p in result["problems"]):
            wrong.append(f"{case.name}: expected a problem with '{case.expect}', got {result['problems']}")
    return wrong


def main():
    parser = argparse.ArgumentParser(description="Runs pel's bad-input corpus.")
    parser.add_argument("--pel", default=os.environ.get("PEL"), help="the pel binary (default: $PEL)")
    parser.add_argument("--mpirun", default=os.environ.get("MPIRUN", "mpirun"))
    parser.add_argument("-j", type=int, default=2, help="cases run at a time (default 2)")
    parser.add_argument("--only", action="append", help="run only cases whose name matches this glob (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", action="store_true", help="keep each case's directory (printed at the end)")
    parser.add_argument("--verbose", action="store_true", help="print every case's result")
    args = parser.parse_args()
    if not args.pel:
        sys.exit("corpus: give the pel binary (--pel or $PEL)")
    args.pel = os.path.abspath(args.pel)
    work = tempfile.mkdtemp(prefix="pel-corpus-")
    runner = Runner(args, work)
    cases = load_cases(args, runner.env)
    if args.list:
        for c in cases:
            print(f"{c.name}  ({c.where})")
        shutil.rmtree(work)
        return 0
    known = known_failures()
    start = time.monotonic()
    try:
        wrong = self_test(runner)
        if wrong:
            print("corpus: the runner's self-test failed: its checks miss what they must find:")
            print("\n".join("  " + w for w in wrong))
            return 1
        make_fixtures(runner)
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
            results = list(pool.map(runner.run_case, cases))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    failed, expected, fixed = [], [], []
    skipped = [r for r in results if r["skipped"]]
    for r in skipped:
        print(f"skip {r['case'].name}: {r['skipped']}")
    results = [r for r in results if not r["skipped"]]
    for r in results:
        name = r["case"].name
        is_known = any(fnmatch.fnmatchcase(name, k) for k in known)
        if r["problems"] and is_known:
            expected.append(r)
        elif r["problems"]:
            failed.append(r)
        elif is_known:
            fixed.append(r)
        if args.verbose or (r["problems"] and not is_known):
            status = "FAIL" if r["problems"] else "ok"
            print(f"{status:4} {r['elapsed']:5.1f}s {name}  ({r['case'].where})")
            for p in r["problems"]:
                print(f"       {p}")
    slowest = max(results, key=lambda r: r["elapsed"], default=None)
    print(f"corpus: {len(results) - len(failed) - len(expected) - len(fixed)} passed, {len(failed)} failed, "
          f"{len(expected)} known failures (known_failures.txt), {len(fixed)} known failures that now pass, "
          f"{len(skipped)} skipped; "
          f"{time.monotonic() - start:.0f} s" + (f", slowest {slowest['case'].name} {slowest['elapsed']:.1f} s"
                                                   if slowest else ""))
    for r in fixed:
        print(f"FIXED {r['case'].name}: passes now, remove it from known_failures.txt")
    if args.keep:
        print(f"corpus: case directories kept under {work}/cases")
    return 1 if failed or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
