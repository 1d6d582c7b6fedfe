#!/usr/bin/python3
"""loadtest/bench_cpu.py - where a benchmark run's CPU goes, process by process, and
what the machine waited for meanwhile.

    bench_cpu.py run OUT NAME=PID [NAME=PID ...] -- COMMAND [ARG ...]

runs COMMAND (stdin, stdout and stderr inherited) and, from just before it starts
until it exits, every 0.25 s samples the CPU time (user + system, all threads) of
each named process, of COMMAND itself (named after its program, e.g. saga-load) and
the machine's busy and idle time (/proc/stat), and what the machine waited for: the
kernel's pressure stall counters (/proc/pressure: the time some task, or all of them,
waited for the disk or for a CPU) and the disks' reads and writes with the time they
took (/proc/diskstats, whole disks only). One JSON line per sample goes to OUT:
{"t": <wall clock, s>, "cpu": {NAME: <s>, ...}, "busy": <s>, "idle": <s>,
"waits": {"io_some_us", "io_full_us", "cpu_some_us", "reads", "read_ms", "writes",
"write_ms": <counters since boot>}} ("waits" holds only what this kernel has).
Exits with COMMAND's exit status.

bench_report.py reads the samples back with window(): the CPU each process used
between two wall-clock times (a saga-load run's first send and its last outcome),
which divided by the sagas completed is the CPU one saga costs, per process. On a
machine with N cores that cost bounds the rate: at most N x 1000 ms / (ms per saga).
With worst_second(): the second of a run in which tasks waited longest for the disk,
and how long the disk took per read and per write in it, which tells a run slowed by
the machine's disk from one slowed by the system's own work.
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


def pressure_us():
    """{"io_some_us", "io_full_us", "cpu_some_us"}: microseconds since boot in which at
    least one task (some) or every non-idle task (full) waited for the disk, or some
    task for a CPU; {} on a kernel without pressure stall information."""
    waits = {}
    for resource in ("io", "cpu"):
        try:
            with open(f"/proc/pressure/{resource}") as f:
                for line in f:  # some avg10=0.00 avg60=0.00 avg300=0.00 total=123
                    kind, *fields = line.split()
                    if kind == "some" or resource == "io":
                        waits[f"{resource}_{kind}_us"] = int(fields[-1].split("=")[1])
        except (OSError, IndexError, ValueError):
            pass
    return waits


def _whole_disks():
    """The machine's whole disks (no partitions, loop or RAM devices), read once."""
    if _whole_disks.names is None:
        try:
            _whole_disks.names = {d for d in os.listdir("/sys/block")
                                  if not d.startswith(("loop", "ram", "zram"))}
        except OSError:
            _whole_disks.names = set()
    return _whole_disks.names


_whole_disks.names = None


def disk_counters():
    """{"reads", "read_ms", "writes", "write_ms"}: completed reads and writes of the
    machine's whole disks since boot, and the milliseconds they took, summed; {} when
    /proc/diskstats cannot be read."""
    disks = _whole_disks()
    try:
        totals = [0, 0, 0, 0]
        with open("/proc/diskstats") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 7 and fields[2] in disks:
                    for i, column in enumerate((3, 6, 7, 10)):
                        totals[i] += int(fields[column])
    except (OSError, ValueError):
        return {}
    return dict(zip(("reads", "read_ms", "writes", "write_ms"), totals))


def _write_sample(out, named_pids):
    cpu = {}
    for name, pid in named_pids:
        s = process_cpu_s(pid)
        if s is not None:
            cpu[name] = cpu.get(name, 0.0) + s
    busy, idle = machine_cpu_s()
    waits = {**pressure_us(), **disk_counters()}
    out.write(json.dumps({"t": time.time(), "cpu": cpu, "busy": busy, "idle": idle,
                          "waits": waits}) + "\n")
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


