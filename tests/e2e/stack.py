"""A whole SAGA stack for end-to-end tests, on the servers the harness started.

Each Stack has its own Kafka-protocol broker (deploy/local's saga-broker) and Redis,
its own four databases (saga_test_<name>_<service>) on the harness's MariaDB, and
the four service executables on free ports: stacks with different settings cannot
disturb each other. Every API answer is
validated against the service's OpenAPI description, every event on the topics
against its JSON Schema (python3-jsonschema: a validator independent of ours), and
the invariant audit (saga-audit) closes every test class.

The services run as they would in production, with authentication on: each stack
makes its own ES256 key pair (saga-token keygen) and the services verify with the
public half; each service runs as its own MariaDB user, with a random password
and only SELECT, INSERT, UPDATE, DELETE on its own database, and applies its
migrations at start as a second user (SAGA_MYSQL_MIGRATE_USER) that may also change
the schema: the grants deploy/local/lib.sh gives on the local stack, so every e2e
and chaos run proves them enough. Each stack's Redis wants a password
(SAGA_REDIS_PASSWORD); /metrics is read from each service's own metrics port. Requests carry a
bearer token: call(..., who=ADMIN) by default, who="<customer id>" for that
customer's own token, who=None for none. The rate limits on POST /api/orders are
off unless a test turns them on (Stack(name, env={"order": {...}})).
"""
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

import jsonschema
from confluent_kafka import Consumer, Producer, TopicPartition

SOURCE = os.environ.get("SAGA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SAGA_BUILD_DIR", os.path.join(SOURCE, "build"))
SERVICES = ("order", "payment", "inventory", "notification")
EVENT_TOPICS = ("order-events", "inventory-events", "payment-events", "notification-events")
TOKEN_BIN = os.path.join(BUILD, "tools", "saga-token")
ADMIN_SUBJECT = "e2e-admin"


class _Admin:
    def __repr__(self):
        return "ADMIN"


# call(..., who=ADMIN): the request is made with an admin's token
ADMIN = _Admin()


def load_state():
    """The harness's state file (tests/harness/servers.sh) as a dict."""
    state = {}
    with open(os.environ["SAGA_TEST_STATE"]) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                state[k] = v
    return state


def wait_or_kill(proc, timeout=30):
    """The exit status of a process already asked to stop; SIGKILL after timeout s."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def terminate(proc, timeout=30):
    """SIGTERM to one process, then its exit status (SIGKILL after timeout s)."""
    proc.send_signal(signal.SIGTERM)
    return wait_or_kill(proc, timeout)


# Ports for the servers a test starts come from below the kernel's ephemeral range
# (ip_local_port_range, 32768-60999 here). A port the kernel handed out with bind(0)
# is free only until it hands it out again: to an outgoing connection, or to one of
# the mock cluster's own listeners in the very process about to bind it, so the
# server a test starts (or restarts, after a kill) could find it taken. The
# harness's fixed ports (tests/harness/servers.sh) are left out.
TEST_PORTS = range(20000, 32768)
HARNESS_PORTS = {int(os.environ.get(name, default)) for name, default in (
    ("SAGA_TEST_MYSQL_PORT", 23306), ("SAGA_TEST_REDIS_PORT", 26379),
    ("SAGA_TEST_BROKER_CONTROL_PORT", 29092))}


# Every port free_port handed out in this process: one is checked free when it is
# picked, but its server binds it later, so two picks before that could otherwise be
# the same port (seen: two services of one chaos scenario given one metrics port).
_PORTS_GIVEN = set()


def free_port():
    """A port no one listens on, outside the ephemeral range, never the same twice."""
    rng = secrets.SystemRandom()
    for _ in range(1000):
        port = rng.choice(TEST_PORTS)
        if port in HARNESS_PORTS or port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port in {TEST_PORTS}")


class OpenApi:
    """Validates API answers against a service's OpenAPI 3.1 description."""

    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.routes = []
        for template, ops in self.doc.get("paths", {}).items():
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            self.routes.append((re.compile(pattern), template, ops))
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=self.doc)

    def check(self, method, path, status, content_type, body):
        """Raises AssertionError when the answer does not match the description."""
        path = path.split("?", 1)[0]
        for pattern, template, ops in self.routes:
            if pattern.match(path):
                break
        else:
            raise AssertionError(f"{method} {path}: no such path in the OpenAPI description")
        op = ops.get(method.lower())
        if op is None:
            if status == 405:
                return
            raise AssertionError(f"{method} {template}: method not described")
        responses = op.get("responses", {})
        desc = (responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
                or responses.get("default"))
        if desc is None:
            raise AssertionError(f"{method} {template}: status {status} not described")
        desc = self._deref(desc)
        content = desc.get("content")
        if not content:
            return
        ctype = (content_type or "").split(";")[0].strip()
        media = content.get(ctype)
        if media is None:
            raise AssertionError(f"{method} {template} {status}: content type {ctype!r} not "
                                 f"described (have {list(content)})")
        schema = media.get("schema")
        if schema is None or body is None:
            return
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            raise AssertionError(f"{method} {path} {status}: answer does not match the OpenAPI "
                                 f"description at /{'/'.join(map(str, e.path))}: {e.message}")

    def _deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, resolved = self.resolver.resolve(obj["$ref"])
            obj = resolved
        return obj


