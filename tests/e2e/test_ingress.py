"""End-to-end tests of what the services take in (stack.py runs the four real
executables with auth on): one spelling per identifier, at the API and in the
database; a NUL inside a string refused whole at the API and on the topics; every
order the API accepts can be priced; /ready on the public port without details; the
request metric's series bounded whatever methods clients send. The class ends, like
the others, drained, with the events schema-valid (but for the poison this test
puts on the topics itself) and a clean audit."""
import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import (ADMIN, EVENT_TOPICS, Stack, StackTestCase,  # noqa: E402
                   message_headers, sql_id, sql_ids)

PRICE_MAX = 90071992547  # (2^53-1) / (100 lines * 1000 units)

# Every identifier column the migrations made exact, as (service, table, column).
ID_COLUMNS = [
    ("order", "orders", "id"), ("order", "orders", "customer_id"),
    ("order", "orders", "payment_id"),
    ("order", "order_items", "order_id"), ("order", "order_items", "sku"),
    ("order", "order_history", "order_id"), ("order", "order_history", "event_id"),
    ("order", "idempotency_keys", "customer_id"), ("order", "idempotency_keys", "idem_key"),
    ("order", "idempotency_keys", "order_id"),
    ("inventory", "products", "sku"), ("inventory", "reservations", "order_id"),
    ("inventory", "reservations", "sku"), ("inventory", "reservations", "customer_id"),
    ("inventory", "order_outcomes", "order_id"), ("inventory", "order_outcomes", "customer_id"),
    ("payment", "wallets", "customer_id"), ("payment", "payments", "id"),
    ("payment", "payments", "order_id"), ("payment", "payments", "customer_id"),
    ("payment", "known_orders", "order_id"), ("payment", "known_orders", "customer_id"),
    ("notification", "notifications", "id"), ("notification", "notifications", "order_id"),
    ("notification", "notifications", "customer_id"),
    ("notification", "notifications", "trigger_event_id"),
    ("notification", "known_orders", "order_id"),
    ("notification", "known_orders", "customer_id"),
] + [(svc, "inbox", "event_id") for svc in ("order", "payment", "inventory", "notification")]

# The columns of the ids the services make (UUIDs), stored as their bytes.
BINARY_ID_COLUMNS = [
    ("order", "orders", "id"), ("order", "orders", "payment_id"),
    ("order", "order_items", "order_id"), ("order", "order_history", "order_id"),
    ("order", "order_history", "event_id"), ("order", "idempotency_keys", "order_id"),
    ("inventory", "reservations", "order_id"), ("inventory", "order_outcomes", "order_id"),
    ("payment", "payments", "id"), ("payment", "payments", "order_id"),
    ("payment", "known_orders", "order_id"), ("payment", "cancelled_orders", "order_id"),
    ("payment", "pending_reservations", "order_id"),
    ("payment", "pending_reservations", "event_id"),
    ("notification", "notifications", "id"), ("notification", "notifications", "order_id"),
    ("notification", "notifications", "trigger_event_id"),
    ("notification", "notifications", "claim_token"),
    ("notification", "known_orders", "order_id"),
] + [(svc, "inbox", "event_id") for svc in ("order", "payment", "inventory", "notification")]


def cloud_event_text(etype, order_id, data_text):
    """A CloudEvent as text, its data given as JSON text (to carry a \\u0000 escape)."""
    head = json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/e2e-test", "type": etype,
        "time": "2026-11-22T10:00:00.000Z", "subject": order_id,
        "datacontenttype": "application/json", "dataschema": f"urn:saga:schema:{etype}:1",
        "correlationid": order_id})
    return head[:-1] + ',"data":' + data_text + "}"


