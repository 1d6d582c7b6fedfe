"""End-to-end tests of authentication and authorization on a local stack (stack.py,
which runs the services with bearer-JWT auth on): every route of the four services
refuses a request without a valid token (401 with WWW-Authenticate), customers reach
only their own resources (403, or 404 exactly like a missing id where an id could
otherwise be probed), admin routes refuse customers, admins may do everything;
/health, /ready and /openapi.json are open and /metrics is only on the metrics port.
Then the rate limits on POST /api/orders (per token subject, per client address,
and Redis down: orders still flow). Then least privilege in the data layer, checked
by asking the servers: each service's runtime MariaDB user holds only SELECT, INSERT,
UPDATE, DELETE on its own database and is refused DDL, its migrations ran as its
migration user; MariaDB's root logs in by unix socket only (no account without a
password over TCP, the socket not world-writable); Redis refuses a client without
its password, and an order-service without it goes on as with Redis down. The class
ends with every event schema-valid and a clean audit, like the other e2e tests."""
import base64
import json
import os
import socket
import stat
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import ADMIN, SERVICES, TOKEN_BIN, Stack, StackTestCase  # noqa: E402

CHALLENGE = 'Bearer realm="saga"'


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header(answer, name):
    """A response header, by case-insensitive name (None if absent)."""
    for k, v in answer.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def flip_signature(token):
    """The token with one character in the middle of its signature changed."""
    head, body, sig = token.split(".")
    i = len(sig) // 2
    return f"{head}.{body}.{sig[:i]}{'B' if sig[i] == 'A' else 'A'}{sig[i + 1:]}"


def alg_none_token(subject, admin=True):
    """An unsigned token ({"alg":"none"}) that would make subject an admin."""
    now = int(time.time())
    head = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"iss": "saga-local", "aud": "saga-api", "sub": subject,
                              "role": "admin" if admin else "customer", "iat": now,
                              "nbf": now, "exp": now + 3600}).encode())
    return f"{head}.{body}."


