"""The events on Kafka, read by an independent CloudEvents implementation.

A whole stack runs sagas that produce every event type (confirmed, cancelled by
the customer after confirmation, out of stock, payment declined), plus dead
letters (an event of an unknown type, and a message that is not JSON), plus one
outbox row written in the format used before events carried a content-type
header (partial binary-mode ce_id/ce_type headers instead), as a database
upgraded in place still holds. Every message of the five topics is then parsed
by the Kafka protocol binding of the CloudEvents JavaScript SDK (npm
`cloudevents`, `Kafka.toEvent` on {headers, key, value}; tests/e2e/cloudevents_read.js)
and checked:

- an event: `content-type: application/cloudevents+json; charset=utf-8`, no ce_*
  header (structured mode), the SDK finds a valid event (`validate()`) with
  specversion, id, source, type, subject (= the key = the order id), time,
  dataschema, correlationid, and causationid naming an event on the topics where
  one caused it;
- a dead letter whose payload is an event: the same, the event as it was sent,
  its kafka_dlt-* headers saying why it was refused;
- a dead letter whose payload is not an event: a content-type that says what it
  is (application/octet-stream), which the SDK does not take for an event.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import EVENT_TOPICS, SOURCE, Stack, StackTestCase, message_headers  # noqa: E402

CE_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
READER = os.path.join(SOURCE, "tests", "e2e", "cloudevents_read.js")
TOPIC_TYPES = {
    "order-events": {"OrderCreated", "OrderConfirmed", "OrderCancelled"},
    "inventory-events": {"InventoryReserved", "InventoryShortage", "InventoryReleased"},
    "payment-events": {"PaymentCompleted", "PaymentFailed", "PaymentRefunded"},
    "notification-events": {"NotificationSent"},
}
SOURCES = {"order-events": "/order-service", "inventory-events": "/inventory-service",
           "payment-events": "/payment-service", "notification-events": "/notification-service"}


def read_with_sdk(messages):
    """The SDK's verdict on each confluent_kafka message, in order."""
    rows = [{"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
             "key": (m.key() or b"").decode(), "value": (m.value() or b"").decode(errors="replace"),
             "headers": [[k, (v or b"").decode(errors="replace")] for k, v in (m.headers() or [])]}
            for m in messages]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rows, f)
    try:
        out = subprocess.run(["node", READER, f.name], capture_output=True, text=True,
                             cwd=SOURCE, timeout=120)
    finally:
        os.unlink(f.name)
    assert out.returncode == 0, f"cloudevents_read.js: {out.returncode} {out.stderr}"
    return json.loads(out.stdout)


