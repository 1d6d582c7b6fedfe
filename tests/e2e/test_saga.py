"""End-to-end tests of the choreographed saga on a local stack (stack.py): each
scenario asserts outcomes (states, balances, stock, messages on topics), and each
test class ends with every event validated against its schema and a clean audit."""
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import (ADMIN, SERVICES, Stack, StackTestCase, WebhookReceiver,  # noqa: E402
                   message_headers, sql_id, sql_ids)


def has_fault_points(svc):
    """Whether the build has fault-injection points compiled in (Debug builds only)."""
    with open(os.path.join(os.environ.get("SAGA_BUILD_DIR", "build"), "services", svc,
                           f"{svc}-service"), "rb") as f:
        return b"fault point %s reached" in f.read()


def event_types(events):
    return [e["type"] for e in events]


def cloud_event(etype, order_id, data):
    """A valid CloudEvent (schema and all) about order_id, as the test's own producer."""
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/e2e-test", "type": etype,
        "time": "2026-11-22T10:00:00.000Z", "subject": order_id,
        "datacontenttype": "application/json", "dataschema": f"urn:saga:schema:{etype}:1",
        "correlationid": order_id, "data": data})




class SagaTestCase(StackTestCase):
    """Ends drained, schema-valid and audited (StackTestCase)."""


