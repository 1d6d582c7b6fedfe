"""End-to-end test of saga-console (tools/console) in a real browser: Debian's
chromium, headless, driven by playwright-core (tests/e2e/console_browser.js).

On a whole stack with the console beside it (Stack(console=True): the console
reads the databases with its own read-only users), this test places orders that end
every way a saga ends - confirmed, out of stock, payment declined, cancelled by the
customer after confirmation - and one poison message (an OrderCreated of an unknown
schema version, dead-lettered by the three services that consume order-events).
Then the browser script signs in with an administrator's token and asserts what a
person sees: each order's timeline holds exactly the expected events, each after
the event that caused it, with the right final state in each service's database;
the poison message is listed with its reason; replaying it from the page puts it
back on order-events; the topic view shows messages with their headers. Screenshots
go to $SAGA_BUILD_DIR/console-artifacts/. Here, after the browser: the replay is on
the topic with saga-replayed-from, it was dead-lettered again, and the class ends
with a clean audit.
"""
import json
import os
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import (BUILD, SOURCE, Stack, StackTestCase,  # noqa: E402
                   message_headers, terminate)

BROWSER_SCRIPT = os.path.join(SOURCE, "tests", "e2e", "console_browser.js")
ARTIFACTS = os.path.join(BUILD, "console-artifacts")
CONSUMERS_OF_ORDER_EVENTS = 3  # inventory, payment, notification