class AuthE2E(StackTestCase):
    stack = None

    @classmethod
    def setUpClass(cls):
        cls.stack = s = Stack("auth").start()
        try:
            cls.alice, cls.bob = s.customer("alice"), s.customer("bob")
            cls.sku = s.sku("key")
            s.product(cls.sku, price=100, stock=100000)
            for c in (cls.alice, cls.bob):
                s.wallet(c, balance=10_000_000)
            cls.alice_order = cls.placed(cls.alice)
            cls.bob_order = cls.placed(cls.bob)
            for o in (cls.alice_order, cls.bob_order):
                assert s.wait_order(o)["status"] == "CONFIRMED", o
            # a token signed by a key the services do not know
            other = os.path.join(s.dir, f"{s.name}-other-key")
            subprocess.run([TOKEN_BIN, "keygen", other], check=True, capture_output=True)
            cls.other_key = os.path.join(other, "jwt-private.pem")
        except BaseException:
            s.stop()
            raise

    @classmethod
    def placed(cls, customer, **kw):
        a = cls.stack.order(customer, [(cls.sku, 1)], **kw)
        assert a.status == 202, a
        return a.json["id"]

    def setUp(self):
        self.s = self.stack

    def routes(self):
        """Every API route of the four services, as (service, method, path, body),
        on alice's resources."""
        o, c, sku = self.alice_order, self.alice, self.sku
        return [
            ("order", "POST", "/api/orders", {"items": [{"sku": sku, "quantity": 1}]}),
            ("order", "GET", "/api/orders", None),
            ("order", "GET", f"/api/orders/{o}", None),
            ("order", "GET", f"/api/orders/{o}/events", None),
            ("order", "POST", f"/api/orders/{o}/cancel", None),
            ("payment", "GET", f"/api/wallets/{c}", None),
            ("payment", "PUT", f"/api/wallets/{c}", {"blocked": False}),
            ("payment", "POST", f"/api/wallets/{c}/topup", {"amount": 1}),
            ("payment", "GET", f"/api/payments/{o}", None),
            ("inventory", "GET", "/api/products", None),
            ("inventory", "GET", f"/api/products/{sku}", None),
            ("inventory", "PUT", f"/api/products/{sku}", {"name": "Key", "price": 100}),
            ("inventory", "POST", f"/api/products/{sku}/restock", {"quantity": 1}),
            ("inventory", "GET", f"/api/inventory/{sku}", None),
            ("notification", "GET", f"/api/notifications?orderId={o}", None),
        ]

    def call_with(self, route, authorization):
        svc, method, path, body = route
        headers = {} if authorization is None else {"Authorization": authorization}
        return self.s.call(svc, method, path, body, headers=headers, who=None)

    # --- 401: no token, or a token that must not be believed ---
    def test_no_token_is_401_everywhere(self):
        for route in self.routes():
            for authorization in (None, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc"):
                with self.subTest(route=route[1:3], authorization=authorization):
                    a = self.call_with(route, authorization)
                    self.assertEqual(a.status, 401, a)
                    self.assertEqual(header(a, "WWW-Authenticate"), CHALLENGE)
                    self.assertTrue(a.content_type.startswith("application/problem+json"), a)

    def test_bad_tokens_are_401_everywhere(self):
        s = self.s
        good = s.token(self.alice, admin=True)
        bad = {
            "expired": s.token(self.alice, admin=True, ttl=-3600),
            "not yet valid": s.token(self.alice, admin=True, nbf=3600),
            "bad signature": flip_signature(good),
            "alg none": alg_none_token(self.alice),
            "another key": s.token(self.alice, admin=True, key_file=self.other_key),
            "another issuer": s.token(self.alice, admin=True, issuer="someone-else"),
            "another audience": s.token(self.alice, admin=True, audience="another-api"),
            "garbage": "not.a.jwt",
        }
        for route in self.routes():
            for what, token in bad.items():
                with self.subTest(route=route[1:3], token=what):
                    a = self.call_with(route, f"Bearer {token}")
                    self.assertEqual(a.status, 401, a)
                    challenge = header(a, "WWW-Authenticate") or ""
                    self.assertTrue(challenge.startswith(CHALLENGE + ', error="invalid_token"'),
                                    challenge)
                    self.assertNotIn(token, challenge + a.text)
        # the unbroken token works (so the 401s are about the breakage)
        a = self.call_with(("inventory", "GET", f"/api/inventory/{self.sku}", None),
                           f"Bearer {good}")
        self.assertEqual(a.status, 200, a)
        a = self.call_with(("inventory", "GET", f"/api/inventory/{self.sku}", None),
                           f"Bearer {bad['expired']}")
        self.assertIn("expired", header(a, "WWW-Authenticate"))

    # --- customers: their own resources only ---
    def test_customer_on_admin_routes_is_403(self):
        admin_only = [r for r in self.routes()
                      if (r[1], r[2].rsplit("/", 1)[-1]) in (("PUT", self.alice),
                                                             ("POST", "topup"),
                                                             ("PUT", self.sku),
                                                             ("POST", "restock"))]
        self.assertEqual(len(admin_only), 4)
        before = self.s.balance(self.alice)
        for svc, method, path, body in admin_only:
            with self.subTest(route=(method, path)):
                a = self.s.call(svc, method, path, body, who=self.alice)
                self.assertEqual(a.status, 403, a)
        self.assertEqual(self.s.balance(self.alice), before)  # the top-up did not happen

    def test_customer_reads_shop_and_own_resources(self):
        s, o = self.s, self.alice_order
        for svc, path in (("inventory", "/api/products"),
                          ("inventory", f"/api/products/{self.sku}"),
                          ("inventory", f"/api/inventory/{self.sku}"),
                          ("order", f"/api/orders/{o}"), ("order", f"/api/orders/{o}/events"),
                          ("payment", f"/api/wallets/{self.alice}"),
                          ("payment", f"/api/payments/{o}")):
            with self.subTest(path=path):
                a = s.call(svc, "GET", path, who=self.alice)
                self.assertEqual(a.status, 200, a)
        mine = s.call("order", "GET", "/api/orders?limit=100", who=self.alice)
        self.assertEqual(mine.status, 200, mine)
        ids = {x["id"] for x in mine.json["items"]}
        self.assertIn(self.alice_order, ids)
        self.assertNotIn(self.bob_order, ids)
        self.assertEqual({x["customerId"] for x in mine.json["items"]}, {self.alice})
        a = s.call("order", "GET", f"/api/orders?customerId={self.bob}", who=self.alice)
        self.assertEqual(a.status, 403, a)

    def test_another_customers_wallet_is_403(self):
        for customer in (self.bob, "nobody-" + uuid.uuid4().hex[:8]):
            a = self.s.call("payment", "GET", f"/api/wallets/{customer}", who=self.alice)
            self.assertEqual(a.status, 403, a)

    def assert_same_as_missing(self, svc, method, template, other_id, missing_id):
        """alice gets the same answer for other_id (bob's) as for missing_id."""
        s = self.s
        a = s.call(svc, method, template.format(other_id), who=self.alice)
        b = s.call(svc, method, template.format(missing_id), who=self.alice)
        self.assertEqual(a.status, 404, a)
        self.assertEqual(b.status, 404, b)
        self.assertEqual(a.text.replace(other_id, "ID"), b.text.replace(missing_id, "ID"))
        skip = {"date", "traceparent"}  # both fresh for every request
        self.assertEqual({k.lower(): v for k, v in a.headers.items() if k.lower() not in skip},
                         {k.lower(): v for k, v in b.headers.items() if k.lower() not in skip})

    def test_another_customers_order_is_404_like_a_missing_one(self):
        missing = str(uuid.uuid4())
        for svc, method, template in (("order", "GET", "/api/orders/{}"),
                                      ("order", "GET", "/api/orders/{}/events"),
                                      ("order", "POST", "/api/orders/{}/cancel"),
                                      ("payment", "GET", "/api/payments/{}")):
            with self.subTest(route=(method, template)):
                self.assert_same_as_missing(svc, method, template, self.bob_order, missing)
        # alice's cancel did nothing to bob's order
        a = self.s.call("order", "GET", f"/api/orders/{self.bob_order}", who=self.bob)
        self.assertEqual(a.json["status"], "CONFIRMED", a)

    def test_another_customers_notifications_are_filtered_out(self):
        s = self.s
        deadline = time.time() + 30
        while True:
            mine = s.call("notification", "GET", f"/api/notifications?orderId={self.bob_order}",
                          who=self.bob)
            self.assertEqual(mine.status, 200, mine)
            if mine.json["items"] or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(mine.json["items"], "bob's order got no notification")
        admin = s.call("notification", "GET", f"/api/notifications?orderId={self.bob_order}")
        self.assertEqual(len(admin.json["items"]), len(mine.json["items"]))
        for order_id in (self.bob_order, str(uuid.uuid4())):
            a = s.call("notification", "GET", f"/api/notifications?orderId={order_id}",
                       who=self.alice)
            self.assertEqual(a.status, 200, a)
            self.assertEqual(a.json["items"], [])

    def test_order_body_customer(self):
        s = self.s
        items = [{"sku": self.sku, "quantity": 1}]
        # naming another customer: 403, nothing created
        before = s.scalar("order", "SELECT COUNT(*) FROM orders")
        a = s.call("order", "POST", "/api/orders", {"customerId": self.bob, "items": items},
                   who=self.alice)
        self.assertEqual(a.status, 403, a)
        self.assertEqual(a.json.get("field"), "customerId", a)
        self.assertEqual(s.scalar("order", "SELECT COUNT(*) FROM orders"), before)
        # no customerId: the order is the token's customer's
        a = s.call("order", "POST", "/api/orders", {"items": items}, who=self.alice)
        self.assertEqual(a.status, 202, a)
        self.assertEqual(a.json["customerId"], self.alice)
        s.owners[a.json["id"]] = self.alice
        self.assertEqual(s.wait_order(a.json["id"])["status"], "CONFIRMED")
        # naming itself is fine
        a = s.call("order", "POST", "/api/orders", {"customerId": self.alice, "items": items},
                   who=self.alice)
        self.assertEqual(a.status, 202, a)
        s.owners[a.json["id"]] = self.alice
        # an admin names the customer, any customer; without one it is the domain's 400
        a = s.call("order", "POST", "/api/orders", {"customerId": self.bob, "items": items})
        self.assertEqual(a.status, 202, a)
        self.assertEqual(a.json["customerId"], self.bob)
        a = s.call("order", "POST", "/api/orders", {"items": items})
        self.assertEqual(a.status, 400, a)

    # --- admins: everything ---
    def test_admin_may_do_everything(self):
        s = self.s
        expected = {
            ("POST", "/api/orders"): 400,  # an admin must name the customer: the domain's own answer
            ("PUT", f"/api/wallets/{self.alice}"): 200,
            ("PUT", f"/api/products/{self.sku}"): 200,
        }
        for svc, method, path, body in self.routes():
            if (method, path) == ("POST", f"/api/orders/{self.alice_order}/cancel"):
                continue  # below, on an order of its own
            with self.subTest(route=(method, path)):
                a = s.call(svc, method, path, body)
                want = expected.get((method, path))
                if want:
                    self.assertEqual(a.status, want, a)
                else:
                    self.assertIn(a.status, (200, 201, 202), a)
        # an admin reads another customer's wallet, order, payment, notifications
        for svc, path in (("payment", f"/api/wallets/{self.bob}"),
                          ("order", f"/api/orders/{self.bob_order}"),
                          ("order", f"/api/orders?customerId={self.bob}"),
                          ("payment", f"/api/payments/{self.bob_order}")):
            self.assertEqual(s.call(svc, "GET", path).status, 200, path)
        # and cancels a customer's order
        o = self.placed(self.bob)
        s.wait_order(o)
        a = s.call("order", "POST", f"/api/orders/{o}/cancel")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(s.wait_order(o, until=("CANCELLED",))["status"], "CANCELLED")
        # and the customer can cancel its own
        o = self.placed(self.alice)
        s.wait_order(o)
        a = s.call("order", "POST", f"/api/orders/{o}/cancel", who=self.alice)
        self.assertEqual(a.status, 200, a)

    # --- the open routes and /metrics ---
    def test_open_routes_and_metrics_port(self):
        s = self.s
        for svc in SERVICES:
            with self.subTest(svc=svc):
                for path in ("/health", "/ready", "/openapi.json"):
                    a = s.call(svc, "GET", path, who=None)
                    self.assertEqual(a.status, 200, (path, a))
                # /metrics is not on the API port, with or without a token
                for who in (None, ADMIN):
                    a = s.call(svc, "GET", "/metrics", who=who)
                    self.assertEqual(a.status, 404, a)
                text = s.metrics_text(svc)
                self.assertIn("saga_http_requests_total", text)
                # and the metrics port serves no API
                url = f"http://127.0.0.1:{s.metrics_ports[svc]}/api/products"
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(url, timeout=10).close()
                self.assertEqual(e.exception.code, 404)
                e.exception.close()
        # every 401 above was counted, under its route
        text = s.metrics_text("inventory")
        self.assertRegex(text, r'saga_http_requests_total\{[^}]*status="401"[^}]*\} [1-9]')

    # --- rate limits on POST /api/orders ---
    def order_as(self, customer):
        return self.s.call("order", "POST", "/api/orders",
                           {"items": [{"sku": self.sku, "quantity": 1}]}, who=customer)

    def burst_then_429(self, customers):
        """Places 4 orders in a row (customers[i] for the i-th): 3 pass, the 4th is
        429; returns it. A burst that took a second or more (a slow machine: a token
        came back meanwhile) is tried again once the buckets are full."""
        for c in customers:
            self.s.token(c)  # minted now, not inside the timed burst
        for attempt in range(3):
            answers, t0 = [], time.monotonic()
            for c in customers:
                answers.append(self.order_as(c))
            elapsed = time.monotonic() - t0
            for a, c in zip(answers, customers):
                if a.status == 202:
                    self.s.owners[a.json["id"]] = c
            if elapsed < 0.9:
                break
            time.sleep(4)  # 1/s refills a burst of 3
        self.assertLess(elapsed, 0.9, "too slow to test a rate of 1/s with a burst of 3")
        self.assertEqual([a.status for a in answers], [202, 202, 202, 429], answers)
        limited = answers[3]
        retry = header(limited, "Retry-After")
        self.assertIsNotNone(retry, limited)
        self.assertGreaterEqual(int(retry), 1)
        return limited

    def test_rate_limits(self):
        s = self.s
        customers = [s.customer(f"rl{i}") for i in range(6)]
        for c in customers:
            s.wallet(c, balance=10_000_000)
        try:
            # per token subject: 3 pass, the 4th waits; another customer is not held up
            s.restart_service("order", {"SAGA_RATE_LIMIT_CUSTOMER_PER_S": "1",
                                         "SAGA_RATE_LIMIT_CUSTOMER_BURST": "3"})
            limited = self.burst_then_429([customers[0]] * 4)
            self.assertIn("customer", limited.json["detail"])
            other = self.order_as(customers[1])
            self.assertEqual(other.status, 202, other)
            s.owners[other.json["id"]] = customers[1]
            time.sleep(int(header(limited, "Retry-After")))
            again = self.order_as(customers[0])
            self.assertEqual(again.status, 202, again)
            s.owners[again.json["id"]] = customers[0]

            # per client address: every customer's orders from here count together
            s.restart_service("order", {"SAGA_RATE_LIMIT_ADDRESS_PER_S": "1",
                                         "SAGA_RATE_LIMIT_ADDRESS_BURST": "3"})
            limited = self.burst_then_429(customers[2:6])
            self.assertIn("address", limited.json["detail"])
            time.sleep(int(header(limited, "Retry-After")))
            again = self.order_as(customers[5])
            self.assertEqual(again.status, 202, again)
            s.owners[again.json["id"]] = customers[5]

            # Redis down: the limits cannot be checked, orders still flow, and it is counted
            before = s.metric("order", "saga_ratelimit_bypassed_total")
            s.stop_redis()
            try:
                placed = []
                for i in range(5):
                    a = self.order_as(customers[2 + i % 4])
                    self.assertEqual(a.status, 202, a)
                    s.owners[a.json["id"]] = customers[2 + i % 4]
                    placed.append(a.json["id"])
                after = s.metric("order", "saga_ratelimit_bypassed_total")
                self.assertGreaterEqual(after - before, 5)
            finally:
                s.start_redis()
            for o in placed:
                self.assertIn(s.wait_order(o)["status"], ("CONFIRMED", "CANCELLED"))
        finally:
            s.restart_service("order", {})  # the stack's own settings: limits off

    # --- least privilege in the data layer, asked of the servers themselves ---

    RUNTIME_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    MIGRATE_PRIVILEGES = RUNTIME_PRIVILEGES | {"CREATE", "ALTER", "DROP", "INDEX", "REFERENCES"}

    def grants(self, user):
        """(global privileges, {schema: privileges}, table privileges) of user@127.0.0.1."""
        grantee = f"'{user}'@'127.0.0.1'"
        glob = {r[0] for r in self.s.root_sql(
            "SELECT privilege_type FROM information_schema.USER_PRIVILEGES "
            f'WHERE grantee = "{grantee}"')}
        schemas = {}
        for schema, priv in self.s.root_sql(
                "SELECT table_schema, privilege_type FROM information_schema.SCHEMA_PRIVILEGES "
                f'WHERE grantee = "{grantee}"'):
            schemas.setdefault(schema.replace("\\\\", "\\"), set()).add(priv)
        tables = self.s.root_sql("SELECT table_name FROM information_schema.TABLE_PRIVILEGES "
                                 f'WHERE grantee = "{grantee}"')
        return glob, schemas, tables

    def mysql_as(self, svc, sql):
        """Runs sql on svc's database as svc's runtime user over TCP: (exit status, stderr)."""
        s = self.s
        out = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P",
                              s.state["SAGA_MYSQL_PORT"], f"-u{s.db(svc)}", s.db(svc), "-e", sql],
                             env=dict(os.environ, MYSQL_PWD=s.db_passwords[svc]),
                             capture_output=True, text=True)
        return out.returncode, out.stderr

    def test_service_database_users_hold_least_privilege(self):
        s = self.s
        for svc in SERVICES:
            with self.subTest(svc=svc):
                db, mig = s.db(svc), s.migrate_user(svc)
                schema = db.replace("_", "\\_")  # as granted: `_` escaped
                glob, schemas, tables = self.grants(db)
                self.assertEqual(glob, {"USAGE"})
                self.assertEqual(schemas, {schema: self.RUNTIME_PRIVILEGES})
                self.assertEqual(tables, [])
                glob, schemas, tables = self.grants(mig)
                self.assertEqual(glob, {"USAGE"})
                self.assertEqual(schemas, {schema: self.MIGRATE_PRIVILEGES})
                for line in s.root_sql(f"SHOW GRANTS FOR '{db}'@'127.0.0.1'"):
                    self.assertNotIn("ALL PRIVILEGES", line[0])
                    self.assertNotIn("GRANT OPTION", line[0])
                # the runtime user reads and writes rows, and may not change the schema
                self.assertEqual(self.mysql_as(svc, "SELECT COUNT(*) FROM outbox")[0], 0)
                for ddl in ("CREATE TABLE intruder (i INT)", "DROP TABLE inbox",
                            "ALTER TABLE outbox ADD COLUMN intruder INT",
                            "CREATE TRIGGER intruder BEFORE INSERT ON inbox"
                            " FOR EACH ROW SET @x = 1"):
                    code, err = self.mysql_as(svc, ddl)
                    self.assertNotEqual(code, 0, ddl)
                    self.assertRegex(err, r"ERROR 11(42|44)|command denied", ddl)
                # the service runs as its runtime user; its migrations ran as the other
                users = {r[0] for r in s.root_sql(
                    f"SELECT DISTINCT user FROM information_schema.PROCESSLIST WHERE db = '{db}'")}
                self.assertIn(db, users)
                self.assertNotIn(mig, users)
                with open(s.log(svc)) as f:
                    self.assertIn(f"migrations applied as {mig}; running as {db}", f.read())
                self.assertGreater(int(s.scalar(svc, "SELECT COUNT(*) FROM schema_migrations")), 0)

    def test_mariadb_root_by_unix_socket_only(self):
        s = self.s
        accounts = s.root_sql(
            "SELECT user, host, JSON_VALUE(priv, '$.plugin'),"
            " JSON_VALUE(priv, '$.authentication_string'),"
            " COALESCE(JSON_VALUE(priv, '$.account_locked'), 'false') FROM mysql.global_priv")
        admin = s.state.get("SAGA_MYSQL_ADMIN_USER", "root")
        for user, host, plugin, auth, locked in accounts:
            with self.subTest(account=f"{user}@{host}"):
                self.assertNotEqual(user, "", "an anonymous account")
                if user in ("root", admin):
                    # the socket only (skip-name-resolve: localhost is never TCP), by the
                    # peer's uid only: no password, no other plugin
                    self.assertEqual(host, "localhost")
                    create = s.root_sql(f"SHOW CREATE USER '{user}'@'localhost'")[0][0]
                    self.assertEqual(create, f"CREATE USER `{user}`@`localhost` "
                                             "IDENTIFIED VIA unix_socket")
                elif host != "localhost" and locked != "true":
                    # reachable over TCP
                    self.assertNotEqual(auth, "", "an account without a password over TCP")
        self.assertIn(["root", "localhost"], [a[:2] for a in accounts])
        for user in ("root", admin):
            out = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P",
                                  s.state["SAGA_MYSQL_PORT"], f"-u{user}", "-e", "SELECT 1"],
                                 env={k: v for k, v in os.environ.items() if k != "MYSQL_PWD"},
                                 capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0, f"{user} got in over TCP without a password")
        sock = s.state["SAGA_MYSQL_SOCKET"]
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        self.assertEqual(mode & 0o077, 0, f"socket {sock} mode {mode:o}")
        parent = stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode)
        self.assertEqual(parent & 0o077, 0, f"the socket's directory mode {parent:o}")

    @staticmethod
    def redis_says(port, *commands):
        """Each inline command's reply line from Redis on port, on one connection."""
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as c:
            replies = []
            f = c.makefile("rb")
            for command in commands:
                c.sendall(command.encode() + b"\r\n")
                replies.append(f.readline().decode().strip())
            return replies

    def test_redis_requires_its_password(self):
        s = self.s
        for port, password in ((s.redis_port, s.redis_password),
                               (s.state["SAGA_REDIS_PORT"], s.state["SAGA_REDIS_PASSWORD"])):
            with self.subTest(port=port):
                first, refused, ok, pong = self.redis_says(
                    port, "PING", "AUTH not-the-password", f"AUTH {password}", "PING")
                self.assertTrue(first.startswith("-NOAUTH"), first)
                self.assertTrue(refused.startswith("-WRONGPASS"), refused)
                self.assertEqual((ok, pong), ("+OK", "+PONG"))

        # a sold-out hint for a sku in stock: order-service, with the password, reads it
        sku = s.sku("hinted")
        s.product(sku, price=100, stock=10)
        self.assertEqual(self.redis_says(s.redis_port, f"AUTH {s.redis_password}",
                                         f"SET saga:soldout:{sku} 1 EX 120")[1], "+OK")
        refused = s.order(self.alice, [(sku, 1)])
        self.assertEqual(refused.status, 409, refused)
        # without it: a clear error in the log, and as with Redis down: no hint, the
        # order placed and completed, the misses counted
        try:
            s.restart_service("order", {"SAGA_REDIS_PASSWORD": ""})
            placed = s.order(self.alice, [(sku, 1)])
            self.assertEqual(placed.status, 202, placed)
            self.assertEqual(s.wait_order(placed.json["id"])["status"], "CONFIRMED")
            self.assertGreater(s.metric("order", "saga_redis_unavailable_total"), 0)
            with open(s.log("order")) as f:
                log = f.read().split("--- restarted with {'SAGA_REDIS_PASSWORD': ''}")[-1]
            self.assertRegex(log, r'"event":"redis.auth_failed".*NOAUTH.*SAGA_REDIS_PASSWORD')
        finally:
            s.restart_service("order", {})
            self.redis_says(s.redis_port, f"AUTH {s.redis_password}", f"DEL saga:soldout:{sku}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
