"""Metrics and logs as their usual tools read them, on a whole stack.

- promtool (Debian's prometheus package; only the binary is fetched, into the build
  directory, by tests/tools/promtool.sh) checks every service's /metrics: the
  Prometheus conventions (a counter ends in _total, a gauge does not, ...) hold;
  the process_* metrics are there and move plausibly between two scrapes, and
  saga_build_info names the build's version and commit.
- A clean start logs no warning and no error, in any service or in the broker.
- The log lines written while handling a request or an event carry the trace_id and
  span_id of its W3C traceparent: a request's own lines, and every line of every
  service about the order the request placed (run at log level debug, so every
  step of the saga logs).
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import BUILD, SERVICES, SOURCE, Stack, StackTestCase  # noqa: E402

PROMTOOL = [os.path.join(SOURCE, "tests", "tools", "promtool.sh"), BUILD]

PROCESS_METRICS = ("process_cpu_seconds_total", "process_resident_memory_bytes",
                   "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                   "process_start_time_seconds")


def samples(text):
    """{name: {labels: value}} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
        assert m, f"not a sample line: {line!r}"
        out.setdefault(m.group(1), {})[m.group(2) or ""] = float(m.group(3))
    return out


def log_lines(path):
    """The JSON lines of a log file (other lines, like a restart marker, skipped)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*\S+\s+VERSION\s+(\S+)", f.read())
    return m.group(1) if m else None


class ObservabilityTest(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.started_at = time.time()
        cls.stack = Stack("obs", env={s: {"SAGA_LOG_LEVEL": "debug"} for s in SERVICES}).start()
        # the start-up logs, as they are once every service is ready and consuming
        cls.startup = {svc: log_lines(cls.stack.log(svc)) for svc in SERVICES}
        cls.startup["broker"] = log_lines(cls.stack.log("broker"))
        cls.promtool = subprocess.run(PROMTOOL, check=True, capture_output=True,
                                      text=True).stdout.strip()

    def test_clean_start_logs_no_warning_or_error(self):
        for name, lines in self.startup.items():
            with self.subTest(process=name):
                self.assertTrue(any(l.get("event") in ("service.started", "broker.ready")
                                    for l in lines), f"{name} did not log its start")
                bad = [l for l in lines if l.get("level") not in ("debug", "info")]
                self.assertEqual(bad, [], f"{name} logged warnings or errors at start")

    def promtool_check(self, svc, text):
        out = subprocess.run([self.promtool, "check", "metrics"], input=text,
                             capture_output=True, text=True)
        self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""),
                         f"promtool check metrics on {svc}-service")

    def test_metrics_pass_promtool_and_process_metrics_move(self):
        s = self.stack
        first = {svc: s.metrics_text(svc) for svc in SERVICES}
        # some work for every service between the two scrapes
        sku, customer = s.shop("obs-metrics", price=100, stock=10, balance=1000)
        order = s.order(customer, [(sku, 1)]).json
        self.assertEqual(s.wait_order(order["id"])["status"], "CONFIRMED")
        s.drain()
        time.sleep(1.0)
        version = project_version()
        for svc in SERVICES:
            with self.subTest(service=svc):
                second = s.metrics_text(svc)
                self.promtool_check(svc, first[svc])
                self.promtool_check(svc, second)
                a, b = samples(first[svc]), samples(second)
                for name in PROCESS_METRICS:
                    self.assertIn(name, b, f"{svc}: {name} missing")
                cpu_a, cpu_b = a["process_cpu_seconds_total"][""], b["process_cpu_seconds_total"][""]
                self.assertGreater(cpu_a, 0)
                self.assertGreater(cpu_b, cpu_a, f"{svc}: no CPU time between two scrapes")
                self.assertLess(cpu_b - cpu_a, 60)
                rss = b["process_resident_memory_bytes"][""]
                vsz = b["process_virtual_memory_bytes"][""]
                self.assertGreater(rss, 1 << 20)
                self.assertGreaterEqual(vsz, rss)
                fds, max_fds = b["process_open_fds"][""], b["process_max_fds"][""]
                self.assertGreater(fds, 3)   # stdio and at least the listening sockets
                self.assertLess(fds, max_fds)
                start = b["process_start_time_seconds"][""]
                self.assertEqual(start, a["process_start_time_seconds"][""])
                self.assertGreater(start, self.started_at - 5)
                self.assertLess(start, time.time())
                info = b.get("saga_build_info", {})
                self.assertEqual(len(info), 1, info)
                labels, value = next(iter(info.items()))
                self.assertEqual(value, 1)
                m = re.fullmatch(r'\{version="([^"]+)",commit="([^"]+)"\}', labels)
                self.assertIsNotNone(m, labels)
                if version:
                    self.assertEqual(m.group(1), version)
                self.assertRegex(m.group(2), r"^([0-9a-f]{7,40}(-dirty)?|unknown)$")
                self.assertNotIn("saga_consumer_lag_total", b)
                self.assertIn("saga_consumer_total_lag", b)

    def test_log_lines_carry_the_trace_of_their_request_and_events(self):
        s = self.stack
        sku, customer = s.sku("obs-trace"), s.customer("obs-trace")
        # a request whose handler logs: the product saved
        tp1 = "00-" + os.urandom(16).hex() + "-" + os.urandom(8).hex() + "-01"
        a = s.call("inventory", "PUT", f"/api/products/{sku}",
                   {"name": sku, "price": 100, "stock": 5}, headers={"traceparent": tp1})
        self.assertIn(a.status, (200, 201), a)
        s.wallet(customer, balance=1000)
        # an order: the request, then every event of its saga, in four services
        tp2 = "00-" + os.urandom(16).hex() + "-" + os.urandom(8).hex() + "-01"
        o = s.order(customer, [(sku, 1)], headers={"traceparent": tp2}).json
        self.assertEqual(s.wait_order(o["id"])["status"], "CONFIRMED")
        s.drain()
        time.sleep(0.5)  # the last lines written

        saved = [l for l in log_lines(s.log("inventory"))
                 if l.get("event") == "inventory.product_saved" and sku in l.get("msg", "")]
        self.assertEqual(len(saved), 1, saved)
        self.assertEqual((saved[0].get("trace_id"), saved[0].get("span_id")),
                         (tp1[3:35], tp1[36:52]))

        trace = tp2[3:35]
        about = {}
        for svc in SERVICES:
            about[svc] = [l for l in log_lines(s.log(svc))
                          if o["id"] in (l.get("order_id"), l.get("correlation_id"))]
        # the request's line and at least one line per service handling its events
        self.assertTrue(any(l["event"] == "order.created" for l in about["order"]), about["order"])
        for svc in SERVICES:
            with self.subTest(service=svc):
                self.assertTrue(about[svc], f"{svc} logged nothing about the order")
                for line in about[svc]:
                    self.assertEqual(line.get("trace_id"), trace, line)
                    self.assertRegex(line.get("span_id", ""), r"^[0-9a-f]{16}$")
        # lines outside any request or event carry no trace
        started = [l for l in log_lines(s.log("order")) if l.get("event") == "service.started"]
        self.assertNotIn("trace_id", started[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