class ConsoleE2E(StackTestCase):
    stack = None
    poison_keys = set()

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("console", console=True).start()


    def dead_letters_of(self, key):
        return [m for m in self.stack.read_topic("saga-dlq")
                if (m.key() or b"").decode(errors="replace") == key]

    def wait_for(self, what, fn, timeout=30):
        deadline = time.time() + timeout
        while True:
            value = fn()
            if value:
                return value
            self.assertLess(time.time(), deadline, f"timed out waiting for {what}")
            time.sleep(0.2)

    def test_console_in_a_browser(self):
        s = self.stack
        sku, rich = s.shop("kb", price=2500, stock=10, balance=100000)
        poor = s.customer("poor")
        s.wallet(poor, balance=100)

        confirmed = s.order(rich, [(sku, 1)]).json["id"]
        out_of_stock = s.order(rich, [(sku, 11)]).json["id"]
        declined = s.order(poor, [(sku, 1)]).json["id"]
        regretted = s.order(rich, [(sku, 2)]).json["id"]
        for oid in (confirmed, out_of_stock, declined, regretted):
            s.wait_order(oid)
        self.assertEqual(s.wait_order(regretted)["status"], "CONFIRMED")
        a = s.call("order", "POST", f"/api/orders/{regretted}/cancel", who=rich)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(s.wait_order(regretted, until=("CANCELLED",))["status"], "CANCELLED")

        # the poison: a well-formed OrderCreated of a schema version nobody knows
        poison = str(uuid.uuid4())
        self.poison_keys.add(poison)
        s.produce("order-events", poison, json.dumps({
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/order-service",
            "type": "OrderCreated", "time": "2026-12-01T10:00:00.000Z", "subject": poison,
            "datacontenttype": "application/json", "dataschema": "urn:saga:schema:OrderCreated:9",
            "correlationid": poison,
            "data": {"orderId": poison, "customerId": rich, "items": [{"sku": sku, "quantity": 1}],
                     "currency": "EUR", "deadline": "2026-12-01T10:00:30.000Z"}}))
        self.wait_for("the poison's dead letters",
                      lambda: len(self.dead_letters_of(poison)) >= CONSUMERS_OF_ORDER_EVENTS)
        s.drain()
        poison_partition = [m.partition() for m in s.read_topic("order-events")
                            if m.key() == poison.encode()][0]
        confirmed_partition = [m.partition() for m in s.read_topic("order-events")
                               if m.key() == confirmed.encode()][0]

        chain = ["OrderCreated", "InventoryReserved", "PaymentCompleted", "OrderConfirmed"]
        spec = {
            "url": s.console_url,
            "token": s.token("console-admin", admin=True),
            "customerToken": s.token(rich),
            "artifacts": ARTIFACTS,
            "orders": [
                {"name": "confirmed", "id": confirmed,
                 "types": chain + ["NotificationSent"],
                 "sequence": chain + ["NotificationSent"],
                 "status": "CONFIRMED", "reason": None, "inventory": "RESERVED",
                 "reservation": "COMMITTED", "payment": "CAPTURED", "notifications": ["SENT"]},
                {"name": "out-of-stock", "id": out_of_stock,
                 "types": ["OrderCreated", "InventoryShortage", "OrderCancelled",
                           "NotificationSent"],
                 "sequence": ["OrderCreated", "InventoryShortage", "OrderCancelled",
                              "NotificationSent"],
                 "status": "CANCELLED", "reason": "OUT_OF_STOCK", "inventory": "SHORTAGE",
                 "reservation": None, "payment": None, "notifications": ["SENT"]},
                {"name": "declined", "id": declined,
                 "types": ["OrderCreated", "InventoryReserved", "PaymentFailed", "OrderCancelled",
                           "InventoryReleased", "NotificationSent"],
                 "sequence": ["OrderCreated", "InventoryReserved", "PaymentFailed",
                              "OrderCancelled"],
                 "status": "CANCELLED", "reason": "PAYMENT_DECLINED", "inventory": "RESERVED",
                 "reservation": "RELEASED", "payment": "DECLINED", "notifications": ["SENT"]},
                {"name": "cancelled-after-confirmation", "id": regretted,
                 "types": chain + ["NotificationSent", "OrderCancelled", "InventoryReleased",
                                   "PaymentRefunded", "NotificationSent"],
                 "sequence": chain + ["NotificationSent"],
                 "status": "CANCELLED", "reason": "CUSTOMER_REQUEST", "inventory": "RESERVED",
                 "reservation": "RESTOCKED", "payment": "REFUNDED",
                 "notifications": ["SENT", "SENT"]},
            ],
            "poison": {"id": poison, "reason": "UNKNOWN_VERSION",
                       "count": CONSUMERS_OF_ORDER_EVENTS, "partition": poison_partition},
            "topic": {"name": "order-events", "partition": confirmed_partition,
                      "key": confirmed},
        }
        os.makedirs(ARTIFACTS, exist_ok=True)
        spec_file = os.path.join(ARTIFACTS, "spec.json")
        with open(spec_file, "w") as f:
            json.dump(spec, f, indent=2)
        out = subprocess.run(["node", BROWSER_SCRIPT, spec_file], cwd=SOURCE,
                             capture_output=True, text=True, timeout=600)
        print(out.stdout)
        self.assertEqual(out.returncode, 0,
                         f"the browser test failed:\n{out.stdout}\n{out.stderr}\n"
                         f"(screenshots in {ARTIFACTS}; console log {s.log('console')})")
        result = json.loads(out.stdout.strip().splitlines()[-1])

        # the replay the page made: on order-events, with the header sagactl adds
        replayed = [m for m in s.read_topic("order-events")
                    if m.key() == poison.encode()
                    and "saga-replayed-from" in message_headers(m)]
        self.assertEqual(len(replayed), 1, "one replay of the poison on order-events")
        self.assertEqual(message_headers(replayed[0])["saga-replayed-from"],
                         f"saga-dlq/{result['replayedFrom']}")
        # still poison: each consumer dead-letters the replayed copy too
        self.wait_for("the replayed poison's dead letters",
                      lambda: len(self.dead_letters_of(poison)) >= 2 * CONSUMERS_OF_ORDER_EVENTS)

        # the console stops cleanly on SIGTERM (in the Debug build: no leak, no
        # sanitizer report)
        code = terminate(s.console)
        s.console = None
        with open(s.log("console")) as f:
            log = f.read()
        self.assertEqual(code, 0, f"saga-console exited with {code}:\n{log[-3000:]}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