class CloudEventsE2E(StackTestCase):
    poison_keys = set()

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("ce").start()


    def run_sagas(self):
        s = self.stack
        sku, customer = s.shop("ce-ok", price=500, stock=10, balance=10000)
        confirmed = s.order(customer, [(sku, 1)]).json["id"]
        self.assertEqual(s.wait_order(confirmed)["status"], "CONFIRMED")
        # cancelled after confirmation: OrderCancelled, PaymentRefunded, InventoryReleased
        a = s.call("order", "POST", f"/api/orders/{confirmed}/cancel", who=customer)
        self.assertEqual(a.status, 200, a)
        short = s.order(customer, [(sku, 50)]).json["id"]  # InventoryShortage
        sku2, poor = s.shop("ce-poor", price=5000, stock=10, balance=10)
        declined = s.order(poor, [(sku2, 1)]).json["id"]  # PaymentFailed
        for oid in (short, declined):
            self.assertEqual(s.wait_order(oid)["status"], "CANCELLED")
        return confirmed

    def test_every_message_reads_as_what_it_is(self):
        s = self.stack
        confirmed = self.run_sagas()
        s.drain()

        # dead letters: an event nobody knows, and bytes that are not JSON
        unknown_key, junk_key = str(uuid.uuid4()), str(uuid.uuid4())
        self.poison_keys.update({unknown_key, junk_key})
        unknown_id = str(uuid.uuid4())
        s.produce("order-events", unknown_key, json.dumps({
            "specversion": "1.0", "id": unknown_id, "source": "/elsewhere",
            "type": "OrderTeleported", "time": "2026-12-06T10:00:00.000Z",
            "subject": unknown_key, "datacontenttype": "application/json",
            "dataschema": "urn:saga:schema:OrderTeleported:1", "correlationid": unknown_key,
            "data": {"orderId": unknown_key}}))
        s.produce("order-events", junk_key, b"\x00not json{")

        # an outbox row as written before events had a content-type header: a copy of
        # a NotificationSent under a new id (notification-events has no consumer)
        sent = [e for e in s.events("notification-events", confirmed)
                if e["type"] == "NotificationSent"][0]
        legacy = dict(sent, id=str(uuid.uuid4()))
        payload = json.dumps(legacy, separators=(",", ":")).replace("'", "''")
        headers = json.dumps({"ce_id": legacy["id"], "ce_type": "NotificationSent",
                              "correlationid": confirmed,
                              "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
        s.sql("notification", "INSERT INTO outbox (topic, msg_key, payload, headers) VALUES "
                              f"('notification-events', '{confirmed}', '{payload}', '{headers}')")

        def dlq_done():
            reasons = [message_headers(m).get("kafka_dlt-exception-fqcn")
                       for m in s.read_topic("saga-dlq")]
            # three consumer groups read order-events: inventory, payment, notification
            return reasons.count("UNKNOWN_TYPE") == 3 and reasons.count("INVALID_JSON") == 3
        self.assertTrue(s.wait_until(dlq_done, bool, timeout=30), "dead letters missing")
        s.drain()

        messages = {t: s.read_topic(t) for t in EVENT_TOPICS + ("saga-dlq",)}
        flat = [m for t in messages for m in messages[t]]
        results = read_with_sdk(flat)
        self.assertEqual(len(results), len(flat))
        ids = {json.loads(m.value())["id"] for m in flat
               if (m.key() or b"").decode() not in self.poison_keys and m.topic() != "saga-dlq"}
        seen_types, legacy_seen, dead = set(), 0, {"event": 0, "other": 0}

        for m, r in zip(flat, results):
            h = message_headers(m)
            key = (m.key() or b"").decode()
            where = f"{m.topic()} [{m.partition()}] @{m.offset()}"
            with self.subTest(message=where):
                self.assertFalse([k for k in h if k.startswith("ce_")], f"{where}: {h}")
                if m.topic() == "saga-dlq":
                    if h.get("kafka_dlt-exception-fqcn") == "INVALID_JSON":
                        dead["other"] += 1
                        self.assertEqual(h.get("content-type"), "application/octet-stream")
                        self.assertFalse(r["isEvent"], r)
                        continue
                    dead["event"] += 1
                    self.assertEqual(h.get("kafka_dlt-exception-fqcn"), "UNKNOWN_TYPE", h)
                    self.assertEqual(h.get("content-type"), CE_CONTENT_TYPE)
                    self.assertTrue(r["isEvent"] and r["valid"], r)
                    ev = r["event"]
                    self.assertEqual((ev["id"], ev["type"], ev["source"], ev["specversion"]),
                                     (unknown_id, "OrderTeleported", "/elsewhere", "1.0"))
                    continue
                if key in self.poison_keys:
                    continue
                self.assertEqual(h.get("content-type"), CE_CONTENT_TYPE, where)
                self.assertRegex(h.get("traceparent", ""), r"^00-[0-9a-f]{32}-[0-9a-f]{16}-")
                self.assertTrue(r["isEvent"], r)
                self.assertTrue(r["valid"], r)
                ev = r["event"]
                body = json.loads(m.value())
                self.assertEqual(ev["specversion"], "1.0")
                self.assertEqual(ev["id"], body["id"])
                self.assertEqual(ev["source"], SOURCES[m.topic()])
                self.assertIn(ev["type"], TOPIC_TYPES[m.topic()])
                self.assertEqual(ev["subject"], key)
                self.assertEqual(ev["data"]["orderId"], key)
                self.assertEqual(ev["correlationid"], key)
                self.assertEqual(ev["time"], body["time"])
                self.assertEqual(ev["datacontenttype"], "application/json")
                self.assertEqual(ev["dataschema"], f"urn:saga:schema:{ev['type']}:1")
                caused = not (ev["type"] == "OrderCreated" or
                              (ev["type"] == "OrderCancelled" and
                               ev["data"]["reason"] in ("CUSTOMER_REQUEST", "TIMEOUT")))
                if caused:
                    self.assertIn(ev.get("causationid"), ids, f"{where}: {ev}")
                else:
                    self.assertNotIn("causationid", ev)
                seen_types.add(ev["type"])
                legacy_seen += ev["id"] == legacy["id"]

        self.assertEqual(seen_types, set().union(*TOPIC_TYPES.values()))
        self.assertEqual(legacy_seen, 1, "the outbox row of the old format was not published")
        # and counted by its type, like the rows of the new format
        sent = sum(1 for m in messages["notification-events"])
        counted = re.search(r'^saga_events_published_total\{topic="notification-events",'
                            r'type="NotificationSent"\} (\S+)$', s.metrics_text("notification"),
                            re.M)
        self.assertEqual(float(counted.group(1)) if counted else None, sent)
        self.assertEqual(dead, {"event": 3, "other": 3})


if __name__ == "__main__":
    unittest.main(verbosity=2)
