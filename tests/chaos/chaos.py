#!/usr/bin/python3
"""The chaos suite: a steady order load on a whole stack and, during it, one fault
per scenario; then the load stops, the system drains, and every scenario proves the
same things:

- the invariant audit (saga-audit) is clean;
- every order accepted is terminal, with the outcome its kind of order must have
  (confirmed, out of stock, payment declined, cancelled by its customer), and the
  order table holds exactly the orders the API accepted (requests whose answer was
  lost are retried with their Idempotency-Key, and the retries create nothing new);
- effects happened once: no order has two different events of one kind on the
  topics (an order confirmed twice, two reservations, two charges or refunds, ...),
  and every event on the topics validates against its JSON Schema;
- saga-dlq holds exactly the poison messages injected, each dead-lettered once by
  each consumer group of its topic, with Spring Kafka's headers and the reason
  expected; exact duplicates of real events were applied once and dead-lettered
  never;
- every service instance answers /ready, exits 0 on SIGTERM, and its log holds no
  AddressSanitizer or UBSan report.

Each scenario reports orders placed, confirmed, cancelled by reason, HTTP failures
by kind, dead letters, and the time to recover: from the moment the fault is cleared
until, for every service, consumer lag (saga_consumer_total_lag) and outbox backlog
are back to their steady-state level under the load (Probe says why not zero), and
the time until both are zero once the load has stopped, polling every instance's
/metrics every 100 ms.

Run it like the end-to-end tests (SAGA_TEST_STATE, SAGA_SOURCE_DIR, SAGA_BUILD_DIR):

    /usr/bin/python3 tests/chaos/chaos.py [--scenario NAME ...] [--rate 40]
                                          [--restart-after 2] [--list]

The kill scenarios also report how long after the restart the restarted service
made its first decision (its first event on its topic) and the first order outcome
that decision led to (restart_to_first_decision_s, restart_to_first_outcome_s).

Each scenario gets its own stack (tests/e2e/stack.py: own broker, Redis, databases,
the four executables) on a MariaDB of the suite's own, started in the harness's
temporary directory on a free port, so that stopping it disturbs no other test.
Exit status 0 when every scenario passed, 1 otherwise; a JSON summary goes to
--summary (default: $SAGA_BUILD_DIR/chaos-summary.json).
"""
import argparse
import collections
import datetime
import heapq
import http.client
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import (BUILD, EVENT_TOPICS, SERVICES, SOURCE, Stack, free_port,  # noqa: E402
                   load_state, sql_id, sql_id_text, terminate, wait_or_kill)

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

# Who consumes what (services/*/main.c): each consumer group dead-letters a poison
# message of its topics once.
TOPICS_OF = {
    "order": ("inventory-events", "payment-events"),
    "payment": ("inventory-events", "order-events"),
    "inventory": ("order-events",),
    "notification": ("order-events",),
}
CONSUMERS_OF = {t: tuple(s for s in SERVICES if t in TOPICS_OF[s])
                for t in ("order-events", "inventory-events", "payment-events")}
# The event types each service has a handler for (the others it validates and skips).
HANDLES = {
    "order": {"InventoryReserved", "InventoryShortage", "InventoryReleased", "PaymentCompleted",
              "PaymentFailed", "PaymentRefunded"},
    "payment": {"InventoryReserved", "OrderCancelled"},
    "inventory": {"OrderCreated", "OrderConfirmed", "OrderCancelled"},
    "notification": {"OrderConfirmed", "OrderCancelled"},
}
# What each service's consumer decides, by topic and event types: the first of them
# after a restart is when the restarted instance is working again. (order-service's
# OrderCancelled counts only with a reason its consumer gives, not the API's or the
# sweeper's.)
DECISIONS = {
    "order": ("order-events", {"OrderConfirmed", "OrderCancelled"}),
    "payment": ("payment-events", {"PaymentCompleted", "PaymentFailed", "PaymentRefunded"}),
    "inventory": ("inventory-events", {"InventoryReserved", "InventoryShortage",
                                       "InventoryReleased"}),
    "notification": ("notification-events", {"NotificationSent"}),
}
CONSUMER_CANCEL_REASONS = {"OUT_OF_STOCK", "PAYMENT_DECLINED"}
DLQ_TOPIC = "saga-dlq"
EVENT_MAX_BYTES = 256 * 1024  # common/src/consumer.c: larger events are TOO_LARGE
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def service_of(key):
    """The service of an instance key: "order" or "order-2" -> "order"."""
    return key.split("-")[0]


def now():
    return time.monotonic()


