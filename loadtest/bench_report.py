#!/usr/bin/python3
"""loadtest/bench_report.py - writes BENCHMARKS.md from one loadtest/bench.sh run.

    bench_report.py --dir .local/bench/<time> [--out BENCHMARKS.md] [--plots DIR]
    bench_report.py --saturated RUN.json RATE    (exit 0 if that run did not keep up)

Reads what bench.sh left in the directory: meta.env and settings.env (KEY=VALUE
lines), datagen.txt, blocks.json (saga-blocks --json), runs.tsv (name, kind, label,
exit status per run), and for each run <name>.json (saga-load --json) and
<name>.cpu.jsonl (bench_cpu.py's CPU and wait samples) and <name>.innodb (MariaDB's bytes
written before and after), and with --growth growth.tsv (size,
orders stored, table bytes, data directory bytes, seconds) and the growth runs. Machine
facts (CPU, memory, kernel) are read here, from /proc: run it on the benchmarked
machine. Plots (PNG) go to --plots (default: docs/bench beside --out), drawn by
bench_plots.py with Debian's python3-matplotlib; the rest is standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys

import bench_cpu
import bench_plots

# A CONFIRMED saga's database steps across the four services (docs/DOMAIN.md): the
# order API's insert; OrderCreated at inventory, payment and notification;
# InventoryReserved at payment and at order; PaymentCompleted at order;
# OrderConfirmed at inventory and notification; the notification marked SENT. Outbox
# relay deletes (one per emitted event) come on top, batched.
STEPS_PER_SAGA = 10
# Events a CONFIRMED saga produces: OrderCreated, InventoryReserved, PaymentCompleted,
# OrderConfirmed, NotificationSent.
EVENTS_PER_SAGA = 5
# Deliveries it causes: OrderCreated x3, InventoryReserved x2, PaymentCompleted x1,
# OrderConfirmed x3 (inventory, payment, notification), plus saga-load reading
# OrderCreated and OrderConfirmed on order-events.
DELIVERIES_PER_SAGA = 11
# The target rate (docs/PERFORMANCE.md), against which the CPU a saga costs is read.
TARGET_SAGAS_PER_S = 2000
# bench_cpu.py's process names, as the report shows them, in this order.
CPU_PROCESSES = [("mariadb", "MariaDB"), ("order", "order"), ("payment", "payment"),
                 ("inventory", "inventory"), ("notification", "notification"),
                 ("broker", "broker"), ("redis", "Redis"), ("console", "console"),
                 ("saga-load", "saga-load")]
# Broker hops on its critical path: OrderCreated -> inventory, InventoryReserved ->
# payment, PaymentCompleted -> order, OrderConfirmed -> saga-load.
CRITICAL_HOPS = 4

SETTING_DEFAULTS = {
    "SAGA_BATCH_MAX": "500",
    "SAGA_BATCH_WAIT_MS": "5",
    "SAGA_HTTP_THREADS": "2; order-service 16",
    "SAGA_LOCAL_BROKERS": "3",
    "SAGA_TIMEOUT_MS": "30000",
    "SAGA_KAFKA_FETCH_WAIT_MS": "5",
    "SAGA_TOPIC_PARTITIONS": "6",
    "SAGA_RELAY_BATCH_MAX": "1000",
    "SAGA_NOTIFY_CHANNELS": "log",
    "PAYMENT_FAILURE_RATE": "0",
    "PAYMENT_LATENCY_MS": "0",
    "SAGA_LOG_LEVEL": "info",
}


def read_env(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    out[k] = v
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0)),
        "memory": mem,
        "kernel": platform.release(),
        "os": osname,
    }


def num(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}"
    return str(v)


def pct(part, whole):
    if not whole or part is None:
        return "–"
    share = 100.0 * part / whole
    return f"{share:.{0 if share >= 10 else 1 if share >= 1 else 2}f} %"


def get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def table(headers, rows, align=None):
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def lat4(lat):
    """p50 / p95 / p99 / max of a saga-load latency object, in ms."""
    if not lat or not lat.get("count"):
        return "–"
    return " / ".join(num(lat.get(k), 1) for k in ("p50", "p95", "p99", "max"))


def outcomes_text(run):
    by = get(run, "outcomes", "by_outcome", default={}) or {}
    parts = [f"{k} {v:,}" for k, v in by.items() if v]
    return ", ".join(parts) or "none"


def audit_text(run):
    a = run.get("audit") or {}
    if not a.get("ran"):
        return "not run"
    return "clean" if a.get("clean") else f"FAILED (exit {a.get('exit_status')})"


def run_figures(values, digits=0):
    """" (a, b, c)": every run's figure, when there is more than one run."""
    if len(values) < 2:
        return ""
    return " (" + ", ".join(num(v, digits) for v in values) + ")"


def audits_text(runs):
    """The audits of a group of runs: "clean", "clean ×3", or each one's result."""
    texts = [audit_text(r["data"]) if r["data"] else "–" for r in runs]
    if not texts:
        return "–"
    if len(set(texts)) == 1:
        return texts[0] + (f" ×{len(texts)}" if len(texts) > 1 else "")
    return ", ".join(texts)


def keeps_up(run, rate=None):
    """Whether a load run's system kept up with what was offered: the run passed,
    saga-load could send at 90 % of the asked rate (open loop), and outcomes came
    about as fast as orders were accepted (no growing backlog). bench.sh stops its
    rate ladder at the first rung that does not."""
    if not run or not run.get("ok"):
        return False
    offered = get(run, "throughput_per_s", "offered") or 0
    accepted = get(run, "throughput_per_s", "accepted") or 0
    completed = get(run, "throughput_per_s", "completed") or 0
    rate = rate if rate is not None else get(run, "config", "rate") or 0
    if rate and offered < 0.9 * rate:
        return False
    return completed >= 0.85 * accepted