class IngressE2E(StackTestCase):
    stack = None
    poison_ids = set()  # event ids this test put on the topics on purpose

    @classmethod
    def setUpClass(cls):
        cls.stack = s = Stack("ingress").start()
        try:
            cls.bob = s.customer("bob")
            cls.sku = s.sku("pen")
            s.product(cls.sku, price=250, stock=100000)
            s.wallet(cls.bob, balance=10_000_000)
            a = s.order(cls.bob, [(cls.sku, 2)], headers={"Idempotency-Key": f"k-{s.run}"})
            assert a.status == 202, a
            cls.bob_order = a.json["id"]
            assert s.wait_order(cls.bob_order)["status"] == "CONFIRMED"
        except BaseException:
            s.stop()
            raise

    @classmethod
    def check_events(cls):
        """Every event on the topics is schema-valid, but the poison put there here."""
        s, count = cls.stack, 0
        for topic in EVENT_TOPICS:
            for m in s.read_topic(topic):
                try:
                    event = json.loads(m.value())
                except ValueError:
                    continue
                if event.get("id") in cls.poison_ids:
                    continue
                s.schemas.check(event)
                count += 1
        return count

    def setUp(self):
        self.s = self.stack

    # --- 1: one spelling per identifier ---
    def test_subject_with_a_trailing_space_is_not_the_customer(self):
        s, bob = self.s, self.bob
        spaced = {"Authorization": f"Bearer {s.token(bob + ' ')}"}
        for svc, path in (("order", "/api/orders"), ("order", f"/api/orders/{self.bob_order}"),
                          ("payment", f"/api/wallets/{bob}%20"),
                          ("payment", f"/api/wallets/{bob}")):
            with self.subTest(path=path):
                a = s.call(svc, "GET", path, headers=spaced)
                self.assertEqual(a.status, 401, a)
        # nor does any spelling but the one reach bob's wallet or orders, whoever asks
        for who in (ADMIN, bob):
            for path in (f"/api/wallets/{bob}%20", f"/api/wallets/%20{bob}",
                         f"/api/wallets/{bob.upper()}"):
                with self.subTest(who=who, path=path):
                    a = s.call("payment", "GET", path, who=who)
                    self.assertIn(a.status, (400, 403, 404), a)
                    self.assertNotIn('"balance"', a.text)
        a = s.call("payment", "GET", f"/api/wallets/{bob}%20")
        self.assertEqual((a.status, a.json.get("field")), (400, "customerId"), a)
        a = s.call("order", "GET", f"/api/orders?customerId={bob}%20")
        self.assertEqual((a.status, a.json.get("field")), (400, "customerId"), a)
        a = s.call("order", "GET", f"/api/orders/{self.bob_order.upper()}")
        self.assertEqual((a.status, a.json.get("field")), (400, "id"), a)
        a = s.call("order", "GET", f"/api/orders/{self.bob_order}%20/events")
        self.assertEqual(a.status, 400, a)
        a = s.call("payment", "GET", f"/api/payments/{self.bob_order.upper()}")
        self.assertEqual(a.status, 400, a)
        a = s.call("notification", "GET", f"/api/notifications?orderId={self.bob_order}%20")
        self.assertEqual((a.status, a.json.get("field")), (400, "orderId"), a)
        a = s.call("order", "POST", "/api/orders",
                   {"customerId": bob + " ", "items": [{"sku": self.sku, "quantity": 1}]})
        self.assertEqual((a.status, a.json.get("field")), (400, "customerId"), a)
        a = s.call("order", "POST", "/api/orders", {"items": [{"sku": self.sku, "quantity": 1}]},
                   headers={"Idempotency-Key": f"k-{s.run} "}, who=bob)
        self.assertEqual((a.status, a.json.get("field")), (400, "Idempotency-Key"), a)

    def test_ids_stored_as_their_bytes(self):
        """Every id the services make is stored as its 16 bytes (BINARY(16)), and read
        back as the text the API gave."""
        s = self.s
        for svc, table, column in BINARY_ID_COLUMNS:
            with self.subTest(table=f"{svc}.{table}.{column}"):
                self.assertEqual(s.scalar(svc, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS"
                                               " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
                                               f"'{table}' AND COLUMN_NAME = '{column}'"),
                                 "binary(16)")
        self.assertEqual(s.scalar("order", "SELECT LENGTH(id) FROM orders WHERE id = "
                                           f"{sql_id(self.bob_order)}"), "16")
        self.assertEqual(s.call("order", "GET", f"/api/orders/{self.bob_order}").json["id"],
                         self.bob_order)

    def test_database_compares_identifiers_exactly(self):
        """On every migrated column, a value with a space appended (or, for ids with
        letters, in upper case) is another value: the PAD SPACE and case-insensitive
        collations said equal."""
        s = self.s
        for svc, table, column in ID_COLUMNS:
            with self.subTest(table=f"{svc}.{table}.{column}"):
                rows = int(s.scalar(svc, f"SELECT COUNT({column}) FROM {table}"))
                self.assertGreater(rows, 0, "no rows to compare")
                same = s.scalar(svc, f"SELECT COUNT(*) FROM {table} "
                                     f"WHERE {column} = CONCAT({column}, ' ')")
                self.assertEqual(same, "0")
                upper = f"UPPER(CONVERT({column} USING utf8mb4))"
                folded = s.scalar(svc, f"SELECT COUNT(*) FROM {table} WHERE "
                                       f"CAST({column} AS BINARY) <> CAST({upper} AS BINARY) "
                                       f"AND {column} = {upper}")
                self.assertEqual(folded, "0")
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM wallets WHERE customer_id = "
                                             f"'{self.bob} '"), "0")
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM wallets WHERE customer_id = "
                                             f"'{self.bob}'"), "1")

    # --- 2: a NUL inside a string, refused whole ---
    def test_nul_at_the_api(self):
        s, bob, sku = self.s, self.bob, self.sku
        cases = [
            ({"items": [{"sku": sku[:3] + "\u0000" + sku[3:], "quantity": 1}]}, "items[0].sku"),
            ({"customerId": bob + "\u0000evil", "items": [{"sku": sku, "quantity": 1}]},
             "customerId"),
            ({"items": [{"sku": sku, "quantity": 1}], "currency": "EUR\u0000"}, "currency"),
        ]
        before = s.scalar("order", "SELECT COUNT(*) FROM orders")
        for body, field in cases:
            with self.subTest(field=field):
                a = s.call("order", "POST", "/api/orders", body, who=bob)
                self.assertEqual((a.status, a.json.get("field")), (400, field), a)
        self.assertEqual(s.scalar("order", "SELECT COUNT(*) FROM orders"), before)
        a = s.call("inventory", "PUT", f"/api/products/{sku}",
                   {"name": "pen\u0000cheap", "price": 1})
        self.assertEqual((a.status, a.json.get("field")), (400, "name"), a)
        self.assertEqual(s.call("inventory", "GET", f"/api/products/{sku}").json["price"], 250)
        # in the URL: the path would end at the NUL, and name bob's wallet
        a = s.call("payment", "GET", f"/api/wallets/{bob}%00evil", check=False)
        self.assertEqual((a.status, a.json.get("field")), (400, "path"), a)
        a = s.call("order", "GET", f"/api/orders?customerId={bob}%00evil")
        self.assertEqual((a.status, a.json.get("field")), (400, "customerId"), a)

    def test_nul_and_other_spellings_on_the_topics(self):
        """OrderCreated naming "bob\\u0000evil" or "bob " is dead-lettered, with its
        reason, by each service that consumes order-events; none records the order."""
        s, bob = self.s, self.bob
        nul_order, spaced_order = str(uuid.uuid4()), str(uuid.uuid4())
        line = json.dumps([{"sku": self.sku, "quantity": 1}])
        events = {
            nul_order: cloud_event_text(
                "OrderCreated", nul_order,
                f'{{"orderId":"{nul_order}","customerId":"{bob}\\u0000evil","items":{line},'
                '"currency":"EUR","deadline":"2030-01-01T00:00:00.000Z"}'),
            spaced_order: cloud_event_text(
                "OrderCreated", spaced_order,
                f'{{"orderId":"{spaced_order}","customerId":"{bob} ","items":{line},'
                '"currency":"EUR","deadline":"2030-01-01T00:00:00.000Z"}'),
        }
        for order_id, text in events.items():
            type(self).poison_ids.add(json.loads(text)["id"])
            s.produce("order-events", order_id, text)
        consumers = {"inventory", "payment", "notification"}

        def letters():
            out = {}
            for m in s.read_topic("saga-dlq"):
                key = (m.key() or b"").decode()
                if key in events:
                    h = message_headers(m)
                    out[(key, h.get("saga-service"))] = h
            return out
        found = s.wait_until(letters, lambda d: len(d) >= 2 * len(consumers), timeout=30)
        for svc in consumers:
            with self.subTest(service=svc):
                h = found.get((nul_order, svc))
                self.assertIsNotNone(h, f"{svc} did not dead-letter the NUL event")
                self.assertEqual(h["kafka_dlt-exception-fqcn"], "INVALID_JSON", h)
                self.assertIn("NUL", h["kafka_dlt-exception-message"])
                self.assertIn("data.customerId", h["kafka_dlt-exception-message"])
                h = found.get((spaced_order, svc))
                self.assertIsNotNone(h, f"{svc} did not dead-letter the spaced customer id")
                self.assertEqual(h["kafka_dlt-exception-fqcn"], "SCHEMA_VIOLATION", h)
                self.assertIn("customerId", h["kafka_dlt-exception-message"])
        ids = sql_ids(events)
        for svc, table in (("inventory", "order_outcomes"), ("payment", "known_orders"),
                           ("notification", "known_orders")):
            self.assertEqual(s.scalar(svc, f"SELECT COUNT(*) FROM {table} WHERE order_id IN "
                                           f"({ids})"), "0")

    # --- 3: every accepted order can be priced ---
    def test_price_bound_keeps_every_order_representable(self):
        s = self.s
        sku = s.sku("gold")
        a = s.call("inventory", "PUT", f"/api/products/{sku}",
                   {"name": "gold", "price": 2 ** 53 - 1, "stock": 5000})
        self.assertEqual((a.status, a.json.get("field")), (400, "price"), a)
        s.product(sku, price=PRICE_MAX, stock=5000)
        # the largest quantity of the dearest product: priced (and then declined by
        # the payment limit), not dead-lettered and left to time out
        a = s.order(self.bob, [(sku, 1000)])
        self.assertEqual(a.status, 202, a)
        o = s.wait_order(a.json["id"])
        self.assertEqual((o["status"], o["cancelReason"]), ("CANCELLED", "PAYMENT_DECLINED"), o)
        self.assertEqual(o["amount"], 1000 * PRICE_MAX)

    # --- 4: bounded metric series ---
    def test_junk_methods_add_no_series(self):
        s = self.s

        def series(svc):
            return len(re.findall(r"^saga_http_requests_total\{", s.metrics_text(svc), re.M))

        def junk(svc, method):
            req = urllib.request.Request(f"http://127.0.0.1:{s.ports[svc]}/api/x", method=method)
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except urllib.error.HTTPError as e:
                e.read()
        for svc in ("order", "notification"):
            junk(svc, "BREW")  # the one series of unknown methods
            before = series(svc)
            for i in range(30):
                junk(svc, f"JUNK{i}")
            with self.subTest(service=svc):
                self.assertEqual(series(svc), before)
                self.assertNotIn("JUNK", s.metrics_text(svc))

    # --- 6: /ready keeps its reasons for operators ---
    def test_ready_public_answer_has_no_details(self):
        s = self.s
        control = f"http://127.0.0.1:{s.control_port}"
        urllib.request.urlopen(urllib.request.Request(f"{control}/brokers/all/down",
                                                      method="POST"), timeout=10).read()
        try:
            a = s.wait_until(lambda: s.call("payment", "GET", "/ready", who=None),
                             lambda a: a.status == 503, timeout=30)
            self.assertEqual(a.status, 503, a)
            for leak in ("127.0.0.1", "broker", "kafka", "mysql", "MariaDB"):
                self.assertNotIn(leak, a.text)
            url = f"http://127.0.0.1:{s.metrics_ports['payment']}/ready"
            try:
                urllib.request.urlopen(url, timeout=10)
                self.fail("the metrics listener's /ready said ready")
            except urllib.error.HTTPError as e:
                detail = json.loads(e.read())["detail"]
            self.assertNotEqual(detail, a.json["detail"])
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{control}/brokers/all/up",
                                                          method="POST"), timeout=10).read()
        a = s.wait_until(lambda: s.call("payment", "GET", "/ready", who=None),
                         lambda a: a.status == 200, timeout=60)
        self.assertEqual(a.status, 200, a)

    # --- 7: what libmicrohttpd answers itself is bounded in time ---
    def test_garbage_request_line_does_not_hold_the_connection(self):
        s = self.s
        with socket.create_connection(("127.0.0.1", s.ports["order"]), timeout=30) as c:
            c.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a TLS hello
            t0 = time.time()
            while c.recv(4096):
                pass
            # closed by the request deadline (SAGA_HTTP_TIMEOUT_S, 10 s by default),
            # not libmicrohttpd's idle timeout of a trickling client
            self.assertLess(time.time() - t0, 25)


if __name__ == "__main__":
    unittest.main(verbosity=2)