def log_tail(path, lines=15):
    """The last lines of a service's log, for a failure report: the log itself goes
    with the stack's temporary directory."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError as e:
        return f"(no log: {e})"


class MariaDB:
    """The suite's own MariaDB server (the same shape as tests/harness/servers.sh's,
    done the way deploy/local/lib.sh does it): a scenario stops and starts it.

    The server runs under `setpriv --pdeathsig TERM`, so it goes when this process
    goes, even if a CTest timeout kills us."""

    FILE_OPTS = ["--innodb-log-file-size=16M"]
    RUN_OPTS = ["--innodb-flush-log-at-trx-commit=2", "--innodb-buffer-pool-size=64M",
                "--max-connections=300"]

    def __init__(self, root):
        self.root = root
        self.datadir = os.path.join(root, "data")
        self.sock = os.path.join(root, "mysql.sock")
        self.log = os.path.join(root, "mariadb.log")
        self.port = free_port()
        self.proc = None
        # the administrator: this process's user, by unix-socket authentication only
        self.admin = pwd.getpwuid(os.getuid()).pw_name

    def setup(self):
        os.makedirs(self.root, exist_ok=True)
        if not os.path.isdir(os.path.join(self.datadir, "mysql")):
            with open(self.log, "a") as log:
                subprocess.run(
                    ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
                     "--user=root", "--auth-root-authentication-method=socket",
                     f"--auth-root-socket-user={self.admin}", "--skip-test-db",
                     "--skip-name-resolve", *self.FILE_OPTS],
                    stdout=log, stderr=subprocess.STDOUT, check=True)
        self.start()
        self.root_sql("""
            CREATE USER IF NOT EXISTS 'saga_test'@'127.0.0.1' IDENTIFIED BY 'saga_test';
            CREATE USER IF NOT EXISTS 'saga_test'@'localhost' IDENTIFIED BY 'saga_test';
            GRANT ALL PRIVILEGES ON `saga\\_test%`.* TO 'saga_test'@'127.0.0.1';
            GRANT ALL PRIVILEGES ON `saga\\_test%`.* TO 'saga_test'@'localhost';""")
        return self

    def root_sql(self, sql):
        subprocess.run(["mariadb", "--no-defaults", "--protocol=socket", f"--socket={self.sock}",
                        f"-u{self.admin}", "-e", sql], check=True, capture_output=True, text=True)

    def ping(self):
        return subprocess.run(
            ["mariadb-admin", "--no-defaults", "--protocol=socket", f"--socket={self.sock}",
             f"-u{self.admin}", "--connect-timeout=2", "ping"], capture_output=True).returncode == 0

    def start(self, timeout=60):
        """Starts the server and waits until it answers. Call from the main thread
        (the death signal follows the thread that started it)."""
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "TERM", "--", "mariadbd", "--no-defaults",
                 f"--datadir={self.datadir}", f"--socket={self.sock}", f"--port={self.port}",
                 "--bind-address=127.0.0.1", "--user=root",
                 f"--pid-file={os.path.join(self.datadir, 'mariadbd.pid')}",
                 f"--log-error={self.log}", "--skip-name-resolve", *self.FILE_OPTS,
                 *self.RUN_OPTS],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = now() + timeout
        while not self.ping():
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited during start-up; see {self.log}")
            if now() > deadline:
                raise RuntimeError(f"mariadbd not answering after {timeout} s; see {self.log}")
            time.sleep(0.1)
        os.chmod(self.sock, 0o600)  # as deploy/local/lib.sh does: not world-writable

    def stop(self, timeout=30):
        """A clean shutdown (mariadb-admin shutdown), SIGKILL if it hangs."""
        if not self.proc or self.proc.poll() is not None:
            return
        subprocess.run(["mariadb-admin", "--no-defaults", "--protocol=socket",
                        f"--socket={self.sock}", f"-u{self.admin}", "--connect-timeout=2",
                        "shutdown"],
                       capture_output=True)
        wait_or_kill(self.proc, timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class ChaosStack(Stack):
    """A Stack on the suite's MariaDB whose service instances can be killed,
    restarted (with a fault point armed), and doubled (a second process per service
    in the same consumer group and database, on its own HTTP port).

    Instances are keyed "order", "order-2", ...; self.procs holds the live ones."""

    # Outcomes must be deterministic: a lost event must show as an order left
    # in flight, not be hidden by a TIMEOUT cancellation. (With the default 30 s, a
    # consumer stalled by two restarts in a row on the mock broker, about 20 s, times
    # orders out, which is right but not what these scenarios test.)
    DEADLINE_MS = "120000"

    def __init__(self, name, mariadb, env=None):
        env = {svc: dict((env or {}).get(svc, {})) for svc in SERVICES}
        env["order"].setdefault("SAGA_TIMEOUT_MS", self.DEADLINE_MS)
        super().__init__(name, env)
        self.mariadb = mariadb
        self.state = dict(self.state, SAGA_MYSQL_PORT=str(mariadb.port),
                          SAGA_MYSQL_SOCKET=mariadb.sock, SAGA_MYSQL_ADMIN_USER=mariadb.admin)
        self.lock = threading.Lock()
        self.exit_codes = []   # (key, code, how) of every instance that ended
        self.partitions = {}   # topic -> partition count
        self.logged = set()    # instance keys whose log this stack has started

    # --- instances ---
    def _start_service(self, svc):
        self.start_instance(svc)

    def start(self):
        super().start()
        md = self._admin_producer().list_topics(timeout=10)
        self.partitions = {t: len(md.topics[t].partitions) for t in md.topics
                           if not t.startswith("__")}
        return self

    def start_instance(self, key, fault=None):
        """Starts instance `key` of its service; `fault` arms SAGA_FAULT."""
        svc = service_of(key)
        env = self.service_env(svc)
        env["SAGA_HTTP_PORT"] = str(self.ports.setdefault(key, free_port()))
        env["SAGA_METRICS_PORT"] = str(self.metrics_ports.setdefault(key, free_port()))
        env.pop("SAGA_FAULT", None)
        if fault:
            env["SAGA_FAULT"] = fault
        binary = os.path.join(BUILD, "services", svc, f"{svc}-service")
        # a fresh log per stack, appended to across this instance's restarts
        with open(self.log(key), "a" if key in self.logged else "w") as log:
            self.logged.add(key)
            proc = subprocess.Popen(["setpriv", "--pdeathsig", "TERM", "--", binary], cwd=SOURCE,
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
        with self.lock:
            self.procs[key] = proc
        if svc in self.openapi:
            self.openapi[key] = self.openapi[svc]
        return proc

    def kill(self, key):
        """kill -9 of one instance."""
        with self.lock:
            proc = self.procs.pop(key)
        proc.send_signal(signal.SIGKILL)
        self.exit_codes.append((key, proc.wait(), "SIGKILL"))

    def terminate(self, key):
        with self.lock:
            proc = self.procs.pop(key)
        code = terminate(proc)
        self.exit_codes.append((key, code, "SIGTERM"))
        return code

    def reap(self, key):
        """Forgets an instance that died by itself (a fault point)."""
        with self.lock:
            proc = self.procs.pop(key)
        self.exit_codes.append((key, proc.wait(), "fault point"))

    def live(self):
        with self.lock:
            return sorted(k for k, p in self.procs.items() if p.poll() is None)

    def wait_ready(self, key, timeout=60):
        self._wait_ready(key, timeout)

    def wait_partitions(self, svc, timeout=90):
        """Until every live instance of svc holds partitions and together they hold
        all the partitions of its topics, for a second in a row (a rebalance first
        takes every partition away)."""
        want = sum(self.partitions.get(t, 0) for t in TOPICS_OF[svc])
        deadline = now() + timeout
        stable_since = None
        while now() < deadline:
            held = []
            for key in self.live():
                if service_of(key) == svc:
                    try:
                        held.append(metric_sum(self.metrics(key),
                                               "saga_consumer_assigned_partitions") or 0)
                    except OSError:
                        held.append(0)
            if sum(held) == want and all(held):
                stable_since = stable_since or now()
                if now() - stable_since >= 1.0:
                    return
            else:
                stable_since = None
            time.sleep(0.1)
        raise RuntimeError(f"{svc}: its instances do not share all {want} partitions after "
                           f"{timeout} s")

    def stop(self):
        """SIGTERM to every instance; records exit codes (all must be 0)."""
        keys = self.live()
        for key in keys:
            self.procs[key].send_signal(signal.SIGTERM)
        for key in keys:
            self.exit_codes.append((key, wait_or_kill(self.procs.pop(key)), "SIGTERM"))
        for key, proc in list(self.procs.items()):  # died on their own
            self.exit_codes.append((key, proc.wait(), "died"))
        self.procs = {}
        super().stop()

    def sanitizer_reports(self):
        """Log lines of AddressSanitizer, LeakSanitizer or UBSan reports."""
        found = []
        for key in set(self.ports):
            try:
                with open(self.log(key), errors="replace") as f:
                    for line in f:
                        if any(m in line for m in SANITIZER_MARKS):
                            found.append(f"{self.log(key)}: {line.strip()[:200]}")
            except FileNotFoundError:
                pass
        return found

    # --- observation ---
    def metrics(self, key, timeout=1.0):
        """An instance's /metrics (its metrics listener) as {"name{labels}": value}."""
        text = self.metrics_text(key, timeout=timeout)
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^([A-Za-z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)", line)
            if m:
                try:
                    out[m.group(1)] = float(m.group(2))
                except ValueError:
                    pass
        return out

    def outbox_rows(self):
        """Rows in the four outboxes, read from MySQL (one query)."""
        q = " + ".join(f"(SELECT COUNT(*) FROM {self.db(s)}.outbox)" for s in SERVICES)
        return int(self.scalar(None, "SELECT " + q))

    def broker_control(self, which, action):
        """The broker's control API: which = all | 1..3, action = down | up."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}/brokers/{which}/{action}", data=b"",
            method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, resp.status

    def _admin_producer(self):
        return Producer({"bootstrap.servers": self.bootstrap})

    def first_event(self, topic, type_, timeout=20):
        """(key, value) of the first message of that event type on the topic."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "chaos-reader",
                      "enable.auto.commit": False})
        try:
            md = c.list_topics(topic, timeout=10)
            c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
            deadline = now() + timeout
            while now() < deadline:
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                try:
                    if json.loads(m.value()).get("type") == type_:
                        return m.key(), m.value()
                except ValueError:
                    pass
            raise AssertionError(f"no {type_} on {topic} in {timeout} s")
        finally:
            c.close()

    def produce_at(self, topic, key, value, max_bytes=2 * 1024 * 1024):
        """Produces one message; returns (partition, offset)."""
        p = Producer({"bootstrap.servers": self.bootstrap, "message.max.bytes": max_bytes})
        got = {}

        def report(err, msg):
            got["err"], got["partition"], got["offset"] = err, msg.partition(), msg.offset()

        p.produce(topic, key=key, value=value, on_delivery=report)
        left = p.flush(30)
        if left or got.get("err"):
            raise RuntimeError(f"producing to {topic}: {got.get('err') or 'not delivered'}")
        return got["partition"], got["offset"]