def db_block(blocks, name):
    for m in get(blocks, "db", "measurements", default=[]) or []:
        if m.get("name") == name and not m.get("error"):
            return m
    return None


class Report:
    def __init__(self, work):
        self.work = work
        self.meta = read_env(os.path.join(work, "meta.env"))
        self.settings = read_env(os.path.join(work, "settings.env"))
        self.blocks = read_json(os.path.join(work, "blocks.json"))
        self.datagen = read_text(os.path.join(work, "datagen.txt"))
        self.runs = []
        self.growth_runs = []  # the --growth runs, reported in their own section
        self.warmups = []
        self.plots = {}  # plot name -> its path relative to the report, once drawn
        try:
            with open(os.path.join(work, "runs.tsv")) as f:
                for line in f:
                    fields = line.rstrip("\n").split("\t")
                    if len(fields) < 4:
                        continue
                    name, kind, label, rc = fields[:4]
                    data = read_json(os.path.join(work, f"{name}.json"))
                    if kind == "warmup":
                        self.warmups.append({"label": label, "rc": rc})
                        continue
                    runs = self.growth_runs if kind.startswith("growth-") else self.runs
                    runs.append({"name": name, "kind": kind, "label": label,
                                      "rc": int(rc) if rc.lstrip("-").isdigit() else rc,
                                      "data": data})
        except OSError:
            pass
        self.growth = []
        try:
            with open(os.path.join(work, "growth.tsv")) as f:
                for line in f:
                    fields = line.rstrip("\n").split("\t")
                    if len(fields) >= 5 and all(x.isdigit() for x in fields[:5]):
                        size, stored, tbytes, dbytes, secs = (int(x) for x in fields[:5])
                        self.growth.append({"size": size, "stored": stored,
                                            "table_bytes": tbytes, "disk_bytes": dbytes,
                                            "seconds": secs,
                                            "load": read_json(os.path.join(
                                                work, f"growth-{size}.load.json"))})
        except OSError:
            pass
        batched = db_block(self.blocks, "step_tx100_multi_c4")
        unbatched = db_block(self.blocks, "step_tx1_c16")
        self.bound_db_batched = batched["steps_per_s"] / STEPS_PER_SAGA if batched else None
        self.bound_db_unbatched = (unbatched["steps_per_s"] / STEPS_PER_SAGA
                                   if unbatched else None)
        produce = get(self.blocks, "broker", "produce", "msgs_per_s")
        consume = get(self.blocks, "broker", "consume", "msgs_per_s")
        self.bound_produce = produce / EVENTS_PER_SAGA if produce else None
        self.bound_consume = consume / DELIVERIES_PER_SAGA if consume else None
        hop = get(self.blocks, "broker", "latency", "p50_ms")
        self.latency_floor = hop * CRITICAL_HOPS if hop else None

    # ---- sections ------------------------------------------------------------------
    def header(self):
        when = self.meta.get("stamp", "")
        try:
            when = datetime.datetime.strptime(when, "%Y%m%dT%H%M%SZ").strftime(
                "%Y-%m-%d %H:%M UTC")
        except ValueError:
            pass
        out = ["# Benchmarks", "",
               f"Measured by `loadtest/bench.sh` on {when}: the local stack "
               "(`deploy/local/up.sh`: MariaDB with durable commits, Redis, the "
               "librdkafka mock broker, the four services) driven by `saga-load`, next to "
               "what the building blocks alone do on the same machine in the same session "
               "(`saga-blocks`). Client, broker, databases and services share the machine's "
               "cores, so read the absolute figures as this machine's, and the fractions "
               "as what carries over.", ""]
        if self.meta.get("quick") == "1":
            out += ["> **Quick run** (`--quick`): a few seconds per run, for checking the "
                    "benchmark itself. The figures are not representative.", ""]
        return out

    def machine_section(self):
        m = machine()
        dirty = self.meta.get("git_dirty", "0")
        commit = self.meta.get("git_commit", "?") + (
            f" (+{dirty} uncommitted changes)" if dirty not in ("", "0") else "")
        rows = [
            ("CPU", m["cpu"]),
            ("cores (nproc)", m["nproc"]),
            ("memory", m["memory"]),
            ("OS, kernel", f"{m['os']}, {m['kernel']}"),
            ("MariaDB", self.meta.get("mariadb_version", "?")),
            ("Redis", self.meta.get("redis_version", "?")),
            ("librdkafka (client and mock broker)", self.meta.get("librdkafka_version", "?")),
            ("commit", commit),
        ]
        return ["## Machine", "", table(["", ""], rows, ["l", "l"]), ""]

    def settings_section(self):
        m = self.meta
        rows = [
            ("MariaDB `innodb_flush_log_at_trx_commit`",
             f"{m.get('mariadb_flush_log_at_trx_commit', '?')} (durable: fsync per commit)"),
            ("MariaDB `sync_binlog` / `log_bin`",
             f"{m.get('mariadb_sync_binlog', '?')} / {m.get('mariadb_log_bin', '?')}"),
            ("MariaDB buffer pool", f"{m.get('mariadb_buffer_pool_mib', '?')} MiB"),
            ("MariaDB redo log (`innodb_log_file_size`)",
             f"{m.get('mariadb_log_file_mib', '?')} MiB"),
            ("MariaDB `innodb_flush_neighbors` / `innodb_io_capacity`",
             f"{m.get('mariadb_flush_neighbors', '?')} / {m.get('mariadb_io_capacity', '?')}"),
        ]
        for k, v in self.settings.items():
            shown = f"`{v}`" if v else f"default (`{SETTING_DEFAULTS.get(k, '?')}`)"
            rows.append((f"`{k}`", shown))
        rows.append(("load data", f"{int(m.get('customers', 0)):,} rich wallets + 100 poor, "
                                  f"{int(m.get('products', 0)):,} products + 10 empty"))
        if self.datagen:
            rows.append(("data load (loadtest/datagen.sh)", self.datagen.splitlines()[-1]
                         .replace("datagen: ", "")))
        return ["## Settings", "", table(["setting", "value"], rows, ["l", "l"]), "",
                "The order API's rate limits are off (`0`) for the benchmark: they would "
                "refuse most orders of a single load generator.", ""]

    def reproduce_section(self):
        return ["## Reproduce", "", "```", self.meta.get("command", "loadtest/bench.sh"), "```",
                "", "Raw results (saga-load and saga-blocks JSON, logs) are kept in "
                f"`.local/bench/{self.meta.get('stamp', '<time>')}/`.", ""]

    def blocks_section(self):
        out = ["## Building blocks (saga-blocks)", ""]
        if not self.blocks:
            return out + ["saga-blocks left no results.", ""]
        secs = self.blocks.get("seconds")
        db = self.blocks.get("db") or {}
        out += [f"Each figure: one measurement of {num(secs)} s. A *step* is one saga step's "
                "rows: an inbox `INSERT IGNORE`, an order-row upsert, a 500-byte outbox "
                "`INSERT`, in the scratch database `saga_bench_blocks` on the stack's MariaDB "
                f"({db.get('server_version', '?')}, "
                f"`innodb_flush_log_at_trx_commit={db.get('innodb_flush_log_at_trx_commit')}`"
                "). *per-row*: one statement per round trip; *multi-row*: three multi-row "
                "`INSERT`s per transaction.", ""]
        rows = []
        for m in db.get("measurements", []):
            if m.get("error"):
                rows.append((m["name"], m.get("connections"), m.get("steps_per_tx"),
                             m.get("statements"), "failed: " + m["error"], "", "", ""))
                continue
            rows.append((f"`{m['name']}`", m["connections"], m["steps_per_tx"],
                         m["statements"].replace("_", "-"), num(m["steps_per_s"]),
                         num(m["commits_per_s"]), num(m["tx_p50_ms"], 2),
                         num(m["tx_p99_ms"], 2)))
        out += [table(["measurement", "connections", "steps/tx", "statements", "steps/s",
                       "commits/s", "tx p50 ms", "tx p99 ms"], rows,
                      ["l", "r", "r", "l", "r", "r", "r", "r"]), ""]
        b = self.blocks.get("broker")
        if b:
            brokers = self.settings.get("SAGA_LOCAL_BROKERS") or SETTING_DEFAULTS["SAGA_LOCAL_BROKERS"]
            out += [f"Broker: the local saga-broker (librdkafka mock cluster, {brokers} "
                    f"broker{'s' if brokers != '1' else ''}), "
                    f"scratch topic with {b.get('partitions')} partitions, "
                    f"{b.get('message_bytes')}-byte messages.", ""]
            rows = [
                ("produce, acks=all, idempotent, linger.ms 5",
                 f"{num(get(b, 'produce', 'msgs_per_s'))} msg/s "
                 f"({num(get(b, 'produce', 'mib_per_s'), 1)} MiB/s)"),
                ("consume, one consumer, fetch.wait.max.ms 5",
                 f"{num(get(b, 'consume', 'msgs_per_s'))} msg/s"),
                (f"produce→consume latency at {num(get(b, 'latency', 'rate'))} msg/s "
                 "(producer linger.ms 1 like the services' relay)",
                 f"p50 {num(get(b, 'latency', 'p50_ms'), 2)} ms, "
                 f"p99 {num(get(b, 'latency', 'p99_ms'), 2)} ms, "
                 f"max {num(get(b, 'latency', 'max_ms'), 2)} ms"),
            ]
            if b.get("error"):
                rows.append(("error", b["error"]))
            out += [table(["broker", "figure"], rows, ["l", "l"]), ""]
        out += self.blocks_cpu_lines()
        return out

    def blocks_cpu_lines(self):
        c = self.blocks.get("cpu")
        if not c:
            return []
        out = ["The services' own work per event and per order request, each piece alone on "
               "one thread (CPU µs per operation, the median of 5 slices): parsing an event "
               "as it travels, then checking it as a consumer does (its type known, the "
               "whole document against its schema); verifying an order's bearer token on its "
               "first use and again (the verifier remembers the tokens it verified).", ""]
        rows = [(e["type"], e["consumers"], num(e["bytes"]), num(e["parse_us"], 1),
                 num(e["validate_us"], 1)) for e in c.get("events", [])]
        out += [table(["event", "consumers in a saga", "bytes", "parse µs", "validate µs"],
                      rows, ["l", "r", "r", "r", "r"]), ""]
        first, again = c.get("verify_us") or {}, c.get("verify_again_us") or {}
        out += [table(["bearer token", "first use µs", "again µs"],
                      [(alg, num(first[alg], 1), num(again.get(alg), 1)) for alg in first],
                      ["l", "r", "r"]), ""]
        out += [f"Per saga, every consumer's parse and validation: "
                f"{num(c.get('events_per_saga_us'), 0)} µs; the order's token (the stack "
                f"verifies ES256): {num(first.get('ES256'), 0)} µs on first use."]
        if c.get("error"):
            out += ["", f"The CPU measurement failed: {c['error']}"]
        return out + [""]

    def summary_section(self):
        rows = []
        for r in self.runs:
            d = r["data"]
            if r["rc"] == "skipped":
                rows.append((f"`{r['name']}`", r["label"], "not run", "", "", "", "", "", "",
                             "", "the ladder stopped at a saturated rung"))
                continue
            if not d:
                rows.append((f"`{r['name']}`", r["label"], "no JSON", "", "", "", "", "", "",
                             "", f"exit {r['rc']}"))
                continue
            rows.append((
                f"`{r['name']}`",
                r["label"],
                num(get(d, "throughput_per_s", "offered"), 0),
                num(get(d, "throughput_per_s", "accepted"), 0),
                num(get(d, "throughput_per_s", "completed"), 0),
                num(get(d, "latency_ms", "http", "p99"), 1),
                num(get(d, "latency_ms", "e2e", "p50"), 1),
                num(get(d, "latency_ms", "e2e", "p99"), 1),
                "yes" if keeps_up(d) else "**no**",
                audit_text(d),
                "OK" if d.get("ok") else f"FAILED: {d.get('failure')}",
            ))
        warm = []
        if self.warmups:
            bad = [w for w in self.warmups if w["rc"] != "0"]
            state = "all passed" if not bad else f"**{len(bad)} FAILED**"
            warm = [f"Before each run the local broker and the four services were started "
                    "anew (MariaDB and Redis kept running): the mock broker walks a "
                    "partition's whole log to find a fetch's offset, so a run would "
                    "otherwise pay for the messages of the runs before it. Each start was "
                    f"followed by a warm-up run ({self.warmups[0]['label']}, not in the "
                    "tables, and not audited on its own: the run after it audits every "
                    f"stored order, the warm-up's included): {len(self.warmups)} warm-ups, "
                    f"{state}.", ""]
        return ["## Summary", "",
                "The throughput targets, what bounds them on this machine, and what each "
                "change did: `docs/PERFORMANCE.md`.", ""] + warm + [
                table(["run", "what", "offered/s", "accepted/s", "completed sagas/s",
                       "HTTP p99 ms", "e2e p50 ms", "e2e p99 ms", "keeps up", "audit",
                       "result"], rows,
                      ["l", "l", "r", "r", "r", "r", "r", "r", "l", "l", "l"]), "",
                "*accepted/s*: 202 answers per second of sending; *completed sagas/s*: "
                "outcomes (OrderConfirmed or OrderCancelled) read on order-events per second, "
                "from the first send to the last outcome; *HTTP*: from the order's scheduled "
                "send time to its answer (open loop: includes waiting for a connection); "
                "*e2e*: from the scheduled send to the outcome event; *keeps up*: saga-load "
                "could offer at least 90 % of the asked rate and outcomes came at least 85 % "
                "as fast as orders were accepted (no growing backlog). The ladder stops at the "
                "first rung that does not keep up (`--full-ladder` runs them all).", ""]

    def run_section(self, r):
        d = r["data"]
        out = [f"### `{r['name']}`: {r['label']}", ""]
        if r["rc"] == "skipped":
            return out + ["Not run: the ladder stopped at the first rung that did not keep "
                          "up.", ""]
        if not d:
            return out + [f"No JSON report (saga-load exit status {r['rc']}); see "
                          f"`.local/bench/{self.meta.get('stamp')}/{r['name']}.txt`.", ""]
        orders = d.get("orders") or {}
        cfg = d.get("config") or {}
        offered = (f"{num(cfg.get('rate'))} orders/s (open loop)" if cfg.get("rate")
                   else f"closed loop, {num(cfg.get('concurrency'))} in flight")
        statuses = ", ".join(f"{k}: {v:,}" for k, v in (orders.get("by_status") or {}).items())
        comp = get(d, "throughput_per_s", "completed")
        rows = [
            ("offered", f"{offered}; {num(orders.get('offered'))} orders in "
                        f"{num(get(d, 'duration_s', 'send'), 1)} s = "
                        f"{num(get(d, 'throughput_per_s', 'offered'), 1)}/s"),
            ("accepted (202)", f"{num(orders.get('accepted'))} = "
                               f"{num(get(d, 'throughput_per_s', 'accepted'), 1)}/s"),
            ("answers by status", statuses or "–"),
            ("refused (409 sold out)", num(orders.get("refused_sold_out"))),
            ("errors (transport)", num(orders.get("errors"))),
            ("completed sagas", f"{num(get(d, 'outcomes', 'completed'))} = {num(comp, 1)}/s "
                                f"(last outcome at {num(get(d, 'duration_s', 'completion'), 1)} s)"),
            ("missing outcomes", num(get(d, "outcomes", "missing"))),
            ("keeps up", "yes" if keeps_up(d) else "no (saturated)"),
            ("HTTP p50 / p95 / p99 / max ms", lat4(get(d, "latency_ms", "http"))),
            ("HTTP service time p50 / p95 / p99 / max ms",
             lat4(get(d, "latency_ms", "http_service"))),
            ("end-to-end p50 / p95 / p99 / max ms", lat4(get(d, "latency_ms", "e2e"))),
            ("end-to-end, CONFIRMED only", lat4(get(d, "latency_ms", "e2e_confirmed"))),
            ("outcomes", outcomes_text(d)),
            ("unexpected for their kind", num(get(d, "outcomes", "unexpected"))),
            ("audit", audit_text(d)),
            ("result", "OK" if d.get("ok") else f"FAILED: {d.get('failure')}"),
        ]
        if comp:
            rows.append(("of the DB bound (batched, multi-row)",
                         pct(comp, self.bound_db_batched)))
            rows.append(("of the broker produce bound", pct(comp, self.bound_produce)))
        e2e = get(d, "latency_ms", "e2e", "p50")
        if e2e and self.latency_floor:
            rows.append(("end-to-end p50 / 4-hop broker floor",
                         f"{e2e / self.latency_floor:.1f}×"))
        out += [table(["", ""], rows, ["l", "l"]), ""]
        return out

    def flash_section(self):
        out = []
        for r in self.runs:
            f = get(r["data"], "flash")
            if not f:
                continue
            ref = f.get("refusal_latency_ms") or {}
            rows = [
                ("stock", num(f.get("stock"))),
                ("orders offered", num(get(r["data"], "orders", "offered"))),
                ("CONFIRMED", num(f.get("confirmed"))),
                ("OUT_OF_STOCK (cancelled by inventory)", num(f.get("out_of_stock"))),
                ("refused with 409 (sold-out hint)", num(f.get("refused_sold_out"))),
                ("oversell (CONFIRMED beyond the stock)",
                 f"{num(f.get('oversell'))} — {'OVERSOLD' if f.get('oversold') else 'none'}"),
                ("409 refusal latency p50 / p95 / p99 / max ms", lat4(ref)),
                ("audit", audit_text(r["data"])),
            ]
            out += [f"## Flash sale (`{r['name']}`)", "",
                    "Every order is for one unit of `load-flash`; the stock is set by "
                    "saga-load before the first order. Selling more than the stock would be "
                    "a correctness failure; once inventory publishes the sold-out hint, "
                    "order-service refuses further orders with 409 without creating them.",
                    "", table(["", ""], rows, ["l", "l"]), ""]
        return out

    def fractions_section(self):
        out = ["## Against the building blocks", ""]
        if not self.blocks:
            return out + ["No building-block figures: no fractions.", ""]
        out += [
            "How a run's completed sagas/s compare with what the blocks allow:",
            "",
            f"- **DB, batched**: a CONFIRMED saga costs about {STEPS_PER_SAGA} steps across "
            "the four services (the order API's insert; OrderCreated at inventory, payment "
            "and notification; InventoryReserved at payment and order; PaymentCompleted at "
            "order; OrderConfirmed at inventory and notification; the notification marked "
            "sent), all on one MariaDB. Bound = `step_tx100_multi_c4` steps/s ÷ "
            f"{STEPS_PER_SAGA} = **{num(self.bound_db_batched)} sagas/s**: the services "
            "batch consumed events into one transaction, four of them at a time.",
            f"- **DB, one step per transaction**: `step_tx1_c16` steps/s ÷ {STEPS_PER_SAGA} "
            f"= {num(self.bound_db_unbatched)} sagas/s: what the same work would reach "
            "without batching (the order API's insert is always one per transaction).",
            f"- **Broker**: {EVENTS_PER_SAGA} events produced per saga → produce bound "
            f"{num(self.bound_produce)} sagas/s; {DELIVERIES_PER_SAGA} deliveries → consume "
            f"bound {num(self.bound_consume)} sagas/s.",
            f"- **Latency floor**: {CRITICAL_HOPS} broker hops on a confirmed saga's critical "
            f"path × the measured p50 hop = {num(self.latency_floor, 1)} ms, before any "
            "commit or batching wait.",
            "",
            "Mixed runs are 90 % confirmed orders; cancelled ones take fewer steps, so the "
            "bounds are slightly conservative. A ladder rung below saturation uses only what "
            "it is offered: the fraction there is load, not efficiency; the maximum run shows "
            "the ceiling.",
            "",
        ]
        rows = []
        for r in self.runs:
            d = r["data"]
            if not d:
                continue
            comp = get(d, "throughput_per_s", "completed")
            e2e = get(d, "latency_ms", "e2e", "p50")
            rows.append((
                f"`{r['name']}`", num(comp),
                pct(comp, self.bound_db_batched), pct(comp, self.bound_db_unbatched),
                pct(comp, self.bound_produce), pct(comp, self.bound_consume),
                f"{e2e / self.latency_floor:.1f}×" if e2e and self.latency_floor else "–",
            ))
        out += [table(["run", "completed sagas/s", "of DB batched", "of DB 1 step/tx",
                       "of broker produce", "of broker consume", "e2e p50 ÷ floor"], rows), ""]
        return out

    def samples_of(self, r, measure):
        """measure(<name>.cpu.jsonl, start, end) over the run's span, from its first send
        to its last outcome (bench_cpu.window or bench_cpu.worst_second), or None."""
        d = r["data"]
        start = get(d, "started_at_unix_s")
        span = get(d, "duration_s", "completion")
        if not d or not start or not span:
            return None
        return measure(os.path.join(self.work, f"{r['name']}.cpu.jsonl"), start, start + span)

    def cpu_of(self, r):
        """The run's CPU between its first send and its last outcome, or None."""
        return self.samples_of(r, bench_cpu.window)

    def cpu_section(self):
        cores = os.cpu_count() or 1
        budget = cores * 1000.0 / TARGET_SAGAS_PER_S
        out = ["## Where the CPU goes", "",
               "CPU time (user + system, all threads) of each process between a run's first "
               "send and its last outcome, sampled from /proc by `loadtest/bench_cpu.py`, per "
               "completed saga. *other*: the rest of the machine's busy time (kernel threads, "
               "the sampler). *CPU bound*: the rate at which this cost per saga would take all "
               f"{cores} cores ({cores} × 1,000 ms ÷ total); near saturation the measured rate "
               "meets it.", ""]
        rows, ceiling = [], None
        for r in self.runs + self.growth_runs:
            d, w = r["data"], self.cpu_of(r)
            sagas = get(d, "outcomes", "completed")
            if not w or not sagas:
                continue
            per = {name: w["cpu"].get(name, 0.0) * 1000.0 / sagas for name, _ in CPU_PROCESSES}
            total = w["busy"] * 1000.0 / sagas
            # the processes' and the machine's counters tick separately: a few
            # hundredths of a ms below zero is rounding, not a negative cost
            other = max(0.0, total - sum(per.values()))
            bound = cores * 1000.0 / total if total > 0 else None
            comp = get(d, "throughput_per_s", "completed")
            busy_pct = 100.0 * w["busy"] / (w["busy"] + w["idle"]) if w["busy"] + w["idle"] else 0
            rows.append([f"`{r['name']}`", num(comp), f"{busy_pct:.0f} %"]
                        + [num(per[name], 2) for name, _ in CPU_PROCESSES]
                        + [num(other, 2), f"**{num(total, 2)}**", num(bound), pct(comp, bound)])
            if comp and (ceiling is None or comp > ceiling[3]):
                ceiling = (r["name"], total, bound, comp)
        if not rows:
            return out + ["No CPU samples.", ""]
        out += [table(["run", "completed sagas/s", "machine busy"]
                      + [f"{label} ms" for _, label in CPU_PROCESSES]
                      + ["other ms", "total ms/saga", "CPU bound sagas/s", "of CPU bound"],
                      rows), ""]
        out += [f"**The bound on {TARGET_SAGAS_PER_S:,} sagas/s.** On {cores} cores, "
                f"{TARGET_SAGAS_PER_S:,} sagas/s leave {num(budget, 2)} ms of CPU per saga for "
                "everything: services, MariaDB, broker, Redis and the load generator."]
        if ceiling:
            name, total, bound, _ = ceiling
            out[-1] += (f" The run that completed the most sagas/s, `{name}`, spent "
                        f"{num(total, 2)} ms per saga, {total / budget:.1f}× that: at this "
                        f"cost per saga this machine's CPU allows about {num(bound)} "
                        "sagas/s.")
        return out + [""]

    def waits_section(self):
        out = ["## What the machine waited for", "",
               "For each run, the second between its first send and its last outcome in which "
               "tasks waited longest for the disk, from the kernel's pressure stall counters "
               "(`/proc/pressure`, sampled with the CPU by `loadtest/bench_cpu.py`): the share "
               "of that second in which at least one task (*some*) or every running task "
               "(*all*) waited for the disk, how long the disks took per read and per write "
               "then (`/proc/diskstats`), and the share in which some task waited for a CPU. "
               "A durable commit waits for the disk, so a second with a slow disk holds up "
               "every saga step committing in it; a run whose p99 is high with a quiet disk "
               "waited for the CPU instead (its own work, or the VM running slower). "
               "*Seconds the disk held up*: the run's whole seconds in which some task "
               "waited for the disk more than "
               f"{bench_cpu.SLOW_DISK_SECOND_PCT:.0f} % of the time (a quiet one: under 10 %). "
               "*Longest gap*: the longest time between two samples (taken every 0.25 s); "
               "much more means the whole machine stood still.", ""]
        rows = []
        for r in self.runs + self.growth_runs:
            d, w = r["data"], self.samples_of(r, bench_cpu.worst_second)
            if not w:
                continue
            rows.append([f"`{r['name']}`", num(get(d, "throughput_per_s", "completed")),
                         num(get(d, "latency_ms", "e2e", "p99")),
                         num(get(d, "latency_ms", "http_service", "p99"), 1),
                         num(w["at"], 1), f"{w['io_some']:.0f} / {w['io_full']:.0f} %",
                         f"{num(w['read_ms'], 2)} / {num(w['write_ms'], 2)}",
                         f"{w['cpu_some']:.0f} %", f"{w['slow_seconds']} of {w['seconds']}",
                         num(w["longest_gap_ms"])])
        if not rows:
            return out + ["No wait samples (runs recorded before bench_cpu.py sampled them).",
                          ""]
        return out + [table(["run", "completed sagas/s", "e2e p99 ms", "HTTP service p99 ms",
                             "worst second, s after start", "waiting for the disk (some / all)",
                             "ms per disk read / write", "waiting for a CPU",
                             "seconds the disk held up", "longest gap ms"], rows), ""]

    def innodb_of(self, r):
        """(data page bytes, redo bytes) MariaDB wrote during the run (<name>.innodb,
        written by bench.sh before and after it), or None."""
        try:
            with open(os.path.join(self.work, f"{r['name']}.innodb")) as f:
                rows = [line.split() for line in f if line.strip()]
        except OSError:
            return None
        if len(rows) != 2 or not all(len(x) == 2 and all(v.isdigit() for v in x)
                                     for x in rows):
            return None
        return (int(rows[1][0]) - int(rows[0][0]), int(rows[1][1]) - int(rows[0][1]))

    def writes_section(self):
        out = ["## What MariaDB wrote", "",
               "Bytes MariaDB wrote to its data files (pages and the doublewrite buffer) and "
               "to its redo log from a run's start to its end (the audit included), per "
               "completed saga. Every run starts with no dirty page in the buffer pool "
               "(bench.sh writes them out first), and MariaDB writes data pages only once its "
               "redo log is about three quarters full: a run of 20 to 30 seconds holds few "
               "of its own page writes, which come later. A sustained run's are in "
               "docs/PERFORMANCE.md.", ""]
        rows = []
        for r in self.runs + self.growth_runs:
            w, sagas = self.innodb_of(r), get(r["data"], "outcomes", "completed")
            if not w or not sagas:
                continue
            rows.append([f"`{r['name']}`", num(sagas), num(w[0] / 1024.0 / sagas, 1),
                         num(w[1] / 1024.0 / sagas, 1)])
        if not rows:
            return []
        return out + [table(["run", "completed sagas", "data files KB/saga", "redo KB/saga"],
                            rows), ""]

    def cpu_per_saga(self, r):
        """{label: ms per completed saga} for each process and "other", and the total;
        (None, None) without samples."""
        w, sagas = self.cpu_of(r), get(r["data"], "outcomes", "completed")
        if not w or not sagas:
            return None, None
        per = {label: w["cpu"].get(name, 0.0) * 1000.0 / sagas for name, label in CPU_PROCESSES}
        total = w["busy"] * 1000.0 / sagas
        per["other"] = max(0.0, total - sum(per.values()))
        return per, total

    def growth_runs_of(self, size, kind):
        """The runs of one kind ("max" or "rate") at one size, in the order they ran:
        growth-SIZE-KIND, or growth-SIZE-KIND-1..N with --growth-repeat N."""
        pattern = re.compile(rf"growth-{size}-{kind}(-\d+)?")
        return [r for r in self.growth_runs if pattern.fullmatch(r["name"])]

    @staticmethod
    def median_run(runs, *path, high=False):
        """The run whose figure at path is the median of the runs that have one; of an
        even number the lower middle one (high: the upper), so that the figure reported
        is the less flattering of the two."""
        measured = [r for r in runs if get(r["data"], *path) is not None]
        if not measured:
            return runs[0] if runs else None
        values = [get(r["data"], *path) for r in measured]
        value = (statistics.median_high if high else statistics.median_low)(values)
        return measured[values.index(value)]

    def growth_points(self):
        points, prev = [], None
        for g in self.growth:
            max_runs = self.growth_runs_of(g["size"], "max")
            rate_runs = self.growth_runs_of(g["size"], "rate")
            # the ceiling's median run (and its CPU per saga), the p99's median run
            mx = self.median_run(max_runs, "throughput_per_s", "completed")
            fixed = self.median_run(rate_runs, "latency_ms", "e2e", "p99", high=True)
            per, total = self.cpu_per_saga(mx) if mx else (None, None)
            stored = g["stored"] or None
            points.append({
                "size": g["size"], "stored": g["stored"], "g": g, "max": mx, "rate": fixed,
                "max_runs": max_runs, "rate_runs": rate_runs,
                "ceiling_runs": [get(r["data"], "throughput_per_s", "completed")
                                 for r in max_runs],
                "p99_runs": [get(r["data"], "latency_ms", "e2e", "p99") for r in rate_runs],
                "ceiling": get(mx and mx["data"], "throughput_per_s", "completed"),
                "p99": get(fixed and fixed["data"], "latency_ms", "e2e", "p99"),
                "cpu": per, "cpu_total": total,
                "table_bytes": g["table_bytes"] / stored if stored else None,
                "disk_bytes": g["disk_bytes"] / stored if stored else None,
                # what one more order costs: the growth since the size before, which
                # leaves out the fixed part (system tablespace, undo, products, wallets)
                "disk_marginal": (g["disk_bytes"] - prev["disk_bytes"]) /
                (g["stored"] - prev["stored"]) if prev and g["stored"] > prev["stored"]
                else None,
            })
            prev = g
        return points

    def history_lines(self):
        for g in self.growth:
            n = get(g.get("load"), "items_per_order")
            if n and get(g.get("load"), "added"):
                return n
        return "2"

    def growth_section(self):
        if not self.growth:
            return []
        rate = self.meta.get("growth_rate", "?")
        repeat = int(self.meta.get("growth_repeat") or 1)
        repeated = (f" Each size ran each kind {repeat} times, alternating (`--growth-repeat "
                    f"{repeat}`): the ceiling, its CPU per saga and the p99 are each kind's "
                    "median run, every run's figure in brackets in the order they ran."
                    if repeat > 1 else "")
        out = ["## Growth: the same runs on a database that holds a history", "",
               f"`--growth \"{self.meta.get('growth', '')}\"`: before each size, "
               "`loadtest/growth_load.py` loaded the rows completed sagas leave in the four "
               "databases (history ids: "
               f"{'UUIDv7' if self.meta.get('growth_ids', 'v7') == 'v7' else 'random UUIDv4'}"
               f", saga-load's order mix with {self.history_lines()} lines per order, placed in "
               "the past), then a ceiling run "
               f"(`--rate 0`) and a run at {rate} orders/s, each after a fresh broker and "
               "services, each ending with the audit. *stored*: orders in saga_order when "
               "the size was reached (the runs before add theirs); *bytes/order*: the four "
               "databases' tables (data + indexes, after `ANALYZE TABLE`) and the whole data "
               "directory without the redo log, divided by the stored orders; *per added "
               "order*: the data directory's growth since the size before, divided by the "
               "orders added (the fixed part left out)." + repeated, ""]
        rows, first = [], None
        for p in self.growth_points():
            g = p["g"]
            ceiling = p["ceiling"]
            if first is None and ceiling:
                first = ceiling
            load = g.get("load") or {}
            mariadb = (p["cpu"] or {}).get("MariaDB")
            rate_data = [r["data"] for r in p["rate_runs"] if r["data"]]
            kept = sum(1 for d in rate_data if keeps_up(d))
            if not rate_data:
                kept_up = "–"
            elif kept == len(rate_data):
                kept_up = "yes"
            else:
                kept_up = f"**no** ({kept} of {len(rate_data)} kept up)" \
                    if len(rate_data) > 1 else "**no**"
            rows.append((
                num(p["size"]), num(p["stored"]),
                f"{num(load.get('added'))} in {num(load.get('seconds'), 0)} s"
                if load.get("added") else "–",
                num(ceiling) + run_figures(p["ceiling_runs"]),
                pct(ceiling, first) if first and ceiling else "–",
                num(p["cpu_total"], 2), num(mariadb, 2),
                num(p["p99"], 1) + run_figures(p["p99_runs"], digits=1),
                kept_up,
                num(p["table_bytes"]), num(p["disk_bytes"]), num(p["disk_marginal"]),
                " / ".join(audits_text(runs) for runs in (p["max_runs"], p["rate_runs"])),
            ))
        out += [table(["size", "stored", "loaded", "ceiling sagas/s", "of the first",
                       "CPU ms/saga", "MariaDB ms/saga", f"e2e p99 ms at {rate}/s",
                       f"keeps up with {rate}/s", "table bytes/order", "disk bytes/order",
                       "disk bytes per added order", "audit (ceiling / fixed rate)"], rows,
                      ["r"] * 8 + ["l", "r", "r", "r", "l"]), ""]
        if "growth" in self.plots:
            out += [f"![Growth: ceiling, p99, CPU per saga and bytes per order against stored "
                    f"orders]({self.plots['growth']})", ""]
        return out

    def draw_plots(self, plot_dir, out_path):
        """Draws the plots into plot_dir; self.plots maps each drawn one to its path
        relative to the report."""
        if not plot_dir or not bench_plots.available():
            return
        os.makedirs(plot_dir, exist_ok=True)
        note = ("quick run (--quick): an example of the plot, not a measurement"
                if self.meta.get("quick") == "1" else "") + \
            (f" ({self.meta.get('stamp')})" if self.meta.get("stamp") else "")
        rel = os.path.relpath(plot_dir, os.path.dirname(os.path.abspath(out_path)))
        comps = [label for _, label in CPU_PROCESSES] + ["other"]
        ladder = [(get(r["data"], "config", "rate"), get(r["data"], "latency_ms", "e2e", "p50"),
                   get(r["data"], "latency_ms", "e2e", "p99"),
                   get(r["data"], "latency_ms", "http", "p99"),
                   get(r["data"], "throughput_per_s", "completed"))
                  for r in self.runs if r["kind"] == "ladder" and r["data"]]
        ladder = [p for p in ladder if None not in p]
        cpu_rows = []
        for r in self.runs + self.growth_runs:
            if r["data"] and r["kind"] != "growth-rate":
                per, _ = self.cpu_per_saga(r)
                if per:
                    cpu_rows.append((r["name"], per))
        drawn = {
            "latency": bench_plots.latency_vs_rate(
                os.path.join(plot_dir, "latency.png"), ladder, note),
            "cpu": bench_plots.cpu_by_component(
                os.path.join(plot_dir, "cpu.png"), cpu_rows, comps, note),
            "growth": bench_plots.growth(
                os.path.join(plot_dir, "growth.png"), self.growth_points(), comps,
                self.meta.get("growth_rate", "?"), note) if self.growth else False,
        }
        self.plots = {k: os.path.join(rel, f"{k}.png") for k, ok in drawn.items() if ok}

    def render(self):
        out = []
        out += self.header()
        out += self.machine_section()
        out += self.settings_section()
        out += self.reproduce_section()
        out += self.blocks_section()
        out += self.summary_section()
        if "latency" in self.plots:
            out += [f"![Latency and throughput against offered rate]({self.plots['latency']})",
                    ""]
        out += ["## Runs", ""]
        for r in self.runs:
            if r["rc"] != "skipped":
                out += self.run_section(r)
        out += self.flash_section()
        out += self.fractions_section()
        out += self.cpu_section()
        if "cpu" in self.plots:
            out += [f"![CPU per saga by component]({self.plots['cpu']})", ""]
        out += self.waits_section()
        out += self.writes_section()
        out += self.growth_section()
        if not self.plots:
            out += ["No plots: python3-matplotlib is not installed (or nothing to plot).", ""]
        return "\n".join(out).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="the directory bench.sh wrote")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--plots", help="directory for the PNG plots (docs/bench beside --out)")
    ap.add_argument("--saturated", nargs=2, metavar=("RUN_JSON", "RATE"),
                    help="only say (exit status 0: yes, 1: no) whether that saga-load run "
                         "did not keep up with RATE orders/s")
    args = ap.parse_args()
    if args.saturated:
        path, rate = args.saturated
        return 1 if keeps_up(read_json(path), float(rate)) else 0
    if not args.dir or not os.path.isdir(args.dir):
        print(f"bench_report: no directory {args.dir}", file=sys.stderr)
        return 2
    report = Report(args.dir)
    report.draw_plots(args.plots or os.path.join(os.path.dirname(os.path.abspath(args.out)),
                                                 "docs", "bench"), args.out)
    text = report.render()
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