class EventSchemas:
    """The event JSON Schemas in schemas/, by $id."""

    def __init__(self):
        self.store = {}
        folder = os.path.join(SOURCE, "schemas")
        for name in os.listdir(folder):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as f:
                    schema = json.load(f)
                self.store[schema["$id"]] = schema

    def check(self, event):
        schema = self.store.get(event.get("dataschema"))
        if schema is None:
            raise AssertionError(f"event {event.get('id')} of type {event.get('type')}: unknown "
                                 f"dataschema {event.get('dataschema')}")
        resolver = jsonschema.RefResolver.from_schema(schema, store=self.store)
        jsonschema.Draft202012Validator(schema, resolver=resolver,
                                        format_checker=jsonschema.FormatChecker()).validate(event)


class Answer:
    def __init__(self, status, headers, text):
        self.status = status
        self.headers = headers
        self.text = text
        self.content_type = headers.get("Content-Type", "")
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.text[:300]}>"


class Stack:
    def __init__(self, name, env=None, console=False):
        self.name = name
        self.with_console = console  # also run saga-console (start_console)
        self.console = None
        self.console_port = None
        self.state = load_state()
        self.dir = self.state["SAGA_TEST_DIR"]
        self.env_overrides = env or {}
        self.procs = {}
        self.ports = {}
        self.broker = None
        self.bootstrap = None
        self.openapi = {}
        self.schemas = EventSchemas()
        self.run = uuid.uuid4().hex[:8]
        self.metrics_ports = {}
        self.db_passwords = {}      # service -> its runtime user's password
        self.migrate_passwords = {} # service -> its migration user's password
        self.redis_password = secrets.token_hex(16)
        self.secrets_dir = os.path.join(self.dir, f"{name}-secrets")
        self.tokens = {}            # (subject, admin) -> token
        self.token_lock = threading.Lock()
        self.owners = {}            # order id -> the customer who placed it (order())

    # --- lifecycle ---
    def start(self):
        try:
            self._make_keys()
            self._start_broker()
            self.redis_port = free_port()
            self.start_redis()
            for svc in SERVICES:
                self._reset_db(svc)
            for svc in SERVICES:
                self._start_service(svc)
            for svc in SERVICES:
                self._wait_ready(svc)
                self.openapi[svc] = OpenApi(os.path.join(SOURCE, "services", svc, "openapi.json"))
            for svc in SERVICES:
                self._wait_assigned(svc)
            if self.with_console:
                self.start_console()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.console and self.console.poll() is None:
            code = terminate(self.console, timeout=20)
            if code != 0:
                print(f"{self.name}: saga-console exited with {code}; log: {self.log('console')}")
        self.console = None
        for svc, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for svc, proc in self.procs.items():
            code = wait_or_kill(proc, timeout=20)
            if code != 0:
                print(f"{self.name}: {svc}-service exited with {code}; log: {self.log(svc)}")
        self.procs = {}
        if self.broker and self.broker.poll() is None:
            terminate(self.broker, timeout=10)
        self.broker = None
        self.stop_redis()

    def start_redis(self):
        """This stack's own Redis (a test may stop and restart it)."""
        # the password in a file of its own (0600), not on the command line
        conf = os.path.join(self.dir, f"{self.name}-redis.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"requirepass {self.redis_password}\n")
        with open(self.log("redis"), "a") as log:
            self.redis = subprocess.Popen(
                ["redis-server", conf, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis did not start; see {self.log('redis')}")

    def redis_command(self, *args):
        """One command to this stack's Redis (RESP), after AUTH with the stack's
        password; its raw reply's first line."""
        def request(*words):
            parts = [str(w).encode() for w in words]
            return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p)
                                                       for p in parts)
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=5) as c:
            c.sendall(request("AUTH", self.redis_password))
            auth = c.recv(4096).split(b"\r\n")[0].decode()
            assert auth == "+OK", f"redis AUTH: {auth}"
            c.sendall(request(*args))
            return c.recv(4096).split(b"\r\n")[0].decode()

    def redis_exists(self, key):
        answer = self.redis_command("EXISTS", key)
        assert answer in (":0", ":1"), answer
        return answer == ":1"

    def stop_redis(self):
        if getattr(self, "redis", None) and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()
        self.redis = None

    def log(self, name):
        return os.path.join(self.dir, f"{self.name}-{name}.log")

    def _start_broker(self):
        bootstrap_file = os.path.join(self.dir, f"{self.name}.bootstrap")
        if os.path.exists(bootstrap_file):
            os.unlink(bootstrap_file)
        self.control_port = free_port()
        # the mock keeps its topics in memory and starts empty: the audit is told when
        # (SAGA_AUDIT_DLQ_SINCE), as deploy/local/audit.sh tells it on the local stack
        self.broker_started = (datetime.datetime.now(datetime.timezone.utc)
                               .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
        with open(self.log("broker"), "a") as log:
            self.broker = subprocess.Popen(
                [os.path.join(BUILD, "deploy", "local", "saga-broker"), "--bootstrap-file",
                 bootstrap_file, "--control-port", str(self.control_port)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not os.path.exists(bootstrap_file):
            if time.time() > deadline or self.broker.poll() is not None:
                raise RuntimeError(f"broker did not start; see {self.log('broker')}")
            time.sleep(0.05)
        with open(bootstrap_file) as f:
            self.bootstrap = f.read().strip()

    def restart_broker(self):
        """What `down.sh --services; up.sh` does to the local stack: every service
        stopped (each must exit 0), the broker stopped and a new, empty one started
        (the mock keeps its topics, saga-dlq included, in memory), the services started
        again against it; returns once they are ready and consuming."""
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for svc, proc in self.procs.items():
            code = wait_or_kill(proc, timeout=20)
            assert code == 0, f"{svc}-service exited with {code}; see {self.log(svc)}"
        terminate(self.broker, timeout=10)
        self._start_broker()
        for svc in SERVICES:
            self._start_service(svc, log_mode="a")
        for svc in SERVICES:
            self._wait_ready(svc)
        for svc in SERVICES:
            self._wait_assigned(svc)

    def db(self, svc):
        return f"saga_test_{self.name}_{svc}"

    def sql(self, svc, query):
        """Runs SQL on a service's database; returns rows as lists of strings."""
        out = subprocess.run(
            ["mysql", "-h", "127.0.0.1", "-P", self.state["SAGA_MYSQL_PORT"], "-u",
             self.state["SAGA_MYSQL_USER"], f"-p{self.state['SAGA_MYSQL_PASSWORD']}", "-N", "-B",
             "-e", query, self.db(svc) if svc else ""],
            check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines()]

    def scalar(self, svc, query):
        rows = self.sql(svc, query)
        return rows[0][0] if rows else None

    def root_sql(self, query):
        """SQL as MariaDB's administrator, over the server's socket (unix-socket
        authentication: the only way in for it); returns rows as lists of strings."""
        out = subprocess.run(["mariadb", "--no-defaults", "--protocol=socket",
                              f"--socket={self.state['SAGA_MYSQL_SOCKET']}",
                              f"-u{self.state.get('SAGA_MYSQL_ADMIN_USER', 'root')}", "-N", "-B"],
                             input=query, check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines()]

    def migrate_user(self, svc):
        return f"{self.db(svc)}_migrate"

    def _reset_db(self, svc):
        """A fresh database and its two users, named after it, with new random
        passwords and the local stack's grants (deploy/local/lib.sh,
        saga_mysql_service_users_sql): the runtime user may only read and write rows,
        the migration user may also change the schema."""
        db = self.db(svc)
        pw = self.db_passwords[svc] = secrets.token_hex(16)
        mpw = self.migrate_passwords[svc] = secrets.token_hex(16)
        users = subprocess.run(
            ["bash", "-c", 'source "$0" && saga_mysql_service_users_sql "$@"',
             os.path.join(SOURCE, "deploy", "local", "lib.sh"), db, db, pw,
             self.migrate_user(svc), mpw, "127.0.0.1"],
            check=True, capture_output=True, text=True).stdout
        self.root_sql(f"DROP DATABASE IF EXISTS {db};"
                      f"DROP USER IF EXISTS '{db}'@'127.0.0.1';"
                      f"DROP USER IF EXISTS '{self.migrate_user(svc)}'@'127.0.0.1';" + users)

    def console_user(self, svc):
        """The console's read-only MySQL user on svc's database (named like it)."""
        return f"{self.db(svc)}_console"

    def _console_users(self):
        """One read-only user per service database for saga-console: SELECT on that
        database and nothing else, as deploy/local/up.sh makes them."""
        sql = ""
        self.console_passwords = {}
        for svc in SERVICES:
            db, user = self.db(svc), self.console_user(svc)
            pw = self.console_passwords[svc] = secrets.token_hex(16)
            escaped = db.replace("_", "\\_")
            sql += (f"DROP USER IF EXISTS '{user}'@'127.0.0.1';"
                    f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{pw}';"
                    f"GRANT SELECT ON `{escaped}`.* TO '{user}'@'127.0.0.1';")
        self.root_sql(sql)

    def console_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGA_JWT_")}
        env.update({
            "SAGA_CONSOLE_PORT": str(self.console_port),
            "SAGA_CONSOLE_MYSQL_HOST": "127.0.0.1",
            "SAGA_CONSOLE_MYSQL_PORT": self.state["SAGA_MYSQL_PORT"],
            "SAGA_KAFKA_BOOTSTRAP": self.bootstrap,
            "SAGA_JWT_ALG": "ES256",
            "SAGA_JWT_KEY_FILE": os.path.join(self.secrets_dir, "jwt-public.pem"),
            "SAGA_LOG_LEVEL": "info",
        })
        for svc in SERVICES:
            up = svc.upper()
            env[f"SAGA_CONSOLE_{up}_MYSQL_USER"] = self.console_user(svc)
            env[f"SAGA_CONSOLE_{up}_MYSQL_PASSWORD"] = self.console_passwords[svc]
            env[f"SAGA_CONSOLE_{up}_DB"] = self.db(svc)
            env[f"SAGA_CONSOLE_{up}_METRICS_URL"] = (
                f"http://127.0.0.1:{self.metrics_ports[svc]}/metrics")
            group = self.env_overrides.get(svc, {}).get("SAGA_KAFKA_GROUP")
            if group:
                env[f"SAGA_CONSOLE_{up}_GROUP"] = group
        return env

    def start_console(self, timeout=30):
        """saga-console on a free port, with its read-only users; waits until it
        serves its page. self.console_url is where it is."""
        self._console_users()
        self.console_port = free_port()
        self.console_url = f"http://127.0.0.1:{self.console_port}"
        with open(self.log("console"), "w") as log:
            self.console = subprocess.Popen([os.path.join(BUILD, "tools", "saga-console")],
                                            cwd=SOURCE, env=self.console_env(), stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.console.poll() is not None:
                raise RuntimeError(f"saga-console exited; see {self.log('console')}")
            try:
                with urllib.request.urlopen(self.console_url + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"saga-console did not answer in {timeout} s; see {self.log('console')}")

    def _make_keys(self):
        """This stack's ES256 key pair, in the harness's temporary directory."""
        shutil.rmtree(self.secrets_dir, ignore_errors=True)
        out = subprocess.run([TOKEN_BIN, "keygen", self.secrets_dir], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError(f"saga-token keygen: {out.stderr.strip()}")

    def service_env(self, svc):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGA_JWT_")}
        env.update({
            "SAGA_HTTP_PORT": str(self.ports.setdefault(svc, free_port())),
            "SAGA_METRICS_BIND": "127.0.0.1",
            "SAGA_METRICS_PORT": str(self.metrics_ports.setdefault(svc, free_port())),
            "SAGA_JWT_ALG": "ES256",
            "SAGA_JWT_KEY_FILE": os.path.join(self.secrets_dir, "jwt-public.pem"),
            # many orders from one address and customer, faster than any shopper
            "SAGA_RATE_LIMIT_CUSTOMER_PER_S": "0",
            "SAGA_RATE_LIMIT_ADDRESS_PER_S": "0",
            "SAGA_MYSQL_HOST": "127.0.0.1",
            "SAGA_MYSQL_PORT": self.state["SAGA_MYSQL_PORT"],
            "SAGA_MYSQL_USER": self.db(svc),
            "SAGA_MYSQL_PASSWORD": self.db_passwords[svc],
            "SAGA_MYSQL_MIGRATE_USER": self.migrate_user(svc),
            "SAGA_MYSQL_MIGRATE_PASSWORD": self.migrate_passwords[svc],
            "SAGA_MYSQL_DATABASE": self.db(svc),
            "SAGA_KAFKA_BOOTSTRAP": self.bootstrap,
            "SAGA_REDIS_HOST": "127.0.0.1",
            "SAGA_REDIS_PORT": str(self.redis_port),
            "SAGA_REDIS_PASSWORD": self.redis_password,
            "SAGA_LOG_LEVEL": "info",
            # as up.sh: the mock broker holds a rebalance for the session timeout
            # less 1 s, so a restarted or added instance consumes about 2 s after
            # it joins (the environment may set another value, to compare)
            "SAGA_KAFKA_SESSION_TIMEOUT_MS": os.environ.get("SAGA_KAFKA_SESSION_TIMEOUT_MS",
                                                            "3000"),
        })
        env.update(self.env_overrides.get(svc, {}))
        return env

    def _start_service(self, svc, log_mode="w"):
        binary = os.path.join(BUILD, "services", svc, f"{svc}-service")
        with open(self.log(svc), log_mode) as log:
            self.procs[svc] = subprocess.Popen([binary], cwd=SOURCE, env=self.service_env(svc),
                                               stdout=log, stderr=subprocess.STDOUT)

    def restart_service(self, svc, env, exited=None):
        """Stops svc (SIGTERM; it must exit 0), then starts it again with env on top
        of the stack's own settings, and waits until it is ready and consuming. Its
        log goes on in the same file. exited: the status svc has already ended with
        (a fault point's -9), instead of stopping it."""
        code = terminate(self.procs[svc]) if exited is None else self.procs[svc].wait()
        want = 0 if exited is None else exited
        assert code == want, f"{svc}-service exited with {code}, not {want}; see {self.log(svc)}"
        self.env_overrides[svc] = dict(env)
        with open(self.log(svc), "a") as log:
            log.write(f"--- restarted with {env}\n")
        self._start_service(svc, log_mode="a")
        self._wait_ready(svc)
        self._wait_assigned(svc)

    def _wait_ready(self, svc, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.procs[svc].poll() is not None:
                raise RuntimeError(f"{svc}-service exited; see {self.log(svc)}")
            try:
                if self.call(svc, "GET", "/ready", check=False, who=None).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{svc}-service not ready after {timeout} s; see {self.log(svc)}")

    def _wait_assigned(self, svc, timeout=60):
        """Ready is not enough for a test: a consumer that has not joined its group
        yet reads its first events seconds late."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                text = self.metrics_text(svc)
            except OSError:
                text = ""
            m = re.search(r"^saga_consumer_assigned_partitions (\S+)", text, re.M)
            if m and float(m.group(1)) > 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{svc}-service's consumer got no partitions in {timeout} s")

    # --- tokens ---
    def token(self, subject, admin=False, ttl=3600, **kw):
        """A bearer token for subject signed with this stack's key (saga-token). kw are
        saga-token's other options: nbf=SECONDS, alg=, key_file=, issuer=, audience=;
        secret= sets SAGA_JWT_SECRET (HS256). Plain tokens are minted once per stack."""
        plain = not kw and ttl == 3600
        if plain:
            with self.token_lock:
                if (subject, admin) in self.tokens:
                    return self.tokens[(subject, admin)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGA_JWT_")}
        args = [TOKEN_BIN, "--alg", "ES256", "--key-file",
                os.path.join(self.secrets_dir, "jwt-private.pem"), "--ttl", str(ttl)]
        if admin:
            args.append("--admin")
        for k, v in kw.items():
            if k == "secret":
                env["SAGA_JWT_SECRET"] = v
            else:
                args += [f"--{k.replace('_', '-')}", str(v)]
        out = subprocess.run(args + [subject], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"saga-token {subject}: {out.stderr.strip()}")
        token = out.stdout.strip()
        if plain:
            with self.token_lock:
                self.tokens[(subject, admin)] = token
        return token

    def auth_header(self, who):
        """The Authorization header for who (ADMIN, a customer id), or {} for None."""
        if who is None:
            return {}
        token = self.token(ADMIN_SUBJECT, admin=True) if who is ADMIN else self.token(who)
        return {"Authorization": f"Bearer {token}"}

    # --- HTTP ---
    def call(self, svc, method, path, body=None, headers=None, raw=None,
             content_type="application/json", check=True, timeout=40, who=ADMIN):
        """One request; the answer is checked against the OpenAPI description. who makes
        it: ADMIN (an admin's token), a customer id (that customer's token) or None (no
        token); an Authorization in headers wins."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports[svc]}{path}", data=data,
                                     method=method)
        if data is not None and content_type:
            req.add_header("Content-Type", content_type)
        headers = dict(headers or {})
        if not any(k.lower() == "authorization" for k in headers):
            headers.update(self.auth_header(who))
        for k, v in headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                answer = Answer(resp.status, dict(resp.headers), resp.read().decode())
        except urllib.error.HTTPError as e:
            answer = Answer(e.code, dict(e.headers), e.read().decode())
        if check and svc in self.openapi:
            self.openapi[svc].check(method, path, answer.status, answer.content_type,
                                    answer.json)
        if answer.status >= 400 and answer.json is not None and check:
            assert answer.content_type.startswith("application/problem+json"), answer
        return answer

    def metrics_text(self, svc, timeout=10):
        """svc's /metrics, from its metrics listener (never the API port)."""
        url = f"http://127.0.0.1:{self.metrics_ports[svc]}/metrics"
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read().decode()

    # --- the shop ---

    def metric(self, svc, name):
        """The sum of a metric's samples on svc's /metrics (0 if absent)."""
        text = self.metrics_text(svc)
        return sum(float(v) for v in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$",
                                                text, re.M))
    def sku(self, label):
        return f"{label}-{self.run}"

    def customer(self, label):
        return f"{label}-{self.run}"

    def product(self, sku, price, stock, name=None):
        a = self.call("inventory", "PUT", f"/api/products/{sku}",
                      {"name": name or sku, "price": price, "stock": stock})
        assert a.status in (200, 201), a
        return a.json

    def shop(self, label, price, stock, balance):
        """A new sku and a new customer, both named after label, with the product
        (price, stock) and the customer's wallet (balance): (sku, customer)."""
        sku, customer = self.sku(label), self.customer(label)
        self.product(sku, price=price, stock=stock)
        self.wallet(customer, balance=balance)
        return sku, customer

    def wallet(self, customer, balance, blocked=False):
        body = {"balance": balance}
        if blocked:
            body["blocked"] = True
        a = self.call("payment", "PUT", f"/api/wallets/{customer}", body)
        assert a.status in (200, 201), a
        return a.json

    def order(self, customer, items, headers=None):
        """Places an order as customer (with the customer's own token)."""
        a = self.call("order", "POST", "/api/orders",
                      {"customerId": customer,
                       "items": [{"sku": s, "quantity": q} for s, q in items]},
                      headers=headers, who=customer)
        if a.status in (200, 202) and a.json:
            self.owners[a.json["id"]] = customer
        return a

    def owner(self, order_id):
        """Who reads order_id: the customer who placed it with order(), else ADMIN."""
        return self.owners.get(order_id, ADMIN)

    @staticmethod
    def wait_until(read, done, timeout=20, pause=0.05):
        """Calls read() until done(what it returned) or timeout seconds have passed;
        returns what it returned last (the caller asserts on it)."""
        deadline = time.time() + timeout
        while True:
            seen = read()
            if done(seen) or time.time() > deadline:
                return seen
            time.sleep(pause)

    def wait_order(self, order_id, until=("CONFIRMED", "CANCELLED"), timeout=30):
        def read():
            a = self.call("order", "GET", f"/api/orders/{order_id}?wait=5",
                          who=self.owner(order_id))
            assert a.status == 200, a
            return a.json
        return self.wait_until(read, lambda o: o["status"] in until, timeout)

    def stock(self, sku):
        a = self.call("inventory", "GET", f"/api/inventory/{sku}")
        assert a.status == 200, a
        return a.json

    def wait_stock(self, sku, expected, timeout=20):
        """Stock levels change asynchronously (OrderConfirmed, OrderCancelled):
        waits until they are as expected, and returns the last seen."""
        return self.wait_until(lambda: self.stock(sku), lambda seen: seen == expected, timeout)

    def wait_balance(self, customer, expected, timeout=20):
        return self.wait_until(lambda: self.balance(customer), lambda seen: seen == expected,
                               timeout)

    def balance(self, customer):
        a = self.call("payment", "GET", f"/api/wallets/{customer}", who=customer)
        assert a.status == 200, a
        return a.json["balance"]

    # --- Kafka ---
    def produce(self, topic, key, value):
        p = Producer({"bootstrap.servers": self.bootstrap})
        p.produce(topic, key=key.encode(), value=value.encode() if isinstance(value, str)
                  else value)
        assert p.flush(10) == 0

    def read_topic(self, topic):
        """Every message on the topic, from the start to the current end."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "e2e-reader",
                      "enable.partition.eof": True, "enable.auto.commit": False})
        try:
            md = c.list_topics(topic, timeout=10)
            parts = [TopicPartition(topic, p, 0) for p in md.topics[topic].partitions]
            c.assign(parts)
            ended, messages = set(), []
            deadline = time.time() + 30
            while len(ended) < len(parts) and time.time() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    ended.add(m.partition())
                    continue
                messages.append(m)
            return messages
        finally:
            c.close()

    def events(self, topic, key=None):
        out = []
        for m in self.read_topic(topic):
            if key is None or (m.key() or b"").decode() == key:
                out.append(json.loads(m.value()))
        return out

    def check_all_events_valid(self, skip_keys=()):
        """Every message on the four event topics validates against its schema, but
        those keyed by one of skip_keys (poison a test put there on purpose);
        returns how many were checked."""
        count = 0
        for topic in EVENT_TOPICS:
            for m in self.read_topic(topic):
                if (m.key() or b"").decode(errors="replace") in skip_keys:
                    continue
                event = json.loads(m.value())
                self.schemas.check(event)
                count += 1
        return count

    # --- draining and the audit ---
    def consumers_caught_up(self):
        """True when every running service's consumer holds partitions and has
        consumed and committed everything on them (its saga_consumer_total_lag is 0).
        A terminal order and empty outboxes are not enough: after a broker outage a
        consumer may still be rejoining its group with the compensation (say the
        OrderCancelled that releases a reservation) unread on the topic."""
        for svc, proc in self.procs.items():
            if proc.poll() is not None:
                continue  # stopped on purpose by the test
            try:
                text = self.metrics_text(svc)
            except OSError:
                return False
            assigned = re.search(r"^saga_consumer_assigned_partitions (\S+)", text, re.M)
            lag = re.search(r"^saga_consumer_total_lag (\S+)", text, re.M)
            if not assigned or float(assigned.group(1)) == 0:
                return False
            if not lag or float(lag.group(1)) > 0:
                return False
        return True

    def drain(self, timeout=60):
        """Waits until no order is in flight, every outbox is empty, no notification
        is pending and every consumer has caught up with its partitions."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            busy = int(self.scalar("order", "SELECT COUNT(*) FROM orders WHERE status IN "
                                            "('PENDING','AWAITING_PAYMENT')"))
            busy += sum(int(self.scalar(s, "SELECT COUNT(*) FROM outbox")) for s in SERVICES)
            busy += int(self.scalar("notification", "SELECT COUNT(*) FROM notifications "
                                                    "WHERE status = 'PENDING'"))
            if busy == 0 and not self.consumers_caught_up():
                busy = 1
            if busy == 0:
                time.sleep(0.5)  # events still on the wire reach their consumers
                busy = sum(int(self.scalar(s, "SELECT COUNT(*) FROM outbox")) for s in SERVICES)
                if busy == 0:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: the system did not drain in {timeout} s "
                             f"(consumers: {self.consumer_progress()})")

    def consumer_progress(self):
        """Each running service's assigned partitions and lag per partition, from its
        metrics: what a drain that timed out was waiting for."""
        out = {}
        for svc, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            try:
                text = self.metrics_text(svc)
            except OSError as e:
                out[svc] = f"metrics unreadable: {e}"
                continue
            lags = re.findall(r"^saga_consumer_lag\{([^}]*)\} (\S+)", text, re.M)
            assigned = re.search(r"^saga_consumer_assigned_partitions (\S+)", text, re.M)
            out[svc] = {"assigned": assigned.group(1) if assigned else None,
                        "lag": [f"{k}={v}" for k, v in lags if float(v) > 0]}
        return out

    def audit_env(self):
        """What saga-audit needs to check this stack's databases and saga-dlq."""
        return {
            "SAGA_AUDIT_MYSQL_HOST": "127.0.0.1",
            "SAGA_AUDIT_MYSQL_PORT": self.state["SAGA_MYSQL_PORT"],
            "SAGA_AUDIT_MYSQL_USER": self.state["SAGA_MYSQL_USER"],
            "SAGA_AUDIT_MYSQL_PASSWORD": self.state["SAGA_MYSQL_PASSWORD"],
            "SAGA_AUDIT_ORDER_DB": self.db("order"),
            "SAGA_AUDIT_PAYMENT_DB": self.db("payment"),
            "SAGA_AUDIT_INVENTORY_DB": self.db("inventory"),
            "SAGA_AUDIT_NOTIFICATION_DB": self.db("notification"),
            "SAGA_KAFKA_BOOTSTRAP": self.bootstrap,
            "SAGA_AUDIT_DLQ_SINCE": self.broker_started,
        }

    def audit(self):
        env = dict(os.environ)
        env.update(self.audit_env())
        out = subprocess.run([os.path.join(BUILD, "tools", "saga-audit")], env=env,
                             capture_output=True, text=True)
        return out.returncode, out.stdout + out.stderr



def sql_id(text):
    """An id (a UUID's canonical text) as the SQL literal of the 16 bytes the databases
    store for it (BINARY(16)); anything else raises ValueError."""
    if str(uuid.UUID(text)) != text:
        raise ValueError(f"not an id in canonical form: {text!r}")
    return f"X'{uuid.UUID(text).hex}'"


def sql_ids(texts):
    """The ids as a comma-separated list of sql_id literals, for an IN (...) list."""
    return ", ".join(sql_id(t) for t in texts)


# A BINARY(16) id column back in its text form, in SQL (for SELECTs that list ids).
def sql_id_text(column):
    return (f"LOWER(INSERT(INSERT(INSERT(INSERT(HEX({column}), 9, 0, '-'), 14, 0, '-'), "
            f"19, 0, '-'), 24, 0, '-'))")


def message_headers(m):
    """A Kafka message's headers as a dict of text."""
    return {k: (v or b"").decode(errors="replace") for k, v in (m.headers() or [])}


class StackTestCase(unittest.TestCase):
    """A test class on one Stack (cls.stack, set in setUpClass). It ends, whatever
    the scenarios did, drained, with every event on the topics schema-valid and the
    invariant audit clean; then the stack stops."""
    stack = None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.stack and cls.stack.procs:
                cls.closing_checks()
        finally:
            if cls.stack:
                cls.stack.stop()
            cls.stop_extras()

    @classmethod
    def stop_extras(cls):
        """What a class started besides the stack (receivers, temp dirs)."""

    poison_keys = frozenset()  # keys of messages a test put on the event topics on purpose

    @classmethod
    def check_events(cls):
        """Checks the events on the topics, but the poison; returns how many."""
        return cls.stack.check_all_events_valid(cls.poison_keys)

    @classmethod
    def closing_checks(cls):
        s = cls.stack
        s.drain()
        checked = cls.check_events()
        assert checked > 0, "no events on the topics"
        code, out = s.audit()
        print(f"\n{s.name}: {checked} events schema-valid; audit:\n{out}")
        assert code == 0, f"the audit found violations:\n{out}"

class WebhookReceiver:
    """A local webhook endpoint that fails the first delivery of each
    notification id with a 500 and accepts the next."""

    def __init__(self):
        import http.server

        receiver = self
        self.posts = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                with receiver.lock:
                    key = (doc or {}).get("id")
                    first = not any(p.get("id") == key for p in receiver.posts if p)
                    receiver.posts.append(doc or {})
                self.send_response(500 if first else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