def metric_sum(metrics, name):
    """Sum of a metric over its labels (None if the service does not expose it)."""
    total, seen = 0.0, False
    for k, v in metrics.items():
        if k == name or k.startswith(name + "{"):
            total += v
            seen = True
    return total if seen else None


# ---------------------------------------------------------------------------
# The load
# ---------------------------------------------------------------------------

class Request:
    __slots__ = ("i", "key", "body", "kind", "attempts", "answered")

    def __init__(self, i, key, body, kind):
        self.i, self.key, self.body, self.kind = i, key, body, kind
        self.attempts = 0
        self.answered = False


# What each kind of order must end as.
EXPECTED = {
    "confirm": ("CONFIRMED", ""),
    "out-of-stock": ("CANCELLED", "OUT_OF_STOCK"),
    "declined": ("CANCELLED", "PAYMENT_DECLINED"),
    "cancel": ("CANCELLED", "CUSTOMER_REQUEST"),
}
# The mix, over 20 consecutive orders: 60 % confirmed, 15 % out of stock, 15 %
# declined, 10 % cancelled by their customer after a moment.
MIX = ["confirm", "out-of-stock", "confirm", "declined", "confirm", "cancel", "confirm",
       "confirm", "out-of-stock", "confirm", "declined", "confirm", "confirm", "cancel",
       "confirm", "out-of-stock", "confirm", "declined", "confirm", "confirm"]


class Load:
    """Places orders at a fixed rate from a pool of threads, over several customers
    and skus, in a mix that exercises every outcome; cancels the "cancel" orders half
    a second after they are accepted.

    Each request carries its customer's own bearer token (a cancel too), and every
    order request an Idempotency-Key. A request without an answer
    (connection refused, reset, timed out) or answered 503 is counted by kind and
    retried with the same key and body until it is answered, round-robin over the
    order-service instances (a client-side load balancer), so the orders the
    database holds must be exactly the orders accepted."""

    RETRY_MS = 250
    CANCEL_AFTER_S = 0.5

    def __init__(self, stack, rate):
        self.s = stack
        self.rate = rate
        self.tag = stack.run
        self.skus = [stack.sku(f"c{i}") for i in range(4)]
        self.tiny = stack.sku("tiny")
        self.rich = [stack.customer(f"rich{i}") for i in range(5)]
        self.poor = stack.customer("poor")
        self.lock = threading.Lock()
        self.orders = {}            # order id -> (kind, request index)
        self.requests = []
        self.answers = collections.Counter()    # "order 202", "cancel 200", ...
        self.failures = collections.Counter()   # "order refused", "cancel 503", ...
        self.retried = 0            # requests that needed more than one attempt
        self.replays = 0            # 200 answers: the first attempt had created the order
        self.problems = []
        self.heap = []              # (due, seq, what, obj)
        self.seq = itertools.count()
        self.cv = threading.Condition(self.lock)
        self.inflight = 0
        self.placing = False
        self.pool = ThreadPoolExecutor(32, thread_name_prefix="load")
        self.thread = None

    def shop(self):
        for i, sku in enumerate(self.skus):
            self.s.product(sku, price=100 + 50 * i, stock=1_000_000)
        self.s.product(self.tiny, price=500, stock=1)
        for c in self.rich:
            self.s.wallet(c, balance=10 ** 10)
        self.s.wallet(self.poor, balance=0)

    def endpoints(self):
        return sorted(k for k in self.s.ports if service_of(k) == "order")

    def request(self, i):
        kind = MIX[i % len(MIX)]
        sku = self.skus[i % len(self.skus)]
        if kind == "confirm":
            items = [{"sku": sku, "quantity": 1 + i % 3}]
            if i % 4 == 0:
                items.append({"sku": self.skus[(i + 1) % len(self.skus)], "quantity": 1})
            customer = self.rich[i % len(self.rich)]
        elif kind == "out-of-stock":  # 2 of a sku that has 1: a shortage, never sold out
            items = [{"sku": sku, "quantity": 1}, {"sku": self.tiny, "quantity": 2}]
            customer = self.rich[i % len(self.rich)]
        elif kind == "declined":
            items = [{"sku": sku, "quantity": 1}]
            customer = self.poor
        else:
            items = [{"sku": sku, "quantity": 1}]
            customer = self.rich[i % len(self.rich)]
        return Request(i, f"chaos-{self.tag}-{i}", {"customerId": customer, "items": items}, kind)

    # --- the dispatcher: one heap of due work, run on the pool ---
    def start(self):
        self.placing = True
        self.thread = threading.Thread(target=self._dispatch, name="load-dispatch", daemon=True)
        self.thread.start()

    def _push(self, due, what, obj):
        with self.cv:
            heapq.heappush(self.heap, (due, next(self.seq), what, obj))
            self.cv.notify()

    def _dispatch(self):
        t0 = now()
        i = 0
        while True:
            with self.cv:
                if not self.placing and not self.heap and self.inflight == 0:
                    return
                next_place = t0 + i / self.rate if self.placing else None
                due = self.heap[0][0] if self.heap else None
                wake = min(x for x in (next_place, due, now() + 0.1) if x is not None)
                if wake > now():
                    self.cv.wait(wake - now())
                    continue
                if next_place is not None and next_place <= now():
                    req = self.request(i)
                    self.requests.append(req)
                    i += 1
                    job = ("place", req)
                else:
                    _, _, what, obj = heapq.heappop(self.heap)
                    job = (what, obj)
                self.inflight += 1
            self.pool.submit(self._run, *job)

    def _run(self, what, obj):
        try:
            done = self._place(obj) if what == "place" else self._cancel(obj)
        except Exception as e:  # a bug of ours: never lose it
            done = True
            self.problems.append(f"load: {what}: {e!r}\n{traceback.format_exc()}")
        if not done:
            self._push(now() + self.RETRY_MS / 1000, what, obj)
        with self.cv:
            self.inflight -= 1
            self.cv.notify()

    @staticmethod
    def _failure_kind(e):
        reason = getattr(e, "reason", e)
        if isinstance(reason, ConnectionRefusedError):
            return "refused"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timeout"
        return "lost"

    def _count_failure(self, what):
        with self.lock:
            self.failures[what] += 1

    def _place(self, req):
        eps = self.endpoints()
        key = eps[(req.i + req.attempts) % len(eps)]
        req.attempts += 1
        if req.attempts == 2:
            with self.lock:
                self.retried += 1
        try:
            a = self.s.call(key, "POST", "/api/orders", req.body,
                            headers={"Idempotency-Key": req.key}, timeout=10,
                            who=req.body["customerId"])
        except AssertionError as e:
            self.problems.append(f"order {req.key}: answer not as described: {e}")
            req.answered = True
            return True
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            self._count_failure(f"order {self._failure_kind(e)}")
            return False
        with self.lock:
            self.answers[f"order {a.status}"] += 1
        if a.status == 503:
            self._count_failure("order 503")
            return False
        req.answered = True
        if a.status in (200, 202):
            oid = a.json["id"]
            with self.lock:
                if a.status == 200:
                    self.replays += 1
                other = self.orders.get(oid)
                if other and other[1] != req.i:
                    self.problems.append(f"order {oid} returned for requests {other[1]} and "
                                         f"{req.i}")
                self.orders[oid] = (req.kind, req.i)
            if req.kind == "cancel" and other is None:  # first time we hear of it
                self._push(now() + self.CANCEL_AFTER_S, "cancel",
                           [oid, req.i, req.body["customerId"]])
            return True
        self.problems.append(f"order {req.key}: unexpected answer {a.status}: {a.text[:300]}")
        return True

    def _cancel(self, job):
        """job: [order id, attempt counter (picks the endpoint), its customer]."""
        oid = job[0]
        eps = self.endpoints()
        key = eps[job[1] % len(eps)]
        job[1] += 1
        try:
            a = self.s.call(key, "POST", f"/api/orders/{oid}/cancel", timeout=10, who=job[2])
        except AssertionError as e:
            self.problems.append(f"cancel {oid}: answer not as described: {e}")
            return True
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            self._count_failure(f"cancel {self._failure_kind(e)}")
            return False
        with self.lock:
            self.answers[f"cancel {a.status}"] += 1
        if a.status == 503:
            self._count_failure("cancel 503")
            return False
        if a.status not in (200, 409):  # 409: a retry of a cancel whose answer was lost
            self.problems.append(f"cancel {oid}: unexpected answer {a.status}: {a.text[:300]}")
        return True

    def stop(self, timeout=90):
        """Stops placing; waits until every request and cancel is answered."""
        with self.cv:
            self.placing = False
            self.cv.notify()
        self.thread.join(timeout)
        if self.thread.is_alive():
            with self.lock:
                left = len(self.heap) + self.inflight
            self.problems.append(f"load: {left} requests still unanswered {timeout} s after "
                                 f"the load stopped")
            with self.cv:
                self.heap.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)
        unanswered = [r.key for r in self.requests if not r.answered]
        if unanswered:
            self.problems.append(f"load: {len(unanswered)} order requests never answered: "
                                 f"{unanswered[:5]}")


