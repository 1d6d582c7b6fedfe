#!/usr/bin/python3
"""loadtest/bench_cpu.py - where a benchmark run's CPU goes, process by process.

    bench_cpu.py run OUT NAME=PID [NAME=PID ...] -- COMMAND [ARG ...]

runs COMMAND (stdin, stdout and stderr inherited) and, from just before it starts
until it exits, every 0.25 s samples the CPU time (user + system, all threads) of
each named process, of COMMAND itself (named after its program, e.g. saga-load) and
the machine's busy and idle time (/proc/stat), appending one JSON line per sample to
OUT: {"t": <wall clock, s>, "cpu": {NAME: <s>, ...}, "busy": <s>, "idle": <s>}.
Exits with COMMAND's exit status.

bench_report.py reads the samples back with window(): the CPU each process used
between two wall-clock times (a saga-load run's first send and its last outcome),
which divided by the sagas completed is the CPU one saga costs, per process. On a
machine with N cores that cost bounds the rate: at most N x 1000 ms / (ms per saga).
Standard library only.
"""
import json
import os
import signal
import subprocess
import sys
import time

INTERVAL_S = 0.25
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid):
    """User + system CPU seconds of pid, all its threads; None once it has exited."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime


def machine_cpu_s():
    """(busy, idle) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) * TICK_S, idle * TICK_S


def _write_sample(out, named_pids):
    cpu = {}
    for name, pid in named_pids:
        s = process_cpu_s(pid)
        if s is not None:
            cpu[name] = cpu.get(name, 0.0) + s
    busy, idle = machine_cpu_s()
    out.write(json.dumps({"t": time.time(), "cpu": cpu, "busy": busy, "idle": idle}) + "\n")
    out.flush()


def run(out_path, named_pids, command):
    """Runs command, sampling meanwhile; returns its exit status."""
    with open(out_path, "a") as out:
        _write_sample(out, named_pids)
        try:
            child = subprocess.Popen(command)
        except OSError as e:
            print(f"bench_cpu: cannot run {command[0]}: {e}", file=sys.stderr)
            return 127
        named_pids = named_pids + [(os.path.basename(command[0]), child.pid)]
        # stop = forward the signal to the command and go on sampling until it exits
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
        while True:
            # WNOWAIT: the exited command stays a zombie, whose CPU times /proc still
            # shows, for the last sample
            exited = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            _write_sample(out, named_pids)
            if exited is not None:
                return child.wait()
            time.sleep(INTERVAL_S)


def read_samples(path):
    samples = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    samples.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short when the sampler was stopped
    except OSError:
        pass
    return samples


def _at(samples, t, key, name=None):
    """A counter's value at wall-clock time t, interpolated between the samples around
    it; None when t is outside the samples or a process has gone by the later one (a
    process not there yet, the command before it started, has used nothing)."""
    def value(s):
        return s["cpu"].get(name) if name else s.get(key)
    for a, b in zip(samples, samples[1:]):
        if a["t"] <= t <= b["t"]:
            va, vb = value(a), value(b)
            if vb is None:
                return None
            if va is None:
                va = 0.0
            span = b["t"] - a["t"]
            return va + (vb - va) * ((t - a["t"]) / span if span > 0 else 0.0)
    return None


def window(path, start, end):
    """CPU seconds used between wall-clock times start and end: {"cpu": {NAME: s},
    "busy": s, "idle": s, "seconds": end - start}; None without samples around both."""
    samples = read_samples(path)
    if end <= start:
        return None
    busy0, busy1 = _at(samples, start, "busy"), _at(samples, end, "busy")
    idle0, idle1 = _at(samples, start, "idle"), _at(samples, end, "idle")
    if None in (busy0, busy1, idle0, idle1):
        return None
    cpu = {}
    for name in set().union(*(s["cpu"] for s in samples)):
        a, b = _at(samples, start, None, name), _at(samples, end, None, name)
        if a is not None and b is not None:
            cpu[name] = b - a
    return {"cpu": cpu, "busy": busy1 - busy0, "idle": idle1 - idle0, "seconds": end - start}


def main(argv):
    if len(argv) < 4 or argv[0] != "run" or "--" not in argv[2:]:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    sep = argv.index("--", 2)
    named = []
    for arg in argv[2:sep]:
        name, _, pid = arg.partition("=")
        if not name or not pid.isdigit():
            print(f"bench_cpu: not NAME=PID: {arg}", file=sys.stderr)
            return 2
        named.append((name, int(pid)))
    if sep + 1 >= len(argv):
        print("bench_cpu: no command after --", file=sys.stderr)
        return 2
    return run(argv[1], named, argv[sep + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
