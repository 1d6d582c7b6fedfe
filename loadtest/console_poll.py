"""Emulates saga-console pages left open during a benchmark (loadtest/bench.sh
--console-poll): the glance view (GET /api/glance every 2 s), the topics view (GET
/api/topics every 5 s) and an order's live saga view (GET /api/orders/{id}/saga every
1.5 s, on the newest order of order-events partition 0, looked up every 10 s), at
once: three pages, the polls the page itself makes.

    console_poll.py URL TOKEN SUMMARY.json

Runs until SIGTERM or SIGINT, then writes per request kind: count, errors (a console
restarted between runs answers nothing for a moment), and latency p50/p95/max in ms.
"""
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

url, token, summary_file = sys.argv[1:4]
stop = threading.Event()
stats = {}
lock = threading.Lock()


def get(kind, path):
    t0 = time.monotonic()
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    ok, body = False, None
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = json.loads(resp.read())
            ok = True
    except (OSError, ValueError, urllib.error.HTTPError):
        pass
    ms = (time.monotonic() - t0) * 1000
    with lock:
        s = stats.setdefault(kind, {"count": 0, "errors": 0, "ms": []})
        s["count"] += 1
        s["errors"] += 0 if ok else 1
        if ok:
            s["ms"].append(ms)
    return body


def every(seconds, fn):
    while not stop.is_set():
        fn()
        stop.wait(seconds)


order = {"id": None}


def newest_order():
    page = get("browse", "/api/topics/order-events/partitions/0/messages?limit=1")
    if page and page.get("messages"):
        order["id"] = page["messages"][0].get("key")


def saga():
    if order["id"]:
        get("saga", f"/api/orders/{order['id']}/saga")


threads = [threading.Thread(target=every, args=a, daemon=True) for a in (
    (2.0, lambda: get("glance", "/api/glance")),
    (5.0, lambda: get("topics", "/api/topics")),
    (10.0, newest_order),
    (1.5, saga),
)]
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
for t in threads:
    t.start()
while not stop.is_set():
    stop.wait(1)
for t in threads:
    t.join(timeout=35)
out = {}
for kind, s in stats.items():
    ms = sorted(s["ms"])
    pick = (lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)) if ms else (lambda q: None)
    out[kind] = {"count": s["count"], "errors": s["errors"], "p50_ms": pick(0.5),
                 "p95_ms": pick(0.95), "max_ms": round(ms[-1], 1) if ms else None}
with open(summary_file, "w") as f:
    json.dump(out, f, indent=2)