class SagaE2E(SagaTestCase):
    @classmethod
    def setUpClass(cls):
        cls.webhook = WebhookReceiver()
        cls.stack = Stack("e2e", env={
            "notification": {"SAGA_NOTIFY_CHANNELS": "log,webhook",
                             "SAGA_WEBHOOK_URL": cls.webhook.url,
                             "SAGA_NOTIFY_RETRY_BASE_MS": "100"},
        }).start()

    @classmethod
    def stop_extras(cls):
        cls.webhook.stop()

    def setUp(self):
        self.s = self.stack

    def test_happy_path(self):
        s = self.s
        sku, customer = s.shop("happy", price=1250, stock=10, balance=100000)
        a = s.order(customer, [(sku, 2)])
        self.assertEqual(a.status, 202, a)
        self.assertEqual(a.json["status"], "PENDING")
        self.assertEqual(a.headers["Location"], f"/api/orders/{a.json['id']}")
        order = s.wait_order(a.json["id"])
        self.assertEqual(order["status"], "CONFIRMED")
        self.assertEqual(order["amount"], 2500)
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 8, "reserved": 0, "sold": 2}),
                         {"sku": sku, "available": 8, "reserved": 0, "sold": 2})
        self.assertEqual(s.balance(customer), 100000 - 2500)
        p = s.call("payment", "GET", f"/api/payments/{order['id']}", who=customer)
        self.assertEqual(p.status, 200, p)
        self.assertEqual((p.json["status"], p.json["amount"]), ("CAPTURED", 2500))
        history = s.call("order", "GET", f"/api/orders/{order['id']}/events",
                         who=customer).json["events"]
        types = event_types(history)
        for t in ("OrderCreated", "InventoryReserved", "PaymentCompleted", "OrderConfirmed"):
            self.assertIn(t, types)
        self.assertLess(types.index("OrderCreated"), types.index("OrderConfirmed"))
        # one notification per channel, delivered (the webhook after one retry)
        notes = self.wait_notifications(order["id"], 2, who=customer)
        self.assertEqual(sorted(n["channel"] for n in notes), ["log", "webhook"])
        for n in notes:
            self.assertEqual((n["trigger"], n["status"]), ("OrderConfirmed", "SENT"))
        # the saga on the wire, in order, all about this order
        on_wire = event_types(s.events("order-events", order["id"]))
        self.assertEqual(on_wire, ["OrderCreated", "OrderConfirmed"])

    def wait_notifications(self, order_id, count, timeout=30, who=ADMIN):
        def read():
            a = self.s.call("notification", "GET", f"/api/notifications?orderId={order_id}",
                            who=who)
            self.assertEqual(a.status, 200, a)
            return a.json["items"]
        return self.s.wait_until(
            read, lambda items: len(items) >= count and
            all(n["status"] != "PENDING" for n in items), timeout, pause=0.1)

    def test_webhook_retried_after_failure(self):
        s = self.s
        sku, customer = s.shop("hook", price=500, stock=5, balance=10000)
        order = s.wait_order(s.order(customer, [(sku, 1)]).json["id"])
        self.assertEqual(order["status"], "CONFIRMED")
        notes = self.wait_notifications(order["id"], 2)
        hook = [n for n in notes if n["channel"] == "webhook"]
        self.assertEqual(len(hook), 1)
        self.assertEqual(hook[0]["status"], "SENT")
        self.assertEqual(hook[0]["attempts"], 2)  # the receiver refuses the first
        posts = [p for p in self.webhook.posts if p.get("orderId") == order["id"]]
        self.assertEqual(len(posts), 2)
        self.assertEqual(posts[0]["id"], posts[1]["id"])
        sent = [e for e in s.events("notification-events", order["id"])
                if e["data"]["channel"] == "webhook"]
        self.assertEqual(len(sent), 1)

    def test_burst_each_notification_sent_once(self):
        """Orders confirmed at the same moment (whose outcomes a delivery pass records
        together when it holds several): every notification ends SENT, with exactly
        one NotificationSent each."""
        s = self.s
        sku = s.sku("burst")
        s.product(sku, price=100, stock=10)
        customers = [s.customer(f"burst{i}") for i in range(8)]
        for c in customers:
            s.wallet(c, balance=10000)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: s.order(c, [(sku, 1)]), customers))
        ids = [a.json["id"] for a in answers]
        notes = {}
        for order_id in ids:
            self.assertEqual(s.wait_order(order_id)["status"], "CONFIRMED")
            for n in self.wait_notifications(order_id, 2):
                notes[n["id"]] = n
        self.assertEqual(len(notes), 16)
        for n in notes.values():  # the webhook receiver refuses each first attempt
            self.assertEqual((n["status"], n["attempts"]),
                             ("SENT", 1 if n["channel"] == "log" else 2), n)
        # the outbox relay publishes after the commit
        sent = s.wait_until(
            lambda: [e["data"]["notificationId"] for e in s.events("notification-events")
                     if e["type"] == "NotificationSent" and e["data"]["orderId"] in ids],
            lambda sent: len(sent) >= len(notes), timeout=30, pause=0.2)
        self.assertEqual(sorted(sent), sorted(notes))

    def test_out_of_stock(self):
        s = self.s
        sku, customer = s.shop("scarce", price=999, stock=1, balance=10000)
        order = s.wait_order(s.order(customer, [(sku, 2)]).json["id"])
        self.assertEqual((order["status"], order["cancelReason"]), ("CANCELLED", "OUT_OF_STOCK"))
        self.assertEqual(s.stock(sku), {"sku": sku, "available": 1, "reserved": 0, "sold": 0})
        self.assertEqual(s.balance(customer), 10000)
        self.assertEqual(s.call("payment", "GET", f"/api/payments/{order['id']}").status, 404)

    def test_payment_declined(self):
        s = self.s
        sku, customer = s.sku("pricey"), s.customer("poor")
        s.product(sku, price=5000, stock=3)
        s.wallet(customer, balance=100)
        order = s.wait_order(s.order(customer, [(sku, 1)]).json["id"])
        self.assertEqual((order["status"], order["cancelReason"]),
                         ("CANCELLED", "PAYMENT_DECLINED"))
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 3, "reserved": 0, "sold": 0}),
                         {"sku": sku, "available": 3, "reserved": 0, "sold": 0})
        s.drain()
        self.assertEqual(s.balance(customer), 100)
        released = [e for e in s.events("inventory-events", order["id"])
                    if e["type"] == "InventoryReleased"]
        self.assertEqual(len(released), 1)
        self.assertFalse(released[0]["data"]["restocked"])
        p = s.call("payment", "GET", f"/api/payments/{order['id']}")
        self.assertEqual((p.json["status"], p.json["declineReason"]),
                         ("DECLINED", "INSUFFICIENT_FUNDS"))

    def test_blocked_customer_and_limit_declined(self):
        s = self.s
        sku = s.sku("rules")
        s.product(sku, price=600000, stock=10)
        blocked, rich = s.customer("blocked"), s.customer("rich")
        s.wallet(blocked, balance=10 ** 9, blocked=True)
        s.wallet(rich, balance=10 ** 9)
        o1 = s.wait_order(s.order(blocked, [(sku, 1)]).json["id"])
        o2 = s.wait_order(s.order(rich, [(sku, 2)]).json["id"])  # 1,200,000 > the limit
        for o, reason in ((o1, "CUSTOMER_BLOCKED"), (o2, "LIMIT_EXCEEDED")):
            self.assertEqual((o["status"], o["cancelReason"]), ("CANCELLED", "PAYMENT_DECLINED"))
            p = s.call("payment", "GET", f"/api/payments/{o['id']}")
            self.assertEqual(p.json["declineReason"], reason)
        # nothing charged, every reserved unit released
        self.assertEqual(s.balance(blocked), 10 ** 9)
        self.assertEqual(s.balance(rich), 10 ** 9)
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 10, "reserved": 0, "sold": 0}),
                         {"sku": sku, "available": 10, "reserved": 0, "sold": 0})

    def test_cancel_after_confirmation_twice(self):
        s = self.s
        sku, customer = s.shop("regret", price=700, stock=4, balance=5000)
        order = s.wait_order(s.order(customer, [(sku, 3)]).json["id"])
        self.assertEqual(order["status"], "CONFIRMED")
        self.assertEqual(s.balance(customer), 5000 - 2100)
        cancel = f"/api/orders/{order['id']}/cancel"
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: s.call("order", "POST", cancel, who=customer),
                                    range(2)))
        self.assertEqual(sorted(a.status for a in answers), [200, 409])
        self.assertEqual(s.call("order", "POST", cancel, who=customer).status, 409)
        s.drain()
        order = s.call("order", "GET", f"/api/orders/{order['id']}", who=customer).json
        self.assertEqual((order["status"], order["cancelReason"]),
                         ("CANCELLED", "CUSTOMER_REQUEST"))
        self.assertEqual(s.wait_balance(customer, 5000), 5000)  # refunded once
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 4, "reserved": 0, "sold": 0}),
                         {"sku": sku, "available": 4, "reserved": 0, "sold": 0})
        self.assertEqual(s.call("payment", "GET", f"/api/payments/{order['id']}").json["status"],
                         "REFUNDED")
        refunds = [e for e in s.events("payment-events", order["id"])
                   if e["type"] == "PaymentRefunded"]
        self.assertEqual(len(refunds), 1)
        restocks = [e for e in s.events("inventory-events", order["id"])
                    if e["type"] == "InventoryReleased"]
        self.assertEqual(len(restocks), 1)
        self.assertTrue(restocks[0]["data"]["restocked"])

    def test_cancel_seen_by_payment_before_reservation(self):
        """OrderCancelled reaches payment before InventoryReserved: no charge.

        Inventory is frozen (SIGSTOP) while the order is placed and cancelled, so
        payment records the cancellation first; once inventory resumes it reserves
        (InventoryReserved reaches payment second) and then releases."""
        s = self.s
        sku, customer = s.shop("race", price=3000, stock=2, balance=9000)
        inventory = s.procs["inventory"]
        inventory.send_signal(signal.SIGSTOP)
        try:
            order_id = s.order(customer, [(sku, 1)]).json["id"]
            cancel = s.call("order", "POST", f"/api/orders/{order_id}/cancel", who=customer)
            self.assertEqual(cancel.status, 200, cancel)
            deadline = time.time() + 10
            while s.scalar("payment", "SELECT COUNT(*) FROM cancelled_orders WHERE order_id = "
                                      f"{sql_id(order_id)}") != "1":
                self.assertLess(time.time(), deadline, "payment never saw the cancellation")
                time.sleep(0.05)
        finally:
            inventory.send_signal(signal.SIGCONT)
        # inventory now reserves, then releases on the OrderCancelled behind it
        deadline = time.time() + 20
        while not any(e["type"] == "InventoryReleased"
                      for e in s.events("inventory-events", order_id)):
            self.assertLess(time.time(), deadline, "inventory never released")
            time.sleep(0.1)
        s.drain()
        types = event_types(s.events("inventory-events", order_id))
        self.assertEqual(types, ["InventoryReserved", "InventoryReleased"])
        self.assertEqual(s.balance(customer), 9000)
        self.assertEqual(s.call("payment", "GET", f"/api/payments/{order_id}").status, 404)
        self.assertEqual(s.events("payment-events", order_id), [])
        self.assertEqual(s.stock(sku), {"sku": sku, "available": 2, "reserved": 0, "sold": 0})
        order = s.call("order", "GET", f"/api/orders/{order_id}", who=customer).json
        self.assertEqual((order["status"], order["cancelReason"]),
                         ("CANCELLED", "CUSTOMER_REQUEST"))

    def test_events_about_unknown_orders_move_nothing(self):
        """Valid events about orders nobody created, one of each kind a consumer can get,
        for a customer with money and skus in stock: nothing moves, nothing is notified,
        each is dead-lettered by every service that handles it (payment parks the
        InventoryReserved instead: its OrderCreated could still come)."""
        s = self.s
        sku, customer = s.shop("ghost", price=1000, stock=5, balance=50000)
        stock_before, balance_before = s.stock(sku), s.balance(customer)
        line = {"sku": sku, "quantity": 1}
        cases = [  # topic, type, data (without orderId), services that dead-letter it
            ("order-events", "OrderConfirmed",
             {"customerId": customer, "amount": 1000, "currency": "EUR"},
             {"inventory", "notification"}),
            ("order-events", "OrderCancelled",
             {"customerId": customer, "reason": "CUSTOMER_REQUEST",
              "previousStatus": "CONFIRMED"},
             {"inventory", "payment", "notification"}),
            ("inventory-events", "InventoryReserved",
             {"customerId": customer, "amount": 1000, "currency": "EUR",
              "items": [dict(line, unitPrice=1000)]},
             {"order"}),
            ("inventory-events", "InventoryShortage",
             {"customerId": customer, "shortages": [{"sku": sku, "requested": 9,
                                                     "available": 5}]},
             {"order"}),
            ("inventory-events", "InventoryReleased",
             {"items": [line], "restocked": True}, {"order"}),
            ("payment-events", "PaymentCompleted",
             {"customerId": customer, "paymentId": str(uuid.uuid4()), "amount": 1000,
              "currency": "EUR"}, {"order"}),
            ("payment-events", "PaymentFailed",
             {"customerId": customer, "amount": 1000, "currency": "EUR",
              "reason": "INSUFFICIENT_FUNDS"}, {"order"}),
            ("payment-events", "PaymentRefunded",
             {"customerId": customer, "paymentId": str(uuid.uuid4()), "amount": 1000,
              "currency": "EUR"}, {"order"}),
        ]
        expected, ids = {}, {}
        for topic, etype, data, services in cases:
            order_id = str(uuid.uuid4())
            value = cloud_event(etype, order_id, dict(data, orderId=order_id))
            ids[etype] = order_id
            for svc in services:
                expected[(order_id, svc)] = json.loads(value)["id"]
            s.produce(topic, order_id, value)

        deadline = time.time() + 30
        while True:
            found = {}
            for m in s.read_topic("saga-dlq"):
                h = message_headers(m)
                key = (m.key() or b"").decode()
                if (key, h.get("saga-service")) in expected:
                    found[(key, h.get("saga-service"))] = (h, json.loads(m.value()))
            if len(found) == len(expected) or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(sorted(set(expected) - set(found)), [], "not dead-lettered")
        for (order_id, svc), (h, original) in found.items():
            with self.subTest(order=order_id, service=svc):
                self.assertEqual(h["kafka_dlt-exception-fqcn"], "HANDLER_REJECTED", h)
                self.assertEqual(original["id"], expected[(order_id, svc)])
                self.assertIn(f"unknown order {order_id}", h["kafka_dlt-exception-message"])
        # payment parked the reservation (never charged), and counts it
        parked = ids["InventoryReserved"]
        self.assertEqual(s.scalar("payment", "SELECT customer_id FROM pending_reservations "
                                             f"WHERE order_id = {sql_id(parked)}"), customer)
        self.assertGreaterEqual(s.metric("payment", "saga_payment_parked_reservations"), 1)
        # nothing moved, nothing emitted, nothing notified
        s.drain()
        self.assertEqual(s.stock(sku), stock_before)
        self.assertEqual(s.balance(customer), balance_before)
        for order_id in ids.values():
            self.assertEqual(s.call("payment", "GET", f"/api/payments/{order_id}").status, 404)
            self.assertEqual(s.call("order", "GET", f"/api/orders/{order_id}").status, 404)
            notes = s.call("notification", "GET", f"/api/notifications?orderId={order_id}")
            self.assertEqual((notes.status, notes.json["items"]), (200, []))
            for topic in ("order-events", "inventory-events", "payment-events",
                          "notification-events"):
                caused = [e for e in s.events(topic, order_id) if e["source"] != "/e2e-test"]
                self.assertEqual(caused, [], topic)
        listed = sql_ids(ids.values())
        self.assertEqual(s.scalar("inventory", "SELECT COUNT(*) FROM order_outcomes WHERE "
                                               f"order_id IN ({listed})"), "0")

    def test_order_created_again_changes_nothing(self):
        """A confirmed order's OrderCreated again under new event ids, twice as it was
        and once naming another customer, one right after the other: the services
        that record orders (payment, notification) keep what they had, nothing moves
        and nothing more is notified; only the one naming another customer is
        dead-lettered, by both, as created for another customer."""
        s = self.s
        sku, customer = s.shop("again", price=700, stock=5, balance=10000)
        a = s.order(customer, [(sku, 1)])
        self.assertEqual(a.status, 202, a)
        order_id = a.json["id"]
        self.assertEqual(s.wait_order(order_id)["status"], "CONFIRMED")
        self.wait_notifications(order_id, 2)
        s.drain()
        stock, balance = s.stock(sku), s.balance(customer)
        created = [e for e in s.events("order-events", order_id)
                   if e["type"] == "OrderCreated"][0]["data"]
        other = s.customer("again-other")
        forged = cloud_event("OrderCreated", order_id, dict(created, customerId=other))
        for value in (cloud_event("OrderCreated", order_id, created), forged,
                      cloud_event("OrderCreated", order_id, created)):
            s.produce("order-events", order_id, value)
        forged_id = json.loads(forged)["id"]

        def dead_letters():
            return {message_headers(m).get("saga-service"): message_headers(m)
                    for m in s.read_topic("saga-dlq") if (m.key() or b"").decode() == order_id}
        found = s.wait_until(dead_letters, lambda d: {"payment", "notification"} <= set(d))
        self.assertEqual(sorted(found), ["notification", "payment"])
        for svc, h in found.items():
            with self.subTest(service=svc):
                self.assertEqual(h["kafka_dlt-exception-fqcn"], "HANDLER_REJECTED", h)
                self.assertIn("created for another customer", h["kafka_dlt-exception-message"])
        for svc in ("payment", "notification"):
            self.assertEqual(s.scalar(svc, "SELECT customer_id FROM known_orders WHERE "
                                           f"order_id = {sql_id(order_id)}"), customer)
        s.drain()
        self.assertEqual((s.stock(sku), s.balance(customer)), (stock, balance))
        notes = s.call("notification", "GET", f"/api/notifications?orderId={order_id}").json
        self.assertEqual(len(notes["items"]), 2)
        self.assertEqual(s.wait_order(order_id)["status"], "CONFIRMED")
        dlq_ids = {json.loads(m.value())["id"] for m in s.read_topic("saga-dlq")
                   if (m.key() or b"").decode() == order_id}
        self.assertEqual(dlq_ids, {forged_id})

    def test_payment_resumes_with_order_and_reservation_waiting(self):
        """Payment frozen (SIGSTOP) while an order is placed and inventory reserves it:
        once it resumes, OrderCreated and InventoryReserved (two topics, no mutual
        order) are both waiting; whichever it reads first, it charges exactly once and
        leaves nothing parked."""
        s = self.s
        sku, customer = s.shop("early", price=1500, stock=3, balance=6000)
        payment = s.procs["payment"]
        payment.send_signal(signal.SIGSTOP)
        try:
            order_id = s.order(customer, [(sku, 2)]).json["id"]
            deadline = time.time() + 20
            while "InventoryReserved" not in event_types(s.events("inventory-events", order_id)):
                self.assertLess(time.time(), deadline, "inventory never reserved")
                time.sleep(0.1)
            # payment is frozen: nothing charged yet
            self.assertEqual(s.scalar("payment", "SELECT balance FROM wallets WHERE "
                                                 f"customer_id = '{customer}'"), "6000")
        finally:
            payment.send_signal(signal.SIGCONT)
        order = s.wait_order(order_id)
        self.assertEqual(order["status"], "CONFIRMED", order)
        s.drain()
        self.assertEqual(s.balance(customer), 6000 - 3000)
        p = s.call("payment", "GET", f"/api/payments/{order_id}", who=customer)
        self.assertEqual((p.status, p.json["status"], p.json["amount"]), (200, "CAPTURED", 3000))
        completed = s.events("payment-events", order_id)
        self.assertEqual(event_types(completed), ["PaymentCompleted"])
        reserved = [e for e in s.events("inventory-events", order_id)
                    if e["type"] == "InventoryReserved"]
        self.assertEqual(completed[0]["causationid"], reserved[0]["id"])
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM pending_reservations WHERE "
                                             f"order_id = {sql_id(order_id)}"), "0")
        self.assertEqual(s.scalar("payment", "SELECT customer_id FROM known_orders WHERE "
                                             f"order_id = {sql_id(order_id)}"), customer)
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 1, "reserved": 0,
                                            "sold": 2}),
                         {"sku": sku, "available": 1, "reserved": 0, "sold": 2})

    def test_concurrent_orders_never_oversell(self):
        """200 concurrent orders for 50 units: exactly 50 confirmed, the rest refused
        by the sold-out hint (409) or cancelled OUT_OF_STOCK."""
        s = self.s
        sku = s.sku("flash")
        s.product(sku, price=100, stock=50)
        customers = [s.customer(f"fan{i}") for i in range(20)]
        for c in customers:
            s.wallet(c, balance=100000)

        def place(i):
            return s.order(customers[i % 20], [(sku, 1)])

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(place, range(200)))
        accepted = [a.json["id"] for a in answers if a.status == 202]
        refused = [a for a in answers if a.status == 409]
        self.assertEqual(len(accepted) + len(refused), 200, [a for a in answers
                                                             if a.status not in (202, 409)])
        for a in refused:
            self.assertIn(sku, a.json["skus"])
        final = [s.wait_order(i) for i in accepted]
        confirmed = [o for o in final if o["status"] == "CONFIRMED"]
        out_of_stock = [o for o in final if o.get("cancelReason") == "OUT_OF_STOCK"]
        self.assertEqual(len(confirmed), 50)
        self.assertEqual(len(out_of_stock) + len(refused), 150)
        expected = {"sku": sku, "available": 0, "reserved": 0, "sold": 50}
        self.assertEqual(s.wait_stock(sku, expected), expected)

    def test_sold_out_refusal_names_the_sold_out_skus(self):
        """The sold-out hint's 409 names exactly the order's sold-out skus, whether all
        its lines are sold out or only some; an order for what is left goes through."""
        s = self.s
        gone, gone2, left = s.sku("gone"), s.sku("gone2"), s.sku("left")
        customer = s.customer("hint")
        s.wallet(customer, balance=100000)
        for sku, stock in ((gone, 1), (gone2, 1), (left, 5)):
            s.product(sku, price=100, stock=stock)

        for sku in (gone, gone2):
            first = s.order(customer, [(sku, 1)])
            self.assertEqual(first.status, 202, first)
            self.assertEqual(s.wait_order(first.json["id"])["status"], "CONFIRMED")
            # inventory publishes the hint as the stock runs out; an order that comes
            # before it is accepted, and cancelled OUT_OF_STOCK: ask again
            refused = s.wait_until(lambda: s.order(customer, [(sku, 1)]).status,
                                   lambda status: status == 409, pause=0.2)
            self.assertEqual(refused, 409)

        both = s.order(customer, [(gone, 1), (gone2, 1)])
        self.assertEqual(both.status, 409, both)
        self.assertEqual(sorted(both.json["skus"]), sorted([gone, gone2]))
        some = s.order(customer, [(gone, 1), (left, 1)])
        self.assertEqual(some.status, 409, some)
        self.assertEqual(some.json["skus"], [gone])
        rest = s.order(customer, [(left, 1)])
        self.assertEqual(rest.status, 202, rest)
        self.assertEqual(s.wait_order(rest.json["id"])["status"], "CONFIRMED")

    def test_sold_out_refusal_with_redis_busy(self):
        """A Redis that answers slowly (its clients paused for 100 ms, as a loaded
        machine delays it) is busy, not down: the sold-out hint still refuses."""
        s = self.s
        sku, customer = s.shop("busy", price=100, stock=0, balance=10000)
        self.assertTrue(s.redis_exists(f"saga:soldout:{sku}"))
        self.assertEqual(s.redis_command("CLIENT", "PAUSE", 100, "ALL"), "+OK")
        refused = s.order(customer, [(sku, 1)])
        self.assertEqual(refused.status, 409, refused)
        self.assertEqual(refused.json["skus"], [sku])

    def test_sold_out_hint_only_after_the_commit(self):
        """inventory publishes a sold-out hint only once the batch that sold the sku out
        has committed: killed just before that commit (fault point
        consumer.before_db_commit) it leaves neither the hint nor a stock change;
        restarted, it applies the order once and then publishes the hint."""
        s = self.s
        if not has_fault_points("inventory"):
            self.skipTest("no fault points in this build (Debug builds only)")
        sku, customer = s.shop("precommit", price=100, stock=1, balance=10000)
        key = f"saga:soldout:{sku}"
        s.restart_service("inventory", {"SAGA_FAULT": "consumer.before_db_commit"})
        try:
            placed = s.order(customer, [(sku, 1)])
            self.assertEqual(placed.status, 202, placed)
            # the batch holding the order ran its handler, then the process died
            self.assertEqual(s.procs["inventory"].wait(timeout=30), -signal.SIGKILL)
            self.assertFalse(s.redis_exists(key),
                             "the hint of a batch that never committed is visible")
            self.assertEqual(s.scalar("inventory", "SELECT CONCAT(available, '/', reserved) "
                                                   f"FROM products WHERE sku = '{sku}'"), "1/0")
        finally:
            s.restart_service("inventory", {}, exited=s.procs["inventory"].wait(timeout=30))
        self.assertEqual(s.wait_order(placed.json["id"])["status"], "CONFIRMED")
        self.assertEqual(s.wait_until(lambda: s.redis_exists(key), bool), True)
        refused = s.order(customer, [(sku, 1)])
        self.assertEqual(refused.status, 409, refused)

    def test_idempotency_key(self):
        s = self.s
        sku, customer = s.shop("idem", price=300, stock=10, balance=10000)
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = s.order(customer, [(sku, 1)], headers=key)
        again = s.order(customer, [(sku, 1)], headers=key)
        self.assertEqual(first.status, 202, first)
        self.assertIn(again.status, (200, 202))
        self.assertEqual(first.json["id"], again.json["id"])
        other = s.order(customer, [(sku, 2)], headers=key)
        self.assertEqual(other.status, 422, other)
        s.wait_order(first.json["id"])
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 9, "reserved": 0, "sold": 1}),
                         {"sku": sku, "available": 9, "reserved": 0, "sold": 1})
        # one order, charged once
        self.assertEqual(s.wait_balance(customer, 10000 - 300), 10000 - 300)
        self.assertEqual(int(s.scalar("order", "SELECT COUNT(*) FROM orders WHERE customer_id = "
                                               f"'{customer}'")), 1)

    def test_concurrent_creations_committed_together(self):
        """Orders posted at the same moment share commits; concurrent requests with
        one Idempotency-Key (which fail a shared commit) still make one order."""
        s = self.s
        sku = s.sku("group")
        s.product(sku, price=100, stock=1000)
        customers = [s.customer(f"group{i}") for i in range(40)]
        for c in customers:
            s.wallet(c, balance=10000)
        twice = customers[0]
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}

        def commits():
            return (s.metric("order", "saga_order_creations_per_commit_sum"),
                    s.metric("order", "saga_order_creations_per_commit_count"))

        before = commits()
        with concurrent.futures.ThreadPoolExecutor(48) as pool:
            keyed = [pool.submit(s.order, twice, [(sku, 1)], key) for _ in range(8)]
            plain = [pool.submit(s.order, c, [(sku, 2)]) for c in customers[1:] for _ in range(2)]
            keyed = [f.result() for f in keyed]
            plain = [f.result() for f in plain]
        after = commits()

        self.assertEqual([a.status for a in plain], [202] * len(plain), plain)
        self.assertEqual(len({a.json["id"] for a in plain}), len(plain))
        for a in keyed:
            self.assertIn(a.status, (200, 202), a)
        self.assertEqual(len({a.json["id"] for a in keyed}), 1, keyed)
        created, groups = after[0] - before[0], after[1] - before[1]
        # every new order went through a commit, and some commits carried several
        self.assertLessEqual(created, len(plain) + 1)
        self.assertGreater(created, groups, (created, groups))
        for a in plain + keyed[:1]:
            self.assertEqual(s.wait_order(a.json["id"])["status"], "CONFIRMED")
        self.assertEqual(int(s.scalar("order", "SELECT COUNT(*) FROM orders WHERE customer_id = "
                                               f"'{twice}'")), 1)
        self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 1000 - 157, "reserved": 0,
                                            "sold": 157})["sold"], 157)

    def test_bad_input(self):
        s = self.s
        customer = s.customer("bad")
        cases = [
            ("malformed JSON", {"raw": b'{"customerId": "x", "items": ['}, 400, None),
            ("not an object", {"body": [1, 2]}, 400, None),
            ("missing items", {"body": {"customerId": customer}}, 400, "items"),
            ("empty items", {"body": {"customerId": customer, "items": []}}, 400, "items"),
            ("missing customer", {"body": {"items": [{"sku": "a", "quantity": 1}]}}, 400,
             "customerId"),
            ("zero quantity", {"body": {"customerId": customer,
                                        "items": [{"sku": "a", "quantity": 0}]}}, 400, "quantity"),
            ("fractional quantity", {"body": {"customerId": customer,
                                              "items": [{"sku": "a", "quantity": 1.5}]}}, 400,
             "quantity"),
            ("string quantity", {"body": {"customerId": customer,
                                          "items": [{"sku": "a", "quantity": "2"}]}}, 400,
             "quantity"),
            ("huge quantity", {"body": {"customerId": customer,
                                        "items": [{"sku": "a", "quantity": 10 ** 9}]}}, 400,
             "quantity"),
            ("too many lines", {"body": {"customerId": customer, "items": [
                {"sku": f"s{i}", "quantity": 1} for i in range(51)]}}, 400, "items"),
            ("duplicate skus", {"body": {"customerId": customer, "items": [
                {"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 2}]}}, 400, "sku"),
            ("bad sku", {"body": {"customerId": customer,
                                  "items": [{"sku": "no spaces", "quantity": 1}]}}, 400, "sku"),
            ("wrong currency", {"body": {"customerId": customer, "currency": "XXX",
                                         "items": [{"sku": "a", "quantity": 1}]}}, 400,
             "currency"),
            ("wrong content type", {"raw": b"customerId=x", "content_type":
                                    "application/x-www-form-urlencoded"}, 415, None),
            ("body over the limit", {"raw": b'{"customerId":"' + b"x" * 70000 + b'"}'}, 413,
             None),
        ]
        for label, kw, status, field in cases:
            with self.subTest(label):
                a = s.call("order", "POST", "/api/orders", body=kw.get("body"), raw=kw.get("raw"),
                           content_type=kw.get("content_type", "application/json"))
                self.assertEqual(a.status, status, f"{label}: {a}")
                self.assertTrue(a.content_type.startswith("application/problem+json"), label)
                self.assertEqual(a.json["status"], status)
                if field:
                    self.assertIn(field, a.json.get("field", "") + a.json.get("detail", ""),
                                  label)
        for svc, path in (("order", f"/api/orders/{uuid.uuid4()}"),
                          ("inventory", "/api/inventory/no-such-sku"),
                          ("payment", "/api/wallets/nobody-at-all")):
            self.assertEqual(s.call(svc, "GET", path).status, 404)
        # an id that is not an order id at all (not a lowercase UUID): 400 naming it
        a = s.call("order", "GET", "/api/orders/not-a-known-id")
        self.assertEqual((a.status, a.json.get("field")), (400, "id"), a)
        self.assertEqual(s.call("inventory", "PUT", f"/api/products/{s.sku('x')}",
                                {"name": "x", "price": -1}).status, 400)
        self.assertEqual(s.call("payment", "POST", f"/api/wallets/{customer}/topup",
                                {"amount": 0}).status, 400)
        # and everything still serves
        for svc in ("order", "payment", "inventory", "notification"):
            self.assertEqual(s.call(svc, "GET", "/health", who=None).status, 200)
        self.assertEqual(s.call("order", "GET", "/api/orders?limit=5").status, 200)

    def test_redis_down_orders_still_flow(self):
        """Without Redis: no idempotency fast path, no sold-out hint; orders still
        flow, and a retried request still returns the same order."""
        s = self.s
        sku, customer = s.shop("noredis", price=250, stock=5, balance=10000)
        s.stop_redis()
        try:
            key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
            first = s.order(customer, [(sku, 2)], headers=key)
            again = s.order(customer, [(sku, 2)], headers=key)
            self.assertEqual(first.status, 202, first)
            self.assertEqual(again.json["id"], first.json["id"])
            other = s.wait_order(s.order(customer, [(sku, 1)]).json["id"])
            self.assertEqual(s.wait_order(first.json["id"])["status"], "CONFIRMED")
            self.assertEqual(other["status"], "CONFIRMED")
            self.assertEqual(s.wait_stock(sku, {"sku": sku, "available": 2, "reserved": 0,
                                                "sold": 3})["sold"], 3)
            self.assertEqual(s.balance(customer), 10000 - 750)
        finally:
            s.start_redis()

    def test_order_listing_and_openapi(self):
        s = self.s
        sku, customer = s.shop("list", price=100, stock=10, balance=10000)
        ids = [s.order(customer, [(sku, 1)]).json["id"] for _ in range(3)]
        for i in ids:
            s.wait_order(i)
        page1 = s.call("order", "GET", f"/api/orders?customerId={customer}&limit=2",
                       who=customer).json
        self.assertEqual(len(page1["items"]), 2)
        page2 = s.call("order", "GET",
                       f"/api/orders?customerId={customer}&limit=2&after={page1['next']}",
                       who=customer).json
        self.assertEqual(len(page2["items"]), 1)
        self.assertEqual(sorted(o["id"] for o in page1["items"] + page2["items"]), sorted(ids))
        for svc in ("order", "payment", "inventory", "notification"):
            a = s.call(svc, "GET", "/openapi.json", who=None)
            self.assertEqual(a.status, 200)
            self.assertTrue(a.json["openapi"].startswith("3."))


    def test_runs_with_auth_on(self):
        """The stack runs as in production (the other tests rely on it): no token, no
        API; /metrics only on its own listener; each service's MySQL user sees its own
        database and nothing else."""
        s = self.s
        a = s.call("order", "GET", "/api/orders?limit=1", who=None)
        self.assertEqual(a.status, 401, a)
        self.assertTrue(a.headers.get("WWW-Authenticate", "").startswith("Bearer"), a.headers)
        expired = s.token(s.customer("late"), ttl=-3600)
        a = s.call("order", "GET", "/api/orders?limit=1",
                   headers={"Authorization": f"Bearer {expired}"})
        self.assertEqual(a.status, 401, a)
        for svc in SERVICES:
            with self.subTest(svc):
                self.assertEqual(s.call(svc, "GET", "/metrics", check=False).status, 404)
                self.assertIn("saga_up 1", s.metrics_text(svc))
                seen = subprocess.run(
                    ["mysql", "-h", "127.0.0.1", "-P", s.state["SAGA_MYSQL_PORT"], "-u",
                     s.db(svc), f"-p{s.db_passwords[svc]}", "-N", "-B", "-e", "SHOW DATABASES"],
                    check=True, capture_output=True, text=True).stdout.split()
                self.assertEqual(sorted(seen), sorted(["information_schema", s.db(svc)]))


class TimeoutE2E(SagaTestCase):
    """A short deadline and a slow payment gateway: the order times out, and the
    late charge is refunded (or never made)."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("e2etimeout", env={
            "order": {"SAGA_TIMEOUT_MS": "1500", "SAGA_SWEEP_INTERVAL_MS": "100"},
            "payment": {"PAYMENT_LATENCY_MS": "3000"},
        }).start()

    def test_timeout_then_late_charge_refunded(self):
        s = self.stack
        sku, customer = s.shop("slow", price=800, stock=5, balance=10000)
        order = s.wait_order(s.order(customer, [(sku, 1)]).json["id"], until=("CANCELLED",))
        self.assertEqual((order["status"], order["cancelReason"]), ("CANCELLED", "TIMEOUT"))
        time.sleep(4)  # the slow gateway finishes its work
        s.drain()
        order = s.call("order", "GET", f"/api/orders/{order['id']}").json
        self.assertEqual(order["status"], "CANCELLED")  # a late PaymentCompleted changes nothing
        self.assertEqual(s.balance(customer), 10000)
        self.assertEqual(s.stock(sku), {"sku": sku, "available": 5, "reserved": 0, "sold": 0})
        # payment was busy with the reservation when the order timed out: it
        # charged late, and refunded on the OrderCancelled
        p = s.call("payment", "GET", f"/api/payments/{order['id']}")
        self.assertEqual(p.status, 200, p)
        self.assertEqual(p.json["status"], "REFUNDED")
        types = event_types(s.events("payment-events", order["id"]))
        self.assertEqual(types, ["PaymentCompleted", "PaymentRefunded"])
        history = event_types(s.call("order", "GET", f"/api/orders/{order['id']}/events")
                              .json["events"])
        self.assertIn("PaymentCompleted", history)  # seen, and ignored


if __name__ == "__main__":
    unittest.main(verbosity=2)