def _at(samples, t, value):
    """A counter's value at wall-clock time t (value(sample) reads it from a sample),
    interpolated between the samples around it; None when t is outside the samples or a
    process has gone by the later one (a process not there yet, the command before it
    started, has used nothing)."""
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
    def machine(key):
        return lambda s: s.get(key)

    def process(name):
        return lambda s: s["cpu"].get(name)
    busy0, busy1 = _at(samples, start, machine("busy")), _at(samples, end, machine("busy"))
    idle0, idle1 = _at(samples, start, machine("idle")), _at(samples, end, machine("idle"))
    if None in (busy0, busy1, idle0, idle1):
        return None
    cpu = {}
    for name in set().union(*(s["cpu"] for s in samples)):
        a, b = _at(samples, start, process(name)), _at(samples, end, process(name))
        if a is not None and b is not None:
            cpu[name] = b - a
    return {"cpu": cpu, "busy": busy1 - busy0, "idle": idle1 - idle0, "seconds": end - start}


# The share of a second in which some task waited for the disk above which bench_report
# counts the second as one the disk held up (a quiet one is under 10 %).
SLOW_DISK_SECOND_PCT = 20.0


def worst_second(path, start, end):
    """What the machine waited for between wall-clock times start and end, or None
    without samples carrying waits (runs recorded before they were sampled):
    {"at": <s after start>, "io_some", "io_full", "cpu_some": <% of that second>,
    "read_ms", "write_ms": <ms per completed read and write, None without any>} for the
    one-second stretch in which tasks waited longest for the disk, and
    "slow_seconds": how many of the whole seconds from start had some task waiting for
    the disk more than SLOW_DISK_SECOND_PCT % of the time, "seconds": how many whole
    seconds there were, "longest_gap_ms": the longest time between two samples (the
    sampler wakes every 0.25 s, so much more means the whole machine stood still)."""
    samples = [s for s in read_samples(path)
               if start - INTERVAL_S <= s["t"] <= end + INTERVAL_S and s.get("waits")]
    if len(samples) < 2 or "io_some_us" not in samples[0]["waits"]:
        return None

    keys = list(samples[0]["waits"])

    def stretch(t0, t1):
        """What was waited for between t0 and t1, or None outside the samples."""
        c0 = {k: _at(samples, t0, lambda s, k=k: s["waits"].get(k, 0)) for k in keys}
        c1 = {k: _at(samples, t1, lambda s, k=k: s["waits"].get(k, 0)) for k in keys}
        if None in c0.values() or None in c1.values():
            return None
        span = t1 - t0

        def share(key):  # µs waited per s -> % of the stretch
            return (c1.get(key, 0) - c0.get(key, 0)) / span / 1e4

        def per_io(ms_key, n_key):
            n = c1.get(n_key, 0) - c0.get(n_key, 0)
            return (c1.get(ms_key, 0) - c0.get(ms_key, 0)) / n if n >= 1 else None
        return {"at": t0 - start, "io_some": share("io_some_us"),
                "io_full": share("io_full_us"), "cpu_some": share("cpu_some_us"),
                "read_ms": per_io("read_ms", "reads"), "write_ms": per_io("write_ms", "writes")}

    # every one-second stretch of the run that starts at a sample (or at the run's start)
    starts = [start] + [s["t"] for s in samples if start < s["t"] <= end - 1.0]
    stretches = [w for w in (stretch(t0, t0 + 1.0) for t0 in starts) if w]
    if not stretches:
        return None
    worst = max(stretches, key=lambda w: w["io_some"])
    whole = [stretch(start + k, start + k + 1.0) for k in range(int(end - start))]
    worst["seconds"] = sum(1 for w in whole if w)
    worst["slow_seconds"] = sum(1 for w in whole if w and w["io_some"] > SLOW_DISK_SECOND_PCT)
    worst["longest_gap_ms"] = 1000.0 * max(b["t"] - a["t"] for a, b in zip(samples, samples[1:]))
    return worst


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