# ---------------------------------------------------------------------------
# Watching recovery
# ---------------------------------------------------------------------------

class Probe(threading.Thread):
    """Polls every live instance's /metrics every 100 ms, and the outbox tables.

    A sample's level is the sum over all instances of saga_consumer_total_lag plus
    the outbox backlog. The backlog is the larger of saga_outbox_backlog and the
    rows in the outbox tables (read from MySQL in the same tick): the relay refreshes
    the gauge only after a pass that reached Kafka, so while it waits for delivery
    reports (a broker down) or cannot read the table (MySQL down) the gauge shows its
    last value. A sample is "up" when every service has a reachable instance and its
    live instances together hold every partition of its topics.

    Under a steady load of 40 orders/s on two cores the level is never 0: about 20
    messages are always on their way (measured: 5 to 60, median about 20). So the
    time to recover is measured to the first of three consecutive up samples whose
    level is back to the steady state of the same run: at most twice the median level
    of the samples before the fault (and at least 25). The time to zero (everything
    processed, reached once the load has stopped) is reported too."""

    CONSECUTIVE = 3

    def __init__(self, stack):
        super().__init__(name="probe", daemon=True)
        self.s = stack
        self.samples = []      # (t, up, level, lag, backlog_gauge, outbox_rows, why)
        self.stopping = threading.Event()
        self.lag_metric = False
        self.pool = ThreadPoolExecutor(10, thread_name_prefix="probe")
        self.rows = (0.0, None)  # (when, outbox rows) from _watch_rows

    def run(self):
        rows = threading.Thread(target=self._watch_rows, name="probe-rows", daemon=True)
        rows.start()
        tick = now()
        while not self.stopping.is_set():
            try:
                self.samples.append(self.sample())
            except Exception as e:  # noqa: BLE001 - never let the probe die silently
                self.samples.append((now(), False, None, None, None, None, f"probe: {e!r}"))
            tick = max(tick + 0.1, now() - 0.05)
            self.stopping.wait(max(0.0, tick - now()))
        self.pool.shutdown()

    def _metrics(self, key):
        try:
            return key, self.s.metrics(key, timeout=0.5)
        except (OSError, http.client.HTTPException):
            return key, None

    def _watch_rows(self):
        """Reads the outbox tables as often as the mysql client allows (a process per
        read: slower than the 100 ms ticks on a busy machine), apart from the ticks."""
        while not self.stopping.is_set():
            t = now()
            try:
                self.rows = (t, self.s.outbox_rows())
            except subprocess.CalledProcessError:
                self.rows = (t, None)
            self.stopping.wait(max(0.0, t + 0.1 - now()))

    def sample(self):
        t = now()
        answers = list(self.pool.map(self._metrics, self.s.live()))
        read_at, rows = self.rows
        why = []
        if t - read_at > 1.0:
            why.append(f"outbox rows last read {t - read_at:.1f} s ago")
        lag = backlog = 0.0
        held = collections.Counter()
        reachable = set()
        for key, m in answers:
            if m is None:
                continue
            svc = service_of(key)
            reachable.add(svc)
            value = metric_sum(m, "saga_consumer_total_lag")
            if value is not None:
                self.lag_metric = True
                lag += value
            backlog += max(0.0, metric_sum(m, "saga_outbox_backlog") or 0.0)
            held[svc] += metric_sum(m, "saga_consumer_assigned_partitions") or 0
        for svc in SERVICES:
            want = sum(self.s.partitions.get(topic, 0) for topic in TOPICS_OF[svc])
            if svc not in reachable:
                why.append(f"{svc} unreachable")
            elif held[svc] != want:
                why.append(f"{svc} holds {int(held[svc])}/{want} partitions")
        if rows is None:
            why.append("mysql unreachable")
        level = lag + max(backlog, rows or 0)
        return (t, not why, level, lag, backlog, rows, ", ".join(why))

    def threshold(self, start, fault_at):
        """The steady-state level: twice the median level between `start` and the
        fault, at least 25."""
        levels = sorted(smp[2] for smp in self.samples
                        if start <= smp[0] < fault_at and smp[1] and smp[2] is not None)
        median = levels[len(levels) // 2] if levels else 0
        return max(25.0, 2 * median)

    def recovery(self, cleared, threshold):
        """Seconds from `cleared` to the first of CONSECUTIVE up samples at or below
        the threshold, or None."""
        run = []
        for smp in self.samples:
            if smp[0] < cleared:
                continue
            if smp[1] and smp[2] is not None and smp[2] <= threshold:
                run.append(smp[0])
                if len(run) == self.CONSECUTIVE:
                    return run[0] - cleared
            else:
                run = []
        return None

    def zero(self, since):
        """Seconds from `since` to the first up sample with level 0, or None."""
        for smp in self.samples:
            if smp[0] >= since and smp[1] and smp[2] == 0:
                return smp[0] - since
        return None

    def peak(self, since):
        lag = max((smp[3] or 0 for smp in self.samples if smp[0] >= since), default=0)
        backlog = max((max(smp[4] or 0, smp[5] or 0) for smp in self.samples
                       if smp[0] >= since), default=0)
        return int(lag), int(backlog)

    def dump(self, path, t0, fault_at, cleared, threshold):
        """The samples as tab-separated lines, times relative to the start of the load."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"# load started at 0, fault at {(fault_at or cleared) - t0:.2f}, cleared "
                    f"at {cleared - t0:.2f}, steady-state threshold {threshold:g}\n")
            f.write("t\tup\tlevel\tlag\tbacklog_gauge\toutbox_rows\twhy\n")
            for t, up, level, lag, backlog, rows, why in self.samples:
                f.write(f"{t - t0:.2f}\t{int(up)}\t{level}\t{lag}\t{backlog}\t{rows}\t{why}\n")

    def last(self):
        if not self.samples:
            return "no samples"
        t, up, level, lag, backlog, rows, why = self.samples[-1]
        return f"level {level} (lag {lag}, backlog {backlog}, outbox rows {rows}) {why}"


# ---------------------------------------------------------------------------
# Poison messages
# ---------------------------------------------------------------------------

class Poison:
    """One message written to a consumed topic, and who must dead-letter it why.

    expect: {service: reason} (empty: nobody; a duplicate must be applied once)."""

    def __init__(self, topic, label, key, value, expect):
        self.topic, self.label, self.key, self.value = topic, label, key, value
        self.expect = expect
        self.partition = self.offset = None

    def __repr__(self):
        return f"<{self.label} on {self.topic} [{self.partition}] @{self.offset}>"


def poisons_for(topic, real_key, real_value, payment_unknown_reservation):
    """The poison set for one topic, built from one real event of it."""
    real = json.loads(real_value)
    everyone = CONSUMERS_OF[topic]

    def each(reason):
        return {svc: reason for svc in everyone}

    def variant(change):
        e = json.loads(real_value)
        e["id"] = str(uuid.uuid4())
        change(e)
        return json.dumps(e, separators=(",", ":")).encode()

    def unknown_type(e):
        e["type"] = real["type"] + "Teleported"
        e["dataschema"] = f"urn:saga:schema:{e['type']}:1"

    def future_version(e):
        e["dataschema"] = f"urn:saga:schema:{real['type']}:2"

    def schema_violation(e):
        del e["data"]["customerId"]
        e["data"]["unexpected"] = True

    def oversized(e):
        e["padding"] = "x" * (300 * 1024)

    key = str(uuid.uuid4()).encode()
    out = [
        Poison(topic, "invalid JSON", key, b'{"specversion":"1.0","id":"' + key + b'","type":',
               each("INVALID_JSON")),
        Poison(topic, "JSON, no envelope", key, b'{"hello":"world"}', each("INVALID_ENVELOPE")),
        Poison(topic, "schema violation", real_key, variant(schema_violation),
               each("SCHEMA_VIOLATION")),
        Poison(topic, "unknown type", real_key, variant(unknown_type), each("UNKNOWN_TYPE")),
        Poison(topic, "unknown version :2", real_key, variant(future_version),
               each("UNKNOWN_VERSION")),
        Poison(topic, "oversized 300 KiB", real_key, variant(oversized), each("TOO_LARGE")),
        Poison(topic, f"exact duplicate of {real['type']}", real_key, real_value, {}),
    ]
    # An event about an order nobody created, otherwise valid (docs/DOMAIN.md, "Orders
    # nobody created"). On order-events an OrderCancelled: inventory, payment and
    # notification dead-letter it. On inventory-events an InventoryReserved:
    # order-service dead-letters it; payment parks it and never charges it. On
    # payment-events a PaymentCompleted: order-service dead-letters it.
    stranger = str(uuid.uuid4())

    def unknown_order(e):
        e["subject"] = e["correlationid"] = stranger
        if e["type"] == "OrderCreated":
            e["type"] = "OrderCancelled"
            e["dataschema"] = "urn:saga:schema:OrderCancelled:1"
            e["data"] = {"orderId": stranger, "customerId": e["data"]["customerId"],
                         "reason": "CUSTOMER_REQUEST", "previousStatus": "CONFIRMED"}
        e["data"]["orderId"] = stranger

    if topic == "order-events":
        expect = each("HANDLER_REJECTED")
    else:
        expect = {"order": "HANDLER_REJECTED"}
        if topic == "inventory-events" and payment_unknown_reservation:
            expect["payment"] = payment_unknown_reservation
    value = variant(unknown_order)
    out.append(Poison(topic, f"{json.loads(value)['type']} for an unknown order",
                      stranger.encode(), value, expect))
    return out


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

class Context:
    """What a scenario's fault function gets."""

    def __init__(self, runner, stack, load, probe):
        self.runner, self.s, self.load, self.probe = runner, stack, load, probe
        self.notes = []
        self.poisons = []
        self.verify = []       # fn(ctx, report, failures), run after the common checks
        self.fault_at = None

    def note(self, text):
        self.notes.append(text)
        print(f"    {text}", flush=True)


def event_time(e):
    """An event's CloudEvents time (RFC 3339, UTC) in seconds since the epoch."""
    return datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def is_decision(svc, e):
    topic, types = DECISIONS[svc]
    if e.get("type") not in types or e.get("source") != f"/{svc}-service":
        return False
    return e["type"] != "OrderCancelled" or \
        (e.get("data") or {}).get("reason") in CONSUMER_CANCEL_REASONS


def first_after_restart(s, svc, restarted):
    """Seconds from `restarted` (wall clock) to the first decision of svc's consumer
    made after it (the restarted instance at work), and to the first order outcome
    (OrderConfirmed, or OrderCancelled out of stock or declined) that such a decision
    led to (for notification-service: its first NotificationSent). None if none."""
    events = {}
    for topic in EVENT_TOPICS:
        for m in s.read_topic(topic):
            try:
                e = json.loads(m.value())
                events[e["id"]] = (e, event_time(e))
            except (ValueError, KeyError, TypeError):
                continue
    mine = {i for i, (e, t) in events.items() if t >= restarted and is_decision(svc, e)}
    if not mine:
        return None, None
    first = min(events[i][1] for i in mine) - restarted
    if svc in ("order", "notification"):
        return first, first

    def caused_by_mine(e, depth=0):
        cause = e.get("causationid")
        if cause in mine:
            return True
        return depth < 4 and cause in events and caused_by_mine(events[cause][0], depth + 1)
    outcomes = [t for e, t in events.values()
                if t >= restarted and is_decision("order", e) and caused_by_mine(e)]
    return first, (min(outcomes) - restarted if outcomes else None)


def restart_after_kill(svc):
    def fault(ctx):
        down_s = ctx.runner.args.restart_after
        ctx.fault_at = now()
        ctx.s.kill(svc)
        ctx.note(f"kill -9 {svc}-service")
        time.sleep(down_s)
        restarted = time.time()
        ctx.s.start_instance(svc)
        cleared = now()
        ctx.note(f"{svc}-service restarted after {cleared - ctx.fault_at:.1f} s")
        ctx.s.wait_ready(svc)
        ctx.verify.append(lambda ctx, report, failures: measure(ctx, report, restarted))
        return cleared

    def measure(ctx, report, restarted):
        first, outcome = first_after_restart(ctx.s, svc, restarted)
        report["restart_to_first_decision_s"] = None if first is None else round(first, 2)
        report["restart_to_first_outcome_s"] = None if outcome is None else round(outcome, 2)
        ctx.note(f"from the restart to {svc}-service's first decision: {first and round(first, 2)}"
                 f" s, to the first order outcome it led to: {outcome and round(outcome, 2)} s")
    fault.description = (f"kill -9 of {svc}-service under load, restarted --restart-after s "
                         f"later (default 2)")
    return fault


def has_fault_points(svc):
    """Whether the build has fault-injection points compiled in (Debug builds only)."""
    with open(os.path.join(BUILD, "services", svc, f"{svc}-service"), "rb") as f:
        return b"fault point %s reached" in f.read()


def crash_at_fault_point(svc, point):
    def fault(ctx):
        ctx.fault_at = now()
        ctx.s.terminate(svc)
        proc = ctx.s.start_instance(svc, fault=point)
        armed_at = now()
        ctx.note(f"{svc}-service restarted with SAGA_FAULT={point}")
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{svc}-service did not reach the fault point {point} in 20 s")
        ctx.s.reap(svc)
        if proc.returncode != -signal.SIGKILL:
            raise AssertionError(f"{svc}-service with SAGA_FAULT={point} exited with "
                                 f"{proc.returncode}, not by SIGKILL at the fault point")
        ctx.note(f"{svc}-service killed itself at {point} "
                 f"{now() - armed_at:.1f} s after the restart")
        with open(ctx.s.log(svc), errors="replace") as f:
            if f'"fault point {point} reached' not in f.read():
                raise AssertionError(f"{svc}-service's log does not show the fault point")
        time.sleep(0.5)
        ctx.s.start_instance(svc)
        cleared = now()
        ctx.note(f"{svc}-service restarted without the fault")
        ctx.s.wait_ready(svc)
        ctx.verify.append(verify)
        return cleared

    def verify(ctx, report, failures):
        """The crash did leave work to be done twice, and it was done once."""
        if point == "relay.after_produce":
            if not report.get("redelivered_on_wire"):
                failures.append("the relay crashed after producing, yet no event was "
                                "published twice")
        else:
            skipped = metric_sum(ctx.s.metrics(svc), "saga_events_duplicate_total") or 0
            report["duplicates_skipped"] = int(skipped)
            if not skipped:
                failures.append(f"{svc}-service crashed before committing its offsets, yet "
                                f"its restart skipped no redelivered event")
    fault.description = (f"{svc}-service restarted with SAGA_FAULT={point}: it kills itself "
                         f"there under load, then restarts clean")
    fault.skip = lambda: (None if has_fault_points(svc) else
                          "no fault points in this build (they exist in Debug builds only)")
    return fault


def brokers_down(which, down_s=4.0):
    def fault(ctx):
        ctx.fault_at = now()
        ctx.s.broker_control(which, "down")
        ctx.note(f"broker {which} down")
        time.sleep(down_s)
        # the relay's gauge is stale while it waits for delivery reports
        sample = ctx.probe.samples[-1] if ctx.probe.samples else None
        if sample:
            ctx.note(f"at the end of the outage: saga_outbox_backlog {int(sample[4] or 0)}, "
                     f"outbox rows in MySQL {sample[5]}, consumer lag {int(sample[3] or 0)}")
        ctx.s.broker_control(which, "up")
        ctx.note(f"broker {which} up after {now() - ctx.fault_at:.1f} s")
        return now()
    what = "all three brokers" if which == "all" else f"broker {which} of 3"
    fault.description = f"{what} down for {down_s:g} s (the mock does not move leadership)"
    return fault


def mariadb_down(down_s=4.0):
    def fault(ctx):
        ctx.fault_at = now()
        ctx.s.mariadb.stop()
        ctx.note("MariaDB stopped (mariadb-admin shutdown)")
        time.sleep(down_s)
        ctx.s.mariadb.start()
        ctx.note(f"MariaDB answering again after {now() - ctx.fault_at:.1f} s")
        return now()
    fault.description = f"MariaDB (every service's database) stopped for {down_s:g} s"
    return fault


def redis_down(down_s=4.0):
    def fault(ctx):
        ctx.fault_at = now()
        ctx.s.stop_redis()
        ctx.note("Redis killed")
        time.sleep(down_s)
        ctx.s.start_redis()
        ctx.note(f"Redis back after {now() - ctx.fault_at:.1f} s")
        return now()
    fault.description = f"Redis killed for {down_s:g} s"
    return fault


def scale_out_setup(ctx):
    """A second instance of every service in the same group and database."""
    for svc in SERVICES:
        ctx.s.start_instance(f"{svc}-2")
    for svc in SERVICES:
        ctx.s.wait_ready(f"{svc}-2")
    for svc in SERVICES:
        ctx.s.wait_partitions(svc)
    ctx.note("two instances of every service, partitions shared")


def scale_out_kill(ctx):
    ctx.fault_at = now()
    for svc in SERVICES:  # the first instances: they hold the relay locks
        ctx.s.kill(svc)
    ctx.note("kill -9 of the first instance of every service (the relay leaders)")
    return ctx.fault_at


scale_out_kill.description = ("two instances of every service in one consumer group; kill -9 "
                              "of one instance of each under load (rebalance, relay failover)")


def poison(ctx):
    """Poison messages on every consumed topic, built from real events."""
    ctx.fault_at = now()
    payment_rule = ctx.runner.payment_unknown_reservation
    real = {}
    wanted = {"order-events": "OrderCreated", "inventory-events": "InventoryReserved",
              "payment-events": "PaymentCompleted"}
    for topic, type_ in wanted.items():
        real[topic] = ctx.s.first_event(topic, type_)
    for topic, (key, value) in real.items():
        for p in poisons_for(topic, key, value, payment_rule):
            if "unknown order" in p.label:  # it must be valid, or it tests nothing
                ctx.s.schemas.check(json.loads(p.value))
            p.partition, p.offset = ctx.s.produce_at(topic, p.key, p.value)
            ctx.poisons.append(p)
    ctx.note(f"{len(ctx.poisons)} poison messages written to order-events, inventory-events, "
             f"payment-events")
    return now()


poison.description = ("invalid JSON, JSON that is no envelope, a schema violation, an unknown "
                      "type, an unknown version, a 300 KiB event, an exact duplicate and an "
                      "event about an unknown order, on every consumed topic, under load")


SCENARIOS = collections.OrderedDict([
    ("kill-order", (restart_after_kill("order"), None)),
    ("kill-payment", (restart_after_kill("payment"), None)),
    ("kill-inventory", (restart_after_kill("inventory"), None)),
    ("kill-notification", (restart_after_kill("notification"), None)),
    ("fault-inventory-after-db-commit",
     (crash_at_fault_point("inventory", "consumer.after_db_commit"), None)),
    ("fault-payment-after-db-commit",
     (crash_at_fault_point("payment", "consumer.after_db_commit"), None)),
    ("fault-order-relay-after-produce",
     (crash_at_fault_point("order", "relay.after_produce"), None)),
    ("broker-down", (brokers_down("2"), None)),
    ("brokers-all-down", (brokers_down("all"), None)),
    ("mariadb-down", (mariadb_down(), None)),
    ("redis-down", (redis_down(), None)),
    ("scale-out-kill", (scale_out_kill, scale_out_setup)),
    ("poison", (poison, None)),
])


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

def check_orders(s, load, failures, report):
    rows = s.sql("order", f"SELECT {sql_id_text('id')}, status, IFNULL(cancel_reason, '')"
                          " FROM orders")
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    statuses = collections.Counter(r[1] for r in rows)
    report["orders"] = {
        "requests": len(load.requests),
        "accepted": len(load.orders),
        "in_db": len(rows),
        "confirmed": statuses.get("CONFIRMED", 0),
        "cancelled": dict(collections.Counter(r[2] for r in rows if r[1] == "CANCELLED")),
        "refused_sold_out": load.answers.get("order 409", 0),
    }
    if len(rows) != len(load.orders):
        failures.append(f"the order table holds {len(rows)} orders, the API accepted "
                        f"{len(load.orders)}")
    unknown = sorted(set(by_id) - set(load.orders))
    if unknown:
        failures.append(f"{len(unknown)} orders in the database were never accepted: "
                        f"{unknown[:3]}")
    wrong = []
    for oid, (kind, _) in load.orders.items():
        got = by_id.get(oid)
        if got is None:
            wrong.append(f"{oid} ({kind}) missing")
        elif got != EXPECTED[kind]:
            wrong.append(f"{oid} ({kind}) is {got[0]} {got[1]}".rstrip())
    if wrong:
        failures.append(f"{len(wrong)} orders did not end as expected: {wrong[:5]}")
    if len(load.orders) < len(load.requests) * 0.9:
        failures.append(f"only {len(load.orders)} of {len(load.requests)} requests accepted")
    for kind in EXPECTED:
        if not any(k == kind for k, _ in load.orders.values()):
            failures.append(f"no order of kind {kind} was placed")


def check_events(s, skip, failures, report):
    """Every event on the topics is schema-valid; no order has two different events
    of one kind (each effect once); counts redeliveries on the wire."""
    kinds = collections.defaultdict(set)   # (order, kind) -> event ids
    seen = collections.Counter()
    invalid = []
    total = 0
    for topic in EVENT_TOPICS:
        for m in s.read_topic(topic):
            if (topic, m.partition(), m.offset()) in skip:
                continue
            total += 1
            try:
                e = json.loads(m.value())
                s.schemas.check(e)
            except Exception as ex:  # noqa: BLE001 - any failure is a finding
                invalid.append(f"{topic} [{m.partition()}] @{m.offset()}: {str(ex)[:200]}")
                continue
            seen[e["id"]] += 1
            kind = e["type"]
            if kind in ("InventoryReserved", "InventoryShortage"):
                kind = "InventoryDecision"
            elif kind in ("PaymentCompleted", "PaymentFailed"):
                kind = "PaymentDecision"
            elif kind == "NotificationSent":
                kind += f"/{e['data'].get('trigger')}/{e['data'].get('channel')}"
            kinds[(e["subject"], kind)].add(e["id"])
    twice = [f"{o}: {k} x{len(ids)}" for (o, k), ids in kinds.items() if len(ids) > 1]
    if invalid:
        failures.append(f"{len(invalid)} events fail their schema: {invalid[:3]}")
    if twice:
        failures.append(f"{len(twice)} effects happened more than once: {twice[:5]}")
    report["events"] = total
    report["redelivered_on_wire"] = sum(c - 1 for c in seen.values() if c > 1)


def header_map(m):
    return {k: (v.decode(errors="replace") if isinstance(v, bytes) else v)
            for k, v in (m.headers() or [])}


def check_dlq(s, poisons, failures, report):
    """saga-dlq holds exactly the dead letters the poison messages call for."""
    expected = {}
    for p in poisons:
        for svc, reason in p.expect.items():
            expected[(p.topic, p.partition, p.offset, f"{svc}-service")] = (p, svc, reason)
    msgs = s.read_topic(DLQ_TOPIC)
    report["dead_letters"] = len(msgs)
    found = collections.Counter()
    problems = []
    for m in msgs:
        h = header_map(m)
        try:
            where = (h["kafka_dlt-original-topic"], int(h["kafka_dlt-original-partition"]),
                     int(h["kafka_dlt-original-offset"]), h["kafka_dlt-original-consumer-group"])
        except (KeyError, ValueError):
            problems.append(f"dead letter without its headers: {h}")
            continue
        found[where] += 1
        if where not in expected:
            problems.append(f"unexpected dead letter: {where} by {h.get('saga-service')} "
                            f"{h.get('kafka_dlt-exception-fqcn')}: "
                            f"{h.get('kafka_dlt-exception-message', '')[:160]}")
            continue
        p, svc, reason = expected[where]
        if h.get("kafka_dlt-exception-fqcn") != reason:
            problems.append(f"{p.label} on {p.topic} dead-lettered by {svc} as "
                            f"{h.get('kafka_dlt-exception-fqcn')}, expected {reason} "
                            f"({h.get('kafka_dlt-exception-message', '')[:160]})")
        if h.get("saga-service") != svc:
            problems.append(f"{p.label}: saga-service header {h.get('saga-service')!r}, "
                            f"expected {svc!r}")
        for name in ("kafka_dlt-original-timestamp", "kafka_dlt-exception-message",
                     "saga-attempts"):
            if name not in h:
                problems.append(f"{p.label} by {svc}: no {name} header")
        if m.value() != p.value[:EVENT_MAX_BYTES]:
            problems.append(f"{p.label} by {svc}: the payload is not the original message")
        if (m.key() or b"") != (p.key or b""):
            problems.append(f"{p.label} by {svc}: the key is not the original key")
    for where, (p, svc, reason) in expected.items():
        if found[where] == 0:
            problems.append(f"{p.label} on {p.topic} [{p.partition}] @{p.offset}: never "
                            f"dead-lettered by {svc} ({reason} expected)")
        elif found[where] > 1:
            problems.append(f"{p.label} on {p.topic}: dead-lettered {found[where]} times by "
                            f"{svc}")
    failures.extend(problems)


def check_duplicates(s, poisons, dup_before, failures):
    """The exact duplicates: skipped by the inbox of each consumer that handles them
    (saga_events_duplicate_total), and (check_events) no effect twice."""
    want = collections.Counter()
    for p in poisons:
        if not p.expect and p.label.startswith("exact duplicate"):
            type_ = json.loads(p.value)["type"]
            for svc in CONSUMERS_OF[p.topic]:
                if type_ in HANDLES[svc]:
                    want[svc] += 1
    for svc, n in want.items():
        got = (metric_sum(s.metrics(svc), "saga_events_duplicate_total") or 0) - dup_before[svc]
        if got < n:
            failures.append(f"{svc}: {int(got)} duplicates skipped by the inbox, expected at "
                            f"least {n} (the injected exact duplicates)")


def check_payment_no_stranger(s, poisons, failures, report):
    """Payment never charges a reservation for an order nobody created; it parks it."""
    parking = s.scalar("payment", "SHOW TABLES LIKE 'pending_reservations'")
    report["payment_parks_reservations"] = bool(parking)
    for p in poisons:
        if p.topic == "inventory-events" and "unknown order" in p.label:
            oid = json.loads(p.value)["data"]["orderId"]
            n = int(s.scalar("payment", "SELECT COUNT(*) FROM payments WHERE order_id = "
                                        f"{sql_id(oid)}"))
            if n:
                failures.append(f"payment made a payment for the InventoryReserved of order "
                                f"{oid}, which nobody created")
            if parking and s.scalar("payment", "SELECT COUNT(*) FROM pending_reservations "
                                               f"WHERE order_id = {sql_id(oid)}") != "1":
                failures.append(f"payment did not park the InventoryReserved of order {oid}, "
                                f"which nobody created")


def check_ready(s, failures, warnings):
    """Every live instance answers /ready 200 (within 10 s; a first 503 is a warning:
    see the report of the mariadb-down scenario)."""
    for key in s.live():
        first, deadline = None, now() + 10
        while True:
            try:
                a = s.call(key, "GET", "/ready", timeout=10, who=None)
                answer = f"{a.status}: {a.text[:200]}"
                ok = a.status == 200
            except (OSError, AssertionError) as e:
                answer, ok = repr(e), False
            if ok:
                if first:
                    warnings.append(f"{key}: /ready answered {first} before 200")
                break
            first = first or answer
            if now() > deadline:
                failures.append(f"{key}: /ready answers {answer}")
                break
            time.sleep(0.2)


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------

class Runner:
    def __init__(self, args):
        self.args = args
        self.state = load_state()
        self.mariadb = None
        self.results = []
        # How payment treats an InventoryReserved for an order it never saw created
        # (docs/DOMAIN.md): None = it must not charge it, and it does not dead-letter
        # it; a reason = it dead-letters it with that reason.
        self.payment_unknown_reservation = args.payment_unknown_reservation or None

    def run(self, names):
        root = os.path.join(self.state["SAGA_TEST_DIR"], f"chaos-mariadb-{os.getpid()}")
        print(f"chaos: own MariaDB in {root}", flush=True)
        self.mariadb = MariaDB(root).setup()
        try:
            for name in names:
                self.results.append(self.scenario(name))
        finally:
            self.mariadb.destroy()
        return self.results

    def scenario(self, name):
        fault, setup = SCENARIOS[name]
        print(f"\n== {name}: {fault.description}", flush=True)
        report = {"scenario": name, "description": fault.description, "failures": [],
                  "warnings": []}
        skip = getattr(fault, "skip", lambda: None)()
        if skip:
            print(f"  SKIPPED: {skip}", flush=True)
            report.update(passed=True, skipped=skip, seconds=0)
            return report
        failures = report["failures"]
        started = now()
        if not self.mariadb.running():
            self.mariadb.start()
        s = ChaosStack("chaos_" + re.sub(r"[^a-z0-9]", "", name)[:20], self.mariadb)
        load = probe = None
        try:
            s.start()
            load = Load(s, self.args.rate)
            load.shop()
            probe = Probe(s)
            ctx = Context(self, s, load, probe)
            if setup:
                setup(ctx)
            dup_before = {svc: metric_sum(s.metrics(svc), "saga_events_duplicate_total") or 0
                          for svc in SERVICES}
            probe.start()
            load.start()
            t0 = now()
            time.sleep(self.args.warmup)
            cleared = fault(ctx)
            rest = max(self.args.after, t0 + self.args.duration - now())
            time.sleep(rest)
            load.stop()
            report["load_s"] = round(now() - t0, 1)
            stopped = now()
            fault_at = ctx.fault_at or cleared
            threshold = probe.threshold(t0 + 1.0, fault_at)
            deadline = stopped + self.args.recover_timeout
            while now() < deadline and (probe.recovery(cleared, threshold) is None
                                        or probe.zero(stopped) is None):
                time.sleep(0.1)
            probe.stopping.set()
            probe.join()
            rec = probe.recovery(cleared, threshold)
            zero = probe.zero(stopped)
            if self.args.trace:
                probe.dump(os.path.join(self.args.trace, f"chaos-{name}-probe.tsv"), t0,
                           ctx.fault_at, cleared, threshold)
            report["recover_s"] = None if rec is None else round(rec, 2)
            report["steady_level"] = threshold
            report["zero_after_load_s"] = None if zero is None else round(zero, 2)
            report["fault_s"] = round(cleared - fault_at, 2)
            report["peak_lag"], report["peak_backlog"] = probe.peak(fault_at)
            report["lag_metric"] = probe.lag_metric
            if rec is None or zero is None:
                failures.append(f"not recovered {self.args.recover_timeout} s after the load "
                                f"stopped: {probe.last()}")
            s.drain(timeout=120)
            report["http_failures"] = dict(load.failures)
            report["retried_requests"] = load.retried
            report["replayed_200"] = load.replays
            report["answers"] = dict(load.answers)
            report["notes"] = ctx.notes
            failures.extend(load.problems)
            check_orders(s, load, failures, report)
            skip = {(p.topic, p.partition, p.offset) for p in ctx.poisons
                    if p.expect or not p.label.startswith("exact duplicate")}
            check_events(s, skip, failures, report)
            check_dlq(s, ctx.poisons, failures, report)
            if ctx.poisons:
                check_duplicates(s, ctx.poisons, dup_before, failures)
                check_payment_no_stranger(s, ctx.poisons, failures, report)
            check_ready(s, failures, report["warnings"])
            for verify in ctx.verify:
                verify(ctx, report, failures)
            code, out = s.audit()
            report["audit"] = "clean" if code == 0 else f"exit {code}"
            if code != 0:
                failures.append(f"the audit found violations (exit {code}):\n{out.strip()}")
        except Exception as e:  # noqa: BLE001 - a scenario that breaks is a failure
            failures.append(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            if load and load.thread and load.thread.is_alive():
                load.stop(timeout=10)
            if probe and probe.is_alive():
                probe.stopping.set()
                probe.join()
            s.stop()
            for key, code, how in s.exit_codes:
                if how == "SIGTERM" and code != 0:
                    failures.append(f"{key}-service exited with {code} on SIGTERM; "
                                    f"see {s.log(key)}")
                if how == "died":
                    failures.append(f"{key}-service died on its own ({code}); its log's "
                                    f"last lines:\n{log_tail(s.log(key))}")
            failures.extend(s.sanitizer_reports())
        report["passed"] = not failures
        report["seconds"] = round(now() - started, 1)
        self.print_report(report)
        return report

    @staticmethod
    def print_report(r):
        o = r.get("orders", {})
        print(f"  orders: {o.get('requests', 0)} requests, {o.get('accepted', 0)} accepted, "
              f"{o.get('confirmed', 0)} confirmed, cancelled {o.get('cancelled', {})}; "
              f"HTTP failures {r.get('http_failures', {})}, {r.get('retried_requests', 0)} "
              f"requests retried, {r.get('replayed_200', 0)} answered 200 (replay)")
        print(f"  fault {r.get('fault_s')} s; recovered to the steady state (level <= "
              f"{r.get('steady_level')}) {r.get('recover_s')} s after it was cleared (peak lag "
              f"{r.get('peak_lag')}, peak backlog {r.get('peak_backlog')}); all zero "
              f"{r.get('zero_after_load_s')} s after the load stopped")
        if "restart_to_first_outcome_s" in r:
            print(f"  from the restart: first decision of the restarted service "
                  f"{r.get('restart_to_first_decision_s')} s, first order outcome it led to "
                  f"{r.get('restart_to_first_outcome_s')} s")
        print(f"  dead letters {r.get('dead_letters', '?')}, redelivered on the wire "
              f"{r.get('redelivered_on_wire', '?')}, events {r.get('events', '?')}, audit "
              f"{r.get('audit', '?')}")
        for w in r.get("warnings", []):
            print(f"  warning: {w}")
        if r["passed"]:
            print(f"  PASSED in {r['seconds']} s", flush=True)
        else:
            print(f"  FAILED in {r['seconds']} s:", flush=True)
            for f in r["failures"]:
                print("   - " + f.replace("\n", "\n     "), flush=True)


def print_table(results):
    head = ("scenario", "result", "placed", "accepted", "confirmed", "out of stock", "declined",
            "customer", "timeout", "http fail/req", "dlq", "recover s", "restart->outcome s")
    rows = []
    for r in results:
        o = r.get("orders", {})
        c = o.get("cancelled", {})
        result = "skipped" if r.get("skipped") else "ok" if r["passed"] else "FAILED"
        rows.append((r["scenario"], result,
                     o.get("requests", "-"), o.get("accepted", "-"), o.get("confirmed", "-"),
                     c.get("OUT_OF_STOCK", 0), c.get("PAYMENT_DECLINED", 0),
                     c.get("CUSTOMER_REQUEST", 0), c.get("TIMEOUT", 0),
                     f'{sum(r.get("http_failures", {}).values())}/{r.get("retried_requests", 0)}',
                     r.get("dead_letters", "-"),
                     "-" if r.get("recover_s") is None else f"{r['recover_s']:.2f}",
                     "-" if r.get("restart_to_first_outcome_s") is None
                     else f"{r['restart_to_first_outcome_s']:.2f}"))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print()
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*map(str, row)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS),
                    help="run only this scenario (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--rate", type=float, default=float(os.environ.get("SAGA_CHAOS_RATE", 40)),
                    help="orders per second (default 40, or SAGA_CHAOS_RATE)")
    ap.add_argument("--duration", type=float, default=9.0,
                    help="seconds of load per scenario (default 9)")
    ap.add_argument("--warmup", type=float, default=2.5,
                    help="seconds of load before the fault (default 2.5)")
    ap.add_argument("--restart-after", type=float, default=2.0,
                    help="seconds a killed service stays down before its restart (default 2)")
    ap.add_argument("--after", type=float, default=3.0,
                    help="at least this many seconds of load after the fault is cleared")
    ap.add_argument("--recover-timeout", type=float, default=60.0,
                    help="seconds to wait for recovery after the fault is cleared")
    ap.add_argument("--payment-unknown-reservation", default="",
                    help="reason with which payment dead-letters an InventoryReserved for an "
                         "order it never saw created (default: it does not dead-letter it)")
    ap.add_argument("--trace", default="",
                    help="a directory for each scenario's probe samples (chaos-NAME-probe.tsv)")
    ap.add_argument("--summary", default=os.path.join(BUILD, "chaos-summary.json"),
                    help="where to write the JSON summary")
    args = ap.parse_args()
    if args.list:
        for name, (fault, _) in SCENARIOS.items():
            print(f"{name:34} {fault.description}")
        return 0
    names = args.scenario or list(SCENARIOS)
    runner = Runner(args)
    t0 = now()
    try:
        results = runner.run(names)
    finally:
        print_table(runner.results)
    summary = {"rate": args.rate, "duration_s": args.duration,
               "restart_after_s": args.restart_after, "seconds": round(now() - t0, 1),
               "scenarios": results}
    os.makedirs(os.path.dirname(os.path.abspath(args.summary)), exist_ok=True)
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=2)
    failed = [r["scenario"] for r in results if not r["passed"]]
    print(f"\nchaos: {len(results) - len(failed)} of {len(results)} scenarios passed in "
          f"{summary['seconds']} s; summary in {args.summary}")
    if failed:
        print(f"chaos: FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
