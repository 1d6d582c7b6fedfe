#!/usr/bin/python3
"""loadtest/bench_plots.py - the benchmark report's plots (PNG), drawn with matplotlib.

bench_report.py calls these with figures it has already read; each function writes one
PNG and returns True, or returns False when there is nothing to draw. matplotlib comes
from Debian's python3-matplotlib (run with /usr/bin/python3); without it, available()
is False and the report says so instead of showing the plots.
"""
try:
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - the report still renders, without plots
    plt = None

# one colour per process, the same in every plot
COLOURS = {"MariaDB": "#1f77b4", "order": "#ff7f0e", "payment": "#2ca02c",
           "inventory": "#d62728", "notification": "#9467bd", "broker": "#8c564b",
           "Redis": "#e377c2", "console": "#17becf", "saga-load": "#7f7f7f",
           "other": "#bcbd22"}


def available():
    return plt is not None


def _save(fig, path, note):
    if note:
        fig.text(0.99, 0.005, note, ha="right", va="bottom", fontsize=9, color="#b00000")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latency_vs_rate(path, points, note=""):
    """points: [(offered orders/s, e2e p50 ms, e2e p99 ms, HTTP p99 ms, completed/s)]."""
    points = sorted(p for p in points if p[0])
    if not points:
        return False
    x = [p[0] for p in points]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, label, style in ((1, "end-to-end p50", "o-"), (2, "end-to-end p99", "s-"),
                            (3, "HTTP p99", "^--")):
        ax.plot(x, [p[i] for p in points], style, label=label)
    ax.set_xlabel("offered orders/s")
    ax.set_ylabel("latency, ms (log)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title("Latency against offered rate")
    ax2.plot(x, x, ":", color="grey", label="offered")
    ax2.plot(x, [p[4] for p in points], "o-", label="completed sagas/s")
    ax2.set_xlabel("offered orders/s")
    ax2.set_ylabel("sagas/s")
    ax2.grid(True, alpha=0.3)
    ax2.legend()
    ax2.set_title("Throughput against offered rate")
    _save(fig, path, note)
    return True


def cpu_by_component(path, rows, components, note=""):
    """rows: [(run label, {component: ms per saga})]; components: the stacking order."""
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) + 1.8))
    labels = [r[0] for r in rows]
    left = [0.0] * len(rows)
    for comp in components:
        vals = [r[1].get(comp, 0.0) for r in rows]
        ax.barh(labels, vals, left=left, label=comp, color=COLOURS.get(comp))
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlabel("CPU ms per completed saga")
    ax.set_title("CPU per saga by component")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(ncol=min(5, len(components)), fontsize=8, loc="lower right")
    _save(fig, path, note)
    return True


def growth(path, points, components, fixed_rate, note=""):
    """points: [{"stored": orders, "ceiling": sagas/s, "p99": ms at fixed_rate,
    "cpu": {component: ms per saga at the ceiling}, "table_bytes": bytes per order,
    "disk_bytes": bytes per order, and with repeated runs "ceiling_runs" and "p99_runs":
    every run's figure, the two above being the medians}] (any value may be None)."""
    points = sorted(points, key=lambda p: p["stored"])
    if not points:
        return False
    x = [p["stored"] / 1e6 for p in points]

    def series(key):
        return [p.get(key) if p.get(key) is not None else float("nan") for p in points]

    def each_run(ax, key, marker, colour):
        """every run's figure as a hollow marker, when a size ran more than once"""
        runs = [(p["stored"] / 1e6, v) for p in points for v in (p.get(key) or [])
                if v is not None]
        if len(runs) > len(points):
            ax.plot([r[0] for r in runs], [r[1] for r in runs], marker, ls="none",
                    mfc="none", color=colour, alpha=0.6, label="each run")
            return True
        return False

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0][0]
    repeated = each_run(ax, "ceiling_runs", "o", "#1f77b4")
    ax.plot(x, series("ceiling"), "o-", color="#1f77b4",
            label="median" if repeated else None)
    first = next((v for v in series("ceiling") if v == v), None)
    if first:
        ax.axhline(0.9 * first, ls=":", color="grey", label="90 % of the first size")
        ax.legend(fontsize=8)
    ax.set_title("Ceiling (saga-load --rate 0)")
    ax.set_ylabel("completed sagas/s")
    ax = axes[0][1]
    repeated = each_run(ax, "p99_runs", "s", "#d62728")
    ax.plot(x, series("p99"), "s-", color="#d62728", label="median" if repeated else None)
    if repeated:
        ax.legend(fontsize=8)
    ax.set_title(f"End-to-end p99 at {fixed_rate} orders/s")
    ax.set_ylabel("ms")
    ax = axes[1][0]
    bottom = [0.0] * len(points)
    for comp in components:
        vals = [(p.get("cpu") or {}).get(comp, 0.0) for p in points]
        ax.fill_between(x, bottom, [a + b for a, b in zip(bottom, vals)], label=comp,
                        color=COLOURS.get(comp), step=None, alpha=0.85)
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.set_title("CPU per saga at the ceiling, by component")
    ax.set_ylabel("ms per saga")
    ax.legend(fontsize=7, ncol=3)
    ax = axes[1][1]
    ax.plot(x, [v / 1024 for v in series("table_bytes")], "o-", label="tables (data + indexes)")
    ax.plot(x, [v / 1024 for v in series("disk_bytes")], "^--",
            label="data directory (without redo)")
    ax.plot(x, [v / 1024 for v in series("disk_marginal")], "s:",
            label="data directory, per added order")
    ax.set_title("Bytes on disk per stored order")
    ax.set_ylabel("KiB per order")
    ax.legend(fontsize=8)
    for row in axes:
        for a in row:
            a.set_xlabel("stored orders, millions")
            a.grid(True, alpha=0.3)
            a.set_ylim(bottom=0)
    _save(fig, path, note)
    return True
